// The loop over time of a recurrent layer: `scan` runs one cell (ops/cell.ts) over the steps
// of a sequence with the same weights, carrying its state; `scanT` is its reverse-mode
// derivative, backpropagation through time as a reverse scan. Both are structured ops: the
// IR holds one node per layer instead of the cell once per step, and lower/scan.ts emits the
// cell's code once inside a loop over t.
//
// scan(xs [T, n], W [n, G], U [u, G], bIn? [G], bRec? [G]) with G = k·u is [T, row] where
// row t holds what step t computed, in the order the layer reads the steps (goBackwards
// reads x_{T−1} first):  [ states (S·u: h, then c) | A = x_t·W + bIn (G) | R = h_{t−1}·U +
// bRec (G) ], and for gruBefore (TF.js's GRU) [ ... | q = r·h (u) ] with R's last third
// q·U_h, then the cell's kept values (K·u: Cell.kept, an LSTM's two tanh). The
// pre-activations are kept so that the backward scan needs no product of the forward one
// again, the kept values so that it calls no Math.tanh again; the initial state is zero
// (TF.js). Only scanT reads the kept values in a model, but their cotangent is honoured.
//
// scanT(xs, W, U, Y, Ȳ) is one flat vector:
//   [ x̄s (T·n) | W̄ (n·G) | Ū (u·G) | b̄In (G) | b̄Rec (G) | scratch: Ā, R̄ (T·G each), carry (S·u),
//     gruBefore: q̄ (u) ]
// Only the carried cotangent runs backwards step by step; x̄s and the weight gradients are
// sums over the steps' Ā and R̄, computed once after the loop (each element one sum in
// registers, not T read-modify-writes).
// scan's vjp returns views of it (with `noDx: 1` when x̄s is not needed: zeros instead of
// its nest). Its own derivative (second order) is not defined.
import { attrNum, type Attrs, type Node } from '../ir/node.ts';
import { cellOf, cellSizes, evalFormula } from './cell.ts';
import { fullCotangent } from './cotangent.ts';
import type { StructuredOp } from './types.ts';

/** Sizes and offsets of a scan, from its attributes. */
export interface ScanLayout {
  readonly steps: number;
  readonly features: number;
  readonly units: number;
  readonly gates: number;
  readonly states: number;
  /** G = gates · units. */
  readonly width: number;
  /** Elements per step of the scan's result: S·u + 2G (+ u for gruBefore) + K·u kept. */
  readonly row: number;
  /** Offsets of A and R in a row; gruBefore also keeps q = r·h at qAt. */
  readonly aAt: number;
  readonly rAt: number;
  readonly qAt: number;
  /** The cell's kept values (Cell.kept, K·u per row, value-major) start at keepAt. */
  readonly kept: number;
  readonly keepAt: number;
  /** gruBefore: the reset gate multiplies h before the last third of U. */
  readonly resetBefore: boolean;
  /** Gates whose recurrent sums read h_{t−1} (gruBefore: z and r; the last reads q). */
  readonly hGates: number;
  readonly backwards: boolean;
  readonly bIn: boolean;
  readonly bRec: boolean;
  /** Offsets into scanT's result (Ā and R̄ hold every step's: T·G each). */
  readonly dW: number;
  readonly dU: number;
  readonly dbIn: number;
  readonly dbRec: number;
  readonly dA: number;
  readonly dR: number;
  readonly carry: number;
  /** gruBefore: q̄ of the current step (u), after the carry. */
  readonly dq: number;
  readonly gradSize: number;
}

