// Lowering of the dense contractions (matvec, matvecT, outer) into loop IR, for one sample or
// a block of several (`lanes`, register blocking over the batch axis). The op records in
// `ops/linalg.ts` hold the math; which of these forms a step gets is decided by the
// scheduler (unrolled or looped, from the backend's cost policy) and by where the step's
// arguments and result live (shared weights, a gradient summed over the block).
import type { Node } from '../ir/node.ts';
import { linalgDims } from '../ops/linalg.ts';
import {
  bin,
  let_,
  load,
  loop,
  mul,
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

export interface LinalgForm extends KernelForm {
  /** Per argument: the same for every lane (a weight or constant), so loaded once per block. */
  readonly shared: readonly boolean[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** A float product; never folded (NaN and infinities must propagate). */
const times = (a: LExpr, b: LExpr): LExpr => bin('*', a, b);

/**
 * The first write of result element `index`: per lane `Σ terms(lane)`, or, for a summed
 * result, every lane's terms added to the one element in a single statement (the gradient is
 * read and written once per block).
 */
function first(f: LinalgForm, index: LExpr, terms: (lane: number) => LExpr[]): LStmt[] {
  const lanes = range(f.lanes);
  if (f.summed) return [store(index, nsum(lanes.flatMap(terms)), true)];
  return lanes.map((l) => store(index, nsum(terms(l)), false, l));
}

function unrolled(op: string, n: number, m: number, f: LinalgForm): LStmt[] {
  const c = num;
  switch (op) {
    case 'matvec':
      return range(m).flatMap((j) =>
        first(f, c(j), (l) =>
          range(n).map((i) => times(load(0, c(i), l), load(1, c(i * m + j), l))),
        ),
      );
    case 'matvecT':
      return range(n).flatMap((i) =>
        first(f, c(i), (l) =>
          range(m).map((j) => times(load(0, c(i * m + j), l), load(1, c(j), l))),
        ),
      );
    default:
      return range(n).flatMap((i) =>
        range(m).flatMap((j) =>
          first(f, c(i * m + j), (l) => [times(load(0, c(i), l), load(1, c(j), l))]),
        ),
      );
  }
}

/** `r = i·m`, as a one-term sum so that it prints without parentheses. */
const row = (m: number): LExpr => nsum([mul(v('i'), num(m))]);

/** `r + j`, the index of row `i`'s element `j` once `r = i·m` is bound. */
const rj = nsum([v('r'), v('j')]);

/** y = x·W for one lane, row by row (axpy): W streams through once, y stays in L1. */
function matvecLane(n: number, m: number, f: LinalgForm, l: number): LStmt[] {
  return [
    loop('j', 0, m, [
      store(v('j'), nsum([times(load(0, num(0), l), load(1, v('j'), l))]), f.summed, l),
    ]),
    loop('i', 1, n, [
      let_('xi', load(0, v('i'), l)),
      let_('r', row(m)),
      loop('j', 0, m, [store(v('j'), nsum([times(v('xi'), load(1, rj, l))]), true, l)], 'vector'),
    ]),
  ];
}

/** h = W·g for one lane: a contiguous dot product per row. */
function matvecTLane(n: number, m: number, f: LinalgForm, l: number): LStmt[] {
  return [
    loop('i', 0, n, [
      let_('r', row(m)),
      let_('s', num(0)),
      loop(
        'j',
        0,
        m,
        [set('s', nsum([v('s'), times(load(0, rj, l), load(1, v('j'), l))]))],
        'reduce',
      ),
      store(v('i'), v('s'), f.summed, l),
    ]),
  ];
}

/** H = x ⊗ g for one lane. */
function outerLane(n: number, m: number, f: LinalgForm, l: number): LStmt[] {
  return [
    loop('i', 0, n, [
      let_('xi', load(0, v('i'), l)),
      let_('r', row(m)),
      loop('j', 0, m, [store(rj, nsum([times(v('xi'), load(1, v('j'), l))]), f.summed, l)]),
    ]),
  ];
}

const x = (l: number): string => `x${l}`;
const s = (l: number): string => `s${l}`;

/** matvec over a block with shared weights: each weight is loaded once for every lane. */
function matvecBlock(n: number, m: number, f: LinalgForm): LStmt[] {
  const lanes = range(f.lanes);
  return [
    loop('j', 0, m, [
      let_('w', load(1, v('j'))),
      ...lanes.map((l) => store(v('j'), nsum([times(load(0, num(0), l), v('w'))]), false, l)),
    ]),
    loop('i', 1, n, [
      ...lanes.map((l) => let_(x(l), load(0, v('i'), l))),
      let_('r', row(m)),
      loop('j', 0, m, [
        let_('w', load(1, rj)),
        ...lanes.map((l) => store(v('j'), nsum([times(v(x(l)), v('w'))]), true, l)),
      ]),
    ]),
  ];
}

/** matvecT over a block with shared weights: the lanes are the independent accumulators. */
function matvecTBlock(n: number, m: number, f: LinalgForm): LStmt[] {
  const lanes = range(f.lanes);
  return [
    loop('i', 0, n, [
      let_('r', row(m)),
      ...lanes.map((l) => let_(s(l), num(0))),
      loop('j', 0, m, [
        let_('w', load(0, rj)),
        ...lanes.map((l) => set(s(l), nsum([v(s(l)), times(v('w'), load(1, v('j'), l))]))),
      ]),
      ...lanes.map((l) => store(v('i'), v(s(l)), false, l)),
    ]),
  ];
}

/** A batch's kernel gradient: every lane's outer product added to the element at once. */
function outerSummed(n: number, m: number, f: LinalgForm): LStmt[] {
  const lanes = range(f.lanes);
  return [
    loop('i', 0, n, [
      ...lanes.map((l) => let_(x(l), load(0, v('i'), l))),
      let_('r', row(m)),
      loop('j', 0, m, [
        store(rj, nsum(lanes.map((l) => times(v(x(l)), load(1, v('j'), l)))), true),
      ]),
    ]),
  ];
}

function looped(op: string, n: number, m: number, f: LinalgForm): LStmt[] {
  const block = f.lanes > 1;
  // Blocking pays where a weight is shared (loaded once per block) or where the lanes sum
  // into one result; otherwise each lane gets the one-sample loops.
  if (op === 'matvec' && block && f.shared[1] && !f.summed) return matvecBlock(n, m, f);
  if (op === 'matvecT' && block && f.shared[0] && !f.summed) return matvecTBlock(n, m, f);
  if (op === 'outer' && block && f.summed) return outerSummed(n, m, f);
  const lane = op === 'matvec' ? matvecLane : op === 'matvecT' ? matvecTLane : outerLane;
  return range(f.lanes).flatMap((l) => lane(n, m, f, l));
}

export const LINALG_OPS: readonly string[] = ['matvec', 'matvecT', 'outer'];

export function lowerLinalg(node: Node, f: LinalgForm): Kernel {
  if (!LINALG_OPS.includes(node.op)) throw new Error(`internal: ${node.op} is not a contraction`);
  const { n, m } = linalgDims(node.attrs);
  const body = f.mode === 'unroll' ? unrolled(node.op, n, m, f) : looped(node.op, n, m, f);
  return f.lanes === 1 ? { size: node.size, body } : { size: node.size, body, lanes: f.lanes };
}
