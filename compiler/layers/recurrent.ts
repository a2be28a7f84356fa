// Recurrent layers (simpleRNN, gru, lstm) on a [steps, features] input, unrolled over time:
// every step is the cell's IR again over the same weight nodes, so reverse mode through the
// unrolled graph is backpropagation through time. TF.js 4.22 semantics (recurrent.js):
// zero initial state; goBackwards reads the steps last to first and, with returnSequences,
// returns the outputs in that (reversed) order; gates in Keras order.
//   simpleRNN  h = act(x·W + h·U + b)
//   lstm       z = x·W + h·U + b = [i f c o];  c = ra(f)·c + ra(i)·act(c̃);  h = ra(o)·act(c)
//   gru        [xz xr xh] = x·W + b, z = ra(xz + (h·U)z), r = ra(xr + (h·U)r),
//     resetAfter false (TF.js's only form): h̃ = act(xh + (r·h)·U_h)
//     resetAfter true (Keras's default, bias [2, 3·units] = input and recurrent biases):
//       [iz ir ih] = h·U + b_rec, h̃ = act(xh + r·ih)
//     h = z·h + (1 − z)·h̃
// `activation` defaults to tanh and `recurrentActivation` to hardSigmoid (simpleRNN has none);
// kernels start glorotNormal and recurrent kernels orthogonal, as in TF.js.
import { z } from 'zod';
import { activations } from '../frontend/activations.ts';
import { activationNames } from '../frontend/activations.ts';
import { activationSchema, names } from '../format/functions.ts';
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import { common, KERNEL_INITIALIZERS, positiveInt } from './options.ts';
import { TIME_LOOP } from '../backends/js/policy.ts';
import {
  defineLayer,
  LayerError,
  type BuildContext,
  type LayerShapes,
  type WeightSpec,
} from './types.ts';

const recurrentActivation = z
  .union([
    names(activationNames),
    z.strictObject({ name: names(activationNames), alpha: z.number().optional() }),
  ])
  .describe('Activation of the gates (default hardSigmoid); built-in names only');

const base = {
  units: positiveInt('units'),
  activation: activationSchema.optional(),
  useBias: z.boolean().optional().describe('Add bias vectors (default true)'),
  returnSequences: z
    .boolean()
    .optional()
    .describe('Return the output of every step, [steps, units] (default false: the last)'),
  goBackwards: z
    .boolean()
    .optional()
    .describe('Read the steps last to first (outputs come in that order too)'),
  kernelInitializer: z
    .enum(KERNEL_INITIALIZERS)
    .optional()
    .describe('How the input kernel starts (TF.js names; default glorotNormal, as TF.js)'),
  recurrentInitializer: z
    .enum([...KERNEL_INITIALIZERS, 'orthogonal'])
    .optional()
    .describe('How the recurrent kernel starts (default orthogonal, as TF.js)'),
  biasInitializer: z
    .enum(['zeros', 'ones'])
    .optional()
    .describe('How the bias starts (default zeros)'),
  unroll: z
    .boolean()
    .optional()
    .describe(
      'true: unroll over time; false: one loop over time (where the cell has a looped form); default: the cost rule decides',
    ),
  ...common,
};

const simpleRnnSchema = z.strictObject({ type: z.literal('simpleRNN'), ...base });
const lstmSchema = z.strictObject({
  type: z.literal('lstm'),
  ...base,
  recurrentActivation: recurrentActivation.optional(),
  unitForgetBias: z
    .boolean()
    .optional()
    .describe('Start the forget-gate bias at 1 (default false, as TF.js)'),
});
const gruSchema = z.strictObject({
  type: z.literal('gru'),
  ...base,
  recurrentActivation: recurrentActivation.optional(),
  resetAfter: z
    .boolean()
    .optional()
    .describe(
      'Apply the reset gate after the recurrent product, bias [2, 3·units] (default false)',
    ),
});

export type RecurrentOptions =
  z.output<typeof simpleRnnSchema> | z.output<typeof lstmSchema> | z.output<typeof gruSchema>;

/** Gates per cell: the k of kernel [in, k·units]. */
function gates(o: RecurrentOptions): number {
  return o.type === 'lstm' ? 4 : o.type === 'gru' ? 3 : 1;
}

