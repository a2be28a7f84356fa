// Loop IR of the recurrent scans (ops/scan.ts): one `for t` over the steps whose body is the
// cell once — the two products as axpy rows over the gate columns, then one loop over the
// units evaluating the cell's scalar formula (ops/cell.ts) — reading x_t at row t of the
// sequence and the previous state at row t − 1 of the result. The backward scan runs t from
// the last step down, keeping the carried cotangent and each step's gate cotangents in the
// scratch part of its result. Summation orders are `evaluate`'s, term for term.
import type { Node } from '../ir/node.ts';
import { cellOf, type Formula } from '../ops/cell.ts';
import { scanLayout, type ScanLayout } from '../ops/scan.ts';
import {
  cmp,
  elem,
  fadd,
  fmul,
  if_,
  let_,
  load,
  loadOut,
  loop,
  mul,
  nsum,
  num,
  sel,
  set,
  store,
  sub,
  v,
  type Kernel,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';

/** `let`s computing a formula from `inputs` (expressions), and its outputs as expressions. */
function formulaCode(f: Formula, inputs: readonly LExpr[]): { code: LStmt[]; outs: LExpr[] } {
  const named = new Map<Node, LExpr>();
  f.inputs.forEach((leaf, i) => named.set(leaf, inputs[i]!));
  const code: LStmt[] = [];
  const visit = (n: Node): LExpr => {
    const hit = named.get(n);
    if (hit) return hit;
    let e: LExpr;
    if (n.op === 'const') e = num(n.attrs.value!);
    else if (n.op === 'stop' || n.op === 'reshape' || n.op === 'bcast') e = visit(n.args[0]!);
    else {
      const args = n.args.map(visit);
      const name = `q${n.id}`;
      code.push(let_(name, elem(n.op, args)));
      e = v(name);
    }
    named.set(n, e);
    return e;
  };
  const outs = f.outputs.map(visit);
  return { code, outs };
}

const idx = (...terms: LExpr[]): LExpr => nsum(terms);
const times = (a: LExpr, k: number): LExpr => mul(a, num(k));

/** Row `t` of the result starts at t·row. */
function rowAt(L: ScanLayout, t: LExpr): LExpr {
  return times(t, L.row);
}

/** The sequence row step `t` reads. */
function xRowOf(L: ScanLayout, t: LExpr): LExpr {
  return L.backwards ? sub(num(L.steps - 1), t) : t;
}

/** The cell's inputs for unit j at step t: a_g, r_g, then the previous states (zero at t = 0). */
function cellInputs(L: ScanLayout, read: (i: LExpr) => LExpr, pre: LStmt[]): LExpr[] {
  const t = v('t');
  const y = rowAt(L, t);
  const hPrev = rowAt(L, sub(t, num(1)));
  const first = cmp('>', t, num(0));
  const names: LExpr[] = [];
  const bind = (name: string, e: LExpr) => {
    pre.push(let_(name, e));
    names.push(v(name));
  };
  for (let g = 0; g < L.gates; g++) bind(`ga${g}`, read(idx(y, num(L.aAt + g * L.units), v('j'))));
  for (let g = 0; g < L.gates; g++) bind(`gr${g}`, read(idx(y, num(L.rAt + g * L.units), v('j'))));
  for (let s = 0; s < L.states; s++)
    bind(`sp${s}`, sel(first, read(idx(hPrev, num(s * L.units), v('j'))), num(0)));
  return names;
}

function lowerScan(node: Node): Kernel {
  const L = scanLayout(node.attrs);
  const { forward } = cellOf(node.attrs);
  const { units: u, width: G } = L;
  const t = v('t');
  const y = rowAt(L, t);
  const bRecArg = L.bIn ? 4 : 3;
  const c = v('c');
  const k = v('k');
  const products: LStmt[] = [
    loop('c', 0, G, [store(idx(y, num(L.aAt), c), L.bIn ? load(3, c) : num(0))], 'vector'),
    loop('k', 0, L.features, [
      let_('xk', load(0, idx(times(xRowOf(L, t), L.features), k))),
      loop(
        'c',
        0,
        G,
        [store(idx(y, num(L.aAt), c), fmul(v('xk'), load(1, idx(times(k, G), c))), true)],
        'vector',
      ),
    ]),
    loop('c', 0, G, [store(idx(y, num(L.rAt), c), L.bRec ? load(bRecArg, c) : num(0))], 'vector'),
    if_(cmp('>', t, num(0)), [
      loop('k', 0, u, [
        let_('hk', loadOut(idx(rowAt(L, sub(t, num(1))), k))),
        loop(
          'c',
          0,
          G,
          [store(idx(y, num(L.rAt), c), fmul(v('hk'), load(2, idx(times(k, G), c))), true)],
          'vector',
        ),
      ]),
    ]),
  ];
  const unit: LStmt[] = [];
  const ins = cellInputs(L, loadOut, unit);
  const { code, outs } = formulaCode(forward, ins);
  unit.push(...code);
  outs.forEach((o, s) => unit.push(store(idx(y, num(s * u), v('j')), o)));
  return {
    size: node.size,
    body: [loop('t', 0, L.steps, [...products, loop('j', 0, u, unit)])],
  };
}

function lowerScanT(node: Node): Kernel {
  const L = scanLayout(node.attrs);
  const { backward } = cellOf(node.attrs);
  const { units: u, width: G, features: n } = L;
  const t = v('t');
  const y = rowAt(L, t);
  const c = v('c');
  const k = v('k');
  const j = v('j');
  const unit: LStmt[] = [];
  const ins = cellInputs(L, (i) => load(3, i), unit);
  for (let s = 0; s < L.states; s++) {
    const at = idx(num(s * u), j);
    unit.push(let_(`sd${s}`, fadd(load(4, idx(y, at)), loadOut(idx(num(L.carry), at)))));
    ins.push(v(`sd${s}`));
  }
  const { code, outs } = formulaCode(backward, ins);
  unit.push(...code);
  for (let g = 0; g < L.gates; g++) {
    const at = num(g * u);
    unit.push(
      store(idx(num(L.dA), at, j), fadd(outs[g]!, load(4, idx(y, num(L.aAt), at, j)))),
      store(idx(num(L.dR), at, j), fadd(outs[L.gates + g]!, load(4, idx(y, num(L.rAt), at, j)))),
    );
  }
  for (let s = 0; s < L.states; s++)
    unit.push(store(idx(num(L.carry + s * u), j), outs[2 * L.gates + s]!));
  const dA = (e: LExpr) => loadOut(idx(num(L.dA), e));
  const dR = (e: LExpr) => loadOut(idx(num(L.dR), e));
  const xAt = idx(times(xRowOf(L, t), n), k);
  const step: LStmt[] = [
    let_('t', sub(num(L.steps - 1), v('tt'))),
    loop('j', 0, u, unit),
    loop(
      'c',
      0,
      G,
      [store(idx(num(L.dbIn), c), dA(c), true), store(idx(num(L.dbRec), c), dR(c), true)],
      'vector',
    ),
    loop('k', 0, n, [
      let_('acc', num(0)),
      loop('c', 0, G, [set('acc', nsum([v('acc'), fmul(load(1, idx(times(k, G), c)), dA(c))]))]),
      store(xAt, v('acc')),
      let_('xk', load(0, xAt)),
      loop(
        'c',
        0,
        G,
        [store(idx(num(L.dW), times(k, G), c), fmul(v('xk'), dA(c)), true)],
        'vector',
      ),
    ]),
    if_(cmp('>', t, num(0)), [
      loop('k', 0, u, [
        let_('hk', load(3, idx(rowAt(L, sub(t, num(1))), k))),
        let_('acc', num(0)),
        loop('c', 0, G, [
          store(idx(num(L.dU), times(k, G), c), fmul(v('hk'), dR(c)), true),
          set('acc', nsum([v('acc'), fmul(load(2, idx(times(k, G), c)), dR(c))])),
        ]),
        store(idx(num(L.carry), k), v('acc'), true),
      ]),
    ]),
  ];
  return {
    size: node.size,
    body: [
      loop('z', 0, L.gradSize, [store(v('z'), num(0))], 'vector'),
      loop('tt', 0, L.steps, step),
    ],
  };
}

export const scanLowerings: Readonly<Record<string, (n: Node) => Kernel>> = {
  scan: lowerScan,
  scanT: lowerScanT,
};
