// Reductions over chosen axes. `sumTo` is the transpose of `bcast`: it sums a tensor over the
// axes along which `shape` was broadcast to it (numpy rules, trailing axes aligned).
import { sizeOf } from '../ir/node.ts';
import { broadcastIndex, broadcastsTo } from '../ir/shape.ts';
import type { StructuredOp } from './types.ts';

export const axesOps: StructuredOp[] = [
  {
    name: 'sumTo',
    kind: 'structured',
    arity: 1,
    smooth: true,
    doc: 'sum over the axes along which `shape` broadcasts to the argument (bcast transposed)',
    shape: ([a], attrs) => {
      const s = attrs.shape;
      if (!Array.isArray(s)) throw new Error('sumTo: no shape');
      if (!broadcastsTo(s, a!.shape))
        throw new Error(`sumTo: [${s.join(',')}] does not broadcast to [${a!.shape.join(',')}]`);
      return s;
    },
    evaluate: ([a], attrs, out, [as]) => {
      out.fill(0);
      for (let k = 0; k < a!.length; k++)
        out[broadcastIndex(attrs.shape!, as!, k) as number] += a![k]!;
    },
    // The cotangent of a sum is repeated back over the summed axes.
    vjp: ({ B, ct, args: [a] }) => [ct.size === 1 ? ct : B.bcast(ct, a!.shape)],
    cost: (n) => n.args[0]!.size + sizeOf(n.shape),
  },
];
