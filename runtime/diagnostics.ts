// Gradient diagnostics: per-layer gradient norms, and warnings for the two classic failure
// modes of backpropagation — vanishing gradients (a layer's norm stays tiny, so it stops
// learning; typical of deep sigmoid/tanh stacks) and exploding gradients (norms grow huge or
// become NaN/Infinity; typical of a too-large learning rate).
//
// The norm recorded for an epoch is, per layer, the mean over the epoch's batches of the
// L2 norm of that layer's batch-mean gradient (before clipping). Layers are the groups of
// `model.params` sharing `layer`. Messages state what was observed; what to do about it
// depends on the model and the front end, and comes with the run's verdict (verdict.ts).

import type { FloatArray, ModelInfo } from './types.ts';

export type WarningKind = 'vanishing' | 'exploding' | 'nonFinite';

export interface TrainingWarning {
  readonly kind: WarningKind;
  /** Layer name from `model.layers` (e.g. `dense0`). */
  readonly layer: string;
  readonly layerIndex: number;
  /** 0-based epoch at which the warning fired. */
  readonly epoch: number;
  readonly norm: number;
  readonly message: string;
}

export interface DiagnosticsOptions {
  /** A layer norm below this counts as vanishing. Default 1e-7. */
  readonly vanishingThreshold?: number;
  /** ... for this many consecutive epochs before warning. Default 5. */
  readonly vanishingEpochs?: number;
  /** A layer norm above this counts as exploding. Default 1e4. */
  readonly explodingThreshold?: number;
  /** ... for this many consecutive epochs before warning (non-finite warns at once). Default 1. */
  readonly explodingEpochs?: number;
}

/** Per-layer flat index ranges of the trainable tensors, in layer order. */
export interface LayerGroups {
  readonly names: readonly string[];
  /** ranges[l] = [start0, end0, start1, end1, ...] of layer l's tensors. */
  readonly ranges: readonly Int32Array[];
}

export function layerGroups(model: ModelInfo): LayerGroups {
  const count = Math.max(
    model.layers.length,
    model.params.reduce((m, p) => Math.max(m, p.layer + 1), 0),
  );
  const lists: number[][] = Array.from({ length: count }, () => []);
  // Non-trainable tensors (frozen layers, moving statistics) have a zero gradient by
  // construction: counting them would report a frozen layer as vanishing.
  for (const p of model.params)
    if (p.trainable !== false) lists[p.layer].push(p.offset, p.offset + p.size);
  return {
    names: lists.map((_, l) => model.layers[l]?.name ?? `layer${l}`),
    ranges: lists.map((r) => Int32Array.from(r)),
  };
}

/** Writes each layer's gradient L2 norm into `out` (length = number of layers). */
export function layerGradNorms(groups: LayerGroups, grad: FloatArray, out: Float64Array): void {
  for (let l = 0; l < groups.ranges.length; l++) {
    const r = groups.ranges[l];
    let sum = 0;
    for (let k = 0; k < r.length; k += 2) {
      for (let i = r[k]; i < r[k + 1]; i++) sum += grad[i] * grad[i];
    }
    out[l] = Math.sqrt(sum);
  }
}

/** Formats 3.1e-9 / 1e-7 the way the warnings print them. */
export function formatNorm(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return x.toExponential(1).replace('.0e', 'e');
}

/**
 * Accumulates per-layer norms batch by batch and turns each epoch's means into warnings.
 * Each (layer, kind) warns at most once per monitor. `addBatch` allocates nothing.
 */
export class GradientMonitor {
  readonly groups: LayerGroups;
  readonly warnings: TrainingWarning[] = [];
  private readonly sums: Float64Array;
  private readonly batchNorms: Float64Array;
  private batches = 0;
  private readonly lowStreak: Int32Array;
  private readonly highStreak: Int32Array;
  private readonly warned = new Set<string>();
  private readonly vanishing: number;
  private readonly vanishingEpochs: number;
  private readonly exploding: number;
  private readonly explodingEpochs: number;

