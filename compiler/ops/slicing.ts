// Moving blocks along one axis: `slice` takes a range of an axis (a view: it emits no code),
// `pad` is its transpose (the block placed in zeros), `concat` joins tensors along an axis
// (its transpose is a slice per argument). Time steps of a sequence, gates of a recurrent
// cell and stacked outputs are all blocks of one axis.
//   slice(x; axis, start, size)  y[.., j, ..] = x[.., start + j, ..]        j < size
//   pad(c; axis, start, total)   y[.., i, ..] = c[.., i − start, ..] inside the block, else 0
//   concat(x0, x1, ..; axis)     y = x0 then x1 then .. along axis
import { attrNum, sizeOf, type Attrs, type Node } from '../ir/node.ts';
import { fullCotangent as full } from './cotangent.ts';
import type { StructuredOp, ViewOp } from './types.ts';

/** A tensor seen as [outer, axis, inner]: the axis is a run of `dim` blocks of `inner`. */
export interface AxisSplit {
  readonly outer: number;
  readonly dim: number;
  readonly inner: number;
}

export function splitAt(shape: readonly number[], axis: number, op: string): AxisSplit {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length)
    throw new Error(`${op}: axis ${axis} is not an axis of shape [${shape.join(',')}]`);
  return {
    outer: sizeOf(shape.slice(0, axis)),
    dim: shape[axis]!,
    inner: sizeOf(shape.slice(axis + 1)),
  };
}

function withDim(shape: readonly number[], axis: number, dim: number): number[] {
  return shape.map((d, k) => (k === axis ? dim : d));
}

/** Start and length of a block along an axis of length `dim`, checked. */
function block(op: string, attrs: Attrs, sizeKey: string): { start: number; size: number } {
  const start = attrNum(attrs, 'start', op);
  const size = attrNum(attrs, sizeKey, op);
  if (!Number.isInteger(start) || start < 0) throw new Error(`${op}: bad start ${start}`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`${op}: bad ${sizeKey} ${size}`);
  return { start, size };
}

/**
 * Flat index into a slice's argument for flat index `idx` of the slice: a number for
 * constant indices, a JS expression for loop indices. A slice of the leading axes (outer = 1)
 * is an offset: `start·inner + k`.
 */
export function sliceIndex(
  from: readonly number[],
  attrs: Attrs,
  idx: number | string,
): number | string {
  const axis = attrNum(attrs, 'axis', 'slice');
  const { outer, dim, inner } = splitAt(from, axis, 'slice');
  const start = attrNum(attrs, 'start', 'slice');
  const size = attrNum(attrs, 'size', 'slice');
  const run = size * inner;
  const shift = start * inner;
  if (typeof idx === 'number') {
    const o = Math.floor(idx / run);
    return o * dim * inner + shift + (idx % run);
  }
  if (outer === 1) return shift === 0 ? idx : `${shift} + ${idx}`;
  return `((${idx}) / ${run} | 0) * ${dim * inner} + ${shift} + (${idx}) % ${run}`;
}

/**
 * A concat argument's length along the axis. A single element may arrive as a scalar
 * (shape []): simplification turns a size-1 broadcast of a constant into the constant, so a
 * one-element block (a gate of one unit) can lose its axes; it is a block of 1.
 */
export function alongAxis(shape: readonly number[], axis: number): number {
  return shape.length === 0 ? 1 : shape[axis]!;
}

/** Offsets of each argument of a concat along the axis. */
export function concatOffsets(args: readonly Node[], axis: number): number[] {
  const out: number[] = [];
  let at = 0;
  for (const a of args) {
    out.push(at);
    at += alongAxis(a.shape, axis);
  }
  return out;
}

