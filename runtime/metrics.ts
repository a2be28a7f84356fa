// Evaluation and prediction over a data set.
//
// accuracy: argmax(output) = argmax(target) for several outputs; for one output both sides
// are thresholded at 0.5 (a sigmoid probability against a 0/1 label), as Keras'
// `binary_accuracy`. mae: mean of |output − target| over samples and output units.

import { copyRow, validateDataset, type Dataset } from './data.ts';
import { allocArray, allocWork } from './init.ts';
import type { FloatArray, GeneratedModule } from './types.ts';

export interface Metrics {
  /** Mean per-sample loss as the module defines it. */
  loss: number;
  accuracy: number;
  mae: number;
}

function argmax(a: FloatArray, start: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (a[start + j] > a[start + best]) best = j;
  return best;
}

/** 1 if the prediction in `out` counts as correct for `target` (row `row`), else 0. */
export function isCorrect(out: FloatArray, target: FloatArray, row: number, width: number): number {
  const s = row * width;
  if (width === 1) return out[0] >= 0.5 === target[s] >= 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < width; j++) if (out[j] > out[best]) best = j;
  return best === argmax(target, s, width) ? 1 : 0;
}

/** Slots of a running-totals array (see BatchRunner.totals). */
export const CORRECT = 2;
export const ABS_ERROR = 3;

/**
 * Adds one sample's correctness and absolute error into `totals[CORRECT]` and
 * `totals[ABS_ERROR]`. Writes instead of returning: a double returned from a call V8 does
 * not inline is boxed, i.e. allocated.
 */
export function accumulateMetrics(
  out: FloatArray,
  target: FloatArray,
  row: number,
  width: number,
  accuracy: boolean,
  mae: boolean,
  totals: Float64Array,
): void {
  if (accuracy) totals[CORRECT] += isCorrect(out, target, row, width);
  if (mae) {
    const s = row * width;
    for (let j = 0; j < width; j++) totals[ABS_ERROR] += Math.abs(out[j] - target[s + j]);
  }
}

/**
 * Reusable evaluator: buffers are allocated once, and the per-row work is a separate method
 * accumulating into a Float64Array (see batch-runner.ts for why), so `run` allocates only
 * its result.
 */
export class Evaluator {
  private readonly x: FloatArray;
  private readonly t: FloatArray;
  private readonly out: FloatArray;
  private readonly work: FloatArray;
  /** [loss sum, unused, correct, absolute error]. */
  private readonly totals = new Float64Array(4);
  /** Results of the last `run`, overwritten by the next one. */
  readonly result: Metrics = { loss: NaN, accuracy: NaN, mae: NaN };

  constructor(private readonly module: GeneratedModule) {
    const m = module.model;
    this.x = allocArray(m, m.inputSize);
    this.t = allocArray(m, m.outputSize);
    this.out = allocArray(m, m.outputSize);
    this.work = allocWork(m);
  }

  private row(params: FloatArray, data: Dataset, r: number): void {
    const { module, x, t, out, work, totals } = this;
    const { inputSize, outputSize } = module.model;
    copyRow(data.inputs, r, x, 0, inputSize);
    copyRow(data.targets, r, t, 0, outputSize);
    totals[0] += module.loss(params, x, t, work);
    module.forward(params, x, out, work);
    accumulateMetrics(out, t, 0, outputSize, true, true, totals);
  }

  run(params: FloatArray, data: Dataset): Metrics {
    this.totals.fill(0);
    for (let r = 0; r < data.count; r++) this.row(params, data, r);
    const n = data.count;
    const width = this.module.model.outputSize;
    this.result.loss = n > 0 ? this.totals[0] / n : NaN;
    this.result.accuracy = n > 0 ? this.totals[CORRECT] / n : NaN;
    this.result.mae = n > 0 ? this.totals[ABS_ERROR] / (n * width) : NaN;
    return this.result;
  }
}

/** Mean loss, accuracy and mean absolute error of `params` on `data`. */
export function evaluate(module: GeneratedModule, params: FloatArray, data: Dataset): Metrics {
  validateDataset(module.model, data);
  return { ...new Evaluator(module).run(params, data) };
}

/**
 * Runs `forward` on `count` row-major inputs; returns count × outputSize outputs in the
 * model's precision. Pass `out` to reuse a buffer.
 */
export function predict(
  module: GeneratedModule,
  params: FloatArray,
  inputs: FloatArray,
  count: number,
  out?: FloatArray,
): FloatArray {
  const m = module.model;
  if (inputs.length < count * m.inputSize) {
    throw new RangeError(`inputs has ${inputs.length} entries, need ${count} × ${m.inputSize}`);
  }
  const outputs = out ?? allocArray(m, count * m.outputSize);
  if (outputs.length < count * m.outputSize) {
    throw new RangeError(`out has ${outputs.length} entries, need ${count} × ${m.outputSize}`);
  }
  const x = allocArray(m, m.inputSize);
  const y = allocArray(m, m.outputSize);
  const work = allocWork(m);
  for (let r = 0; r < count; r++) {
    copyRow(inputs, r, x, 0, m.inputSize);
    module.forward(params, x, y, work);
    copyRow(y, 0, outputs, r, m.outputSize);
  }
  return outputs;
}
