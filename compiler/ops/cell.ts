// The per-unit part of a recurrent cell, as scalar IR: what one unit j computes from its gate
// pre-activations and its previous state, once the two matrix products of the step are done.
// A `scan` (ops/scan.ts) runs it for every unit of every step; its derivative is the same
// formula differentiated by reverse mode (autodiff/reverse.ts), so the backward scan needs no
// hand-written cell derivative. Both are built once per cell configuration, in a builder of
// their own, and evaluated with the ops' own scalar rules (ops/scan.ts) or lowered to loop IR
// (lower/scan.ts).
//
// Per unit j (a_g = (x·W + bIn)[g·u + j], r_g = (h·U + bRec)[g·u + j], Keras gate order):
//   simpleRNN  h = act(a0 + r0)
//   lstm       i, f, o = ra(a + r) of gates 0, 1, 3;  c' = i·act(a2 + r2) + f·c;  h = o·act(c')
//   gru        (resetAfter) z, r = ra(a + r) of gates 0, 1;  h̃ = act(a2 + r·r2);
//              h' = (1 − z)·h̃ + z·h
//   gruBefore  (resetAfter false, TF.js's GRU) multiplies r·h by the recurrent kernel's last
//              third, so its step has a second product: the `reset` formula first gives
//              q = ra(a1 + r1)·h per unit, then r2 = (q·U_h)_j, and the main formula
//              h' = (1 − z)·act(a2 + r2) + z·h with z = ra(a0 + r0).
import { vjpGraph } from '../autodiff/reverse.ts';
import { activations } from '../frontend/activations.ts';
import { Builder } from '../ir/builder.ts';
import { attrNum, topoOrder, type Attrs, type Node } from '../ir/node.ts';
import { getOp } from './registry.ts';

export type CellKind = 'simpleRNN' | 'lstm' | 'gru' | 'gruBefore';

/** The cell's sizes: gates k (kernel [n, k·u]) and carried states S (h, and c for an LSTM). */
export function cellSizes(cell: string): { gates: number; states: number } {
  switch (cell) {
    case 'simpleRNN':
      return { gates: 1, states: 1 };
    case 'lstm':
      return { gates: 4, states: 2 };
    case 'gru':
    case 'gruBefore':
      return { gates: 3, states: 1 };
  }
  throw new Error(`scan: unknown cell ${cell}`);
}

/** A scalar formula: its inputs (leaves, in order) and outputs over them. */
export interface Formula {
  readonly inputs: readonly Node[];
  readonly outputs: readonly Node[];
}

/** The forward formula (inputs a_0..a_k−1, r_0..r_k−1, prev_0..prev_S−1; outputs the new
 * states) and its VJP (inputs: those, then the cotangents of the new states and of the kept
 * values; outputs: the cotangents of a, r and prev in that order). */
export interface Cell {
  readonly forward: Formula;
  readonly backward: Formula;
  /** gruBefore only: q = ra(a1 + r1)·h (inputs a1, r1, prev; one output) and its VJP
   * (inputs a1, r1, prev, q̄; outputs ā1, r̄1, p̄rev). */
  readonly reset?: { readonly forward: Formula; readonly backward: Formula };
  /** The forward formula's transcendental values that its VJP uses again (an LSTM's
   * act(a2 + r2) and act(c')): the forward scan keeps them in its row, so the backward scan
   * loads them instead of calling Math.tanh again (1.4–1.6× on the bench LSTM's reverse
   * step kernel in a side-by-side micro-benchmark). Stored and recomputed values are the
   * same f64 numbers. */
  readonly kept: readonly Node[];
}

/** Elementwise ops that call a library function (Math.tanh, Math.exp, …): worth keeping
 * from the forward scan rather than computing twice. */
const TRANSCENDENTAL = new Set([
  'exp',
  'expm1',
  'log',
  'log1p',
  'sqrt',
  'pow',
  'tanh',
  'sigmoid',
  'softplus',
  'atan',
  'sin',
  'cos',
]);

/** Transcendental nodes of `forward` that `backward` reads, in the forward's order. */
function keptValues(forward: Formula, backward: Formula): Node[] {
  const used = new Set(topoOrder(backward.outputs));
  const states = new Set(forward.outputs);
  return topoOrder(forward.outputs).filter(
    (n) => TRANSCENDENTAL.has(n.op) && used.has(n) && !states.has(n),
  );
}

function activation(B: Builder, name: string, alpha: number | undefined): (z: Node) => Node {
  const def = activations[name];
  if (!def) throw new Error(`scan: unknown activation ${name}`);
  const params = { ...def.params };
  if (alpha !== undefined) params.alpha = alpha;
  return (z) => def.build(B, z, params);
}