export const sliceViewOps: ViewOp[] = [
  {
    name: 'slice',
    kind: 'view',
    arity: 1,
    smooth: true,
    doc: 'the block [start, start + size) of one axis',
    shape: ([a], attrs) => {
      const axis = attrNum(attrs, 'axis', 'slice');
      const { dim } = splitAt(a!.shape, axis, 'slice');
      const { start, size } = block('slice', attrs, 'size');
      if (start + size > dim)
        throw new Error(`slice: [${start}, ${start + size}) is outside an axis of ${dim}`);
      return withDim(a!.shape, axis, size);
    },
    evaluate: ([a], attrs, out, [as]) => {
      for (let k = 0; k < out.length; k++) out[k] = a![sliceIndex(as!, attrs, k) as number]!;
    },
    // The cotangent goes back into its block; the rest of the argument gets zeros.
    vjp: ({ B, ct, y, args: [a] }) => [
      B.make('pad', [full(B, ct, y)], {
        axis: y.attrs.axis!,
        start: y.attrs.start!,
        total: a!.shape[y.attrs.axis as number]!,
      }),
    ],
  },
];

export const slicingOps: StructuredOp[] = [
  {
    name: 'pad',
    kind: 'structured',
    arity: 1,
    smooth: true,
    doc: 'the argument as the block at start of an axis of length total, zeros elsewhere: slice transposed',
    shape: ([c], attrs) => {
      const axis = attrNum(attrs, 'axis', 'pad');
      const { dim } = splitAt(c!.shape, axis, 'pad');
      const { start, size: total } = block('pad', attrs, 'total');
      if (start + dim > total)
        throw new Error(`pad: a block of ${dim} at ${start} does not fit in ${total}`);
      return withDim(c!.shape, axis, total);
    },
    evaluate: ([c], attrs, out, [cs]) => {
      const axis = attrNum(attrs, 'axis', 'pad');
      const { outer, dim, inner } = splitAt(cs!, axis, 'pad');
      const total = attrNum(attrs, 'total', 'pad');
      const start = attrNum(attrs, 'start', 'pad');
      out.fill(0);
      for (let o = 0; o < outer; o++)
        for (let r = 0; r < dim * inner; r++)
          out[o * total * inner + start * inner + r] = c![o * dim * inner + r]!;
    },
    vjp: ({ B, ct, y, args: [c] }) => [
      B.make('slice', [full(B, ct, y)], {
        axis: y.attrs.axis!,
        start: y.attrs.start!,
        size: c!.shape[y.attrs.axis as number]!,
      }),
    ],
    cost: (n) => n.size,
  },
  {
    name: 'concat',
    kind: 'structured',
    arity: 1,
    variadic: true,
    smooth: true,
    doc: 'the arguments one after another along an axis (all other axes equal)',
    shape: (args, attrs) => {
      const axis = attrNum(attrs, 'axis', 'concat');
      const ranked = args.find((a) => a.shape.length > 0);
      const first = ranked ? ranked.shape : [args.length];
      const { outer, inner } = splitAt(first, axis, 'concat');
      let dim = 0;
      args.forEach((a, i) => {
        const scalar = a.shape.length === 0 && outer * inner === 1;
        const fits =
          scalar ||
          (a.shape.length === first.length &&
            a.shape.every((d, k) => k === axis || d === first[k]));
        if (!fits)
          throw new Error(
            `concat: argument ${i} has shape [${a.shape.join(',')}], which does not join [${first.join(',')}] along axis ${axis}`,
          );
        dim += alongAxis(a.shape, axis);
      });
      return withDim(first, axis, dim);
    },
    evaluate: (args, attrs, out, shapes) => {
      const axis = attrNum(attrs, 'axis', 'concat');
      const ranked = shapes.find((sh) => sh.length > 0) ?? [out.length];
      const { outer, inner } = splitAt(ranked, axis, 'concat');
      const run = (out.length / outer) | 0;
      let at = 0;
      args.forEach((a, i) => {
        const piece = alongAxis(shapes[i]!, axis) * inner;
        for (let o = 0; o < outer; o++)
          for (let r = 0; r < piece; r++) out[o * run + at + r] = a[o * piece + r]!;
        at += piece;
      });
    },
    vjp: ({ B, ct, y, args, needs }) => {
      const axis = y.attrs.axis as number;
      const g = full(B, ct, y);
      const offsets = concatOffsets(args, axis);
      return args.map((a, i) =>
        needs[i]
          ? B.make('slice', [g], { axis, start: offsets[i]!, size: alongAxis(a.shape, axis) })
          : null,
      );
    },
    cost: (n) => n.size,
  },
];