  constructor(
    model: ModelInfo,
    options: DiagnosticsOptions = {},
    private readonly onWarning?: (w: TrainingWarning) => void,
    /** When false, norms are still recorded but no warning is raised. */
    private readonly enabled = true,
  ) {
    this.groups = layerGroups(model);
    const n = this.groups.ranges.length;
    this.sums = new Float64Array(n);
    this.batchNorms = new Float64Array(n);
    this.lowStreak = new Int32Array(n);
    this.highStreak = new Int32Array(n);
    this.vanishing = options.vanishingThreshold ?? 1e-7;
    this.vanishingEpochs = options.vanishingEpochs ?? 5;
    this.exploding = options.explodingThreshold ?? 1e4;
    this.explodingEpochs = options.explodingEpochs ?? 1;
  }

  get layerCount(): number {
    return this.groups.ranges.length;
  }

  /** Adds one batch-mean gradient to the current epoch. */
  addBatch(grad: FloatArray): void {
    layerGradNorms(this.groups, grad, this.batchNorms);
    for (let l = 0; l < this.sums.length; l++) this.sums[l] += this.batchNorms[l];
    this.batches++;
  }

  /** Closes the epoch: returns the per-layer mean norms and records any warnings. */
  endEpoch(epoch: number): number[] {
    const norms: number[] = [];
    for (let l = 0; l < this.sums.length; l++) {
      norms.push(this.batches > 0 ? this.sums[l] / this.batches : NaN);
      this.sums[l] = 0;
    }
    const had = this.batches > 0;
    this.batches = 0;
    if (had && this.enabled) this.inspect(epoch, norms);
    return norms;
  }

  private inspect(epoch: number, norms: readonly number[]): void {
    for (let l = 0; l < norms.length; l++) {
      // A pooling, flatten or reshape layer has no parameter: its norm is 0 by construction.
      if (this.groups.ranges[l].length === 0) continue;
      const norm = norms[l];
      const name = this.groups.names[l];
      if (!Number.isFinite(norm)) {
        this.warn(
          'nonFinite',
          l,
          epoch,
          norm,
          `layer ${name}: gradient norm is ${norm} — exploding gradients (non-finite values)`,
        );
        continue;
      }
      // Layers without trainable tensors (pooling, flatten) have no gradient
      // of their own to vanish.
      if (this.groups.ranges[l].length === 0) continue;
      this.highStreak[l] = norm > this.exploding ? this.highStreak[l] + 1 : 0;
      this.lowStreak[l] = norm < this.vanishing ? this.lowStreak[l] + 1 : 0;
      if (this.highStreak[l] >= this.explodingEpochs) {
        const span = this.explodingEpochs > 1 ? ` for ${this.highStreak[l]} epochs` : '';
        this.warn(
          'exploding',
          l,
          epoch,
          norm,
          `layer ${name}: gradient norm ${formatNorm(norm)} > ${formatNorm(this.exploding)}${span} — exploding gradients`,
        );
      }
      if (this.lowStreak[l] >= this.vanishingEpochs) {
        this.warn(
          'vanishing',
          l,
          epoch,
          norm,
          `layer ${name}: gradient norm ${formatNorm(norm)} < ${formatNorm(this.vanishing)} for ${this.lowStreak[l]} epochs — vanishing gradients`,
        );
      }
    }
  }

  private warn(
    kind: WarningKind,
    layerIndex: number,
    epoch: number,
    norm: number,
    message: string,
  ): void {
    const key = `${layerIndex}:${kind}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const w: TrainingWarning = {
      kind,
      layer: this.groups.names[layerIndex],
      layerIndex,
      epoch,
      norm,
      message,
    };
    this.warnings.push(w);
    if (this.onWarning) this.onWarning(w);
    else console.warn(`gradc: ${message}`);
  }
}
