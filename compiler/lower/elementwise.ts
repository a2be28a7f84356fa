// Lowering of an elementwise op into loop IR: one store per element (per lane), unrolled with
// constant indices or as one loop. An argument of size 1 (a scalar broadcast) is read at 0.
import type { Node } from '../ir/node.ts';
import {
  elem,
  load,
  loop,
  nsum,
  num,
  store,
  v,
  type Kernel,
  type KernelForm,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';

export function lowerElementwise(node: Node, f: KernelForm): Kernel {
  const lanes = Array.from({ length: f.lanes }, (_, l) => l);
  const value = (k: LExpr, l: number): LExpr =>
    elem(
      node.op,
      node.args.map((a, i) => load(i, a.size === 1 ? num(0) : k, l)),
    );
  const element = (k: LExpr): LStmt[] =>
    f.summed
      ? [store(k, nsum(lanes.map((l) => value(k, l))), true)]
      : lanes.map((l) => store(k, value(k, l), false, l));
  const body =
    f.mode === 'unroll'
      ? Array.from({ length: node.size }, (_, k) => element(num(k))).flat()
      : [loop('k', 0, node.size, element(v('k')))];
  return f.lanes === 1 ? { size: node.size, body } : { size: node.size, body, lanes: f.lanes };
}