export function recurrentShapes(o: RecurrentOptions, inputShape: readonly number[]): LayerShapes {
  if (inputShape.length !== 2) {
    const hint =
      inputShape.length === 1
        ? ' (one vector: a recurrent layer before it needs returnSequences: true, or give the model input as [steps, features])'
        : '';
    throw new LayerError(
      ['type'],
      `${o.type} needs a sequence input [steps, features], got [${inputShape.join(', ')}]${hint}`,
    );
  }
  const [steps, n] = inputShape as [number, number];
  const u = o.units;
  const k = gates(o);
  const weights: WeightSpec[] = [
    {
      name: 'kernel',
      shape: [n, k * u],
      role: 'kernel',
      init: o.kernelInitializer ?? 'glorotNormal',
      fanIn: n,
      fanOut: k * u,
    },
    {
      name: 'recurrentKernel',
      shape: [u, k * u],
      role: 'kernel',
      init: o.recurrentInitializer ?? 'orthogonal',
      fanIn: u,
      fanOut: k * u,
    },
  ];
  if (o.useBias !== false) {
    const twoBiases = o.type === 'gru' && o.resetAfter === true;
    weights.push({
      name: 'bias',
      shape: twoBiases ? [2, k * u] : [k * u],
      role: 'bias',
      // TF.js's unitForgetBias puts ones in the forget quarter of whatever biasInitializer gives.
      init:
        o.type === 'lstm' && o.unitForgetBias === true && o.biasInitializer !== 'ones'
          ? 'unitForgetBias'
          : (o.biasInitializer ?? 'zeros'),
      fanIn: n,
      fanOut: k * u,
    });
  }
  return { outputShape: o.returnSequences === true ? [steps, u] : [u], weights };
}

/** The steps of x [T, n] as vectors, in the order the layer reads them. */
function stepInputs(B: Builder, x: Node, backwards: boolean): Node[] {
  const [steps, n] = x.shape as [number, number];
  const order = Array.from({ length: steps }, (_, t) => (backwards ? steps - 1 - t : t));
  return order.map((t) => B.reshape(B.slice(x, 0, t, 1), [n]));
}

function gateActivation(
  B: Builder,
  spec: z.output<typeof recurrentActivation> | undefined,
): (z: Node) => Node {
  const s = spec ?? 'hardSigmoid';
  const name = typeof s === 'string' ? s : s.name;
  const def = activations[name]!;
  const params = { ...def.params };
  if (typeof s !== 'string' && s.alpha !== undefined) params.alpha = s.alpha;
  return (v) => def.build(B, v, params);
}

const plus = (B: Builder, a: Node, b: Node | undefined): Node => (b ? B.add(a, b) : a);

/** An activation option as a scan attribute pair, or null for a custom expression. */
function activationAttrs(
  spec: ActivationOption,
  fallback: string,
): { name: string; alpha?: number } | null {
  if (spec === undefined) return { name: fallback };
  if (typeof spec === 'string') return { name: spec };
  if ('expr' in spec) return null;
  return spec.alpha === undefined ? { name: spec.name } : { name: spec.name, alpha: spec.alpha };
}

type ActivationOption = string | { name: string; alpha?: number } | { expr: string } | undefined;

/** Whether the cell has a looped form: a custom activation expression has no scan
 * attribute (ops/cell.ts builds the cell from the built-in activation records). */
function loopable(o: RecurrentOptions): boolean {
  return activationAttrs(o.activation as ActivationOption, 'tanh') !== null;
}

/**
 * Unrolled over time or one loop over time (a `scan`). The user's `unroll` decides where
 * given; otherwise the cost rule (backends/js/policy.ts, TIME_LOOP): unrolled while the
 * layer's multiply-adds over all steps stay within `maxUnrolledMacs`.
 */
export function loopsOverTime(o: RecurrentOptions, inputShape: readonly number[]): boolean {
  if (!loopable(o) || o.unroll === true) return false;
  if (o.unroll === false) return true;
  const [steps, n] = inputShape as [number, number];
  return steps * (n + o.units) * gates(o) * o.units > TIME_LOOP.maxUnrolledMacs;
}

/** The layer as one `scan` node (ops/scan.ts): the cell's code once, looped over time. */
function buildScan(
  ctx: Pick<BuildContext, 'B' | 'x' | 'weights' | 'named'>,
  o: RecurrentOptions,
): Node {
  const { B, x, weights, named } = ctx;
  const [steps, n] = x.shape as [number, number];
  const u = o.units;
  const G = gates(o) * u;
  const act = activationAttrs(o.activation as ActivationOption, 'tanh')!;
  const ract =
    o.type === 'simpleRNN'
      ? null
      : activationAttrs(o.recurrentActivation as ActivationOption, 'hardSigmoid')!;
  const b = weights.bias;
  const twoBiases = o.type === 'gru' && o.resetAfter === true;
  const biases = !b
    ? []
    : twoBiases
      ? [B.reshape(B.slice(b, 0, 0, 1), [G]), B.reshape(B.slice(b, 0, 1, 1), [G])]
      : [b];
  const attrs = {
    // TF.js's GRU (resetAfter false) resets h before the recurrent kernel's last third.
    cell: o.type === 'gru' && o.resetAfter !== true ? 'gruBefore' : o.type,
    steps,
    features: n,
    units: u,
    act: act.name,
    actAlpha: act.alpha,
    ...(ract ? { ract: ract.name, ractAlpha: ract.alpha } : {}),
    ...(o.goBackwards === true ? { back: 1 } : {}),
    ...(b ? { bIn: 1 } : {}),
    ...(b && twoBiases ? { bRec: 1 } : {}),
  };
  const y = named(
    B.make('scan', [x, weights.kernel!, weights.recurrentKernel!, ...biases], attrs),
    'seq',
  );
  const hs = B.slice(y, 1, 0, u);
  if (o.returnSequences === true) return hs;
  return B.reshape(B.slice(hs, 0, steps - 1, 1), [u]);
}

