// Joining and cutting along one axis: `concat` (the concatenate layer) and `slice`, its
// transpose. Both are copies, so their derivatives are each other: the cotangent of a concat
// is cut back into its parts, and a slice's cotangent is put back in place between zeros.
import { attrNum, sizeOf, type Attrs, type Node } from '../ir/node.ts';
import { fullCotangent } from './cotangent.ts';
import type { StructuredOp } from './types.ts';

/** The rows before `axis` and the contiguous elements from `axis` on, for a shape. */
export function splitAt(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), inner: sizeOf(shape.slice(axis)) };
}

function axisOf(attrs: Attrs, rank: number, op: string): number {
  const axis = attrNum(attrs, 'axis', op);
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank)
    throw new Error(`${op}: axis ${axis} is outside a rank-${rank} tensor`);
  return axis;
}

/** Shape of `slice(a, axis, start, length)`, or a thrown error. */
function sliceShape(a: Node, attrs: Attrs): number[] {
  const axis = axisOf(attrs, a.shape.length, 'slice');
  const start = attrNum(attrs, 'start', 'slice');
  const length = attrNum(attrs, 'length', 'slice');
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 1)
    throw new Error(`slice: bad range ${start}+${length}`);
  if (start + length > a.shape[axis]!)
    throw new Error(`slice: ${start}+${length} is past axis ${axis} of [${a.shape.join(',')}]`);
  return a.shape.map((d, k) => (k === axis ? length : d));
}

export const concatOps: StructuredOp[] = [
  {
    name: 'concat',
    kind: 'structured',
    arity: 2,
    smooth: true,
    doc: 'the two arguments joined along `axis` (all other axes equal)',
    shape: ([a, b], attrs) => {
      const axis = axisOf(attrs, a!.shape.length, 'concat');
      if (
        a!.shape.length !== b!.shape.length ||
        a!.shape.some((d, k) => k !== axis && d !== b!.shape[k])
      )
        throw new Error(
          `concat: [${a!.shape.join(',')}] and [${b!.shape.join(',')}] differ off axis ${axis}`,
        );
      return a!.shape.map((d, k) => (k === axis ? d + b!.shape[k]! : d));
    },
    evaluate: ([a, b], attrs, out, [as, bs]) => {
      const axis = attrNum(attrs, 'axis', 'concat');
      const { outer, inner: ia } = splitAt(as!, axis);
      const ib = splitAt(bs!, axis).inner;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < ia; j++) out[o * (ia + ib) + j] = a![o * ia + j]!;
        for (let j = 0; j < ib; j++) out[o * (ia + ib) + ia + j] = b![o * ib + j]!;
      }
    },
    vjp: ({ B, y, ct, args: [a, b], needs }) => {
      const g = fullCotangent(B, ct, y);
      const axis = attrNum(y.attrs, 'axis', 'concat');
      const na = a!.shape[axis]!;
      return [
        needs[0] ? B.slice(g, axis, 0, na) : null,
        needs[1] ? B.slice(g, axis, na, b!.shape[axis]!) : null,
      ];
    },
    cost: (n) => n.size,
  },
  {
    name: 'slice',
    kind: 'structured',
    arity: 1,
    smooth: true,
    doc: 'elements `start .. start+length` of the argument along `axis`',
    shape: ([a], attrs) => sliceShape(a!, attrs),
    evaluate: ([a], attrs, out, [as]) => {
      const axis = attrNum(attrs, 'axis', 'concat');
      const { outer, inner } = splitAt(as!, axis);
      const rest = inner / as![axis]!;
      const width = attrNum(attrs, 'length', 'concat') * rest;
      const from = attrNum(attrs, 'start', 'concat') * rest;
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < width; j++) out[o * width + j] = a![o * inner + from + j]!;
    },
    // Transpose: the cotangent between zeros, as a concat with broadcast zeros (views).
    vjp: ({ B, y, ct, args: [a] }) => {
      const g = fullCotangent(B, ct, y);
      const axis = attrNum(y.attrs, 'axis', 'concat');
      const start = attrNum(y.attrs, 'start', 'concat');
      const after = a!.shape[axis]! - start - attrNum(y.attrs, 'length', 'concat');
      const zeros = (n: number) =>
        B.bcast(
          B.const(0),
          a!.shape.map((d, k) => (k === axis ? n : d)),
        );
      let full = g;
      if (start > 0) full = B.concat(zeros(start), full, axis);
      if (after > 0) full = B.concat(full, zeros(after), axis);
      return [full];
    },
    cost: (n) => n.size,
  },
];
