// Functional graphs and merge layers against TF.js Layers (tf.model) on identical weights:
// packed outputs, the mean loss, gradientBatch's mean gradient and the input gradient of a
// sample. Relative error ≤ 1e-4, normalized by the largest entry (normErr).
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { TestRng } from '../compiler/helpers.ts';
import { normErr } from './norm-err.ts';
import { createGraphOracle, type GraphJson, type GraphOracle } from './tfjs-graph.ts';

const TOL = 1e-4;

const dense = (name: string, units: number, inputs: string[], activation = 'tanh') => ({
  type: 'dense',
  name,
  units,
  activation,
  inputs,
});

/** Two inputs through a dense layer each, merged, then a dense output. */
const merged = (type: string, extra: Record<string, unknown> = {}): GraphJson => ({
  input: { a: [5], b: [4] },
  layers: [
    dense('da', 3, ['a']),
    dense('db', 3, ['b']),
    { type, name: 'm', inputs: ['da', 'db'], ...extra },
    dense('out', 2, ['m'], 'linear'),
  ],
  loss: 'mse',
});

/** Cases whose inputs hold token ids: elements `from .. to` of each row are ids < vocab. */
const IDS: Record<string, { from: number; to: number; vocab: number }> = {
  'embedding of a sequence of ids, flattened into dense': { from: 0, to: 5, vocab: 7 },
  'embedding in a graph: ids and features, a pooled sequence concatenated': {
    from: 0,
    to: 4,
    vocab: 6,
  },
};

const CASES: Record<string, GraphJson> = {
  'embedding of a sequence of ids, flattened into dense': {
    input: [5],
    layers: [
      { type: 'embedding', inputDim: 7, outputDim: 3 },
      { type: 'flatten' },
      { type: 'dense', units: 2, activation: 'tanh' },
    ],
    loss: 'mse',
  },
  'embedding in a graph: ids and features, a pooled sequence concatenated': {
    input: { tokens: [4], meta: [3] },
    layers: [
      { type: 'embedding', name: 'emb', inputDim: 6, outputDim: 2, inputs: ['tokens'] },
      { type: 'globalAveragePooling1d', name: 'pool' },
      { type: 'concatenate', name: 'cat', inputs: ['pool', 'meta'] },
      { type: 'dense', units: 3, activation: 'softmax' },
    ],
    loss: 'categoricalCrossEntropy',
  },
  add: merged('add'),
  subtract: merged('subtract'),
  multiply: merged('multiply'),
  average: merged('average'),
  maximum: merged('maximum'),
  minimum: merged('minimum'),
  concatenate: merged('concatenate'),
  'add of three, broadcasting a size-1 axis': {
    input: { a: [2, 3], b: [1, 3], c: [2, 1] },
    layers: [
      { type: 'add', name: 's', inputs: ['a', 'b', 'c'] },
      { type: 'multiply', name: 'p', inputs: ['s', 'b'] },
      { type: 'flatten' },
      { type: 'dense', units: 2, activation: 'sigmoid' },
    ],
    loss: 'binaryCrossEntropy',
  },
  'concatenate along axis 1 and -1 of rank-2 inputs': {
    input: { a: [2, 3], b: [1, 3], c: [2, 2] },
    layers: [
      { type: 'concatenate', name: 'rows', axis: 1, inputs: ['a', 'b'] },
      { type: 'dense', name: 'd', units: 2, activation: 'tanh', inputs: ['rows'] },
      { type: 'concatenate', name: 'cols', inputs: ['a', 'c'] },
      { type: 'flatten', name: 'f1', inputs: ['d'] },
      { type: 'flatten', name: 'f2', inputs: ['cols'] },
      { type: 'concatenate', name: 'all', inputs: ['f1', 'f2'] },
      { type: 'dense', units: 3 },
    ],
    loss: 'mse',
  },
  'two inputs, two outputs (BCE + 0.5 × CCE), a skip and a shared trunk': {
    input: { image: [6], meta: [3] },
    layers: [
      dense('trunk', 4, ['image']),
      dense('m1', 4, ['meta'], 'relu'),
      { type: 'add', name: 'skip', inputs: ['trunk', 'm1'] },
      dense('h', 4, ['skip']),
      { type: 'concatenate', name: 'cat', inputs: ['h', 'trunk', 'meta'] },
      dense('o1', 1, ['cat'], 'sigmoid'),
      dense('o2', 3, ['h'], 'softmax'),
    ],
    outputs: [
      { layer: 'o1', loss: 'binaryCrossEntropy' },
      { layer: 'o2', loss: 'categoricalCrossEntropy', weight: 0.5 },
    ],
  },
};

const oracles: GraphOracle[] = [];
afterAll(() => {
  for (const o of oracles) o.dispose();
});

describe('functional graphs and merge layers against TF.js Layers', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const json = CASES[name]!;
    const count = 4;
    const compiled = await compileModel(
      { ...json, precision: 'f64', inputGradient: true } as unknown as ModelInput,
      { format: 'js', source: 'graph.model.json' },
    );
    const mod = evaluateCompiled(compiled);
    const { inputSize: I, outputSize: O, paramCount: P } = mod.model;
    const rng = new TestRng(name.length * 31 + 5);
    const params = new Float64Array(P).map(() => Math.fround(rng.range(-0.8, 0.8)));
    const inputs = new Float64Array(count * I).map(() => Math.fround(rng.range(-1, 1)));
    const ids = IDS[name];
    if (ids)
      for (let s = 0; s < count; s++)
        for (let k = ids.from; k < ids.to; k++) inputs[s * I + k] = rng.int(ids.vocab);
    const targets = new Float64Array(count * O);
    const outs = json.outputs ?? [{ layer: '', loss: json.loss! }];
    const sizes = mod.model.outputs?.map((o) => o.size) ?? [O];
    for (let s = 0; s < count; s++) {
      let off = 0;
      outs.forEach((o, j) => {
        if (o.loss === 'categoricalCrossEntropy') targets[s * O + off + rng.int(sizes[j]!)] = 1;
        else for (let k = 0; k < sizes[j]!; k++) targets[s * O + off + k] = Math.fround(rng.next());
        off += sizes[j]!;
      });
    }
    const oracle = await createGraphOracle(json, mod.model.params);
    oracles.push(oracle);

    const out = new Float64Array(count * O);
    const work = new Float64Array(mod.model.workSize);
    mod.forwardBatch!(params, inputs, out, count, work);
    expect(normErr(out, oracle.forward(params, inputs, count))).toBeLessThan(TOL);

    const want = oracle.gradient(params, inputs, targets, count);
    const grad = new Float64Array(P);
    const loss = mod.gradientBatch!(params, inputs, targets, count, grad, work);
    expect(Math.abs(loss - want.loss) / Math.max(Math.abs(want.loss), 1e-12)).toBeLessThan(TOL);
    expect(normErr(grad, want.grad)).toBeLessThan(TOL);

    // Sample 0's input gradient: the oracle's is of the batch mean, so × count.
    const dinput = new Float64Array(I);
    (mod as unknown as { inputGradient: (...a: Float64Array[]) => number }).inputGradient(
      params,
      inputs.subarray(0, I),
      targets.subarray(0, O),
      dinput,
      work,
    );
    // TF.js has no gradient by ids (nor does gradc: zeros there).
    const ref = want.inputGrad.subarray(0, I).map((g) => g * count);
    if (ids) ref.fill(0, ids.from, ids.to);
    expect(normErr(dinput, ref)).toBeLessThan(TOL);
  });
});
