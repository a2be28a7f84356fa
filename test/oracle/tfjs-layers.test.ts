// The TF.js Layers oracle must be right before gradc is judged against it:
// (a) on dense-only models it agrees with today's gradc compiler (forward, loss, gradientBatch);
// (b) on every layer of the issue-8 contract its forward agrees with the naive f64 reference
//     (reference/), and its gradients (parameters and inputs, inference and training mode)
//     with central differences of that reference; training mode's moving statistics too.

import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { runCheck } from '../../compiler/cli/check.ts';
import { TestRng } from '../compiler/helpers.ts';
import { parseModel, sampleParams, type Model, type ModelJson } from './model.ts';
import { referenceGradient, referenceRun, type Mode } from './reference/network.ts';
import { normErr } from './norm-err.ts';
import { createTfjsOracle, type TfjsOracle } from './tfjs-layers.ts';

const TOL = 1e-4;

interface Data {
  readonly model: Model;
  readonly params: Float64Array;
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
  readonly count: number;
}

function data(json: ModelJson, seed: number, count = 3): Data {
  const model = parseModel(json);
  const rng = new TestRng(seed);
  const params = sampleParams(model, () => rng.next());
  const inputs = new Float64Array(count * model.inputSize).map(() => Math.fround(rng.range(-1, 1)));
  const O = model.outputSize;
  const targets = new Float64Array(count * O);
  const onehot = model.loss.name === 'categoricalCrossEntropy';
  for (let s = 0; s < count; s++)
    if (onehot) targets[s * O + rng.int(O)] = 1;
    else for (let k = 0; k < O; k++) targets[s * O + k] = Math.fround(rng.next());
  return { model, params, inputs, targets, count };
}

const oracles: TfjsOracle[] = [];
async function oracleFor(json: ModelJson): Promise<TfjsOracle> {
  const o = await createTfjsOracle(json);
  oracles.push(o);
  return o;
}
afterAll(() => {
  for (const o of oracles) o.dispose();
});

const conv = (extra: Record<string, unknown>) => ({
  type: 'conv2d',
  filters: 3,
  kernelSize: 3,
  activation: 'tanh',
  ...extra,
});
const dense = (units: number, activation = 'linear') => ({ type: 'dense', units, activation });
const mse = (input: number | number[], layers: Record<string, unknown>[]): ModelJson => ({
  input,
  // Test tables build layers as plain records; parseModel checks them.
  layers: layers as unknown as ModelJson['layers'],
  loss: 'mse',
});

