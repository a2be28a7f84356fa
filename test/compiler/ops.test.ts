// Table-driven derivative tests for every primitive in the registry: one row
// per op with inputs sampled from the op's valid domain and a per-op tolerance. Each row is
// checked by central finite differences of the op's own `evaluate` and by the dot-product
// (VJP) test, for every argument-size configuration (vectors, and size-1 arguments that
// broadcast). The symbolic side goes through `vjpGraph`, i.e. the derivative rule as the
// differentiator uses it, and is evaluated with the IR interpreter. A meta-test fails when an
// op is registered without a row.
import { describe, expect, it } from 'vitest';
import { vjpGraph } from '../../compiler/autodiff/reverse.ts';
import { num } from '../../compiler/emit/code.ts';
import { Builder } from '../../compiler/ir/builder.ts';
import { evaluateNodes } from '../../compiler/ir/interpret.ts';
import type { Attrs, Node } from '../../compiler/ir/node.ts';
import { getOp, registry } from '../../compiler/ops/registry.ts';
import { maskValue } from '../../compiler/ops/batch.ts';
import { evaluateBatch } from '../../compiler/ir/interpret-batch.ts';
import type { OpDef } from '../../compiler/ops/types.ts';
import { scanLayout } from '../../compiler/ops/scan.ts';
import { renderKernel } from '../../compiler/backends/js/loops.ts';
import { jsElementwise } from '../../compiler/backends/js/scalar-ops.ts';
import { runKernel, runKernelLanes } from '../../compiler/lower/interpret-loops.ts';
import { contractKernel, lowerLinalg, type LinalgForm } from '../../compiler/lower/linalg.ts';
import { lowerElementwise } from '../../compiler/lower/elementwise.ts';
import { lowerReduce, REDUCE_OPS } from '../../compiler/lower/reduce.ts';
import { loweredOps, lowerNode } from '../../compiler/lower/kernels.ts';
import { bareCompilation, relErr, TestRng } from './helpers.ts';

type Sampler = (rng: TestRng, arg: number) => number;

interface Config {
  readonly sizes: readonly number[];
  /** Argument shapes, for ops over shaped tensors (default: vectors of `sizes`). */
  readonly shapes?: readonly (readonly number[])[];
  readonly attrs?: Attrs;
  /** A known compiler bug in this configuration only (see Row.knownBug). */
  readonly knownBug?: string;
}

interface Row {
  /** Draws one element of argument `arg` from the op's valid domain. */
  readonly sample: Sampler;
  /** Rejects draws too close to a kink or tie; gets the broadcast elements of one output. */
  readonly away?: (xs: readonly number[]) => boolean;
  /** Rejects draws by whole argument vectors (reductions). */
  readonly awayWhole?: (args: readonly Float64Array[]) => boolean;
  /** Largest allowed relative error (relErr in ./helpers.ts). */
  readonly tol: number;
  /** Arguments the op treats as non-differentiable (their cotangent is null). */
  readonly frozen?: readonly number[];
  /** The op has no gradient at all: its vjp returns null for every argument. */
  readonly noGradient?: boolean;
  /** Argument sizes and attrs; elementwise ops get all broadcast patterns by default. */
  readonly configs?: readonly Config[];
  /** A known compiler bug: the row's gradient checks run as `it.fails` (see the report). */
  readonly knownBug?: string;
  /** A derivative op (scanT): checked as the vjp of the op named here, its own vjp refuses
   * (second order is not supported). */
  readonly derivativeOf?: string;
}

const uniform =
  (lo: number, hi: number): Sampler =>
  (rng) =>
    rng.range(lo, hi);
const awayFromZero =
  (lo: number, hi: number): Sampler =>
  (rng) =>
    rng.signed(lo, hi);
const perArg =
  (...ss: Sampler[]): Sampler =>
  (rng, i) =>
    ss[i]!(rng, i);
/** Token ids for a table of `rows` rows: mostly valid, some −1, `rows`, or fractional. */
const ids =
  (rows: number): Sampler =>
  (rng) => {
    const r = rng.next();
    if (r < 0.1) return -1;
    if (r < 0.2) return rows;
    if (r < 0.3) return 1.5;
    return rng.int(rows);
  };
/** Pairs at least 0.1 apart: max/min/gt have a tie (kink or step) where a = b. */
const noTie = (xs: readonly number[]): boolean => Math.abs(xs[0]! - xs[1]!) > 0.1;

// Fixed regressions, kept as rows: reverse.ts used to treat a size-1 argument of a contraction
// or bcast node as an elementwise broadcast and multiply its (already complete) cotangent.
/** The dense layer's contractions on an n × m matrix (some shapes make a size-1 argument). */
const LINALG_SHAPES: [number, number][] = [
  [3, 2],
  [2, 3],
  [1, 3],
  [3, 1],
];
/** The instances, each for every n × m: y = x·W, h = W·g, H = x ⊗ g. */
const INSTANCE_SPECS: readonly [string, (n: number, m: number) => number[][]][] = [
  ['i,ij->j', (n, m) => [[n], [n, m]]],
  ['ij,j->i', (n, m) => [[n, m], [m]]],
  ['i,j->ij', (n, m) => [[n], [m]]],
];
/** Other contractions: the generic loop nest. */
const GENERIC_SPECS: readonly [string, number[][]][] = [
  // A matrix-matrix product.
  [
    'ij,jk->ik',
    [
      [2, 3],
      [3, 4],
    ],
  ],
  // Summed over two labels.
  [
    'ijk,jkl->il',
    [
      [2, 3, 2],
      [3, 2, 3],
    ],
  ],
  // A transposed operand (Aᵀ·B) and a transposed result.
  [
    'ij,ik->jk',
    [
      [3, 2],
      [3, 4],
    ],
  ],
  [
    'ij,jk->ki',
    [
      [2, 3],
      [3, 2],
    ],
  ],
  // A batch label kept in the result: one matvec per row of the batch.
  [
    'ij,ijk->ik',
    [
      [2, 3],
      [2, 3, 2],
    ],
  ],
  // A batch label alone (an elementwise product) and a full contraction to a scalar.
  ['ij,j->ij', [[2, 3], [3]]],
  [
    'ij,ij->',
    [
      [2, 3],
      [2, 3],
    ],
  ],
];
const CONTRACT_CONFIGS: Config[] = [
  ...INSTANCE_SPECS.flatMap(([spec, shapes]) =>
    LINALG_SHAPES.map(([n, m]) => shaped(shapes(n, m), { spec })),
  ),
  ...GENERIC_SPECS.map(([spec, shapes]) => shaped(shapes, { spec })),
];

/** A config over shaped arguments. */
function shaped(shapes: number[][], attrs: Attrs): Config {
  return { sizes: shapes.map((sh) => sh.reduce((a, b) => a * b, 1)), shapes, attrs };
}

export function shapesOf(cfg: Config): readonly (readonly number[])[] {
  return cfg.shapes ?? cfg.sizes.map((n) => [n]);
}

