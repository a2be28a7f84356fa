// Lowering of the reductions (sum, rmax) into loop IR: unrolled, one written-out expression
// over every element (a sum, or a chain of max that backends may print as one n-ary max);
// looped, an accumulator per lane inside a block of its own.
import type { Node } from '../ir/node.ts';
import {
  bin,
  let_,
  load,
  loop,
  nsum,
  num,
  set,
  store,
  v,
  type Kernel,
  type KernelForm,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';

interface Rule {
  readonly init: number;
  combine(acc: LExpr, x: LExpr): LExpr;
  all(xs: readonly LExpr[]): LExpr;
}

const RULES: Readonly<Record<string, Rule>> = {
  sum: {
    init: 0,
    combine: (acc, x) => nsum([acc, x]),
    all: (xs) => nsum(xs),
  },
  // max(max(a, b), c) is max(a, b, c) exactly (NaN propagates, +0 beats −0 either way).
  rmax: {
    init: -Infinity,
    combine: (acc, x) => bin('max', acc, x),
    all: (xs) => xs.slice(1).reduce((m, x) => bin('max', m, x), xs[0]!),
  },
};

export const REDUCE_OPS: readonly string[] = Object.keys(RULES);

export function lowerReduce(node: Node, f: KernelForm): Kernel {
  const rule = RULES[node.op];
  if (!rule) throw new Error(`internal: no lowering for the reduction ${node.op}`);
  const n = node.args[0]!.size;
  const lanes = Array.from({ length: f.lanes }, (_, l) => l);
  const result = (valueOf: (l: number) => LExpr): LStmt[] =>
    f.summed
      ? [store(num(0), nsum(lanes.map(valueOf)), true)]
      : lanes.map((l) => store(num(0), valueOf(l), false, l));
  let body: LStmt[];
  if (f.mode === 'unroll') {
    body = result((l) => rule.all(Array.from({ length: n }, (_, k) => load(0, num(k), l))));
  } else {
    const acc = (l: number): string => `acc${l}`;
    // A one-trip loop is a block: the accumulators do not leak into the enclosing code.
    body = [
      loop('b', 0, 1, [
        ...lanes.map((l) => let_(acc(l), num(rule.init))),
        loop(
          'k',
          0,
          n,
          lanes.map((l) => set(acc(l), rule.combine(v(acc(l)), load(0, v('k'), l)))),
        ),
        ...result((l) => v(acc(l))),
      ]),
    ];
  }
  return f.lanes === 1 ? { size: 1, body } : { size: 1, body, lanes: f.lanes };
}