/** Every case goes through the whole check; names say what it covers. */
const CASES: Record<string, { json: ModelJson; modes?: Mode[]; masks?: boolean }> = {
  'conv2d valid stride 1': { json: mse([5, 4, 2], [conv({}), { type: 'flatten' }]) },
  'conv2d valid stride 2': { json: mse([7, 6, 2], [conv({ strides: 2 }), { type: 'flatten' }]) },
  'conv2d same stride 1 (3×3)': {
    json: mse([5, 4, 2], [conv({ padding: 'same' }), { type: 'flatten' }]),
  },
  'conv2d same stride 2, even kernel (asymmetric padding)': {
    json: mse(
      [6, 5, 2],
      [
        conv({ padding: 'same', strides: 2, kernelSize: 2 }),
        conv({ padding: 'same', strides: [2, 1], kernelSize: [2, 3], activation: 'linear' }),
        { type: 'flatten' },
      ],
    ),
  },
  'conv2d dilation 2 valid and same, no bias': {
    json: mse(
      [7, 6, 2],
      [
        conv({ dilationRate: 2 }),
        conv({ dilationRate: [2, 1], padding: 'same', useBias: false, filters: 2 }),
        { type: 'flatten' },
      ],
    ),
  },
  'conv1d valid / same stride 2 / dilation 2': {
    json: mse(
      [9, 2],
      [
        { type: 'conv1d', filters: 3, kernelSize: 3, activation: 'tanh' },
        { type: 'conv1d', filters: 2, kernelSize: 2, strides: 2, padding: 'same' },
        {
          type: 'conv1d',
          filters: 2,
          kernelSize: 2,
          dilationRate: 2,
          padding: 'same',
          activation: 'sigmoid',
        },
        { type: 'flatten' },
      ],
    ),
  },
  'maxPooling2d valid and same (stride 2, pool 3)': {
    json: mse(
      [7, 6, 2],
      [
        conv({ padding: 'same' }),
        { type: 'maxPooling2d' },
        { type: 'maxPooling2d', poolSize: 3, strides: 2, padding: 'same' },
        { type: 'flatten' },
      ],
    ),
  },
  'averagePooling2d valid and same on odd sizes': {
    json: mse(
      [5, 7, 2],
      [
        conv({ padding: 'same' }),
        { type: 'averagePooling2d', poolSize: 2, padding: 'same' },
        { type: 'averagePooling2d', poolSize: [2, 3], strides: 1 },
        { type: 'flatten' },
      ],
    ),
  },
  'pooling 1d (max same, average same stride 2 pool 3)': {
    json: mse(
      [9, 2],
      [
        { type: 'conv1d', filters: 3, kernelSize: 2, activation: 'tanh' },
        { type: 'maxPooling1d', padding: 'same' },
        { type: 'averagePooling1d', poolSize: 3, strides: 2, padding: 'same' },
        { type: 'flatten' },
      ],
    ),
  },
  'global pooling 2d': {
    json: mse([5, 4, 2], [conv({ padding: 'same' }), { type: 'globalAveragePooling2d' }, dense(2)]),
  },
  'global max pooling 2d': {
    json: mse([5, 4, 2], [conv({ padding: 'same' }), { type: 'globalMaxPooling2d' }]),
  },
  'global pooling 1d': {
    json: mse(
      [7, 2],
      [
        { type: 'conv1d', filters: 3, kernelSize: 2 },
        { type: 'globalMaxPooling1d' },
        { type: 'reshape', targetShape: [3, 1] },
        { type: 'globalAveragePooling1d' },
      ],
    ),
  },
  'batchNormalization after conv2d, conv1d and dense (momentum 0.9)': {
    json: mse(
      [5, 4, 2],
      [
        conv({}),
        { type: 'batchNormalization' },
        { type: 'reshape', targetShape: [6, 3] },
        { type: 'conv1d', filters: 2, kernelSize: 2, activation: 'tanh' },
        { type: 'batchNormalization', momentum: 0.9, epsilon: 0.01 },
        { type: 'flatten' },
        dense(3, 'tanh'),
        { type: 'batchNormalization' },
      ],
    ),
    modes: ['inference', 'training'],
  },
  'layerNormalization (rank 4 and rank 2; center/scale off)': {
    json: mse(
      [4, 3, 3],
      [
        conv({ padding: 'same' }),
        { type: 'layerNormalization' },
        { type: 'flatten' },
        dense(4, 'tanh'),
        { type: 'layerNormalization', epsilon: 0.01, center: false },
        dense(2),
        { type: 'layerNormalization', scale: false },
      ],
    ),
    modes: ['inference', 'training'],
  },
  'dropout (inference identity; training with gradc masks)': {
    json: mse(
      [4, 3, 2],
      [conv({ padding: 'same' }), { type: 'dropout', rate: 0.4 }, { type: 'flatten' }, dense(3)],
    ),
    modes: ['inference', 'training'],
    masks: true,
  },
  'dense on rank 3, activation layers (hardSigmoid, relu6, mish)': {
    json: mse(
      [4, 3, 2],
      [
        dense(4, 'hardSigmoid'),
        { type: 'activation', activation: 'mish' },
        conv({ kernelSize: 2, activation: 'relu6' }),
        { type: 'flatten' },
      ],
    ),
  },
  'activations: swish selu elu gelu geluNew leakyRelu softplus softsign': {
    json: mse(3, [
      dense(4, 'swish'),
      dense(4, 'selu'),
      dense(4, 'elu'),
      dense(4, 'gelu'),
      dense(4, 'geluNew'),
      { type: 'dense', units: 4, activation: { name: 'leakyRelu', alpha: 0.1 } },
      dense(4, 'softplus'),
      dense(3, 'softsign'),
    ]),
  },
  'softmax + categoricalCrossEntropy (from logits) after a conv stack': {
    json: {
      input: [6, 6, 1],
      layers: [
        conv({ padding: 'same' }),
        { type: 'maxPooling2d' },
        { type: 'flatten' },
        dense(4, 'softmax'),
      ],
      loss: 'categoricalCrossEntropy',
    },
  },
  'sigmoid + binaryCrossEntropy (from logits)': {
    json: { input: 3, layers: [dense(4, 'tanh'), dense(2, 'sigmoid')], loss: 'binaryCrossEntropy' },
  },
  'binaryCrossEntropy after hardSigmoid (clipped)': {
    json: {
      input: 3,
      layers: [dense(3, 'tanh'), { type: 'activation', activation: 'hardSigmoid' }],
      loss: 'binaryCrossEntropy',
    },
  },
  'categoricalCrossEntropy after sigmoid (clipped)': {
    json: { input: 3, layers: [dense(3, 'sigmoid')], loss: 'categoricalCrossEntropy' },
  },
  huber: {
    json: { input: 3, layers: [dense(3, 'tanh'), dense(2)], loss: { name: 'huber', delta: 0.3 } },
  },
  mae: { json: { input: 3, layers: [dense(3, 'tanh'), dense(2)], loss: 'mae' } },
  'frozen layer (zero gradient)': {
    json: mse([4, 3, 1], [{ ...conv({}), trainable: false }, { type: 'flatten' }, dense(2)]),
  },
};

function allIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe('TF.js oracle vs the naive f64 reference', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name];
    const d = data(c.json, 11);
    const { model, params, inputs, targets, count } = d;
    const o = await oracleFor(c.json);

    const ref = referenceRun(model, params, inputs, targets, count);
    expect(normErr(o.forward(params, inputs, count), ref.outputs)).toBeLessThan(TOL);
    expect(normErr([o.loss(params, inputs, targets, count)], [ref.loss])).toBeLessThan(TOL);

    const trainable = model.params
      .filter((p) => p.trainable)
      .flatMap((p) => allIndices(p.size).map((k) => p.offset + k));
    const frozen = allIndices(model.paramCount).filter((k) => !trainable.includes(k));
    for (const mode of c.modes ?? ['inference']) {
      const rng = new TestRng(5);
      const masks = new Map<number, Float64Array>();
      if (c.masks)
        model.layers.forEach((l, li) => {
          if (l.type === 'dropout')
            masks.set(
              li,
              new Float64Array(count * l.inShape.reduce((a, b) => a * b, 1)).map(() =>
                rng.next() < l.rate ? 0 : 1,
              ),
            );
        });
      const opts = { mode, dropoutMasks: masks };
      const g = o.gradient(params, inputs, targets, count, opts);
      const r = referenceRun(model, params, inputs, targets, count, opts);
      expect(normErr(g.outputs, r.outputs), `${mode} outputs`).toBeLessThan(TOL);
      expect(normErr([g.loss], [r.loss]), `${mode} loss`).toBeLessThan(TOL);
      const fd = referenceGradient(model, params, inputs, targets, count, opts, trainable);
      expect(normErr(g.grad, fd, trainable), `${mode} parameter gradient`).toBeLessThan(TOL);
      for (const k of frozen) expect(g.grad[k]).toBe(0);
      const fdx = referenceGradient(
        model,
        params,
        inputs,
        targets,
        count,
        opts,
        allIndices(inputs.length),
        'inputs',
      );
      expect(normErr(g.inputGrad, fdx), `${mode} input gradient`).toBeLessThan(TOL);
      // Moving statistics: updated as TF.js does in training, untouched at inference.
      expect(normErr(g.params, r.params), `${mode} parameters after the pass`).toBeLessThan(TOL);
      if (mode === 'inference') expect(normErr(g.params, params)).toBe(0);
      // The update itself, which is small beside the statistics (momentum 0.99): the change
      // must match, or a biased/unbiased variance mix-up would hide in the comparison above.
      for (const p of model.params.filter((q) => q.movingStat && mode === 'training')) {
        const delta = (a: Float64Array) =>
          Array.from({ length: p.size }, (_, i) => a[p.offset + i] - params[p.offset + i]);
        expect(normErr(delta(g.params), delta(r.params)), `${p.name} update`).toBeLessThan(1e-3);
      }
    }
    // A gradient that is all zeros would make the comparisons above vacuous.
    expect(trainable.length).toBeGreaterThan(0);
  });

  it('training-mode batchNormalization does move the moving statistics', async () => {
    const json = CASES['batchNormalization after conv2d, conv1d and dense (momentum 0.9)'].json;
    const { model, params, inputs, targets, count } = data(json, 11);
    const o = await oracleFor(json);
    const g = o.gradient(params, inputs, targets, count, { mode: 'training' });
    const moving = model.params.filter((p) => p.movingStat);
    expect(moving.length).toBe(6);
    for (const p of moving) {
      const before = params.subarray(p.offset, p.offset + p.size);
      const after = g.params.subarray(p.offset, p.offset + p.size);
      expect(normErr(after, before)).toBeGreaterThan(1e-3);
    }
  });

  it('the two conv / pool forms used for gradients compute what the real layers compute', async () => {
    // Dilated convs and same-padded average pools are run differently for gradients (see the
    // header of tfjs-layers.ts); in inference mode both paths exist for the same weights.
    for (const name of [
      'conv2d dilation 2 valid and same, no bias',
      'averagePooling2d valid and same on odd sizes',
      'pooling 1d (max same, average same stride 2 pool 3)',
      'layerNormalization (rank 4 and rank 2; center/scale off)',
    ]) {
      const json = CASES[name].json;
      const { params, inputs, targets, count } = data(json, 3);
      const o = await oracleFor(json);
      const viaLayers = o.forward(params, inputs, count);
      const viaGradientPath = o.gradient(params, inputs, targets, count, {
        mode: 'inference',
      }).outputs;
      expect(normErr(viaGradientPath, viaLayers)).toBeLessThan(1e-6);
    }
  });

  it('refuses what TF.js cannot express, with a clear message', async () => {
    await expect(
      createTfjsOracle(
        mse(3, [{ type: 'dense', units: 2, activation: { name: 'elu', alpha: 0.5 } }]),
      ),
    ).rejects.toThrow(/elu with alpha 0.5/);
    const json = mse([3, 2], [{ type: 'batchNormalization', scale: false }, { type: 'flatten' }]);
    const o = await oracleFor(json);
    const { params, inputs, targets, count } = data(json, 1);
    expect(() => o.gradient(params, inputs, targets, count, { mode: 'training' })).toThrow(
      /cannot train with center or scale false/,
    );
    const drop = mse(3, [{ type: 'dropout', rate: 0.5 }, dense(2)]);
    const od = await oracleFor(drop);
    const dd = data(drop, 1);
    expect(() =>
      od.gradient(dd.params, dd.inputs, dd.targets, dd.count, { mode: 'training' }),
    ).toThrow(/needs gradc's mask/);
  });
});

