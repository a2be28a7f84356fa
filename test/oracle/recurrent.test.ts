// gradc's recurrent layers and wrappers against TensorFlow.js Layers on identical weights
// (f32 oracle): forwardBatch, the mean loss, gradientBatch, and one sample's gradient and
// input gradient; relative error ≤ 1e-4 (normalized by the largest entry). GRU with
// resetAfter true, which TF.js 4.22 lacks, is checked against an independent plain-JS
// reference (f64) and central differences of that reference instead.
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { TestRng } from '../compiler/helpers.ts';
import { normErr } from './norm-err.ts';
import { createSeqOracle, type SeqLayerJson, type SeqOracle } from './tfjs-recurrent.ts';

const TOL = 1e-4;

interface Case {
  readonly input: readonly number[];
  readonly layers: readonly SeqLayerJson[];
}

const lstm = (extra: Record<string, unknown> = {}) => ({ type: 'lstm', units: 3, ...extra });
const gru = (extra: Record<string, unknown> = {}) => ({ type: 'gru', units: 3, ...extra });
const rnn = (extra: Record<string, unknown> = {}) => ({ type: 'simpleRNN', units: 3, ...extra });
const dense = { type: 'dense', units: 2, activation: 'tanh' };

const CASES: Record<string, Case> = {
  'simpleRNN, last output': { input: [5, 2], layers: [rnn(), dense] },
  'simpleRNN, sequences, backwards, relu, no bias': {
    input: [4, 3],
    layers: [rnn({ returnSequences: true, goBackwards: true, activation: 'relu', useBias: false })],
  },
  'lstm, last output': { input: [5, 2], layers: [lstm(), dense] },
  'lstm, sequences': { input: [4, 2], layers: [lstm({ returnSequences: true })] },
  'lstm, backwards, sigmoid gates, unitForgetBias': {
    input: [4, 3],
    layers: [lstm({ goBackwards: true, recurrentActivation: 'sigmoid', unitForgetBias: true })],
  },
  'two stacked lstms': {
    input: [4, 2],
    layers: [lstm({ returnSequences: true, units: 4 }), lstm({ units: 2 })],
  },
  'gru, last output': { input: [5, 2], layers: [gru(), dense] },
  ...Object.fromEntries(
    ['concat', 'sum', 'mul', 'ave'].map((mergeMode) => [
      `bidirectional lstm, ${mergeMode}`,
      { input: [4, 2], layers: [{ type: 'bidirectional', mergeMode, layer: lstm() }, dense] },
    ]),
  ),
  'bidirectional gru with sequences (default concat), then timeDistributed dense': {
    input: [4, 2],
    layers: [
      { type: 'bidirectional', layer: gru({ returnSequences: true }) },
      { type: 'timeDistributed', layer: { type: 'dense', units: 2, activation: 'sigmoid' } },
    ],
  },
  'bidirectional simpleRNN with sequences, sum': {
    input: [3, 2],
    layers: [{ type: 'bidirectional', mergeMode: 'sum', layer: rnn({ returnSequences: true }) }],
  },
  'timeDistributed dense then lstm': {
    input: [4, 3],
    layers: [
      { type: 'timeDistributed', layer: { type: 'dense', units: 4, activation: 'relu' } },
      lstm(),
    ],
  },
  'gru, sequences, backwards, no bias': {
    input: [4, 3],
    layers: [gru({ returnSequences: true, goBackwards: true, useBias: false })],
  },
};

/** The layers with `unroll: false` on every recurrent layer (wrapped ones too): the looped
 * form over time. TF.js reads the same option (its default). */
function loopedOverTime(layers: readonly SeqLayerJson[]): SeqLayerJson[] {
  const rec = new Set(['simpleRNN', 'lstm', 'gru']);
  return layers.map((l) => {
    const j = l as Record<string, unknown>;
    if (rec.has(String(j.type))) return { ...j, unroll: false } as unknown as SeqLayerJson;
    if (j.type === 'bidirectional')
      return { ...j, layer: { ...(j.layer as object), unroll: false } } as unknown as SeqLayerJson;
    return l;
  });
}

