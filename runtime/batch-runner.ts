// One training step, in a class of its own so V8 optimizes it as an ordinary hot method.
//
// Why not inline this in train(): train() is called once and spends its whole life in one
// loop, so it runs interpreted until on-stack replacement kicks in, and falls back to the
// interpreter whenever that code deoptimizes (e.g. at an epoch boundary). Interpreted code
// boxes every floating-point intermediate as a heap number — thousands of allocations per
// step. A method called once per batch is optimized after a few hundred calls and stays
// optimized. For the same reason running sums live in a Float64Array, not in number
// variables passed between functions (a double returned from a call that is not inlined
// is boxed too).

import { copyRow, type Dataset } from './data.ts';
import type { GradientMonitor } from './diagnostics.ts';
import { allocArray, allocFor } from './init.ts';
import { accumulateMetrics, CORRECT, ABS_ERROR } from './metrics.ts';
import type { Optimizer } from './optimizers.ts';
import type { FloatArray, GeneratedModule } from './types.ts';

/** Indices into BatchRunner.totals. */
export const LOSS_SUM = 0;
export const SEEN = 1;
export { CORRECT, ABS_ERROR };
export const BATCH_LOSS = 4;

/** What onBatchEnd receives; one object reused for every batch. */
export interface BatchInfo {
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Samples in this batch. */
  size: number;
  /** Mean loss over the batch (before the update). */
  loss: number;
  /** Learning rate used for the update. */
  lr: number;
  /** Optimizer steps taken so far, this one included. */
  iterations: number;
}

export interface RunnerOptions {
  readonly batchSize: number;
  readonly batched: boolean;
  readonly wantAccuracy: boolean;
  readonly wantMae: boolean;
  readonly terminateOnNaN: boolean;
  readonly onBatchEnd: ((info: BatchInfo) => void) | undefined;
  /**
   * Per-row weights of `data` (class weights): a row's loss and gradient count w times. Only
   * the per-sample path applies them; train() turns `batched` off when they are set.
   */
  readonly sampleWeights?: Float64Array | undefined;
  /**
   * The run's seed. Each step passes the generated module a seed of its own, derived from it
   * and the step count (and the sample, on the per-sample path), so dropout masks differ per
   * step and are the same in a rerun with the same seed.
   */
  readonly seed?: number;
}

/** A 32-bit seed for step `step` (and sample `sample`) of a run seeded `base`. */
export function stepSeed(base: number, step: number, sample = 0): number {
  return (base + Math.imul(step + 1, 0x9e3779b1) + Math.imul(sample, 0x85ebca77)) | 0;
}

export class BatchRunner {
  /** Epoch running sums: [lossSum, seen, correct, absError, lastBatchLoss]. */
  readonly totals = new Float64Array(5);
  /** The batch-mean gradient of the last batch (f64 when accumulated here). */
  readonly grad: FloatArray;
  private readonly x: FloatArray;
  private readonly t: FloatArray;
  private readonly out: FloatArray;
  private readonly work: FloatArray;
  private readonly sampleGrad: FloatArray;
  private readonly xb: FloatArray;
  private readonly tb: FloatArray;
  private readonly needForward: boolean;
  /** Indices of non-trainable parameters (frozen layers, moving statistics) and a buffer for
   * their values: the optimizer works on the whole array, and weight decay or momentum would
   * move them even with a zero gradient, so they are put back after every step. They are
   * read after the gradient, so the moving statistics that gradientBatch wrote are kept. */
  private readonly frozen: Int32Array;
  private readonly frozenValues: Float64Array;
  /** Steps run so far: keys each step's dropout masks. */
  private steps = 0;
  // Doubles start as NaN so V8 stores later values in place (see optimizers.ts).
  private readonly info: BatchInfo = {
    epoch: 0,
    batch: 0,
    size: 0,
    loss: NaN,
    lr: NaN,
    iterations: 0,
  };