const scanAttrs = (cell: string, steps: number, features: number, units: number, more: Attrs) => ({
  cell,
  steps,
  features,
  units,
  act: 'tanh',
  ract: 'sigmoid',
  ...more,
});
const gatesOf = (cell: string): number => (cell === 'lstm' ? 4 : cell.startsWith('gru') ? 3 : 1);
function scanConfig(cell: string, T: number, n: number, u: number, more: Attrs): Config {
  const G = gatesOf(cell) * u;
  const biases = [more.bIn === 1, more.bRec === 1].filter((b) => b).map(() => [G]);
  return shaped([[T, n], [n, G], [u, G], ...biases], scanAttrs(cell, T, n, u, more));
}
// The row's width, kept values included (their count depends on the cell's activations).
const scanRow = (a: Attrs): number => scanLayout(a).row;
const withAttrs = (c: Config, more: Attrs): Config => ({ ...c, attrs: { ...c.attrs, ...more } });
const SCAN_CONFIGS: readonly Config[] = [
  scanConfig('lstm', 3, 2, 2, { bIn: 1 }),
  scanConfig('lstm', 4, 3, 3, { bIn: 1, back: 1, act: 'softsign' }),
  scanConfig('simpleRNN', 4, 2, 3, {}),
  scanConfig('simpleRNN', 3, 3, 2, { bIn: 1, back: 1 }),
  scanConfig('gru', 3, 2, 2, { bIn: 1, bRec: 1 }),
  scanConfig('gru', 4, 2, 3, { bIn: 1, bRec: 1, back: 1, act: 'sigmoid', ract: 'tanh' }),
  scanConfig('gruBefore', 3, 2, 2, { bIn: 1 }),
  scanConfig('gruBefore', 4, 3, 3, { back: 1, act: 'softsign' }),
];

export const rows: Readonly<Record<string, Row>> = {
  // Views.
  stop: {
    sample: uniform(-2, 2),
    tol: 0,
    noGradient: true,
    configs: [{ sizes: [4] }, { sizes: [1] }],
  },
  bcast: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      { sizes: [1], attrs: { shape: [3] } },
      shaped([[3]], { shape: [2, 3] }),
      shaped([[2, 1]], { shape: [2, 3] }),
      shaped([[2, 1, 3]], { shape: [4, 2, 2, 3] }),
    ],
  },
  // One sample's batch mean is the value itself; its batch derivative (self-transpose) is
  // checked over whole batches in 'batchMean over a batch' below.
  batchMean: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [{ sizes: [4] }, shaped([[2, 3]], {})],
  },
  reshape: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [shaped([[2, 3]], { shape: [3, 2] }), shaped([[2, 2, 2]], { shape: [8] })],
  },
  slice: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped([[3, 4]], { axis: 0, start: 1, size: 2 }),
      shaped([[3, 4]], { axis: 1, start: 1, size: 2 }),
      shaped([[2, 3, 2]], { axis: 1, start: 2, size: 1 }),
      shaped([[6]], { axis: 0, start: 0, size: 6 }),
    ],
  },
  // Blocks along an axis.
  pad: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped([[2, 3]], { axis: 0, start: 1, total: 4 }),
      shaped([[2, 3]], { axis: 1, start: 2, total: 5 }),
      shaped([[2, 1, 2]], { axis: 1, start: 0, total: 3 }),
    ],
  },
  concat: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped(
        [
          [2, 3],
          [1, 3],
        ],
        { axis: 0 },
      ),
      shaped(
        [
          [2, 1],
          [2, 3],
          [2, 2],
        ],
        { axis: 1 },
      ),
      shaped(
        [
          [2, 2, 1],
          [2, 1, 1],
        ],
        { axis: 1 },
      ),
      shaped([[4]], { axis: 0 }),
      // A one-element block that simplification turned into a scalar.
      shaped([[2], [], [1]], { axis: 0 }),
    ],
  },
  // Shaped reductions and windows (channels-last).
  sumTo: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped([[2, 3]], { shape: [3] }),
      shaped([[2, 3]], { shape: [2, 1] }),
      shaped([[4, 2, 3]], { shape: [2, 1] }),
    ],
  },
  // Ids in the second argument: whole numbers in range, and some out of range or fractional
  // (those read zero rows and receive nothing).
  gather: {
    sample: perArg(uniform(-2, 2), ids(4)),
    tol: 1e-8,
    frozen: [1],
    configs: [
      shaped([[4, 3], [6]], {}),
      shaped(
        [
          [4, 2],
          [2, 3],
        ],
        {},
      ),
    ],
  },
  scatterAdd: {
    sample: perArg(uniform(-2, 2), ids(4)),
    tol: 1e-8,
    frozen: [1],
    configs: [
      shaped([[6, 3], [6]], { shape: [4, 3] }),
      shaped(
        [
          [2, 3, 2],
          [2, 3],
        ],
        { shape: [4, 2] },
      ),
    ],
  },
  conv: {
    sample: uniform(-2, 2),
    tol: 1e-7,
    configs: [
      shaped(
        [
          [5, 5, 2],
          [3, 3, 2, 3],
        ],
        {},
      ),
      shaped(
        [
          [5, 5, 2],
          [3, 3, 2, 3],
        ],
        { padBefore: [1, 1], padAfter: [1, 1] },
      ),
      shaped(
        [
          [6, 5, 2],
          [2, 3, 2, 2],
        ],
        { strides: [2, 2], padBefore: [0, 1], padAfter: [0, 1] },
      ),
      shaped(
        [
          [7, 2],
          [3, 2, 2],
        ],
        { dilation: [2] },
      ),
      shaped(
        [
          [7, 2],
          [4, 2, 3],
        ],
        { padBefore: [1], padAfter: [2] },
      ),
      // More output channels than one block of locals: two blocks of 8 and a rest of 3.
      shaped(
        [
          [4, 4, 1],
          [2, 2, 1, 19],
        ],
        { padBefore: [0, 1], padAfter: [1, 0] },
      ),
    ],
  },
  convBackInput: {
    sample: uniform(-2, 2),
    tol: 1e-7,
    configs: [
      shaped(
        [
          [3, 3, 3],
          [3, 3, 2, 3],
        ],
        { spatialIn: [5, 5] },
      ),
      shaped(
        [
          [3, 3, 2],
          [2, 3, 2, 2],
        ],
        {
          spatialIn: [6, 5],
          strides: [2, 2],
          padBefore: [0, 1],
          padAfter: [0, 1],
        },
      ),
      shaped(
        [
          [3, 2],
          [3, 1, 2],
        ],
        { spatialIn: [7], dilation: [2] },
      ),
      // Stride 1 with more input channels than one block of locals (8 + 8 + 3).
      shaped(
        [
          [3, 3, 2],
          [2, 2, 19, 2],
        ],
        { spatialIn: [4, 4] },
      ),
      shaped(
        [
          [4, 4, 2],
          [3, 3, 2, 2],
        ],
        { spatialIn: [4, 4], padBefore: [1, 1], padAfter: [1, 1] },
      ),
    ],
  },
  convBackKernel: {
    sample: uniform(-2, 2),
    tol: 1e-7,
    configs: [
      shaped(
        [
          [5, 5, 2],
          [3, 3, 3],
        ],
        { window: [3, 3] },
      ),
      shaped(
        [
          [6, 5, 2],
          [3, 3, 2],
        ],
        {
          window: [2, 3],
          strides: [2, 2],
          padBefore: [0, 1],
          padAfter: [0, 1],
        },
      ),
      shaped(
        [
          [7, 2],
          [3, 2],
        ],
        { window: [3], dilation: [2] },
      ),
      shaped(
        [
          [4, 4, 1],
          [4, 4, 19],
        ],
        { window: [2, 2], padBefore: [0, 1], padAfter: [1, 0] },
      ),
    ],
  },
  // The selector (argument 0) only chooses positions: it has no derivative, so ties in it
  // cannot disturb the differences, which perturb the values alone.
  poolMax: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    frozen: [0],
    configs: [
      shaped(
        [
          [4, 4, 2],
          [4, 4, 2],
        ],
        { window: [2, 2], strides: [2, 2] },
      ),
      shaped(
        [
          [5, 5, 1],
          [5, 5, 1],
        ],
        { window: [3, 3], strides: [2, 2], padBefore: [1, 1], padAfter: [1, 1] },
      ),
      shaped(
        [
          [7, 3],
          [7, 3],
        ],
        { window: [3], strides: [2] },
      ),
    ],
  },
  poolMaxT: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    frozen: [0],
    configs: [
      shaped(
        [
          [4, 4, 2],
          [2, 2, 2],
        ],
        { window: [2, 2], strides: [2, 2] },
      ),
      shaped(
        [
          [5, 5, 1],
          [3, 3, 1],
        ],
        { window: [3, 3], strides: [2, 2], padBefore: [1, 1], padAfter: [1, 1] },
      ),
    ],
  },
  poolAvg: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped([[4, 4, 2]], { window: [2, 2], strides: [2, 2] }),
      shaped([[5, 5, 2]], { window: [2, 2], strides: [2, 2], padAfter: [1, 1] }),
      shaped([[7, 3]], { window: [3], strides: [1], padBefore: [1], padAfter: [1] }),
    ],
  },
  poolAvgT: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: [
      shaped([[2, 2, 2]], { window: [2, 2], strides: [2, 2], spatialIn: [4, 4] }),
      shaped([[3, 3, 2]], { window: [2, 2], strides: [2, 2], padAfter: [1, 1], spatialIn: [5, 5] }),
    ],
  },
  // Recurrent scans: [T, n] sequences, a kernel [n, k·u], a recurrent kernel [u, k·u] and
  // the biases the attributes announce. Smooth gate activations: hardSigmoid's kinks are
  // covered by the layer tests against the unrolled form.
  scan: {
    sample: uniform(-1, 1),
    tol: 1e-6,
    configs: SCAN_CONFIGS,
  },
  scanT: {
    sample: uniform(-1, 1),
    tol: 1e-6,
    derivativeOf: 'scan',
    // The first LSTM again without x̄s (noDx: what scan's vjp asks for when the sequence
    // needs no cotangent): the other parts must not change.
    configs: [...SCAN_CONFIGS, withAttrs(SCAN_CONFIGS[0]!, { noDx: 1 })].map((c) => {
      const [xs, w, r] = c.shapes!;
      const rows = (c.attrs!.steps as number) * scanRow(c.attrs!);
      return shaped([[...xs!], [...w!], [...r!], [rows], [rows]], c.attrs!);
    }),
  },
  // Elementwise.
  add: { sample: uniform(-2, 2), tol: 1e-8 },
  sub: { sample: uniform(-2, 2), tol: 1e-8 },
  mul: { sample: uniform(-2, 2), tol: 1e-8 },
  div: { sample: perArg(uniform(-2, 2), awayFromZero(0.5, 2)), tol: 1e-7 },
  neg: { sample: uniform(-2, 2), tol: 1e-8 },
  exp: { sample: uniform(-2, 2), tol: 1e-8 },
  expm1: { sample: uniform(-2, 2), tol: 1e-8 },
  log: { sample: uniform(0.2, 3), tol: 1e-7 },
  log1p: { sample: uniform(-0.7, 3), tol: 1e-7 },
  sqrt: { sample: uniform(0.2, 3), tol: 1e-7 },
  pow: { sample: perArg(uniform(0.5, 2), uniform(-2, 2.5)), tol: 1e-7 },
  tanh: { sample: uniform(-2, 2), tol: 1e-8 },
  sigmoid: { sample: uniform(-4, 4), tol: 1e-8 },
  softplus: { sample: uniform(-4, 4), tol: 1e-8 },
  sin: { sample: uniform(-3, 3), tol: 1e-7 },
  atan: { sample: uniform(-3, 3), tol: 1e-7 },
  cos: { sample: uniform(-3, 3), tol: 1e-7 },
  abs: { sample: awayFromZero(0.1, 2), tol: 1e-8 },
  sign: { sample: awayFromZero(0.1, 2), tol: 0, noGradient: true },
  floor: {
    sample: uniform(-3, 3),
    away: (xs) => Math.abs(xs[0]! - Math.round(xs[0]!)) > 0.05,
    tol: 0,
    noGradient: true,
  },
  max: { sample: uniform(-2, 2), away: noTie, tol: 1e-8 },
  min: { sample: uniform(-2, 2), away: noTie, tol: 1e-8 },
  gt: { sample: uniform(-2, 2), away: noTie, tol: 0, noGradient: true },
  select: {
    // The condition is 0 or 1 so both branches are taken; it has no derivative.
    sample: perArg((rng) => (rng.next() < 0.5 ? 0 : 1), uniform(-2, 2), uniform(-2, 2)),
    frozen: [0],
    tol: 1e-8,
  },
  // Reductions.
  sum: { sample: uniform(-2, 2), tol: 1e-8, configs: [{ sizes: [5] }, { sizes: [1] }] },
  rmax: {
    sample: uniform(-2, 2),
    // The largest element must be unique by a margin, or the gradient is a tie-break.
    awayWhole: ([a]) => {
      const s = [...a!].sort((x, y) => y - x);
      return s.length < 2 || s[0]! - s[1]! > 0.1;
    },
    tol: 1e-8,
    configs: [{ sizes: [5] }, { sizes: [1] }],
  },
  // Contractions (einsum-like specs): the dense instances and the generic nest.
  contract: {
    sample: uniform(-2, 2),
    tol: 1e-8,
    configs: CONTRACT_CONFIGS,
  },
};

