// Lowering of the contractions (`contract`, ops/contract.ts) into loop IR, for one sample or a
// block of several (`lanes`, register blocking over the batch axis). The instances the dense
// layers are made of (y = x·W, h = W·g, x ⊗ g) get kernels of their own; any other spec a loop
// nest over the result's labels around a reduction over the summed ones. Which form a step
// gets is decided by the scheduler (unrolled or looped, from the backend's cost policy) and by
// where the step's arguments and result live (shared weights, a gradient summed over a block).
import type { Node } from '../ir/node.ts';
import {
  labelSizes,
  specOf,
  specText,
  stridesOf,
  summedLabels,
  type ContractSpec,
} from '../ops/contract.ts';
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

/** Every assignment of values to `labels`, row-major (the last label fastest). */
function assignments(labels: readonly string[], sizes: ReadonlyMap<string, number>): number[][] {
  let all: number[][] = [[]];
  for (const l of labels) {
    const d = sizes.get(l)!;
    all = all.flatMap((a) => Array.from({ length: d }, (_, k) => [...a, k]));
  }
  return all;
}

/**
 * Constant indices: each result element one written-out sum, its terms in `evaluate`'s order
 * (the summed labels row-major), so the straight-line code is bit-identical to it.
 */
function unrolled(s: ContractSpec, sizes: ReadonlyMap<string, number>, f: LinalgForm): LStmt[] {
  const labels = [...s.out, ...summedLabels(s)];
  const sa = stridesOf(s.a, labels, sizes);
  const sb = stridesOf(s.b, labels, sizes);
  const dot = (st: number[], at: number[]) => at.reduce((acc, x, k) => acc + x * st[k]!, 0);
  const inner = assignments(summedLabels(s), sizes);
  return assignments([...s.out], sizes).flatMap((o, index) =>
    first(f, num(index), (l) =>
      inner.map((t) => {
        const at = [...o, ...t];
        return times(load(0, num(dot(sa, at)), l), load(1, num(dot(sb, at)), l));
      }),
    ),
  );
}

/** The affine index of an array laid out as `axes`, in loop variables named by the labels. */
function indexOf(axes: string, sizes: ReadonlyMap<string, number>): LExpr {
  const st = stridesOf(axes, [...axes], sizes);
  return nsum([...axes].map((l, k) => mul(v(l), num(st[k]!))));
}

/** `body` inside one loop per label, the first outermost; the innermost gets `hint`. */
function nest(
  labels: readonly string[],
  sizes: ReadonlyMap<string, number>,
  body: LStmt[],
  hint?: 'vector' | 'reduce',
): LStmt[] {
  return labels.reduceRight(
    (inner, l, k) => [loop(l, 0, sizes.get(l)!, inner, k === labels.length - 1 ? hint : undefined)],
    body,
  );
}

/**
 * Any contraction for one lane: loops over the result's labels (row-major, so the innermost
 * steps along the result's contiguous axis: a `vector` loop when nothing is summed), and
 * inside them a `reduce` loop nest over the summed labels into a local.
 */
function genericLane(
  s: ContractSpec,
  sizes: ReadonlyMap<string, number>,
  f: LinalgForm,
  l: number,
): LStmt[] {
  const summed = summedLabels(s);
  const term = times(load(0, indexOf(s.a, sizes), l), load(1, indexOf(s.b, sizes), l));
  const out = indexOf(s.out, sizes);
  if (summed.length === 0)
    return nest([...s.out], sizes, [store(out, term, f.summed, l)], 'vector');
  // One accumulator per lane: with a scalar result the lanes' nests share one scope.
  const acc = `acc${l}`;
  return nest([...s.out], sizes, [
    let_(acc, num(0)),
    ...nest(summed, sizes, [set(acc, nsum([v(acc), term]))], 'reduce'),
    store(out, v(acc), f.summed, l),
  ]);
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

/** The instances with kernels of their own, by canonical spec. */
type Instance = 'matvec' | 'matvecT' | 'outer';
const INSTANCES: ReadonlyMap<string, Instance> = new Map([
  ['i,ij->j', 'matvec'],
  ['ij,j->i', 'matvecT'],
  ['i,j->ij', 'outer'],
]);

/** The kernel a contraction gets: `matvec` (y = x·W), `matvecT` (h = W·g), `outer` or `generic`. */
export function contractKernel(node: Node): Instance | 'generic' {
  return INSTANCES.get(specText(specOf(node.attrs))) ?? 'generic';
}

function looped(
  s: ContractSpec,
  sizes: ReadonlyMap<string, number>,
  op: Instance | 'generic',
  f: LinalgForm,
): LStmt[] {
  if (op === 'generic') return range(f.lanes).flatMap((l) => genericLane(s, sizes, f, l));
  const n = sizes.get('i')!;
  const m = sizes.get('j')!;
  const block = f.lanes > 1;
  // Blocking pays where a weight is shared (loaded once per block) or where the lanes sum
  // into one result; otherwise each lane gets the one-sample loops.
  if (op === 'matvec' && block && f.shared[1] && !f.summed) return matvecBlock(n, m, f);
  if (op === 'matvecT' && block && f.shared[0] && !f.summed) return matvecTBlock(n, m, f);
  if (op === 'outer' && block && f.summed) return outerSummed(n, m, f);
  const lane = op === 'matvec' ? matvecLane : op === 'matvecT' ? matvecTLane : outerLane;
  return range(f.lanes).flatMap((l) => lane(n, m, f, l));
}

export function lowerLinalg(node: Node, f: LinalgForm): Kernel {
  if (node.op !== 'contract') throw new Error(`internal: ${node.op} is not a contraction`);
  const s = specOf(node.attrs);
  const sizes = labelSizes(
    s,
    node.args.map((a) => a.shape),
  );
  const body =
    f.mode === 'unroll' ? unrolled(s, sizes, f) : looped(s, sizes, contractKernel(node), f);
  return f.lanes === 1 ? { size: node.size, body } : { size: node.size, body, lanes: f.lanes };
}
