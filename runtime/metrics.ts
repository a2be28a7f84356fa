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

/** Σ |out − target| over one row. */
export function absErrorSum(out: FloatArray, target: FloatArray, row: number, width: number): number {
  const s = row * width;
  let sum = 0;
  for (let j = 0; j < width; j++) sum += Math.abs(out[j] - target[s + j]);
  return sum;
}

/**
 * Reusable evaluator: buffers are allocated once, so `run` allocates nothing — the
 * training loop uses it for validation every epoch.
 */
export class Evaluator {
  private readonly x: FloatArray;
  private readonly t: FloatArray;
  private readonly out: FloatArray;
  private readonly work: FloatArray;
  /** Results of the last `run`, overwritten by the next one. */
  readonly result: Metrics = { loss: NaN, accuracy: NaN, mae: NaN };

  constructor(private readonly module: GeneratedModule) {
    const m = module.model;
    this.x = allocArray(m, m.inputSize);
    this.t = allocArray(m, m.outputSize);
    this.out = allocArray(m, m.outputSize);
    this.work = allocWork(m);
  }

  run(params: FloatArray, data: Dataset): Metrics {
    const { module, x, t, out, work } = this;
    const { inputSize, outputSize } = module.model;
    let loss = 0;
    let correct = 0;
    let absErr = 0;
    for (let r = 0; r < data.count; r++) {
      copyRow(data.inputs, r, x, 0, inputSize);
      copyRow(data.targets, r, t, 0, outputSize);
      loss += module.loss(params, x, t, work);
      module.forward(params, x, out, work);
      correct += isCorrect(out, data.targets, r, outputSize);
      absErr += absErrorSum(out, data.targets, r, outputSize);
    }
    const n = data.count;
    this.result.loss = n > 0 ? loss / n : NaN;
    this.result.accuracy = n > 0 ? correct / n : NaN;
    this.result.mae = n > 0 ? absErr / (n * outputSize) : NaN;
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