/** Leaves have no arguments: they are bound by the interpreter (or are literals). */
export const leafRows: Readonly<Record<string, { attrs: Attrs; size: number }>> = {
  const: { attrs: { value: -2.5 }, size: 1 },
  param: { attrs: { offset: 1, shape: [3] }, size: 3 },
  input: { attrs: { shape: [2] }, size: 2 },
  target: { attrs: { shape: [2] }, size: 2 },
  batchStat: { attrs: { offset: 3, shape: [2] }, size: 2 },
  dropoutMask: { attrs: { shape: [3], rate: 0.5, salt: 2 }, size: 3 },
};

const VECTOR = 4;

function configsOf(op: OpDef, row: Row): readonly Config[] {
  if (row.configs) return row.configs;
  if (op.kind !== 'elementwise') throw new Error(`row ${op.name} needs explicit configs`);
  // All arguments full size, each one alone of size 1 (broadcast), and all scalars.
  const out: Config[] = [{ sizes: Array<number>(op.arity).fill(VECTOR) }];
  if (op.arity > 1) {
    for (let i = 0; i < op.arity; i++)
      out.push({ sizes: Array.from({ length: op.arity }, (_, j) => (j === i ? 1 : VECTOR)) });
  }
  out.push({ sizes: Array<number>(op.arity).fill(1) });
  return out;
}

function describeConfig(c: Config): string {
  const a = c.attrs ? ` ${JSON.stringify(c.attrs)}` : '';
  if (c.shapes) return `shapes ${c.shapes.map((sh) => `[${sh.join(',')}]`).join(' ')}${a}`;
  return `sizes [${c.sizes.join(', ')}]${a}`;
}

