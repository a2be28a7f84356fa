// gradc against TensorFlow.js Layers (the oracle, f32) on identical weights: forward outputs,
// the loss, gradientBatch's mean gradient and the per-sample gradient and input gradient (in
// training mode where the model has one: batch statistics, moving statistics after the step,
// the training-mode outputs, dropout with gradc's masks),
// for every convolution, pooling and shape layer gradc has, in every padding, stride 1 and 2
// and dilation 2. Relative error ≤ 1e-4 (normalized by the largest entry, as the oracle's
// own self-test measures it).
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, lower, validateModel, type ModelInput } from '../../compiler/index.ts';
import { interpretBatch } from '../../compiler/ir/interpret-batch.ts';
import { maskValue } from '../../compiler/ops/batch.ts';
import { runCheck } from '../../compiler/cli/check.ts';
import { layerTypes } from '../../compiler/layers/registry.ts';
import { TestRng } from '../compiler/helpers.ts';
import { parseModel, sampleParams, type ModelJson } from './model.ts';
import { normErr } from './norm-err.ts';
import { createTfjsOracle, type TfjsOracle } from './tfjs-layers.ts';

const TOL = 1e-4;

const conv2d = (extra: Record<string, unknown>) => ({
  type: 'conv2d',
  filters: 3,
  kernelSize: 3,
  activation: 'tanh',
  ...extra,
});

function model(
  input: number | number[],
  layers: Record<string, unknown>[],
  loss: ModelJson['loss'] = 'mse',
): ModelJson {
  // Tables build layers as plain records; both compilers validate them.
  return { input, layers: layers as unknown as ModelJson['layers'], loss };
}

const flatten = { type: 'flatten' };