  constructor(
    private readonly module: GeneratedModule,
    private readonly data: Dataset,
    private readonly optimizer: Optimizer,
    private readonly monitor: GradientMonitor,
    private readonly o: RunnerOptions,
  ) {
    const m = module.model;
    // A WebAssembly-backed module's vector SGD pass replaces the JS loop (same math).
    optimizer.useVectorSgd?.(module.sgd);
    this.x = allocArray(m, m.inputSize);
    this.t = allocArray(m, m.outputSize);
    this.out = allocArray(m, m.outputSize);
    // What the batched entry points touch lives in the module's memory (see allocFor).
    this.work = allocFor(module, m.workSize);
    this.sampleGrad = allocFor(module, m.paramCount);
    // Accumulate in f64 even for f32 models: summing many small per-sample gradients in f32
    // loses low bits. gradientBatch writes the mean itself, in the model's precision.
    this.grad = o.batched ? this.sampleGrad : new Float64Array(m.paramCount);
    this.xb = o.batched ? allocFor(module, o.batchSize * m.inputSize) : this.x;
    this.tb = o.batched ? allocFor(module, o.batchSize * m.outputSize) : this.t;
    this.needForward = o.wantAccuracy || o.wantMae;
    const frozen: number[] = [];
    for (const p of m.params)
      if (p.trainable === false) for (let i = 0; i < p.size; i++) frozen.push(p.offset + i);
    this.frozen = Int32Array.from(frozen);
    this.frozenValues = new Float64Array(frozen.length);
  }

  resetEpoch(): void {
    this.totals.fill(0);
  }

  /**
   * Gradient of rows order[start .. start + size), diagnostics, optimizer step, callback.
   * Returns false (without stepping) if the batch loss is not finite and terminateOnNaN is set.
   */
  run(
    params: FloatArray,
    order: Int32Array,
    start: number,
    size: number,
    epoch: number,
    batch: number,
  ): boolean {
    const { module, data, totals } = this;
    const { inputSize, outputSize } = module.model;
    const base = this.o.seed ?? 0;
    const step = this.steps++;
    if (this.o.batched) {
      for (let s = 0; s < size; s++) {
        const row = order[start + s];
        copyRow(data.inputs, row, this.xb, s, inputSize);
        copyRow(data.targets, row, this.tb, s, outputSize);
      }
      // `batched` is only set when the module has gradientBatch.
      totals[BATCH_LOSS] = module.gradientBatch!(
        params,
        this.xb,
        this.tb,
        size,
        this.grad,
        this.work,
        stepSeed(base, step),
      );
      if (this.needForward) {
        for (let s = 0; s < size; s++) {
          copyRow(this.xb, s, this.x, 0, inputSize);
          module.forward(params, this.x, this.out, this.work);
          accumulateMetrics(
            this.out,
            this.tb,
            s,
            outputSize,
            this.o.wantAccuracy,
            this.o.wantMae,
            totals,
          );
        }
      }
    } else {
      const acc = this.grad;
      const g = this.sampleGrad;
      const weights = this.o.sampleWeights;
      acc.fill(0);
      totals[BATCH_LOSS] = 0;
      for (let s = 0; s < size; s++) {
        const row = order[start + s];
        copyRow(data.inputs, row, this.x, 0, inputSize);
        copyRow(data.targets, row, this.t, 0, outputSize);
        const w = weights === undefined ? 1 : weights[row];
        // Each sample is a batch of one here (batch statistics of one sample), and gets its
        // own mask seed: the module keys a lone sample's masks by the seed alone.
        totals[BATCH_LOSS] +=
          w * module.gradient(params, this.x, this.t, g, this.work, stepSeed(base, step, s + 1));
        for (let i = 0; i < acc.length; i++) acc[i] += w * g[i];
        if (this.needForward) {
          module.forward(params, this.x, this.out, this.work);
          accumulateMetrics(
            this.out,
            this.t,
            0,
            outputSize,
            this.o.wantAccuracy,
            this.o.wantMae,
            totals,
          );
        }
      }
      const inv = 1 / size;
      for (let i = 0; i < acc.length; i++) acc[i] *= inv;
      totals[BATCH_LOSS] *= inv;
    }
    totals[LOSS_SUM] += totals[BATCH_LOSS] * size;
    totals[SEEN] += size;
    this.monitor.addBatch(this.grad);
    if (this.o.terminateOnNaN && !Number.isFinite(totals[BATCH_LOSS])) return false;
    const frozen = this.frozen;
    const kept = this.frozenValues;
    for (let i = 0; i < frozen.length; i++) kept[i] = params[frozen[i]];
    this.optimizer.step(params, this.grad);
    for (let i = 0; i < frozen.length; i++) params[frozen[i]] = kept[i];
    const cb = this.o.onBatchEnd;
    if (cb !== undefined) {
      const info = this.info;
      info.epoch = epoch;
      info.batch = batch;
      info.size = size;
      info.loss = totals[BATCH_LOSS];
      info.lr = this.optimizer.lr;
      info.iterations = this.optimizer.iterations;
      cb(info);
    }
    return true;
  }
}