function sampleArgs(op: OpDef, row: Row, cfg: Config, rng: TestRng): Float64Array[] {
  const n = Math.max(...cfg.sizes);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const args = cfg.sizes.map((len, i) => {
      const a = new Float64Array(len);
      for (let k = 0; k < len; k++) a[k] = row.sample(rng, i);
      return a;
    });
    let ok = !row.awayWhole || row.awayWhole(args);
    if (ok && row.away && op.kind === 'elementwise') {
      for (let k = 0; k < n && ok; k++)
        ok = row.away(args.map((a) => (a.length === 1 ? a[0]! : a[k]!)));
    }
    if (ok) return args;
  }
  throw new Error(`${op.name}: could not sample away from kinks`);
}

function evalOp(
  op: OpDef,
  args: readonly Float64Array[],
  attrs: Attrs,
  size: number,
  shapes: readonly (readonly number[])[] = args.map((a) => [a.length]),
): Float64Array {
  const out = new Float64Array(size);
  op.evaluate(args, attrs, out, shapes);
  return out;
}

interface Setup {
  readonly op: OpDef;
  readonly args: Float64Array[];
  readonly attrs: Attrs;
  readonly shapes: readonly (readonly number[])[];
  readonly size: number;
  /** Cotangent u of the output (all ones for the scalar-cotangent variant). */
  readonly u: Float64Array;
  /** Argument indices that take part in the derivative checks. */
  readonly live: number[];
}

/** f(args) = <u, op(args)>: the scalar whose gradient is the VJP with cotangent u. */
function f(s: Setup, args: readonly Float64Array[]): number {
  const y = evalOp(s.op, args, s.attrs, s.size, s.shapes);
  let acc = 0;
  for (let k = 0; k < y.length; k++) acc += s.u[k]! * y[k]!;
  return acc;
}

function numericGradient(s: Setup): Float64Array[] {
  return s.args.map((a, i) => {
    const g = new Float64Array(a.length);
    if (!s.live.includes(i)) return g;
    for (let k = 0; k < a.length; k++) {
      const x0 = a[k]!;
      const h = 1e-5 * Math.max(1, Math.abs(x0));
      const plus = s.args.map((b) => Float64Array.from(b));
      const minus = s.args.map((b) => Float64Array.from(b));
      plus[i]![k] = x0 + h;
      minus[i]![k] = x0 - h;
      g[k] = (f(s, plus) - f(s, minus)) / (plus[i]![k]! - minus[i]![k]!);
    }
    return g;
  });
}

/**
 * The symbolic side: leaves are `param` nodes over one flat array, the loss is
 * sum(U · y) (or sum(y) when the cotangent is a scalar), differentiated with `vjpGraph`.
 * Returns one gradient per argument (zeros where there is no cotangent) and whether each
 * argument got a cotangent at all.
 */
function symbolicGradient(
  s: Setup,
  scalarCt: boolean,
): { grads: Float64Array[]; present: boolean[] } {
  const B = new Builder();
  const offsets: number[] = [];
  let offset = 0;
  for (const a of s.args) {
    offsets.push(offset);
    offset += a.length;
  }
  const leaves = s.args.map((_a, i) => B.param(offsets[i]!, s.shapes[i]!));
  const y = B.make(s.op.name, leaves, s.attrs);
  expect(y.size).toBe(s.size);
  const U = B.param(offset, y.shape.length ? y.shape : [1]);
  const L = scalarCt ? B.sum(y) : B.sum(B.mul(U, y));
  const params = new Float64Array(offset + s.size);
  s.args.forEach((a, i) => params.set(a, offsets[i]));
  params.set(s.u, offset);
  const ct = vjpGraph(bareCompilation(B), L, leaves);
  const roots = [...ct.values()];
  const values = evaluateNodes(roots, { params, input: new Float64Array(0) });
  const present: boolean[] = [];
  const grads = leaves.map((leaf) => {
    const node = ct.get(leaf);
    present.push(node !== undefined);
    const g = new Float64Array(leaf.size);
    if (!node) return g;
    // A cotangent has the leaf's size, or size 1 meaning "this value in every element".
    expect([1, leaf.size]).toContain(node.size);
    const v = values.get(node)!;
    for (let k = 0; k < g.length; k++) g[k] = v.length === 1 ? v[0]! : v[k]!;
    return g;
  });
  return { grads, present };
}

function assertClose(what: string, got: number, want: number, tol: number): void {
  const err = Math.abs(got) + Math.abs(want) < 1e-9 ? 0 : relErr(got, want);
  if (!(err <= tol)) {
    throw new Error(
      `${what}: symbolic ${got}, numeric ${want}, relative error ${err.toExponential(2)} > ${tol}`,
    );
  }
}

describe('op table', () => {
  it('has a row for every registered op (add a row when you add an op)', () => {
    const missing = [...registry.keys()].filter((name) => !(name in rows) && !(name in leafRows));
    expect(missing).toEqual([]);
  });

  it('has no rows for ops that do not exist', () => {
    const stale = [...Object.keys(rows), ...Object.keys(leafRows)].filter(
      (name) => !registry.has(name),
    );
    expect(stale).toEqual([]);
  });

  it('puts leaves in leafRows and every other op in rows', () => {
    for (const [name, op] of registry) expect(op.kind === 'leaf', name).toBe(name in leafRows);
  });
});

describe.each(Object.keys(leafRows))('leaf %s', (name) => {
  const op = registry.get(name)!;
  const row = leafRows[name]!;

  it('has no arguments and no cotangents', () => {
    const B = new Builder();
    const n = B.make(name, [], row.attrs);
    expect(op.arity).toBe(0);
    expect(n.size).toBe(row.size);
    expect(op.vjp({ B, y: n, args: [], ct: B.const(1), needs: [] })).toEqual([]);
  });

  it('is bound by the interpreter', () => {
    const B = new Builder();
    const n = B.make(name, [], row.attrs);
    const params = Float64Array.of(9, 1, 2, 3);
    const input = Float64Array.of(4, 5);
    const target = Float64Array.of(6, 7);
    if (name === 'batchStat') {
      // Only a batched entry point has finished batch means; the interpreters evaluate the
      // batchMean nodes themselves.
      expect(() => evaluateNodes([n], { params, input, target })).toThrow(/batched entry point/);
      return;
    }
    const v = evaluateNodes([n], { params, input, target, seed: 77, sample: 4 }).get(n)!;
    const want: Record<string, number[]> = {
      const: [-2.5],
      param: [1, 2, 3],
      input: [4, 5],
      target: [6, 7],
      dropoutMask: [0, 1, 2].map((k) => maskValue(0.5, 77, 4, 2, k)),
    };
    expect([...v]).toEqual(want[name]);
    if (name === 'dropoutMask') expect(new Set(v).size).toBeGreaterThan(1);
    if (name !== 'const')
      expect(() => op.evaluate([], row.attrs, new Float64Array(row.size), [])).toThrow(
        /bound by the interpreter/,
      );
  });

  if (name !== 'const') {
    it('rejects a missing or bad shape', () => {
      const B = new Builder();
      expect(() => B.make(name, [], {})).toThrow(/bad shape/);
      expect(() => B.make(name, [], { offset: 0, shape: [0] })).toThrow(/bad shape/);
      expect(() => B.make(name, [], { offset: 0, shape: [1.5] })).toThrow(/bad shape/);
    });
  }
});