describe('weights: gradc flat layout ↔ model.getWeights()', () => {
  it('round-trips and puts trainable weights first, as TF.js Container.weights does', async () => {
    const json = mse(
      [4, 3, 2],
      [
        { ...conv({}), trainable: false },
        { type: 'batchNormalization' },
        { type: 'flatten' },
        dense(2),
      ],
    );
    const { model, params } = data(json, 2);
    const o = await oracleFor(json);
    const tensors = o.toModelWeights(params);
    expect(o.fromModelWeights(tensors)).toEqual(params);
    // After setWeights in TF.js's own order, the oracle reads back gradc's layout unchanged.
    o.tfModel.setWeights(tensors);
    expect(o.fromModelWeights(o.tfModel.getWeights())).toEqual(params);
    const names = o.tfModel.weights.map((w) => w.originalName.split('/').pop());
    // gamma, beta, dense kernel, dense bias (trainable), then the frozen conv and the moving stats.
    expect(names).toEqual([
      'gamma',
      'beta',
      'kernel',
      'bias',
      'kernel',
      'bias',
      'moving_mean',
      'moving_variance',
    ]);
    expect(model.params.map((p) => p.name)).toEqual([
      'conv2d0.kernel',
      'conv2d0.bias',
      'batchNormalization0.gamma',
      'batchNormalization0.beta',
      'batchNormalization0.movingMean',
      'batchNormalization0.movingVariance',
      'dense0.kernel',
      'dense0.bias',
    ]);
    o.tf.dispose(tensors);
  });
});