/** The layer's forward IR; `activate` is its (tanh by default) activation. */
export function buildRecurrent(
  ctx: Pick<BuildContext, 'B' | 'x' | 'weights' | 'named'> & { activate(z: Node): Node },
  o: RecurrentOptions,
): Node {
  if (loopsOverTime(o, ctx.x.shape)) return buildScan(ctx, o);
  const { B, x, weights, named, activate } = ctx;
  const n = x.shape[1]!;
  const u = o.units;
  const k = gates(o);
  const W = weights.kernel!;
  const U = weights.recurrentKernel!;
  const b = weights.bias;
  const ra = o.type === 'simpleRNN' ? activate : gateActivation(B, o.recurrentActivation);
  const gate = (v: Node, g: number) => B.slice(v, 0, g * u, u);
  const xw = (xt: Node) => B.matvec(xt, W, n, k * u);
  const hu = (h: Node) => B.matvec(h, U, u, k * u);
  const outputs: Node[] = [];
  let h: Node | undefined;
  let c: Node | undefined;
  stepInputs(B, x, o.goBackwards === true).forEach((xt, t) => {
    const tag = (v: Node, role: string) => named(v, `${role}${t}_`);
    if (o.type === 'simpleRNN') {
      h = activate(tag(plus(B, plus(B, xw(xt), b), h && hu(h)), 'z'));
    } else if (o.type === 'lstm') {
      const z = tag(plus(B, plus(B, xw(xt), h && hu(h)), b), 'z');
      const i = ra(gate(z, 0));
      const f = ra(gate(z, 1));
      const cand = activate(gate(z, 2));
      const og = ra(gate(z, 3));
      c = tag(plus(B, B.mul(i, cand), c && B.mul(f, c)), 'c');
      h = B.mul(og, activate(c));
    } else {
      const after = o.resetAfter === true;
      const bIn = b && after ? B.reshape(B.slice(b, 0, 0, 1), [k * u]) : b;
      const bRec = b && after ? B.reshape(B.slice(b, 0, 1, 1), [k * u]) : undefined;
      const mx = tag(plus(B, xw(xt), bIn), 'xw');
      // Without a state yet (t = 0) the recurrent product is zero: only its bias is left.
      const inner = h ? plus(B, hu(h), bRec) : bRec;
      const zg = ra(plus(B, gate(mx, 0), inner && gate(inner, 0)));
      const rg = ra(plus(B, gate(mx, 1), inner && gate(inner, 1)));
      let rec: Node | undefined;
      if (after) rec = inner && B.mul(rg, gate(inner, 2));
      // TF.js multiplies r·h by the last third of U; the product over all of U is sliced.
      else rec = h && gate(hu(B.mul(rg, h)), 2);
      const hh = activate(plus(B, gate(mx, 2), rec));
      const keep = B.mul(B.sub(B.const(1), zg), hh);
      h = plus(B, keep, h && B.mul(zg, h));
    }
    h = tag(h, 'h');
    outputs.push(h);
  });
  if (o.returnSequences !== true) return h!;
  return B.concat(
    outputs.map((v) => B.reshape(v, [1, u])),
    0,
  );
}

function describeRecurrent(o: RecurrentOptions, inputShape: readonly number[]): string {
  const flags = [
    o.returnSequences === true ? 'sequences' : '',
    o.goBackwards === true ? 'backwards' : '',
    o.type === 'gru' && o.resetAfter === true ? 'resetAfter' : '',
  ].filter((s) => s);
  const tail = flags.length ? ` (${flags.join(', ')})` : '';
  const form = loopsOverTime(o, inputShape) ? 'looped over time' : 'unrolled';
  return `${o.type} [${inputShape.join('×')}] → ${o.units} units, ${form}${tail}`;
}

const record = <S extends typeof simpleRnnSchema | typeof lstmSchema | typeof gruSchema>(
  type: string,
  doc: string,
  schema: S,
) =>
  defineLayer({
    type,
    doc,
    schema,
    activation: 'optional',
    defaultActivation: 'tanh',
    outputIsActivation: false,
    shapes: (o, inputShape) => recurrentShapes(o as RecurrentOptions, inputShape),
    build: (ctx, o) => buildRecurrent(ctx, o as RecurrentOptions),
    describe: (o, inputShape) => describeRecurrent(o as RecurrentOptions, inputShape),
  });

export const simpleRNN = record(
  'simpleRNN',
  'Fully connected recurrence h = act(x·kernel + h·recurrentKernel + bias) over [steps, features]',
  simpleRnnSchema,
);
export const lstm = record(
  'lstm',
  'Long short-term memory over [steps, features]; gates i, f, c, o; kernel [in, 4·units]',
  lstmSchema,
);
export const gru = record(
  'gru',
  'Gated recurrent unit over [steps, features]; gates z, r, h; kernel [in, 3·units]',
  gruSchema,
);

export const recurrentSchemas = [simpleRnnSchema, lstmSchema, gruSchema] as const;