describe.each(Object.keys(rows))('op %s', (name) => {
  const op = registry.get(name)!;
  const row = rows[name]!;
  const configs = configsOf(op, row);

  describe.each(configs.map((c) => [describeConfig(c), c] as const))('%s', (_label, cfg) => {
    const rng = new TestRng(
      0x5eed + name.length * 7919 + cfg.sizes.reduce((a, b) => a * 31 + b, 0),
    );
    const args = sampleArgs(op, row, cfg, rng);
    const attrs = cfg.attrs ?? {};
    const shapes = shapesOf(cfg);
    const size = new Builder().make(
      name,
      shapes.map((sh, i) => new Builder().param(i, sh)),
      attrs,
    ).size;
    const live = args.map((_, i) => i).filter((i) => !row.frozen?.includes(i));
    const vectorCt: Setup = { op, args, attrs, shapes, size, u: rng.fill(size, -1.5, 1.5), live };
    const scalarCt: Setup = { ...vectorCt, u: new Float64Array(size).fill(1) };
    const gradientIt = row.knownBug || cfg.knownBug ? it.fails : it;

    if (row.derivativeOf) {
      it(`is checked as the derivative of ${row.derivativeOf}; its own vjp refuses`, () => {
        const B = new Builder();
        const leaves = args.map((_a, i) => B.param(i * 1000, shapes[i]!));
        const y = B.make(name, leaves, attrs);
        const vjp = () =>
          op.vjp({ B, y, args: leaves, ct: B.param(1e5, y.shape), needs: leaves.map(() => true) });
        expect(vjp).toThrow(/second-order/);
        expect(rows[row.derivativeOf!]).toBeDefined();
      });
      return;
    }
    if (row.noGradient) {
      it('has no derivative rule output: vjp returns null for every argument', () => {
        const B = new Builder();
        const leaves = args.map((_a, i) => B.param(i * 100, shapes[i]!));
        const y = B.make(name, leaves, attrs);
        const res = op.vjp({
          B,
          y,
          args: leaves,
          ct: B.param(1000, y.shape),
          needs: leaves.map(() => true),
        });
        expect(res).toEqual(leaves.map(() => null));
        const sym = symbolicGradient(vectorCt, false);
        expect(sym.present).toEqual(leaves.map(() => false));
      });
      if (name !== 'stop') {
        it('is locally constant where sampled (so a null derivative is right)', () => {
          for (const g of numericGradient(vectorCt)) for (const v of g) expect(v).toBe(0);
        });
      }
      return;
    }

    for (const [ctLabel, setup, scalar] of [
      ['vector cotangent', vectorCt, false],
      ['scalar cotangent', scalarCt, true],
    ] as const) {
      gradientIt(`vjp matches central differences of evaluate (${ctLabel})`, () => {
        const numeric = numericGradient(setup);
        const { grads } = symbolicGradient(setup, scalar);
        for (const i of live) {
          for (let k = 0; k < args[i]!.length; k++) {
            assertClose(`d/d arg${i}[${k}]`, grads[i]![k]!, numeric[i]![k]!, row.tol);
          }
        }
      });

      gradientIt(`dot-product test <u, J v> = <vjp(u), v> (${ctLabel})`, () => {
        const dirRng = new TestRng(17 + size);
        for (let trial = 0; trial < 3; trial++) {
          const v = args.map((a, i) =>
            live.includes(i)
              ? Float64Array.from(a, () => dirRng.normal())
              : new Float64Array(a.length),
          );
          const { grads } = symbolicGradient(setup, scalar);
          let analytic = 0;
          grads.forEach((g, i) => g.forEach((gk, k) => (analytic += gk * v[i]![k]!)));
          const h = 1e-6;
          const plus = args.map((a, i) => Float64Array.from(a, (x, k) => x + h * v[i]![k]!));
          const minus = args.map((a, i) => Float64Array.from(a, (x, k) => x - h * v[i]![k]!));
          const numeric = (f(setup, plus) - f(setup, minus)) / (2 * h);
          assertClose(`trial ${trial}`, analytic, numeric, Math.max(row.tol, 1e-7));
        }
      });
    }

    if (row.frozen?.length) {
      it(`gives no cotangent to argument(s) ${row.frozen.join(', ')}`, () => {
        const B = new Builder();
        const leaves = args.map((_a, i) => B.param(i * 100, shapes[i]!));
        const y = B.make(name, leaves, attrs);
        const res = op.vjp({
          B,
          y,
          args: leaves,
          ct: B.param(1000, y.shape),
          needs: leaves.map(() => true),
        });
        for (const i of row.frozen!) expect(res[i]).toBeNull();
      });
    }

    if (args.length > 1) {
      it('builds nothing for arguments that need no gradient', () => {
        for (let skip = 0; skip < args.length; skip++) {
          const B = new Builder();
          const leaves = args.map((_a, i) => B.param(i * 100, shapes[i]!));
          const y = B.make(name, leaves, attrs);
          const res = op.vjp({
            B,
            y,
            args: leaves,
            ct: B.param(1000, y.shape),
            needs: leaves.map((_, i) => i !== skip),
          });
          expect(res[skip], `argument ${skip}`).toBeNull();
        }
      });
    }
  });
});

// The JS backend's text for each scalar op must compute what `evaluate` computes: the
// interpreter is the oracle for the emitted code, so a disagreement here would show up as a
// wrong number in generated modules. Every elementwise op of the registry is run, so an op
// without JS text fails here.
describe('JS text of the elementwise ops agrees with evaluate', () => {
  const elementwise = [...registry.values()].filter((op) => op.kind === 'elementwise');

  it.each(elementwise.map((op) => [op.name, op] as const))(
    '%s: expr() over identifiers and literals',
    (name, op) => {
      if (op.kind !== 'elementwise') return;
      const row = rows[name]!;
      const rng = new TestRng(99);
      const names = Array.from({ length: op.arity }, (_, i) => `v${i}`);
      const byName = new Function(...names, `return ${jsElementwise(op)(...names)};`) as (
        ...xs: number[]
      ) => number;
      for (let trial = 0; trial < 20; trial++) {
        const xs = sampleArgs(op, row, { sizes: Array<number>(op.arity).fill(1) }, rng).map(
          (a) => a[0]!,
        );
        const want = op.scalar(...xs);
        // Negative literals are the tricky case (`- -3`, `--3`): they are what `num` prints.
        const byLiteral = new Function(
          `return ${jsElementwise(op)(...xs.map(num))};`,
        ) as () => number;
        expect(byName(...xs), `${name}(${xs.join(', ')})`).toBe(want);
        expect(byLiteral(), `${name}(${xs.map(num).join(', ')}) inlined`).toBe(want);
        const out = new Float64Array(1);
        op.evaluate(
          xs.map((x) => Float64Array.of(x)),
          {},
          out,
          xs.map(() => []),
        );
        expect(out[0]).toBe(want);
      }
    },
  );

  it.each(elementwise.filter((op) => op.commutative).map((op) => [op.name, op] as const))(
    '%s is flagged commutative and its value does not depend on argument order',
    (_name, op) => {
      if (op.kind !== 'elementwise') return;
      const rng = new TestRng(5);
      for (let t = 0; t < 20; t++) {
        const a = rng.range(-3, 3);
        const b = rng.range(-3, 3);
        expect(op.scalar(a, b)).toBe(op.scalar(b, a));
      }
    },
  );
});