export function scanLayout(attrs: Attrs): ScanLayout {
  const steps = attrNum(attrs, 'steps', 'scan');
  const features = attrNum(attrs, 'features', 'scan');
  const units = attrNum(attrs, 'units', 'scan');
  const { gates, states } = cellSizes(String(attrs.cell));
  const resetBefore = attrs.cell === 'gruBefore';
  const width = gates * units;
  const aAt = states * units;
  const kept = cellOf(attrs).kept.length;
  const keepAt = aAt + 2 * width + (resetBefore ? units : 0);
  const dW = steps * features;
  const dU = dW + features * width;
  const dbIn = dU + units * width;
  const dbRec = dbIn + width;
  const dA = dbRec + width;
  const dR = dA + steps * width;
  const carry = dR + steps * width;
  return {
    steps,
    features,
    units,
    gates,
    states,
    width,
    row: keepAt + kept * units,
    aAt,
    rAt: aAt + width,
    qAt: aAt + 2 * width,
    kept,
    keepAt,
    resetBefore,
    hGates: resetBefore ? 2 : gates,
    backwards: attrs.back === 1,
    bIn: attrs.bIn === 1,
    bRec: attrs.bRec === 1,
    dW,
    dU,
    dbIn,
    dbRec,
    dA,
    dR,
    carry,
    dq: carry + states * units,
    gradSize: carry + states * units + (resetBefore ? units : 0),
  };
}

function checkShapes(args: readonly Node[], L: ScanLayout): void {
  const want: [string, number][] = [
    ['xs', L.steps * L.features],
    ['kernel', L.features * L.width],
    ['recurrentKernel', L.units * L.width],
  ];
  if (L.bIn) want.push(['input bias', L.width]);
  if (L.bRec) want.push(['recurrent bias', L.width]);
  if (args.length !== want.length)
    throw new Error(`scan takes ${want.length} arguments here, got ${args.length}`);
  want.forEach(([what, size], i) => {
    if (args[i]!.size !== size)
      throw new Error(`scan: the ${what} has ${args[i]!.size} elements, expected ${size}`);
  });
}

/** Step t of the scan reads row `xRow(t)` of xs. */
export const xRow = (L: ScanLayout, t: number): number => (L.backwards ? L.steps - 1 - t : t);

function evaluateScan(args: readonly Float64Array[], attrs: Attrs, out: Float64Array): void {
  const L = scanLayout(attrs);
  const [xs, W, U] = args as [Float64Array, Float64Array, Float64Array];
  const bIn = L.bIn ? args[3]! : null;
  const bRec = L.bRec ? args[L.bIn ? 4 : 3]! : null;
  const { forward, reset, kept } = cellOf(attrs);
  const { units: u, width: G, row, aAt, rAt, qAt } = L;
  const withKept = { inputs: forward.inputs, outputs: [...forward.outputs, ...kept] };
  for (let t = 0; t < L.steps; t++) {
    const y = t * row;
    const x = xRow(L, t) * L.features;
    const h = (t - 1) * row;
    for (let c = 0; c < G; c++) {
      let acc = bIn ? bIn[c]! : 0;
      for (let k = 0; k < L.features; k++) acc += xs[x + k]! * W[k * G + c]!;
      out[y + aAt + c] = acc;
    }
    for (let c = 0; c < L.hGates * u; c++) {
      let rec = bRec ? bRec[c]! : 0;
      if (t > 0) for (let k = 0; k < u; k++) rec += out[h + k]! * U[k * G + c]!;
      out[y + rAt + c] = rec;
    }
    if (reset) {
      // q = r·h, then the last gate's recurrent sums over q.
      for (let j = 0; j < u; j++) {
        const ins = [out[y + aAt + u + j]!, out[y + rAt + u + j]!, t > 0 ? out[h + j]! : 0];
        out[y + qAt + j] = evalFormula(reset.forward, ins)[0]!;
      }
      for (let c = 2 * u; c < G; c++) {
        let rec = 0;
        if (t > 0) for (let k = 0; k < u; k++) rec += out[y + qAt + k]! * U[k * G + c]!;
        out[y + rAt + c] = rec;
      }
    }
    for (let j = 0; j < u; j++) {
      const ins: number[] = [];
      for (let g = 0; g < L.gates; g++) ins.push(out[y + aAt + g * u + j]!);
      for (let g = 0; g < L.gates; g++) ins.push(out[y + rAt + g * u + j]!);
      for (let s = 0; s < L.states; s++) ins.push(t > 0 ? out[h + s * u + j]! : 0);
      const vs = evalFormula(withKept, ins);
      for (let s = 0; s < L.states; s++) out[y + s * u + j] = vs[s]!;
      for (let q = 0; q < kept.length; q++) out[y + L.keepAt + q * u + j] = vs[L.states + q]!;
    }
  }
}

