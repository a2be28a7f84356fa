// Reductions of a vector to a scalar (their JavaScript text is in `backends/js/scalar-ops.ts`).
import type { ReduceOp } from './types.ts';

export const reduceOps: ReduceOp[] = [
  {
    name: 'sum',
    kind: 'reduce',
    arity: 1,
    smooth: true,
    doc: 'sum of the elements',
    shape: () => [],
    evaluate: (args, _attrs, out) => {
      let s = 0;
      for (const v of args[0]!) s += v;
      out[0] = s;
    },
    // The cotangent is a scalar, which already means "this value in every element".
    vjp: ({ ct }) => [ct],
  },
  {
    name: 'rmax',
    kind: 'reduce',
    arity: 1,
    smooth: false,
    doc: 'largest element; the gradient goes to every element equal to it',
    shape: () => [],
    evaluate: (args, _attrs, out) => {
      let m = -Infinity;
      for (const v of args[0]!) m = Math.max(m, v);
      out[0] = m;
    },
    vjp: ({ B, y, ct, args: [a] }) => [B.select(B.gt(y, a!), B.const(0), ct)],
  },
];