describe('sizes and broadcasting', () => {
  it('elementwise ops reject sizes that do not broadcast', () => {
    const B = new Builder();
    expect(() => B.add(B.param(0, 3), B.param(3, 2))).toThrow(/do not broadcast/);
  });

  it('the contraction builders check their argument sizes against n × m', () => {
    const B = new Builder();
    expect(() => B.matvec(B.param(0, 3), B.param(3, 5), 3, 2)).toThrow(
      /operand has size 5, expected 6/,
    );
    expect(() => B.matvecT(B.param(0, 6), B.param(6, 3), 3, 2)).toThrow(
      /operand has size 3, expected 2/,
    );
    expect(() => B.outer(B.param(0, 2), B.param(2, 2), 3, 2)).toThrow(
      /operand has size 2, expected 3/,
    );
  });

  it('contract checks its spec against the operand shapes', () => {
    const B = new Builder();
    const [a, b] = [B.param(0, [2, 3]), B.param(6, [3, 4])];
    const bad =
      (spec: string, x = a, y = b) =>
      () =>
        B.make('contract', [x, y], { spec });
    expect(bad('ij,jk->ik')).not.toThrow();
    expect(bad('ab,bc->ac')).toThrow(/not canonical \(ij,jk->ik\)/);
    expect(bad('ij,jk->ij')).toThrow(/label k is in one operand only and summed/);
    expect(bad('ij,jk->il')).toThrow(/result label l is in neither operand/);
    expect(bad('ii,ij->j')).toThrow(/operand 0 repeats a label/);
    expect(bad('ij,ik->jk')).toThrow(/label i is 2 and 3 long/);
    expect(bad('i,ij->j')).toThrow(/operand 0 has shape \[2,3\], want 1 axes/);
    expect(bad('i*j')).toThrow(/bad spec/);
    // The builder takes any labels and keeps the canonical form: equal specs are one node.
    expect(B.contract(a, b, 'xy,yz->xz')).toBe(B.contract(a, b, 'ij,jk->ik'));
    expect(B.contract(a, b, 'xy,yz->xz').attrs).toEqual({ spec: 'ij,jk->ik' });
  });

  it('the transpose rule gives the dense instances by construction', () => {
    const B = new Builder();
    const [x, w, g] = [B.param(0, [3]), B.param(3, [3, 2]), B.param(9, [2])];
    const h = B.param(11, [3]);
    const transposes = (y: Node, ct: Node) =>
      getOp('contract')
        .vjp({ B, y, args: y.args, ct, needs: [true, true] })
        .map((c) => [c!.op, c!.attrs.spec, c!.args.map((a) => a.id)]);
    // y = x·W: x̄ = W·ḡ and W̄ = x ⊗ ḡ, the operands in matrix-product order.
    expect(transposes(B.matvec(x, w, 3, 2), g)).toEqual([
      ['contract', 'ij,j->i', [w.id, g.id]],
      ['contract', 'i,j->ij', [x.id, g.id]],
    ]);
    // h = W·g: W̄ = h̄ ⊗ g and ḡ = h̄·W.
    expect(transposes(B.matvecT(w, g, 3, 2), h)).toEqual([
      ['contract', 'i,j->ij', [h.id, g.id]],
      ['contract', 'i,ij->j', [h.id, w.id]],
    ]);
    // H = x ⊗ g: x̄ = H̄·g and ḡ = x·H̄.
    const H = B.param(14, [3, 2]);
    expect(transposes(B.outer(x, g, 3, 2), H)).toEqual([
      ['contract', 'ij,j->i', [H.id, g.id]],
      ['contract', 'i,ij->j', [x.id, H.id]],
    ]);
  });

  it('bcast follows numpy broadcasting (trailing axes aligned)', () => {
    const B = new Builder();
    expect(() => B.bcast(B.param(0, 2), 3)).toThrow(/does not broadcast/);
    expect(() => B.bcast(B.param(0, [3, 2]), [3, 3])).toThrow(/does not broadcast/);
    expect(B.bcast(B.param(0, [3, 1]), [2, 3, 4]).shape).toEqual([2, 3, 4]);
  });

  it('elementwise ops want equal shapes, not only equal sizes', () => {
    const B = new Builder();
    expect(() => B.add(B.param(0, [2, 3]), B.param(6, [3, 2]))).toThrow(/do not broadcast/);
  });

  it('windowed ops refuse windows that do not fit', () => {
    const B = new Builder();
    expect(() => B.make('conv', [B.param(0, [2, 2, 1]), B.param(4, [3, 3, 1, 1])], {})).toThrow(
      /does not fit/,
    );
    expect(() => B.make('poolAvg', [B.param(0, [2, 2, 1])], { window: [3, 3] })).toThrow(
      /does not fit/,
    );
    expect(() => B.make('conv', [B.param(0, [4, 4, 2]), B.param(32, [3, 3, 1, 1])], {})).toThrow(
      /input channels/,
    );
  });

  it('the arity is checked', () => {
    const B = new Builder();
    const x: Node = B.param(0, 2);
    expect(() => B.make('add', [x])).toThrow(/takes 2 arguments, got 1/);
    expect(() => B.make('nope', [x])).toThrow(/unknown op nope/);
  });
});

// Structured ops are lowered to loop IR: the loop interpreter and the JS rendering of each
// kernel must compute what the op's `evaluate` computes, on every configuration of its row.
describe('lowered kernels agree with evaluate', () => {
  const structured = [...registry.values()].filter((op) => op.kind === 'structured');

  it('every structured op has a lowering', () => {
    expect(structured.map((op) => op.name).filter((n) => !loweredOps.includes(n))).toEqual([]);
  });

  describe.each(structured.map((op) => [op.name, op] as const))('%s', (name, op) => {
    const row = rows[name]!;
    it.each(configsOf(op, row).map((c) => [describeConfig(c), c] as const))('%s', (_l, cfg) => {
      const rng = new TestRng(name.length * 31 + cfg.sizes[0]!);
      const args = sampleArgs(op, row, cfg, rng);
      const shapes = shapesOf(cfg);
      const B = new Builder();
      const node = B.make(
        name,
        shapes.map((sh, i) => B.param(i * 1000, sh)),
        cfg.attrs ?? {},
      );
      const want = evalOp(op, args, cfg.attrs ?? {}, node.size, shapes);
      const kernel = lowerNode(node);
      const viaLoops = new Float64Array(node.size).fill(NaN);
      runKernel(kernel, args, viaLoops);
      const lines: string[] = [];
      let depth = 0;
      renderKernel(kernel, {
        load: (i, idx) => `a${i}[${idx}]`,
        slot: (idx) => `out[${idx}]`,
        line: (code) => void lines.push('  '.repeat(depth) + code),
        indent: () => void depth++,
        dedent: () => void depth--,
      });
      expect(depth).toBe(0);
      const viaJs = new Float64Array(node.size).fill(NaN);
      const names = args.map((_a, i) => `a${i}`);
      (new Function(...names, 'out', lines.join('\n')) as (...a: Float64Array[]) => void)(
        ...args,
        viaJs,
      );
      for (let k = 0; k < want.length; k++) {
        expect(relErr(viaLoops[k]!, want[k]!), `loop IR [${k}]`).toBeLessThan(1e-12);
        expect(viaJs[k], `JS [${k}]`).toBe(viaLoops[k]);
      }
    });
  });
});

