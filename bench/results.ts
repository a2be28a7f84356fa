// The shape of bench/results.json, shared by run.ts (writer) and report.ts (reader).

import type { AllocFigure } from './alloc.ts';
import type { MachineInfo } from './machine.ts';
import type { Op } from './registry.ts';
import type { Stat } from './timing.ts';
import type { Verification } from './verify.ts';

export type ImplStatus = 'ok' | 'unavailable' | 'failed-verification' | 'error';

export interface ImplResult {
  readonly status: ImplStatus;
  reason?: string;
  readonly precision?: 'f32' | 'f64';
  /** Set when the implementation runs a variant of the model (brain.js). */
  readonly variant?: string;
  /** Set when the implementation cannot train this model: why (inference only). */
  readonly trainUnavailable?: string;
  readonly verification?: Verification;
  /** Median microseconds per call and spread, by entry point. */
  timing?: Partial<Record<Op, Stat>>;
  /** Median time ÷ the hand-written baseline's median, by entry point (below 1 = faster). */
  ratio?: Partial<Record<Op, number>>;
  /** gradient1 ÷ forward1 (per-sample gradient time over per-sample forward time). */
  cheapGradient?: number;
  /** JS-heap bytes per call in steady state, by entry point. */
  alloc?: Partial<Record<Op, AllocFigure>>;
}

export interface CaseResult {
  readonly id: string;
  readonly model: string;
  readonly sizes: string;
  readonly batch: number;
  readonly paramCount: number;
  readonly impls: Record<string, ImplResult>;
}

export interface PeerInfo {
  readonly name: string;
  readonly packageName?: string;
  readonly version?: string;
  /** `installed` when the package resolves; otherwise why not. */
  readonly install: string;
}

export interface Results {
  readonly machine: MachineInfo;
  readonly mode: 'full' | 'quick';
  readonly filters: { readonly cases?: string[]; readonly impls?: string[] };
  readonly settings: Record<string, number | string>;
  readonly implementations: PeerInfo[];
  readonly cases: CaseResult[];
  readonly durationSec: number;
  /** Load averages when the run ended. */
  readonly loadAverageEnd?: readonly number[];
}