/** Whether a layer list has a recurrent layer (all of them loop over time when asked). */
function hasLoopable(layers: readonly SeqLayerJson[]): boolean {
  return layers.some((l) => {
    const j = l as Record<string, unknown>;
    const inner = (j.type === 'bidirectional' ? j.layer : j) as Record<string, unknown>;
    return ['simpleRNN', 'lstm', 'gru'].includes(String(inner.type));
  });
}

const FORMS = ['cost rule', 'looped over time'] as const;
const casesOf = (form: (typeof FORMS)[number]): Record<string, Case> =>
  form === 'cost rule'
    ? CASES
    : Object.fromEntries(
        Object.entries(CASES).map(([k, c]) => [k, { ...c, layers: loopedOverTime(c.layers) }]),
      );

const oracles: SeqOracle[] = [];
afterAll(() => {
  for (const o of oracles) o.dispose();
});

async function compiled(c: Case, expectLooped?: boolean) {
  const json = { input: [...c.input], layers: c.layers, loss: 'mse', precision: 'f64' };
  const out = await compileModel({ ...json, inputGradient: true } as unknown as ModelInput, {
    format: 'js',
    source: 'recurrent.model.json',
  });
  if (expectLooped !== undefined)
    expect(out.code.includes('looped over time'), 'looped over time').toBe(expectLooped);
  return evaluateCompiled(out);
}

function sampleParams(paramCount: number, rng: TestRng): Float64Array {
  // f32 values, so the f32 oracle sees exactly the same weights.
  return Float64Array.from({ length: paramCount }, () => Math.fround(rng.range(-0.8, 0.8)));
}

describe.each(FORMS)('recurrent layers against TF.js Layers on identical weights (%s)', (form) => {
  const cases = casesOf(form);
  it.each(Object.keys(cases))('%s', async (name) => {
    const c = cases[name]!;
    const mod = await compiled(c, form === 'cost rule' ? false : hasLoopable(c.layers));
    const m = mod.model;
    const rng = new TestRng(name.length * 131 + 3);
    const params = sampleParams(m.paramCount, rng);
    const count = 3;
    const I = m.inputSize;
    const O = m.outputSize;
    const inputs = Float64Array.from({ length: count * I }, () => Math.fround(rng.range(-1, 1)));
    const targets = Float64Array.from({ length: count * O }, () => Math.fround(rng.range(-1, 1)));
    const ordered = [...m.params].sort((a, b) => a.offset - b.offset);
    const o = await createSeqOracle(c.input, c.layers, ordered, m.outputShape ?? [O]);
    oracles.push(o);
    const work = new Float64Array(m.workSize);

    const want = o.run(params, inputs, targets, count);
    const outputs = new Float64Array(count * O);
    mod.forwardBatch!(params, inputs, outputs, count, work);
    expect(normErr(outputs, want.outputs), 'forwardBatch').toBeLessThan(TOL);
    const grad = new Float64Array(m.paramCount);
    const loss = mod.gradientBatch!(params, inputs, targets, count, grad, work);
    expect(normErr([loss], [want.loss]), 'loss').toBeLessThan(TOL);
    expect(normErr(grad, want.grad), 'gradientBatch').toBeLessThan(TOL);
    expect(grad.some((v) => v !== 0)).toBe(true);

    const x0 = inputs.slice(0, I);
    const t0 = targets.slice(0, O);
    const one = o.run(params, x0, t0, 1);
    const grad1 = new Float64Array(m.paramCount);
    mod.gradient(params, x0, t0, grad1, work);
    expect(normErr(grad1, one.grad), 'gradient').toBeLessThan(TOL);
    const dinput = new Float64Array(I);
    const inputGradient = (mod as unknown as Record<string, unknown>).inputGradient as (
      ...a: Float64Array[]
    ) => number;
    inputGradient(params, x0, t0, dinput, work);
    expect(normErr(dinput, one.inputGrad), 'inputGradient').toBeLessThan(TOL);
  });
});