// The contractions in every form the emitter asks for: unrolled and looped, one lane and a
// block of four, with shared or per-lane weights, and summed into one result (a batch's
// gradient). The loop interpreter is checked against `evaluate` lane by lane, the JS
// rendering against the loop interpreter.
describe('lowered contractions agree with evaluate', () => {
  const shapes: [number, number][] = [
    [3, 2],
    [1, 1],
    [1, 7],
    [7, 1],
    [5, 8],
    [9, 7],
    [4, 13],
  ];
  const forms: LinalgForm[] = [];
  for (const mode of ['unroll', 'loop'] as const) {
    for (const lanes of [1, 4]) {
      for (const shared of [false, true]) {
        for (const summed of [false, true])
          forms.push({ mode, lanes, shared: [shared, shared], summed });
      }
    }
  }
  it('every linalg op is the contraction', () => {
    const linalg = [...registry.values()].filter((op) => op.kind === 'linalg');
    expect(linalg.map((op) => op.name)).toEqual(['contract']);
  });

  it('the dense instances get their own kernels, other specs the generic nest', () => {
    const B = new Builder();
    const kernelOf = (spec: string, a: number[], b: number[]) =>
      contractKernel(B.contract(B.param(0, a), B.param(100, b), spec));
    expect(kernelOf('i,ij->j', [3], [3, 2])).toBe('matvec');
    expect(kernelOf('ij,j->i', [3, 2], [2])).toBe('matvecT');
    expect(kernelOf('i,j->ij', [3], [2])).toBe('outer');
    for (const [spec, [a, b]] of GENERIC_SPECS) expect(kernelOf(spec, a!, b!)).toBe('generic');
  });

  const label = (f: LinalgForm): string =>
    `${f.mode} lanes=${f.lanes}${f.shared[0] ? ' shared' : ''}${f.summed ? ' summed' : ''}`;

  const specCases: [string, number[][]][] = [
    ...INSTANCE_SPECS.flatMap(([spec, of]) =>
      shapes.map(([n, m]) => [spec, of(n, m)] as [string, number[][]]),
    ),
    ...GENERIC_SPECS,
    // Generic nests long enough for the JS renderer's unrolled-by-4 loops and their tails.
    [
      'ij,jk->ik',
      [
        [3, 9],
        [9, 6],
      ],
    ],
    [
      'ij,ijk->ik',
      [
        [2, 5],
        [2, 5, 7],
      ],
    ],
    ['ij,j->ij', [[3, 9], [9]]],
  ];
  describe.each(
    specCases.map(([spec, sh]) => [`${spec} ${JSON.stringify(sh)}`, spec, sh] as const),
  )('%s', (_name, spec, argShapes) => {
    const op = registry.get('contract')!;
    const sizes = argShapes.map((sh) => sh.reduce((p, d) => p * d, 1));
    it.each(forms.map((f) => [label(f), f] as const))('%s', (_label, f) => {
      const rng = new TestRng(sizes[0]! * 100 + sizes[1]! + f.lanes);
      // Shared arguments are one array for every lane (a weight), like the emitter's.
      const perLane = (i: number) => !f.shared[i];
      const args = sizes.map((len, i) =>
        Array.from({ length: perLane(i) ? f.lanes : 1 }, () => rng.fill(len, -2, 2)),
      );
      const argOf = (i: number, lane: number) => args[i]![perLane(i) ? lane : 0]!;
      const B = new Builder();
      const node = B.make(
        'contract',
        argShapes.map((sh, i) => B.param(i * 1000, sh)),
        { spec },
      );
      const size = node.size;
      const kernel = lowerLinalg(node, f);
      const results = f.summed ? 1 : f.lanes;
      const fresh = () =>
        Array.from({ length: results }, () => new Float64Array(size).fill(f.summed ? 0 : NaN));
      const outOf = (outs: Float64Array[]) => (lane: number) => outs[f.summed ? 0 : lane]!;

      const viaLoops = fresh();
      runKernelLanes(kernel, argOf, outOf(viaLoops));
      const want = fresh();
      for (let l = 0; l < f.lanes; l++) {
        const one = evalOp(op, [argOf(0, l), argOf(1, l)], { spec }, size, argShapes);
        const into = outOf(want)(l);
        for (let k = 0; k < size; k++) into[k] = f.summed ? into[k]! + one[k]! : one[k]!;
      }
      const lines: string[] = [];
      let depth = 0;
      const argName = (i: number, lane: number) => `a${i}_${perLane(i) ? lane : 0}`;
      renderKernel(kernel, {
        load: (i, idx, lane) => `${argName(i, lane)}[${idx}]`,
        slot: (idx, lane) => `out${f.summed ? 0 : lane}[${idx}]`,
        line: (code) => void lines.push('  '.repeat(depth) + code),
        indent: () => void depth++,
        dedent: () => void depth--,
      });
      expect(depth).toBe(0);
      const viaJs = fresh();
      const names = [0, 1].flatMap((i) =>
        Array.from({ length: perLane(i) ? f.lanes : 1 }, (_, l) => argName(i, l)),
      );
      const outNames = viaJs.map((_, l) => `out${l}`);
      const values = [0, 1].flatMap((i) => args[i]!);
      (new Function(...names, ...outNames, lines.join('\n')) as (...a: Float64Array[]) => void)(
        ...values,
        ...viaJs,
      );

      for (let r = 0; r < results; r++) {
        for (let k = 0; k < size; k++) {
          const [got, js, exp] = [viaLoops[r]![k]!, viaJs[r]![k]!, want[r]![k]!];
          // Straight-line code and the interpreter sum in evaluate's order: bit-identical
          // for one lane; the loops (and lane sums) add in another order.
          if (f.mode === 'unroll' && !f.summed) expect(got, `loop IR [${r}][${k}]`).toBe(exp);
          else expect(relErr(got, exp), `loop IR [${r}][${k}]`).toBeLessThan(1e-13);
          expect(relErr(js, got), `JS [${r}][${k}]`).toBeLessThan(1e-13);
        }
      }
    });
  });

  it('a 4-lane block loads each shared weight once per block', () => {
    const B = new Builder();
    const node = B.matvec(B.param(0, 16), B.param(16, 16 * 32), 16, 32);
    const f: LinalgForm = { mode: 'loop', lanes: 4, shared: [false, true], summed: false };
    const lines: string[] = [];
    renderKernel(lowerLinalg(node, f), {
      load: (i, idx, lane) => (i === 1 ? `w[${idx}]` : `x${lane}[${idx}]`),
      slot: (idx, lane) => `y${lane}[${idx}]`,
      line: (code) => void lines.push(code),
      indent: () => undefined,
      dedent: () => undefined,
    });
    const weightLoads = lines.join('\n').match(/w\[/g)?.length ?? 0;
    // One load in the first row's loop and one in the loop over the other rows.
    expect(weightLoads).toBe(2);
  });
});

// Elementwise ops through the loop IR, in every form the emitter asks for (unrolled and
// looped, 1 and 4 lanes, summed into one result) and every size configuration of the row
// (size-1 arguments broadcast): the loop interpreter against `evaluate`, the JS rendering
// against the interpreter.
describe('lowered elementwise ops agree with evaluate', () => {
  const elementwise = [...registry.values()].filter((op) => op.kind === 'elementwise');
  const forms = (['unroll', 'loop'] as const).flatMap((mode) =>
    [1, 4].flatMap((lanes) => [false, true].map((summed) => ({ mode, lanes, summed }))),
  );
  describe.each(elementwise.map((op) => [op.name, op] as const))('%s', (name, op) => {
    const row = rows[name]!;
    const cases = configsOf(op, row).flatMap((cfg) =>
      forms.map(
        (f) =>
          [
            `${describeConfig(cfg)} ${f.mode} lanes=${f.lanes}${f.summed ? ' summed' : ''}`,
            cfg,
            f,
          ] as const,
      ),
    );
    it.each(cases)('%s', (_label, cfg, f) => {
      const rng = new TestRng(name.length * 7 + cfg.sizes[0]! + f.lanes);
      const perLane = Array.from({ length: f.lanes }, () => sampleArgs(op, row, cfg, rng));
      const B = new Builder();
      const node = B.make(
        name,
        cfg.sizes.map((len, i) => B.param(i * 1000, len)),
        {},
      );
      const kernel = lowerElementwise(node, f);
      const results = f.summed ? 1 : f.lanes;
      const fresh = () =>
        Array.from({ length: results }, () => new Float64Array(node.size).fill(f.summed ? 0 : NaN));
      const viaLoops = fresh();
      runKernelLanes(
        kernel,
        (i, l) => perLane[l]![i]!,
        (l) => viaLoops[f.summed ? 0 : l]!,
      );
      const want = fresh();
      perLane.forEach((args, l) => {
        const one = evalOp(op, args, {}, node.size);
        const into = want[f.summed ? 0 : l]!;
        for (let k = 0; k < node.size; k++) into[k] = f.summed ? into[k]! + one[k]! : one[k]!;
      });
      const lines: string[] = [];
      renderKernel(kernel, {
        load: (i, idx, lane) => `a[${lane}][${i}][${idx}]`,
        slot: (idx, lane) => `out[${f.summed ? 0 : lane}][${idx}]`,
        line: (code) => void lines.push(code),
        indent: () => undefined,
        dedent: () => undefined,
      });
      const viaJs = fresh();
      (new Function('a', 'out', lines.join('\n')) as (a: unknown, o: unknown) => void)(
        perLane,
        viaJs,
      );
      for (let r = 0; r < results; r++) {
        for (let k = 0; k < node.size; k++) {
          const [got, js, exp] = [viaLoops[r]![k]!, viaJs[r]![k]!, want[r]![k]!];
          if (f.summed && f.lanes > 1)
            expect(relErr(got, exp), `loop IR [${r}][${k}]`).toBeLessThan(1e-13);
          else expect(got, `loop IR [${r}][${k}]`).toBe(exp);
          expect(js, `JS [${r}][${k}]`).toBe(got);
        }
      }
    });
  });
});

describe('lowered reductions agree with evaluate', () => {
  const reductions = [...registry.values()].filter((op) => op.kind === 'reduce');
  it('every reduction has a lowering', () => {
    expect(reductions.map((op) => op.name).filter((n) => !REDUCE_OPS.includes(n))).toEqual([]);
  });
  const forms = (['unroll', 'loop'] as const).flatMap((mode) =>
    [1, 4].flatMap((lanes) => [false, true].map((summed) => ({ mode, lanes, summed }))),
  );
  const cases = reductions.flatMap((op) =>
    [1, 2, 5, 70].flatMap((len) =>
      forms.map(
        (f) =>
          [
            `${op.name} of ${len} ${f.mode} lanes=${f.lanes}${f.summed ? ' summed' : ''}`,
            op,
            len,
            f,
          ] as const,
      ),
    ),
  );
  it.each(cases)('%s', (_label, op, len, f) => {
    const rng = new TestRng(len * 3 + f.lanes);
    const xs = Array.from({ length: f.lanes }, () => rng.fill(len, -3, 3));
    const B = new Builder();
    const kernel = lowerReduce(B.make(op.name, [B.param(0, len)], {}), f);
    const results = f.summed ? 1 : f.lanes;
    const fresh = () =>
      Array.from({ length: results }, () => new Float64Array(1).fill(f.summed ? 0 : NaN));
    const viaLoops = fresh();
    runKernelLanes(
      kernel,
      (_i, l) => xs[l]!,
      (l) => viaLoops[f.summed ? 0 : l]!,
    );
    const want = fresh();
    xs.forEach((x, l) => {
      const one = evalOp(op, [x], {}, 1);
      want[f.summed ? 0 : l]![0] = f.summed ? want[0]![0]! + one[0]! : one[0]!;
    });
    const lines: string[] = [];
    renderKernel(kernel, {
      load: (_i, idx, lane) => `x[${lane}][${idx}]`,
      slot: (idx, lane) => `out[${f.summed ? 0 : lane}][${idx}]`,
      line: (code) => void lines.push(code),
      indent: () => undefined,
      dedent: () => undefined,
    });
    const viaJs = fresh();
    (new Function('x', 'out', lines.join('\n')) as (a: unknown, o: unknown) => void)(xs, viaJs);
    for (let r = 0; r < results; r++) {
      expect(relErr(viaLoops[r]![0]!, want[r]![0]!), `loop IR [${r}]`).toBeLessThan(1e-13);
      expect(viaJs[r]![0], `JS [${r}]`).toBe(viaLoops[r]![0]);
    }
  });
});

// batchMean couples the samples of a batch: its derivative rule (batchMean of the
// cotangent, self-transpose) is only tested by differentiating a whole batch, with the batch
// interpreter evaluating both the loss Σ_s ℓ_s and the per-sample cotangents.
describe('batchMean over a batch', () => {
  const n = 3;
  const B = new Builder();
  const x = B.input([n]);
  const t = B.target([n]);
  const m = B.make('batchMean', [B.mul(x, x)]);
  const e = B.make('batchMean', [B.unary('exp', x)]);
  const loss = B.add(B.sum(B.mul(t, B.mul(B.unary('tanh', x), m))), B.sum(B.mul(e, x)));
  const dx = vjpGraph(bareCompilation(B), loss, [x]).get(x)!;
  for (const count of [1, 2, 5]) {
    const rng = new TestRng(31 + count);
    const inputs = rng.fill(count * n, -1.2, 1.2);
    const targets = rng.fill(count * n, -1, 1);
    const at = (xs: Float64Array) =>
      evaluateBatch([loss, dx], {
        params: new Float64Array(0),
        inputs: xs,
        targets,
        count,
        inputSize: n,
        outputSize: n,
      });
    const total = (xs: Float64Array) =>
      at(xs)
        .get(loss)!
        .reduce((a, v) => a + v[0]!, 0);
    const symbolic = at(inputs).get(dx)!;
    it(`vjp matches central differences of Σ_s ℓ_s (batch of ${count})`, () => {
      for (let s = 0; s < count; s++)
        for (let k = 0; k < n; k++) {
          const h = 1e-5;
          const plus = Float64Array.from(inputs);
          const minus = Float64Array.from(inputs);
          plus[s * n + k]! += h;
          minus[s * n + k]! -= h;
          const numeric = (total(plus) - total(minus)) / (2 * h);
          assertClose(`d/dx[${s}][${k}]`, symbolic[s]![k]!, numeric, 1e-7);
        }
    });
    it(`dot-product test over the batch (batch of ${count})`, () => {
      const v = Float64Array.from(inputs, () => rng.normal());
      let analytic = 0;
      for (let s = 0; s < count; s++)
        for (let k = 0; k < n; k++) analytic += symbolic[s]![k]! * v[s * n + k]!;
      const h = 1e-6;
      const numeric =
        (total(inputs.map((a, i) => a + h * v[i]!)) - total(inputs.map((a, i) => a - h * v[i]!))) /
        (2 * h);
      assertClose('<vjp(1), v>', analytic, numeric, 1e-7);
    });
  }
});
