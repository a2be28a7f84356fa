// A real sequence-regression data set derived from the MNIST digits the `mnist` package
// ships (examples/data/mnist.ts): read each digit top to bottom, and its rows' mean grey
// levels form a series of 28 values in [0, 1] (how much ink each row holds). Windows of
// WINDOW rows predict the next row; every window position 8..27 of every digit is a sample.
// The digits of the training and held-out windows are disjoint (the seeded MNIST split).
// Persistence baseline: the next row holds as much ink as the last one.
import type { Dataset } from '@gradc/runtime';
import { loadMnist } from '../data/mnist.ts';

export const WINDOW = 8;
const SIDE = 28;

function inkOf(pixels: Float64Array, digit: number): Float64Array {
  const ink = new Float64Array(SIDE);
  for (let r = 0; r < SIDE; r++) {
    let s = 0;
    for (let c = 0; c < SIDE; c++) s += pixels[(digit * SIDE + r) * SIDE + c]!;
    ink[r] = s / SIDE;
  }
  return ink;
}

function windows(digits: Dataset): Dataset {
  const per = SIDE - WINDOW;
  const count = digits.count * per;
  const inputs = new Float64Array(count * WINDOW);
  const targets = new Float64Array(count);
  for (let d = 0; d < digits.count; d++) {
    const ink = inkOf(digits.inputs as Float64Array, d);
    for (let k = 0; k < per; k++) {
      const row = d * per + k;
      inputs.set(ink.subarray(k, k + WINDOW), row * WINDOW);
      targets[row] = ink[k + WINDOW]!;
    }
  }
  return { inputs, targets, count };
}

export function loadInk(
  trainDigits: number,
  testDigits: number,
): { train: Dataset; test: Dataset } {
  const split = loadMnist({ train: trainDigits, test: testDigits, seed: 1 });
  return { train: windows(split.train), test: windows(split.test) };
}

/** Root mean squared error of `predict(window) ` over a data set. */
export function rmse(data: Dataset, predict: (row: number) => number): number {
  let s = 0;
  for (let r = 0; r < data.count; r++) s += (predict(r) - data.targets[r]!) ** 2;
  return Math.sqrt(s / data.count);
}

/** The persistence forecast: the last row of the window. */
export function persistence(data: Dataset): (row: number) => number {
  return (row) => data.inputs[row * WINDOW + WINDOW - 1]!;
}