const CASES: Record<string, ModelJson> = {
  'conv2d valid, stride 1': model([5, 4, 2], [conv2d({}), flatten]),
  'conv2d valid, stride 2': model([7, 6, 2], [conv2d({ strides: 2 }), flatten]),
  'conv2d same, stride 1': model([5, 4, 2], [conv2d({ padding: 'same' }), flatten]),
  'conv2d same, stride 2, even kernels (asymmetric padding)': model(
    [6, 5, 2],
    [
      conv2d({ padding: 'same', strides: 2, kernelSize: 2 }),
      conv2d({ padding: 'same', strides: [2, 1], kernelSize: [2, 3], activation: 'linear' }),
      flatten,
    ],
  ),
  'conv2d dilation 2, valid and same, no bias': model(
    [7, 6, 2],
    [
      conv2d({ dilationRate: 2, activation: 'relu' }),
      conv2d({ dilationRate: [2, 1], padding: 'same', useBias: false, filters: 2 }),
      flatten,
    ],
  ),
  'conv1d valid, same stride 2, dilation 2': model(
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
      flatten,
    ],
  ),
  'maxPooling2d valid and same': model(
    [7, 6, 2],
    [
      conv2d({ padding: 'same' }),
      { type: 'maxPooling2d' },
      { type: 'maxPooling2d', poolSize: 3, strides: 2, padding: 'same' },
      flatten,
    ],
  ),
  'averagePooling2d valid and same on odd sizes': model(
    [5, 7, 2],
    [
      conv2d({ padding: 'same' }),
      { type: 'averagePooling2d', poolSize: 2, padding: 'same' },
      { type: 'averagePooling2d', poolSize: [2, 3], strides: 1 },
      flatten,
    ],
  ),
  'maxPooling1d and averagePooling1d': model(
    [9, 2],
    [
      { type: 'conv1d', filters: 3, kernelSize: 2, activation: 'elu' },
      { type: 'maxPooling1d', poolSize: 3, strides: 2, padding: 'same' },
      { type: 'averagePooling1d', poolSize: 2, strides: 1 },
      flatten,
    ],
  ),
  'global pooling 2-D (max, average) feeding dense': model(
    [5, 4, 2],
    [
      conv2d({ filters: 4 }),
      { type: 'globalMaxPooling2d' },
      { type: 'dense', units: 3, activation: 'softmax' },
    ],
    'categoricalCrossEntropy',
  ),
  'global average pooling 2-D': model(
    [5, 4, 2],
    [conv2d({ filters: 4 }), { type: 'globalAveragePooling2d' }, { type: 'dense', units: 2 }],
  ),
  'global pooling 1-D (max, average)': model(
    [6, 3],
    [
      { type: 'conv1d', filters: 4, kernelSize: 2 },
      { type: 'globalAveragePooling1d' },
      { type: 'dense', units: 2, activation: 'sigmoid' },
    ],
    'binaryCrossEntropy',
  ),
  'global max pooling 1-D': model(
    [6, 3],
    [{ type: 'globalMaxPooling1d' }, { type: 'dense', units: 2 }],
  ),
  'dense on rank 3 (last axis), reshape, activation layer': model(
    [3, 4, 2],
    [
      { type: 'dense', units: 3, activation: 'tanh' },
      { type: 'reshape', targetShape: [4, 9] },
      { type: 'dense', units: 2 },
      { type: 'activation', activation: 'sigmoid' },
      flatten,
    ],
  ),
  'layerNormalization on vectors and over the last axis of a sequence': model(
    [4, 3],
    [
      { type: 'layerNormalization' },
      { type: 'dense', units: 5, activation: 'tanh' },
      { type: 'layerNormalization', epsilon: 0.01 },
      flatten,
      { type: 'dense', units: 4 },
      { type: 'layerNormalization', center: false },
      { type: 'dense', units: 3 },
      { type: 'layerNormalization', scale: false },
    ],
  ),
  // Training mode in gradient and gradientBatch: batch statistics (mean and biased variance
  // over the samples and positions), moving statistics updated, dropout with gradc's masks
  // handed to the oracle; inference (the moving statistics, which sampleParams makes
  // non-trivial, and dropout as the identity) in forwardBatch and inputGradient.
  'batchNormalization and dropout (training mode) on a vector, over channels of a CNN, after dense':
    model(
      [4, 3, 2],
      [
        { type: 'batchNormalization' },
        conv2d({ padding: 'same' }),
        { type: 'batchNormalization', epsilon: 0.01, momentum: 0.9 },
        { type: 'dropout', rate: 0.5 },
        flatten,
        { type: 'dense', units: 4, activation: 'tanh' },
        { type: 'batchNormalization' },
        { type: 'dropout', rate: 0.2, seed: 7 },
        { type: 'dense', units: 3 },
      ],
    ),
  // TF.js 4.22 cannot train batchNormalization without gamma or beta (its training branch
  // reads both), so these run in inference mode only here; test/training-mode.test.ts checks
  // their training mode against the batch interpreter and finite differences.
  'batchNormalization center/scale off (inference entry points)': model(
    [4, 3, 2],
    [
      conv2d({ padding: 'same' }),
      { type: 'batchNormalization', center: false },
      flatten,
      { type: 'dense', units: 4, activation: 'tanh' },
      { type: 'batchNormalization', scale: false },
    ],
  ),
  'activations hardSigmoid, relu6, mish (dense on rank 3, an activation layer, conv)': model(
    [3, 4, 2],
    [
      { type: 'dense', units: 4, activation: 'hardSigmoid' },
      { type: 'activation', activation: 'mish' },
      conv2d({ kernelSize: 2, activation: 'relu6' }),
      flatten,
    ],
  ),
  'gelu (erf form) and geluNew (tanh form), non-default kernel initializers': model(
    [5],
    [
      { type: 'dense', units: 6, activation: 'gelu', kernelInitializer: 'heNormal' },
      { type: 'dense', units: 4, activation: 'geluNew', kernelInitializer: 'leCunUniform' },
      { type: 'dense', units: 3, activation: 'gelu' },
    ],
  ),
  'a small CNN like the example (softmax + cross-entropy)': model(
    [8, 8, 1],
    [
      conv2d({ filters: 4, padding: 'same', activation: 'relu' }),
      { type: 'maxPooling2d', poolSize: 2 },
      conv2d({ filters: 4, padding: 'same', activation: 'relu' }),
      { type: 'maxPooling2d', poolSize: 2 },
      flatten,
      { type: 'dense', units: 5, activation: 'softmax' },
    ],
    'categoricalCrossEntropy',
  ),
};

