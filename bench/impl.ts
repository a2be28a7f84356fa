// The one interface every benchmarked implementation (baseline, gradc, peers) is adapted to.

import type { BenchCase, CaseData, NetSpec } from './models.ts';

export type Precision = 'f32' | 'f64';

/** What an implementation actually computes when it cannot express the case's model exactly. */
export interface Semantics {
  readonly spec: NetSpec;
  /** `mean`: one step on the batch-mean gradient; `online`: one step per sample, in order. */
  readonly update: 'mean' | 'online';
  /** Shown next to the figures, e.g. "sigmoid on every layer". */
  readonly note: string;
}

/** An implementation loaded with one case's model, weights and batch. */
export interface Prepared {
  readonly precision: Precision;
  /** Present when the implementation runs a variant of the case's model. */
  readonly semantics?: Semantics;
  /** Untimed; runs before each timed block (TF.js switches its global backend here). */
  activate?(): void | Promise<void>;
  /** Loads parameters given in gradc's flat layout (converted as the library needs). */
  load(params: Float64Array): void;
  /** Forward on the whole batch, outputs read back into JS memory. */
  infer(): void;
  /** Like `infer`, then copies the outputs (row-major batch × outputs) into `out`. */
  readOutputs(out: Float64Array): void;
  /** One SGD step on the batch; the gradient is computed by the implementation itself. */
  trainStep(): void;
  /** Set when the implementation cannot train this model (then only inference is verified and
   * timed, and `trainStep` is never called): why not. */
  readonly trainUnavailable?: string;
  /** Writes the current parameters into `out` in gradc's flat layout. */
  readParams(out: Float64Array): void;
  /** Per-sample entry points (sample 0), for the cheap-gradient ratio and direct checks. */
  forward1?(): void;
  gradient1?(): void;
  /** Per-sample gradient of sample 0 into `out`; returns the loss. */
  readGradient1?(out: Float64Array): number;
  dispose(): void;
}

export interface Unavailable {
  readonly unavailable: string;
}

export interface ImplFactory {
  /** Column name in the results. */
  readonly name: string;
  /** npm package whose version is reported, if any. */
  readonly packageName?: string;
  prepare(c: BenchCase, data: CaseData, lr: number): Promise<Prepared | Unavailable>;
}

export function isUnavailable(p: Prepared | Unavailable): p is Unavailable {
  return 'unavailable' in p;
}

export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 300);
}