function evaluateScanT(args: readonly Float64Array[], attrs: Attrs, out: Float64Array): void {
  const L = scanLayout(attrs);
  const [xs, W, U, Y, ct] = args as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const { forward, backward, reset, kept } = cellOf(attrs);
  const { units: u, width: G, row, aAt, rAt, qAt, gates, states, features: n, steps: T } = L;
  // The step's new states and kept values are read from its row, as the kernel does.
  const known = new Map<Node, number>();
  for (let i = 0; i < states * u; i++) out[L.carry + i] = 0;
  // Backwards through time: only the carried cotangent depends on the step before.
  for (let tt = 0; tt < T; tt++) {
    const t = T - 1 - tt;
    const y = t * row;
    const h = (t - 1) * row;
    const dA = L.dA + t * G;
    const dR = L.dR + t * G;
    for (let j = 0; j < u; j++) {
      const ins: number[] = [];
      for (let g = 0; g < gates; g++) ins.push(Y[y + aAt + g * u + j]!);
      for (let g = 0; g < gates; g++) ins.push(Y[y + rAt + g * u + j]!);
      for (let s = 0; s < states; s++) ins.push(t > 0 ? Y[h + s * u + j]! : 0);
      for (let s = 0; s < states; s++) ins.push(ct[y + s * u + j]! + out[L.carry + s * u + j]!);
      for (let q = 0; q < L.kept; q++) ins.push(ct[y + L.keepAt + q * u + j]!);
      forward.outputs.forEach((o, s) => known.set(o, Y[y + s * u + j]!));
      kept.forEach((k, q) => known.set(k, Y[y + L.keepAt + q * u + j]!));
      const d = evalFormula(backward, ins, known);
      for (let g = 0; g < gates; g++) {
        out[dA + g * u + j] = d[g]! + ct[y + aAt + g * u + j]!;
        out[dR + g * u + j] = d[gates + g]! + ct[y + rAt + g * u + j]!;
      }
      for (let s = 0; s < states; s++) out[L.carry + s * u + j] = d[2 * gates + s]!;
    }
    if (reset) {
      // q̄ = U_h·R̄_h (+ the cotangent of the saved q), then back through q = r·h.
      for (let k = 0; k < u; k++) {
        let acc = 0;
        for (let c = 2 * u; c < G; c++) acc += U[k * G + c]! * out[dR + c]!;
        out[L.dq + k] = acc + ct[y + qAt + k]!;
      }
      for (let j = 0; j < u; j++) {
        const ins = [Y[y + aAt + u + j]!, Y[y + rAt + u + j]!, t > 0 ? Y[h + j]! : 0];
        const d = evalFormula(reset.backward, [...ins, out[L.dq + j]!]);
        out[dA + u + j] += d[0]!;
        out[dR + u + j] += d[1]!;
        out[L.carry + j] += d[2]!;
      }
    }
    if (t > 0) {
      for (let k = 0; k < u; k++) {
        let acc = 0;
        for (let c = 0; c < L.hGates * u; c++) acc += U[k * G + c]! * out[dR + c]!;
        out[L.carry + k] += acc;
      }
    }
  }
  // What does not feed the recurrence, once for all steps: x̄_t = W·Ā_t (zeros with noDx),
  // W̄ = Σ_t x_t ⊗ Ā_t, Ū = Σ_t h_{t−1} ⊗ R̄_t, the biases' Σ_t.
  if (attrs.noDx === 1) out.fill(0, 0, T * n);
  for (let t = 0; t < (attrs.noDx === 1 ? 0 : T); t++) {
    const x = xRow(L, t) * n;
    for (let k = 0; k < n; k++) {
      let acc = 0;
      for (let c = 0; c < G; c++) acc += W[k * G + c]! * out[L.dA + t * G + c]!;
      out[x + k] = acc;
    }
  }
  for (let k = 0; k < n; k++)
    for (let c = 0; c < G; c++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += xs[xRow(L, t) * n + k]! * out[L.dA + t * G + c]!;
      out[L.dW + k * G + c] = acc;
    }
  // gruBefore: the last third of U multiplied q_t, not h_{t−1}.
  for (let k = 0; k < u; k++)
    for (let c = 0; c < G; c++) {
      const left = (t: number) =>
        c < L.hGates * u ? Y[(t - 1) * row + k]! : Y[t * row + qAt + k]!;
      let acc = 0;
      for (let t = 1; t < T; t++) acc += left(t) * out[L.dR + t * G + c]!;
      out[L.dU + k * G + c] = acc;
    }
  for (let c = 0; c < G; c++) {
    let a = 0;
    let r = 0;
    for (let t = 0; t < T; t++) {
      a += out[L.dA + t * G + c]!;
      r += out[L.dR + t * G + c]!;
    }
    out[L.dbIn + c] = a;
    out[L.dbRec + c] = r;
  }
}

