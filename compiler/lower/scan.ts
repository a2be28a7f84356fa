// Loop IR of the recurrent scans (ops/scan.ts). Forward: the input projection x_t·W + bIn of
// every step first (it does not depend on the state), then one `for t` whose body is the
// cell once: the recurrent gate sums h_{t−1}·U for a few units at a time (about 8 sums
// sharing each h load; gruBefore then q = r·h per unit and the last gate's sums over q),
// then the cell's scalar formula (ops/cell.ts) per unit, storing the new state at row t.
// Backward: one `for t` from the last step down carrying the state's cotangent (the cell's
// VJP formula per unit, gruBefore back through q, then U·R̄_t in blocks of 8 rows), then x̄s
// and the weight gradients as sums over the steps. Every sum is a chain of locals (register
// blocks of outputs sharing one load), added in `evaluate`'s order, term for term.
import { topoOrder, type Node } from '../ir/node.ts';
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

/** `let`s computing a formula from `inputs` (expressions), and its outputs as expressions.
 * `known` gives values computed elsewhere (the forward's kept values), used instead of their
 * formula; `extra` nodes are computed too and returned after the outputs. */
function formulaCode(
  f: Formula,
  inputs: readonly LExpr[],
  known: ReadonlyMap<Node, LExpr> = new Map(),
  extra: readonly Node[] = [],
): { code: LStmt[]; outs: LExpr[] } {
  const named = new Map<Node, LExpr>(known);
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
  const outs = [...f.outputs, ...extra].map(visit);
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

/** Outputs computed WIDTH at a time by default, each sum in a local; the longer sums take 8
 * (15-25 % faster than 4 on the bench LSTM's recurrence in a side-by-side micro-benchmark). */
const WIDTH = 4;
const WIDE = 8;

interface Sums {
  /** Output index loop variable. */
  readonly out: string;
  readonly count: number;
  /** Reduction loop. */
  readonly red: string;
  readonly from: number;
  readonly to: number;
  readonly init: (i: LExpr) => LExpr;
  /** Lets at the top of the reduction body, shared by the block (a common load). */
  readonly shared?: LStmt[];
  readonly term: (i: LExpr) => LExpr;
  readonly store: (i: LExpr, acc: LExpr) => LStmt;
}

/** `count` sums over `red`, `width` outputs per block sharing each iteration's loads, then a
 * tail one output at a time. */
function blockSums(o: Sums, prefix: string, width = WIDTH): LStmt[] {
  const full = Math.floor(o.count / width);
  const block = (base: LExpr, width: number): LStmt[] => {
    const is = Array.from({ length: width }, (_, q) => idx(base, num(q)));
    const acc = (q: number) => `${prefix}${q}`;
    return [
      ...is.map((i, q) => let_(acc(q), o.init(i))),
      loop(o.red, o.from, o.to, [
        ...(o.shared ?? []),
        ...is.map((i, q) => set(acc(q), nsum([v(acc(q)), o.term(i)]))),
      ]),
      ...is.map((i, q) => o.store(i, v(acc(q)))),
    ];
  };
  const out: LStmt[] = [];
  if (full > 0) out.push(loop(`${o.out}b`, 0, full, block(times(v(`${o.out}b`), width), width)));
  if (full * width < o.count) out.push(loop(o.out, full * width, o.count, block(v(o.out), 1)));
  return out;
}

function lowerScan(node: Node): Kernel {
  const L = scanLayout(node.attrs);
  const { forward, reset, kept } = cellOf(node.attrs);
  const { units: u, width: G, features: n } = L;
  const t = v('t');
  const y = rowAt(L, t);
  const bRecArg = L.bIn ? 4 : 3;
  const j = v('j');
  // A[t, c] = bIn[c] + Σ_k x[t, k]·W[k, c], all steps.
  const projection = loop('t', 0, L.steps, [
    ...blockSums(
      {
        out: 'c',
        count: G,
        red: 'k',
        from: 0,
        to: n,
        init: (c) => (L.bIn ? load(3, c) : num(0)),
        shared: [let_('xk', load(0, idx(times(xRowOf(L, t), n), v('k'))))],
        term: (c) => fmul(v('xk'), load(1, idx(times(v('k'), G), c))),
        store: (c, acc) => store(idx(y, num(L.aAt), c), acc),
      },
      's',
    ),
  ]);
  // Recurrent gate sums, v·U over `gates` (zero state at t = 0), for a few units at once so
  // that about 8 sums share each v[k] load: v is h_{t−1} (a row before), or q_t for the
  // last gate of gruBefore. Then the cell, unit by unit.
  const recurrent = (gates: readonly number[], vecAt: LExpr, bias: boolean): LStmt[] => {
    const per = Math.max(1, Math.floor(8 / gates.length));
    const sums = (first: LExpr, width: number): LStmt[] => {
      const cells = Array.from({ length: width }, (_, q) =>
        gates.map((g) => ({
          name: `r${q}_${g}`,
          at: idx(num(g * u), first, num(q)),
          // Its column relative to `kj` (row k's first column of the block): one add per load.
          rel: g * u + q,
        })),
      ).flat();
      return [
        ...cells.map((c) => let_(c.name, bias ? load(bRecArg, c.at) : num(0))),
        if_(cmp('>', t, num(0)), [
          let_('hr', vecAt),
          loop('k', 0, u, [
            let_('hk', loadOut(idx(v('hr'), v('k')))),
            let_('kj', idx(times(v('k'), G), first)),
            ...cells.map((c) =>
              set(c.name, nsum([v(c.name), fmul(v('hk'), load(2, idx(v('kj'), num(c.rel))))])),
            ),
          ]),
        ]),
        ...cells.map((c) => store(idx(y, num(L.rAt), c.at), v(c.name))),
      ];
    };
    const full = Math.floor(u / per);
    const out: LStmt[] = [];
    if (full > 0) out.push(loop('jb', 0, full, sums(times(v('jb'), per), per)));
    if (full * per < u) out.push(loop('j', full * per, u, sums(j, 1)));
    return out;
  };
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  const recurrence = recurrent(range(0, L.hGates), rowAt(L, sub(t, num(1))), L.bRec);
  if (reset) {
    // q_j = ra(a1 + r1)·h_{t−1}[j], then the last gate's sums over q.
    const qUnit: LStmt[] = [
      let_('qa', loadOut(idx(y, num(L.aAt + u), j))),
      let_('qr', loadOut(idx(y, num(L.rAt + u), j))),
      let_('qh', sel(cmp('>', t, num(0)), loadOut(idx(rowAt(L, sub(t, num(1))), j)), num(0))),
    ];
    const q = formulaCode(reset.forward, [v('qa'), v('qr'), v('qh')]);
    qUnit.push(...q.code, store(idx(y, num(L.qAt), j), q.outs[0]!));
    recurrence.push(loop('j', 0, u, qUnit));
    recurrence.push(...recurrent(range(L.hGates, L.gates), idx(y, num(L.qAt)), false));
  }
  const col = (g: number) => idx(num(g * u), j);
  const unit: LStmt[] = [];
  for (let g = 0; g < L.gates; g++) unit.push(let_(`gr${g}`, loadOut(idx(y, num(L.rAt), col(g)))));
  const gatesR = Array.from({ length: L.gates }, (_, g) => `gr${g}`);
  const ins: LExpr[] = [];
  for (let g = 0; g < L.gates; g++) {
    unit.push(let_(`ga${g}`, loadOut(idx(y, num(L.aAt), col(g)))));
    ins.push(v(`ga${g}`));
  }
  ins.push(...gatesR.map(v));
  for (let s = 0; s < L.states; s++) {
    const prev = loadOut(idx(rowAt(L, sub(t, num(1))), num(s * u), j));
    unit.push(let_(`sp${s}`, sel(cmp('>', t, num(0)), prev, num(0))));
    ins.push(v(`sp${s}`));
  }
  const { code, outs } = formulaCode(forward, ins, new Map(), kept);
  unit.push(...code);
  for (let s = 0; s < L.states; s++) unit.push(store(idx(y, num(s * u), j), outs[s]!));
  kept.forEach((_, q) => unit.push(store(idx(y, num(L.keepAt + q * u), j), outs[L.states + q]!)));
  return {
    size: node.size,
    body: [projection, loop('t', 0, L.steps, [...recurrence, loop('j', 0, u, unit)])],
  };
}

function lowerScanT(node: Node): Kernel {
  const L = scanLayout(node.attrs);
  const { forward, backward, reset, kept } = cellOf(node.attrs);
  const { units: u, width: G, features: n, steps: T } = L;
  const t = v('t');
  const y = rowAt(L, t);
  const j = v('j');
  const dAt = (step: LExpr, c: LExpr) => idx(num(L.dA), times(step, G), c);
  const dRt = (step: LExpr, c: LExpr) => idx(num(L.dR), times(step, G), c);
  const col = (g: number) => idx(num(g * u), j);
  const unit: LStmt[] = [];
  const ins: LExpr[] = [];
  const bind = (name: string, e: LExpr) => {
    unit.push(let_(name, e));
    ins.push(v(name));
  };
  for (let g = 0; g < L.gates; g++) bind(`ga${g}`, load(3, idx(y, num(L.aAt), col(g))));
  for (let g = 0; g < L.gates; g++) bind(`gr${g}`, load(3, idx(y, num(L.rAt), col(g))));
  for (let s = 0; s < L.states; s++) {
    const prev = load(3, idx(rowAt(L, sub(t, num(1))), num(s * u), j));
    bind(`sp${s}`, sel(cmp('>', t, num(0)), prev, num(0)));
  }
  for (let s = 0; s < L.states; s++) {
    const at = idx(num(s * u), j);
    bind(`sd${s}`, fadd(load(4, idx(y, at)), loadOut(idx(num(L.carry), at))));
  }
  for (let q = 0; q < L.kept; q++) bind(`sk${q}`, load(4, idx(y, num(L.keepAt + q * u), j)));
  // The forward's new states and kept values are in row t: loaded, not computed again.
  const known = new Map<Node, LExpr>();
  const used = new Set(topoOrder(backward.outputs));
  forward.outputs.forEach((o, s) => {
    if (!used.has(o)) return;
    unit.push(let_(`sn${s}`, load(3, idx(y, num(s * u), j))));
    known.set(o, v(`sn${s}`));
  });
  kept.forEach((k, q) => {
    unit.push(let_(`kp${q}`, load(3, idx(y, num(L.keepAt + q * u), j))));
    known.set(k, v(`kp${q}`));
  });
  const { code, outs } = formulaCode(backward, ins, known);
  unit.push(...code);
  for (let g = 0; g < L.gates; g++) {
    unit.push(
      store(dAt(t, col(g)), fadd(outs[g]!, load(4, idx(y, num(L.aAt), col(g))))),
      store(dRt(t, col(g)), fadd(outs[L.gates + g]!, load(4, idx(y, num(L.rAt), col(g))))),
    );
  }
  for (let s = 0; s < L.states; s++)
    unit.push(store(idx(num(L.carry + s * u), j), outs[2 * L.gates + s]!));
  // gruBefore: q̄ = U_h·R̄_h + the saved q's cotangent, then back through q = r·h.
  const throughQ: LStmt[] = [];
  if (reset) {
    throughQ.push(
      ...blockSums(
        {
          out: 'k',
          count: u,
          red: 'c',
          from: L.hGates * u,
          to: G,
          init: () => num(0),
          shared: [let_('dr', loadOut(dRt(t, v('c'))))],
          term: (k) => fmul(load(2, idx(times(k, G), v('c'))), v('dr')),
          store: (k, acc) => store(idx(num(L.dq), k), fadd(acc, load(4, idx(y, num(L.qAt), k)))),
        },
        's',
        WIDE,
      ),
    );
    const qIns = [
      load(3, idx(y, num(L.aAt + u), j)),
      load(3, idx(y, num(L.rAt + u), j)),
      sel(cmp('>', t, num(0)), load(3, idx(rowAt(L, sub(t, num(1))), j)), num(0)),
    ];
    const qUnit: LStmt[] = [
      let_('qa', qIns[0]!),
      let_('qr', qIns[1]!),
      let_('qh', qIns[2]!),
      let_('qd', loadOut(idx(num(L.dq), j))),
    ];
    const q = formulaCode(reset.backward, [v('qa'), v('qr'), v('qh'), v('qd')]);
    qUnit.push(
      ...q.code,
      store(dAt(t, idx(num(u), j)), q.outs[0]!, true),
      store(dRt(t, idx(num(u), j)), q.outs[1]!, true),
      store(idx(num(L.carry), j), q.outs[2]!, true),
    );
    throughQ.push(loop('j', 0, u, qUnit));
  }
  // carry_h[k] += Σ_c U[k, c]·R̄_t[c] over the gates that read h, rows sharing each R̄ load.
  const recurrent = blockSums(
    {
      out: 'k',
      count: u,
      red: 'c',
      from: 0,
      to: L.hGates * u,
      init: () => num(0),
      shared: [let_('dr', loadOut(dRt(t, v('c'))))],
      term: (k) => fmul(load(2, idx(times(k, G), v('c'))), v('dr')),
      store: (k, acc) => store(idx(num(L.carry), k), acc, true),
    },
    's',
    WIDE,
  );
  const backThroughTime = loop('tt', 0, T, [
    let_('t', sub(num(T - 1), v('tt'))),
    loop('j', 0, u, unit),
    ...throughQ,
    if_(cmp('>', t, num(0)), recurrent),
  ]);
  // x̄[xrow(t), k] = Σ_c W[k, c]·Ā_t[c].
  const dx = loop('t', 0, T, [
    ...blockSums(
      {
        out: 'k',
        count: n,
        red: 'c',
        from: 0,
        to: G,
        init: () => num(0),
        shared: [let_('da', loadOut(dAt(t, v('c'))))],
        term: (k) => fmul(load(1, idx(times(k, G), v('c'))), v('da')),
        store: (k, acc) => store(idx(times(xRowOf(L, t), n), k), acc),
      },
      's',
    ),
  ]);
  // W̄[k, c] = Σ_t x[xrow(t), k]·Ā_t[c];  Ū[k, c] = Σ_{t ≥ 1} h_{t−1}[k]·R̄_t[c].
  const outer = (
    rows: number,
    at: number,
    from: number,
    cols: readonly [number, number],
    left: (k: LExpr) => LExpr,
    right: typeof dAt,
  ) =>
    loop('k', 0, rows, [
      ...blockSums(
        {
          out: 'c',
          count: cols[1] - cols[0],
          red: 't',
          from,
          to: T,
          init: () => num(0),
          shared: [let_('xk', left(v('k')))],
          term: (c) => fmul(v('xk'), loadOut(right(t, idx(num(cols[0]), c)))),
          store: (c, acc) => store(idx(num(at + cols[0]), times(v('k'), G), c), acc),
        },
        's',
        WIDE,
      ),
    ]);
  const dW = outer(
    L.features,
    L.dW,
    0,
    [0, G],
    (k) => load(0, idx(times(xRowOf(L, t), n), k)),
    dAt,
  );
  const hCols = L.hGates * u;
  const dU = [outer(u, L.dU, 1, [0, hCols], (k) => load(3, idx(rowAt(L, sub(t, num(1))), k)), dRt)];
  // gruBefore: the last third of U multiplied q_t.
  if (hCols < G) dU.push(outer(u, L.dU, 1, [hCols, G], (k) => load(3, idx(y, num(L.qAt), k)), dRt));
  const biases = loop('c', 0, G, [
    let_('sa', num(0)),
    let_('sr', num(0)),
    loop('t', 0, T, [
      set('sa', nsum([v('sa'), loadOut(dAt(t, v('c')))])),
      set('sr', nsum([v('sr'), loadOut(dRt(t, v('c')))])),
    ]),
    store(idx(num(L.dbIn), v('c')), v('sa')),
    store(idx(num(L.dbRec), v('c')), v('sr')),
  ]);
  return {
    size: node.size,
    body: [
      loop('z', 0, L.states * u, [store(idx(num(L.carry), v('z')), num(0))], 'vector'),
      backThroughTime,
      // noDx: x̄s is zeros (T·n stores instead of T·n·G multiply-adds).
      node.attrs.noDx === 1 ? loop('z', 0, T * n, [store(v('z'), num(0))], 'vector') : dx,
      dW,
      ...dU,
      biases,
    ],
  };
}

export const scanLowerings: Readonly<Record<string, (n: Node) => Kernel>> = {
  scan: lowerScan,
  scanT: lowerScanT,
};