const oracles: TfjsOracle[] = [];
afterAll(() => {
  for (const o of oracles) o.dispose();
});

describe('gradc against TF.js Layers on identical weights', () => {
  it('has a case for every registered layer type (here, or in graph.test.ts / recurrent.test.ts)', () => {
    const used = new Set(Object.values(CASES).flatMap((m) => m.layers.map((l) => l.type)));
    // The graph and sequence oracles' cases are built in code; a quoted type name stands for
    // its case there.
    const elsewhere = ['./graph.test.ts', './recurrent.test.ts']
      .map((f) => fs.readFileSync(new URL(f, import.meta.url), 'utf8'))
      .join('\n');
    const missing = layerTypes.filter((t) => !used.has(t) && !elsewhere.includes(`'${t}'`));
    expect(missing).toEqual([]);
  });

  it.each(Object.keys(CASES))('%s', async (name) => {
    const json = CASES[name]!;
    const count = 4;
    const m = parseModel(json);
    const rng = new TestRng(name.length * 101 + 7);
    const params = sampleParams(m, () => rng.next());
    const I = m.inputSize;
    const O = m.outputSize;
    const inputs = new Float64Array(count * I).map(() => Math.fround(rng.range(-1, 1)));
    const targets = new Float64Array(count * O);
    for (let s = 0; s < count; s++) {
      if (m.loss.name === 'categoricalCrossEntropy') targets[s * O + rng.int(O)] = 1;
      else for (let k = 0; k < O; k++) targets[s * O + k] = Math.fround(rng.next());
    }
    const o = await createTfjsOracle(json);
    oracles.push(o);
    const compiled = await compileModel(
      { ...json, precision: 'f64', inputGradient: true } as ModelInput,
      { format: 'js', source: 'oracle.model.json' },
    );
    const mod = evaluateCompiled(compiled);
    // Under `auto`, a convolution's batched entry points run WebAssembly.
    await mod.init?.();
    expect(mod.model.paramCount).toBe(m.paramCount);
    expect(mod.model.params.map((p) => [p.name, p.offset, p.shape])).toEqual(
      m.params.map((p) => [p.name, p.offset, p.shape]),
    );
    const work = new Float64Array(mod.model.workSize);

    const outputs = new Float64Array(count * O);
    mod.forwardBatch!(params, inputs, outputs, count, work);
    expect(normErr(outputs, o.forward(params, inputs, count)), 'forwardBatch').toBeLessThan(TOL);

    const training = m.layers.some((l) => l.type === 'dropout' || l.type === 'batchNormalization');
    const x0 = inputs.subarray(0, I);
    const t0 = targets.subarray(0, O);
    const dinput = new Float64Array(I);
    const inputGradient = (mod as unknown as Record<string, unknown>).inputGradient as (
      ...a: Float64Array[]
    ) => number;
    inputGradient(params, x0, t0, dinput, work);
    // inputGradient stays inference, as loss.
    const gi = o.gradient(params, Float64Array.from(x0), Float64Array.from(t0), 1, {
      mode: 'inference',
    });
    expect(normErr(dinput, gi.inputGrad), 'inputGradient').toBeLessThan(TOL);
    if (name.includes('inference entry points')) return;

    const seed = 12345;
    const mode = training ? 'training' : 'inference';
    // gradc's dropout masks for each sample of a batch (keyed by its input row offset), as
    // the 0/1 masks the oracle applies with the same 1/(1 − rate) scaling.
    const masks = (n: number) => {
      const out = new Map<number, Float64Array>();
      m.layers.forEach((l, li) => {
        if (l.type !== 'dropout') return;
        const per = l.inShape.reduce((a, b) => a * b, 1);
        const mask = new Float64Array(n * per);
        for (let s = 0; s < n; s++)
          for (let k = 0; k < per; k++)
            mask[s * per + k] = maskValue(l.rate, seed, s * I, li, k) === 0 ? 0 : 1;
        out.set(li, mask);
      });
      return out;
    };
    const grad = new Float64Array(m.paramCount);
    const after = Float64Array.from(params);
    const meanLoss = mod.gradientBatch!(after, inputs, targets, count, grad, work, seed);
    const g = o.gradient(params, inputs, targets, count, { mode, dropoutMasks: masks(count) });
    expect(normErr([meanLoss], [g.loss]), 'loss').toBeLessThan(TOL);
    expect(normErr(grad, g.grad), 'gradientBatch').toBeLessThan(TOL);
    expect(grad.some((v) => v !== 0)).toBe(true);
    // The moving statistics after one step (params unchanged in inference).
    expect(normErr(after, g.params), 'params after gradientBatch').toBeLessThan(TOL);
    if (training) {
      // The update itself, small beside the statistics: a biased/unbiased variance mix-up
      // would hide in the comparison of whole arrays.
      const stats = mod.model.params.filter((p) => p.trainable === false);
      expect(stats.length).toBeGreaterThan(0);
      for (const p of stats) {
        const delta = (a: Float64Array) =>
          Array.from({ length: p.size }, (_, i) => a[p.offset + i]! - params[p.offset + i]!);
        expect(normErr(delta(after), delta(g.params)), `${p.name} update`).toBeLessThan(1e-3);
        expect(
          delta(after).some((v) => v !== 0),
          `${p.name} moved`,
        ).toBe(true);
      }
      // The training-mode outputs (TF.js `training: true`) of the graph gradient differentiates.
      const spec = await validateModel({ ...json, precision: 'f64' } as ModelInput, 'oracle');
      const c = lower(spec);
      const train = c.programs.find((p) => p.name === 'trainLoss');
      const lowered = lower(spec, { until: 'build' }).programs.find((p) => p.name === 'trainLoss')!;
      expect(train).toBeUndefined(); // differentiate turned it into `gradient`
      const r = interpretBatch(
        lowered,
        { params, inputs, targets, count, inputSize: I, outputSize: O, seed },
        m.paramCount,
      );
      expect(normErr(r.outputs!, g.outputs), 'training-mode outputs').toBeLessThan(TOL);
      expect(normErr(r.params!, g.params), 'moving statistics (interpreter)').toBeLessThan(TOL);
    }

    // One sample through the per-sample entry points (batch statistics of one sample).
    const g1 = o.gradient(params, Float64Array.from(x0), Float64Array.from(t0), 1, {
      mode,
      dropoutMasks: masks(1),
    });
    const grad1 = new Float64Array(m.paramCount);
    const after1 = Float64Array.from(params);
    mod.gradient(after1, x0, t0, grad1, work, seed);
    expect(normErr(grad1, g1.grad), 'gradient').toBeLessThan(TOL);
    expect(normErr(after1, g1.params), 'params after gradient').toBeLessThan(TOL);
  });
});

describe('gradc check on every model of this oracle', () => {
  // Training-mode models are checked in training mode (a batch of 4, masks held fixed).
  it.each(Object.keys(CASES))('%s', async (name) => {
    const compiled = await compileModel({ ...CASES[name]!, precision: 'f64' } as ModelInput, {
      format: 'js',
    });
    const check = await runCheck(compiled, { samples: 2, seed: 3, maxParams: 150 });
    expect(check.ok, check.lines.join('\n')).toBe(true);
    const training = CASES[name]!.layers.some(
      (l) => l.type === 'dropout' || l.type === 'batchNormalization',
    );
    expect(check.lines[0]).toMatch(training ? /training mode/ : /^sample 0/);
  });
});