/** Multiply-adds of one scan: both products per step (the cell's map is a few more per unit). */
export function scanMacs(L: ScanLayout): number {
  return L.steps * (L.features + L.units) * L.width;
}

export const scanOps: StructuredOp[] = [
  {
    name: 'scan',
    kind: 'structured',
    arity: 3,
    variadic: true,
    smooth: false,
    doc: 'a recurrent cell over the steps of [T, n] with shared weights: [T, states | x·W + bIn | h·U + bRec]',
    shape: (args, attrs) => {
      const L = scanLayout(attrs);
      checkShapes(args, L);
      cellOf(attrs);
      return [L.steps, L.row];
    },
    evaluate: (args, attrs, out) => evaluateScan(args, attrs, out),
    vjp: ({ B, y, ct, args, needs }) => {
      const L = scanLayout(y.attrs);
      if (!needs.some((x) => x)) return args.map(() => null);
      // A sequence that leads to no requested gradient (the model's input in training) gets
      // zeros for x̄s: its nest is W·Ā_t for every step, ~5 % of the bench LSTM's step.
      const g = B.make(
        'scanT',
        [args[0]!, args[1]!, args[2]!, y, fullCotangent(B, ct, y)],
        needs[0] ? y.attrs : { ...y.attrs, noDx: 1 },
      );
      const part = (at: number, size: number, shape: readonly number[]) =>
        B.reshape(B.slice(g, 0, at, size), shape);
      const out: (Node | null)[] = [
        needs[0] ? part(0, L.steps * L.features, args[0]!.shape) : null,
        needs[1] ? part(L.dW, L.features * L.width, args[1]!.shape) : null,
        needs[2] ? part(L.dU, L.units * L.width, args[2]!.shape) : null,
      ];
      if (L.bIn) out.push(needs[3] ? part(L.dbIn, L.width, args[3]!.shape) : null);
      if (L.bRec) {
        const i = out.length;
        out.push(needs[i] ? part(L.dbRec, L.width, args[i]!.shape) : null);
      }
      return out;
    },
    cost: (node) => scanMacs(scanLayout(node.attrs)),
  },
  {
    name: 'scanT',
    kind: 'structured',
    arity: 5,
    smooth: false,
    doc: "scan's reverse-mode derivative, a reverse scan: [x̄s | W̄ | Ū | b̄In | b̄Rec | scratch]",
    shape: ([xs, W, U, Y, ct], attrs) => {
      const L = scanLayout(attrs);
      checkShapes([xs!, W!, U!], { ...L, bIn: false, bRec: false });
      const rows = L.steps * L.row;
      if (Y!.size !== rows || ct!.size !== rows)
        throw new Error(`scanT: the states and their cotangent need ${rows} elements`);
      return [L.gradSize];
    },
    evaluate: (args, attrs, out) => evaluateScanT(args, attrs, out),
    vjp: () => {
      throw new Error('scanT: second-order derivatives of a recurrent scan are not supported');
    },
    cost: (node) => 2 * scanMacs(scanLayout(node.attrs)),
  },
];
