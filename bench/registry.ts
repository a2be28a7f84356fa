import type { ImplFactory } from './impl.ts';
import { baselineImpl } from './impl-baseline.ts';
import { gradcImpl } from './impl-gradc.ts';
import { handWasmImpl } from './impl-hand-wasm.ts';
import { PEERS } from './peers/index.ts';

/** Every implementation, in table order; the baseline first (ratios are relative to it). */
export const IMPLS: readonly ImplFactory[] = [
  baselineImpl,
  gradcImpl('gradc', ''),
  gradcImpl('gradc f32', '-f32'),
  gradcImpl('gradc wasm', '', 'wasm'),
  gradcImpl('gradc wasm f32', '-f32', 'wasm'),
  handWasmImpl,
  ...PEERS,
];

/** Training-step learning rate; weights are restored before every timed block, so it never drifts far. */
export const LR = 0.05;

export const SEED = 20240601;

export const OPS = ['train', 'infer', 'gradient1', 'forward1'] as const;
export type Op = (typeof OPS)[number];
