// The packed ABI of models with several inputs or outputs: one sample's `input` row holds
// every model input in declared order (`model.inputs`: name, shape, offset, size), and its
// `output` / `target` rows every output (`model.outputs`). These helpers build and split
// such rows for a whole data set, so no caller computes an offset by hand.

import type { FloatArray, ModelInfo, TensorSlotInfo } from './types.ts';

/** The slots of a model's input (or output) row: `model.inputs`, or one slot for the row. */
export function slotsOf(model: ModelInfo, side: 'inputs' | 'outputs'): readonly TensorSlotInfo[] {
  const listed = model[side];
  if (listed) return listed;
  const size = side === 'inputs' ? model.inputSize : model.outputSize;
  const shape = (side === 'inputs' ? model.inputShape : model.outputShape) ?? [size];
  return [{ name: side === 'inputs' ? 'input' : 'output', shape, offset: 0, size }];
}

/**
 * `count` rows packed from one array per slot (each `count × slot.size`, row-major), e.g.
 * `packRows(model.inputs!, { image, meta }, count)`. Throws a RangeError naming the slot
 * for a missing part or a wrong length.
 */
export function packRows(
  slots: readonly TensorSlotInfo[],
  parts: Readonly<Record<string, ArrayLike<number>>>,
  count: number,
): Float64Array {
  const width = slots.reduce((a, s) => a + s.size, 0);
  const out = new Float64Array(count * width);
  for (const s of slots) {
    const part = parts[s.name];
    if (part === undefined) throw new RangeError(`no data for ${s.name}`);
    if (part.length !== count * s.size)
      throw new RangeError(
        `${s.name} has ${part.length} entries, expected count × ${s.size} = ${count * s.size}`,
      );
    for (let r = 0; r < count; r++)
      for (let k = 0; k < s.size; k++) out[r * width + s.offset + k] = part[r * s.size + k]!;
  }
  return out;
}

/** The inverse of `packRows`: one `count × slot.size` array per slot, by name. */
export function unpackRows(
  slots: readonly TensorSlotInfo[],
  packed: FloatArray,
  count: number,
): Record<string, Float64Array> {
  const width = slots.reduce((a, s) => a + s.size, 0);
  if (packed.length !== count * width)
    throw new RangeError(
      `expected count × ${width} = ${count * width} entries, got ${packed.length}`,
    );
  const out: Record<string, Float64Array> = {};
  for (const s of slots) {
    const part = new Float64Array(count * s.size);
    for (let r = 0; r < count; r++)
      for (let k = 0; k < s.size; k++) part[r * s.size + k] = packed[r * width + s.offset + k]!;
    out[s.name] = part;
  }
  return out;
}