describe('TF.js oracle vs the gradc compiler on dense-only models', () => {
  const models: Record<string, ModelJson> = {
    'tanh → sigmoid, mse': {
      input: 3,
      layers: [dense(5, 'tanh'), dense(2, 'sigmoid')],
      loss: 'mse',
    },
    'relu → softmax, categoricalCrossEntropy': {
      input: 4,
      layers: [dense(6, 'relu'), dense(3, 'softmax')],
      loss: 'categoricalCrossEntropy',
    },
    'elu → swish → sigmoid, binaryCrossEntropy': {
      input: 3,
      layers: [dense(4, 'elu'), dense(4, 'swish'), dense(2, 'sigmoid')],
      loss: 'binaryCrossEntropy',
    },
    'leakyRelu → softplus, huber': {
      input: 3,
      layers: [
        { type: 'dense', units: 4, activation: { name: 'leakyRelu', alpha: 0.1 } },
        dense(2, 'softplus'),
      ],
      loss: { name: 'huber', delta: 0.5 },
    },
  };
  it.each(Object.keys(models))('%s', async (name) => {
    const json = models[name];
    const { model, params, inputs, targets } = data(json, 21, 5);
    const count = 5;
    const o = await oracleFor(json);
    const compiled = await compileModel({ ...json, precision: 'f64' } as ModelInput, {
      format: 'js',
      source: 'oracle.model.json',
    });
    const mod = evaluateCompiled(compiled);
    expect(mod.model.paramCount).toBe(model.paramCount);
    const work = new Float64Array(mod.model.workSize);
    const out = new Float64Array(count * model.outputSize);
    const O = model.outputSize;
    const I = model.inputSize;
    for (let s = 0; s < count; s++)
      mod.forward(
        params,
        inputs.subarray(s * I, (s + 1) * I),
        out.subarray(s * O, (s + 1) * O),
        work,
      );
    expect(normErr(o.forward(params, inputs, count), out)).toBeLessThan(TOL);
    let lossSum = 0;
    for (let s = 0; s < count; s++)
      lossSum += mod.loss(
        params,
        inputs.subarray(s * I, (s + 1) * I),
        targets.subarray(s * O, (s + 1) * O),
        work,
      );
    expect(normErr([o.loss(params, inputs, targets, count)], [lossSum / count])).toBeLessThan(TOL);
    const grad = new Float64Array(model.paramCount);
    if (mod.gradientBatch === undefined) throw new Error('gradc module without gradientBatch');
    const meanLoss = mod.gradientBatch(params, inputs, targets, count, grad, work);
    const g = o.gradient(params, inputs, targets, count, { mode: 'inference' });
    expect(normErr([g.loss], [meanLoss])).toBeLessThan(TOL);
    expect(normErr(g.grad, grad)).toBeLessThan(TOL);
    expect(grad.some((v) => v !== 0)).toBe(true);
  });
});

describe('gradc check on every model of the oracle self-test', () => {
  // Training-mode models (batchNormalization, dropout) are checked in training mode.
  it.each(Object.keys(CASES))('%s', async (name) => {
    const json = CASES[name]!.json;
    const compiled = await compileModel({ ...json, precision: 'f64' } as ModelInput, {
      format: 'js',
    });
    const check = await runCheck(compiled, { samples: 1, seed: 5, maxParams: 150 });
    expect(check.ok, check.lines.join('\n')).toBe(true);
    const training = json.layers.some(
      (l) => l.type === 'dropout' || l.type === 'batchNormalization',
    );
    expect(check.lines[0]).toMatch(training ? /training mode/ : /^sample 0/);
  });
});
