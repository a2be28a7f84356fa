// Table lookups by data: `gather` reads rows of a table at ids held in a float array (the
// embedding layer), `scatterAdd` adds rows into a table at those ids, and each is the other's
// transpose. An id that is not a whole number in [0, rows) reads a zero row and receives
// nothing, in `evaluate` and in the lowered kernels alike, so no id reads or writes out of
// bounds. The ids get no cotangent: the result is piecewise constant in them.
import { attrInts, sizeOf, type Node } from '../ir/node.ts';
import { fullCotangent } from './cotangent.ts';
import type { StructuredOp } from './types.ts';

/** Whether `id` picks a row of a table with `rows` rows. */
export function validId(id: number, rows: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < rows;
}

function table(shape: readonly number[], op: string): { rows: number; width: number } {
  if (shape.length !== 2) throw new Error(`${op}: the table must be [rows, width], got [${shape}]`);
  return { rows: shape[0]!, width: shape[1]! };
}

export const gatherOps: StructuredOp[] = [
  {
    name: 'gather',
    kind: 'structured',
    arity: 2,
    smooth: false,
    doc: 'rows of a [rows, width] table at the ids (zero rows for ids that are not whole numbers in range)',
    shape: ([t, ids]) => {
      const { width } = table(t!.shape, 'gather');
      return [...ids!.shape, width];
    },
    evaluate: ([t, ids], _attrs, out, [ts]) => {
      const { rows, width } = table(ts!, 'gather');
      for (let i = 0; i < ids!.length; i++) {
        const id = ids![i]!;
        for (let j = 0; j < width; j++)
          out[i * width + j] = validId(id, rows) ? t![id * width + j]! : 0;
      }
    },
    vjp: ({ B, y, ct, args: [t, ids], needs }) => [
      needs[0] ? B.make('scatterAdd', [fullCotangent(B, ct, y), ids!], { shape: t!.shape }) : null,
      null,
    ],
    cost: (n) => n.size,
  },
  {
    name: 'scatterAdd',
    kind: 'structured',
    arity: 2,
    smooth: false,
    doc: 'a zero [rows, width] table (`shape`) with row i of the first argument added at row ids[i]',
    scatter: true,
    shape: ([g, ids], attrs) => {
      const s = attrInts(attrs, 'shape', 'scatterAdd');
      const { width } = table(s, 'scatterAdd');
      if (g!.shape.join() !== [...ids!.shape, width].join())
        throw new Error(
          `scatterAdd: rows [${g!.shape}] do not fit ids [${ids!.shape}] and width ${width}`,
        );
      return s;
    },
    evaluate: ([g, ids], attrs, out) => {
      const { rows, width } = table(attrInts(attrs, 'shape', 'scatterAdd'), 'scatterAdd');
      out.fill(0);
      for (let i = 0; i < ids!.length; i++) {
        const id = ids![i]!;
        if (!validId(id, rows)) continue;
        for (let j = 0; j < width; j++) out[id * width + j] += g![i * width + j]!;
      }
    },
    vjp: ({ B, ct, y, args: [, ids], needs }) => [
      needs[0] ? B.make('gather', [fullCotangent(B, ct, y), ids!]) : null,
      null,
    ],
    // Only the rows used: the clearing is left out where the result adds into a sum.
    cost: (n) => sizeOf(n.args[0]!.shape),
  },
];

/** The ids of a gather-family node and its table's row count. */
export function gatherGeometry(n: Node): { ids: number; rows: number; width: number } {
  const shape = n.op === 'gather' ? n.args[0]!.shape : attrInts(n.attrs, 'shape', n.op);
  const { rows, width } = table(shape, n.op);
  return { ids: n.args[1]!.size, rows, width };
}
