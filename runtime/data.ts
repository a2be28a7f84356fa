// Data sets as flat row-major arrays, and the row copies that keep the training loop
// allocation-free (a `subarray` view would allocate a typed-array object per sample).

import type { FloatArray, ModelInfo } from './types.ts';

export interface Dataset {
  /** count × inputSize, row-major. */
  readonly inputs: FloatArray;
  /** count × outputSize, row-major. */
  readonly targets: FloatArray;
  readonly count: number;
}

/** Throws a RangeError naming `label` unless `data` fits the model's input and output sizes. */
export function validateDataset(model: ModelInfo, data: Dataset, label = 'data'): void {
  const { count } = data;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`${label}.count must be a non-negative integer, got ${count}`);
  }
  if (data.inputs.length !== count * model.inputSize) {
    throw new RangeError(
      `${label}.inputs has ${data.inputs.length} entries, expected count × inputSize = ${count} × ${model.inputSize}`,
    );
  }
  if (data.targets.length !== count * model.outputSize) {
    throw new RangeError(
      `${label}.targets has ${data.targets.length} entries, expected count × outputSize = ${count} × ${model.outputSize}`,
    );
  }
}

/** dst[dstRow·width ..] ← src[srcRow·width ..], `width` entries. */
export function copyRow(
  src: FloatArray,
  srcRow: number,
  dst: FloatArray,
  dstRow: number,
  width: number,
): void {
  const s = srcRow * width;
  const d = dstRow * width;
  for (let j = 0; j < width; j++) dst[d + j] = src[s + j];
}

/** A new data set holding the given rows of `data`, in that order. */
export function selectRows(
  data: Dataset,
  rows: ArrayLike<number>,
  inputSize: number,
  outputSize: number,
): Dataset {
  const count = rows.length;
  const inputs = new Float64Array(count * inputSize);
  const targets = new Float64Array(count * outputSize);
  for (let r = 0; r < count; r++) {
    copyRow(data.inputs, rows[r], inputs, r, inputSize);
    copyRow(data.targets, rows[r], targets, r, outputSize);
  }
  return { inputs, targets, count };
}