// An independent GRU (Keras's reset_after = True form), written from the Keras equations:
// xz, xr, xh = x·W + b_in; rz, rr, rh = h·U + b_rec; z = σ(xz + rz), r = σ(xr + rr),
// hh = tanh(xh + r ⊙ rh), h = z ⊙ h + (1 − z) ⊙ hh; σ is hardSigmoid (TF.js's default).
function gruResetAfter(
  x: Float64Array,
  p: Float64Array,
  steps: number,
  n: number,
  u: number,
  sequences: boolean,
): Float64Array {
  const W = (i: number, j: number) => p[i * 3 * u + j]!;
  const uOff = n * 3 * u;
  const U = (i: number, j: number) => p[uOff + i * 3 * u + j]!;
  const bOff = uOff + u * 3 * u;
  const hs = (v: number) => Math.max(0, Math.min(1, 0.2 * v + 0.5));
  let h = new Float64Array(u);
  const out: number[] = [];
  for (let t = 0; t < steps; t++) {
    const next = new Float64Array(u);
    for (let j = 0; j < u; j++) {
      const pre = (g: number, rec: boolean) => {
        let s = rec ? p[bOff + 3 * u + g * u + j]! : p[bOff + g * u + j]!;
        if (rec) for (let i = 0; i < u; i++) s += h[i]! * U(i, g * u + j);
        else for (let i = 0; i < n; i++) s += x[t * n + i]! * W(i, g * u + j);
        return s;
      };
      const z = hs(pre(0, false) + pre(0, true));
      const r = hs(pre(1, false) + pre(1, true));
      const hh = Math.tanh(pre(2, false) + r * pre(2, true));
      next[j] = z * h[j]! + (1 - z) * hh;
    }
    h = next;
    if (sequences) out.push(...h);
  }
  return sequences ? Float64Array.from(out) : h;
}

describe('gru with resetAfter true against a plain-JS reference', () => {
  it.each([
    [false, true],
    [true, true],
    [false, false],
    [true, false],
  ])('returnSequences %s, unroll %s: output and gradient', async (sequences, unroll) => {
    const [steps, n, u] = [4, 2, 3];
    const mod = await compiled(
      {
        input: [steps, n],
        layers: [gru({ resetAfter: true, returnSequences: sequences, unroll })],
      },
      !unroll,
    );
    const m = mod.model;
    expect(m.params.map((q) => [q.name, q.shape])).toEqual([
      ['gru0.kernel', [n, 3 * u]],
      ['gru0.recurrentKernel', [u, 3 * u]],
      ['gru0.bias', [2, 3 * u]],
    ]);
    const rng = new TestRng(sequences ? 11 : 12);
    const params = Float64Array.from({ length: m.paramCount }, () => rng.range(-0.8, 0.8));
    const x = Float64Array.from({ length: steps * n }, () => rng.range(-1, 1));
    const target = Float64Array.from({ length: m.outputSize }, () => rng.range(-1, 1));
    const work = new Float64Array(m.workSize);
    const y = new Float64Array(m.outputSize);
    mod.forward(params, x, y, work);
    const ref = (q: Float64Array) => gruResetAfter(x, q, steps, n, u, sequences);
    expect(normErr(y, ref(params)), 'forward').toBeLessThan(1e-12);
    const mse = (q: Float64Array) => {
      const r = ref(q);
      let s = 0;
      for (let k = 0; k < r.length; k++) s += (r[k]! - target[k]!) ** 2;
      return s / r.length;
    };
    const grad = new Float64Array(m.paramCount);
    mod.gradient(params, x, target, grad, work);
    const numeric = new Float64Array(m.paramCount);
    for (let k = 0; k < m.paramCount; k++) {
      const h = 1e-6;
      const plus = Float64Array.from(params);
      const minus = Float64Array.from(params);
      plus[k]! += h;
      minus[k]! -= h;
      numeric[k] = (mse(plus) - mse(minus)) / (2 * h);
    }
    expect(normErr(grad, numeric), 'gradient vs central differences').toBeLessThan(1e-6);
  });
});