const cache = new Map<string, Cell>();

/** The cell of a scan's attributes (cell, act, actAlpha, ract, ractAlpha), built once. */
export function cellOf(attrs: Attrs): Cell {
  const key = ['cell', 'act', 'actAlpha', 'ract', 'ractAlpha'].map((k) => attrs[k]).join('|');
  const hit = cache.get(key);
  if (hit) return hit;
  const cell = String(attrs.cell);
  const { gates, states } = cellSizes(cell);
  const B = new Builder();
  let next = 0;
  const leaf = () => B.input([], next++);
  const a = Array.from({ length: gates }, leaf);
  const r = Array.from({ length: gates }, leaf);
  const prev = Array.from({ length: states }, leaf);
  const act = activation(B, String(attrs.act), attrs.actAlpha as number | undefined);
  const ra =
    cell === 'simpleRNN'
      ? act
      : activation(B, String(attrs.ract), attrs.ractAlpha as number | undefined);
  const pre = (g: number) => B.add(a[g]!, r[g]!);
  let outs: Node[];
  if (cell === 'simpleRNN') outs = [act(pre(0))];
  else if (cell === 'lstm') {
    const c = B.add(B.mul(ra(pre(0)), act(pre(2))), B.mul(ra(pre(1)), prev[1]!));
    outs = [B.mul(ra(pre(3)), act(c)), c];
  } else if (cell === 'gru') {
    const zg = ra(pre(0));
    const rg = ra(pre(1));
    const hh = act(B.add(a[2]!, B.mul(rg, r[2]!)));
    outs = [B.add(B.mul(B.sub(B.const(1), zg), hh), B.mul(zg, prev[0]!))];
  } else {
    // r2 is already (r·h)·U_h: the reset gate entered through the `reset` formula.
    const zg = ra(pre(0));
    const hh = act(pre(2));
    outs = [B.add(B.mul(B.sub(B.const(1), zg), hh), B.mul(zg, prev[0]!))];
  }
  const inputs = [...a, ...r, ...prev];
  const vjpOf = (ins: readonly Node[], outputs: readonly Node[]): Formula => {
    const cts = outputs.map(leaf);
    // <ct, outputs>: its gradient with respect to the inputs is the formula's VJP.
    const dot = outputs.map((o, s) => B.mul(cts[s]!, o)).reduce((x, y) => B.add(x, y));
    const grads = vjpGraph({ B }, dot, ins);
    const zero = B.const(0);
    return { inputs: [...ins, ...cts], outputs: ins.map((x) => grads.get(x) ?? zero) };
  };
  let reset: Cell['reset'];
  if (cell === 'gruBefore') {
    const q = B.mul(ra(pre(1)), prev[0]!);
    const ins = [a[1]!, r[1]!, prev[0]!];
    reset = { forward: { inputs: ins, outputs: [q] }, backward: vjpOf(ins, [q]) };
  }
  const forward = { inputs, outputs: outs };
  // The kept values are outputs of the scan's row like the states, so the VJP takes their
  // cotangents too (zero in a model: only scanT reads them).
  const kept = keptValues(forward, vjpOf(inputs, outs));
  const made: Cell = {
    forward,
    backward: vjpOf(inputs, [...outs, ...kept]),
    ...(reset ? { reset } : {}),
    kept,
  };
  cache.set(key, made);
  return made;
}

/** Ops a formula may hold besides elementwise ones: scalar views, which keep the value. */
const SCALAR_VIEWS = new Set(['stop', 'reshape', 'bcast']);

/** Evaluates a formula on scalars with each op's own scalar rule; `known` values (the
 * forward's, read back from a scan's row) are used instead of their formula. */
export function evalFormula(
  f: Formula,
  xs: readonly number[],
  known: ReadonlyMap<Node, number> = new Map(),
): number[] {
  const values = new Map<Node, number>(known);
  f.inputs.forEach((leaf, i) => values.set(leaf, xs[i]!));
  for (const n of topoOrder(f.outputs)) {
    if (values.has(n)) continue;
    if (n.op === 'const') {
      values.set(n, attrNum(n.attrs, 'value', 'const'));
      continue;
    }
    const def = getOp(n.op);
    if (SCALAR_VIEWS.has(n.op)) values.set(n, values.get(n.args[0]!)!);
    else if (def.kind === 'elementwise')
      values.set(n, def.scalar(...n.args.map((x) => values.get(x)!)));
    else throw new Error(`scan: ${n.op} in a cell formula`);
  }
  return f.outputs.map((o) => values.get(o)!);
}
