// Training mode (dropout masks, batch statistics): the emitted gradient and gradientBatch
// against the batch graph interpreter (compiler/ir/interpret-batch.ts), which evaluates a
// whole batch at once, for every batch size path (one sample, the per-sample loop, 4-sample
// blocks and their remainder); finite differences of the training-mode batch loss; the
// dropout mask's statistics and determinism; inference left as it was.
import { describe, expect, it } from 'vitest';
import { compileModel, type ModelInput } from '../compiler/index.ts';
import { evaluateCompiled } from '../compiler/cli/load.ts';
import { interpretBatch } from '../compiler/ir/interpret-batch.ts';
import { interpret } from '../compiler/ir/interpret.ts';
import type { Compiled } from '../compiler/pipeline.ts';
import type { GeneratedModule } from '../runtime/index.ts';
import { maskHash } from '../compiler/ops/batch.ts';
import { maskFunction } from '../compiler/emit/mask.ts';
import { maxRelErr, TestRng } from './compiler/helpers.ts';
import { validateModel } from '../compiler/format/parse.ts';
import { wasmRefusal } from '../compiler/backends/wasm/plan.ts';
import { adam, checkTrainingGradient, evaluate, initParams, train } from '../runtime/index.ts';

type Layers = ModelInput['layers'];

/** Largest |a − b| over the largest |b|: rounding in sums of another order stays small. */
function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-300;
  for (let k = 0; k < b.length; k++) {
    d = Math.max(d, Math.abs(a[k]! - b[k]!));
    m = Math.max(m, Math.abs(b[k]!));
  }
  return a.length === b.length && !Number.isNaN(d) ? d / m : Infinity;
}

const dense = (bn: object): ModelInput => ({
  input: 5,
  layers: [
    { type: 'dense', units: 6, activation: 'tanh' },
    { type: 'batchNormalization', momentum: 0.9, ...bn },
    { type: 'dense', units: 3, activation: 'softmax' },
  ] as Layers,
  loss: 'categoricalCrossEntropy',
});

const conv = (bn: object): ModelInput => ({
  input: [5, 4, 2],
  layers: [
    { type: 'conv2d', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' },
    { type: 'batchNormalization', ...bn },
    { type: 'flatten' },
    { type: 'dense', units: 2 },
  ] as Layers,
  loss: 'mse',
});

const withDropout: ModelInput = {
  input: 4,
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dropout', rate: 0.4 },
    { type: 'batchNormalization' },
    { type: 'dense', units: 2 },
  ],
  loss: 'mse',
};

// Large enough for looped contractions, so gradientBatch runs 4-sample blocks.
const blocked: ModelInput = {
  input: 80,
  layers: [
    { type: 'dense', units: 40, activation: 'relu' },
    { type: 'batchNormalization', center: false },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 3 },
  ],
  loss: 'mse',
};

interface Setup {
  readonly compiled: Compiled;
  readonly mod: GeneratedModule;
  readonly params: Float64Array;
}

async function setup(model: ModelInput, seed = 1): Promise<Setup> {
  const compiled = await compileModel(model, { format: 'js' });
  const mod = evaluateCompiled(compiled);
  const rng = new TestRng(seed);
  const params = rng.fill(mod.model.paramCount, -0.8, 0.8);
  // Moving variances must stay positive; other moving statistics are arbitrary.
  for (const p of mod.model.params)
    if (p.name.endsWith('movingVariance'))
      for (let k = 0; k < p.size; k++) params[p.offset + k] = rng.range(0.5, 2);
  return { compiled, mod, params };
}

function batch(s: Setup, count: number, seed = 7) {
  const rng = new TestRng(seed);
  const { inputSize, outputSize } = s.mod.model;
  return {
    inputs: rng.fill(count * inputSize, -1.5, 1.5),
    targets: Float64Array.from({ length: count * outputSize }, () => rng.next()),
  };
}

/** gradientBatch's loss, gradient and params after the step. */
function emitted(
  s: Setup,
  inputs: Float64Array,
  targets: Float64Array,
  count: number,
  seed: number,
) {
  const params = Float64Array.from(s.params);
  const grad = new Float64Array(s.mod.model.paramCount).fill(NaN);
  const work = new Float64Array(s.mod.model.workSize);
  const loss = s.mod.gradientBatch!(params, inputs, targets, count, grad, work, seed);
  return { loss, grad, params };
}

function oracle(
  s: Setup,
  inputs: Float64Array,
  targets: Float64Array,
  count: number,
  seed: number,
) {
  const { c } = s.compiled;
  const program = c.programs.find((p) => p.name === 'gradient')!;
  const r = interpretBatch(
    program,
    {
      params: s.params,
      inputs,
      targets,
      count,
      inputSize: c.shapes.inputSize,
      outputSize: c.shapes.outputSize,
      seed,
    },
    c.shapes.paramCount,
  );
  return { loss: r.loss!, grad: r.grad!, params: r.params ?? Float64Array.from(s.params) };
}

const models: [string, ModelInput][] = [
  ['dense, center and scale', dense({})],
  ['dense, no center', dense({ center: false })],
  ['dense, no scale', dense({ scale: false })],
  ['dense, neither', dense({ center: false, scale: false })],
  ['conv [h,w,c]', conv({})],
  ['conv [h,w,c], no center or scale', conv({ center: false, scale: false })],
  ['dense with dropout before it', withDropout],
  ['blocked (4-sample blocks)', blocked],
  [
    'wide (statistics cleared and scaled in loops)',
    {
      input: 3,
      layers: [
        { type: 'dense', units: 140, activation: 'tanh' },
        { type: 'batchNormalization' },
        { type: 'dense', units: 2 },
      ],
      loss: 'mse',
    },
  ],
];

describe('training-mode gradientBatch against the batch graph interpreter', () => {
  it.each(models)('%s', async (_name, model) => {
    const s = await setup(model);
    for (const count of [1, 2, 4, 5, 7, 9]) {
      const { inputs, targets } = batch(s, count, count);
      const seed = 1000 + count;
      const got = emitted(s, inputs, targets, count, seed);
      const want = oracle(s, inputs, targets, count, seed);
      expect(maxRelErr([got.loss], [want.loss]), `loss, count ${count}`).toBeLessThan(1e-10);
      // Blocks sum in another order: errors relative to the gradient's scale.
      expect(scaledErr(got.grad, want.grad), `grad, count ${count}`).toBeLessThan(1e-11);
      expect(maxRelErr(got.params, want.params), `params, count ${count}`).toBeLessThan(1e-12);
    }
  });

  it('writes the moving statistics once per call, as TF.js: moving − (moving − batch)·(1 − momentum)', async () => {
    const s = await setup(dense({}));
    const count = 6;
    const { inputs, targets } = batch(s, count);
    const got = emitted(s, inputs, targets, count, 0);
    // The batch statistics of the BN input (dense0's tanh output), computed here directly.
    const m = s.mod.model;
    const mm = m.params.find((p) => p.name.endsWith('movingMean'))!;
    const mv = m.params.find((p) => p.name.endsWith('movingVariance'))!;
    const kernel = m.params.find((p) => p.name === 'dense0.kernel')!;
    const bias = m.params.find((p) => p.name === 'dense0.bias')!;
    const acts: number[][] = [];
    for (let r = 0; r < count; r++) {
      const a: number[] = [];
      for (let j = 0; j < 6; j++) {
        let z = s.params[bias.offset + j]!;
        for (let i = 0; i < 5; i++) z += inputs[r * 5 + i]! * s.params[kernel.offset + i * 6 + j]!;
        a.push(Math.tanh(z));
      }
      acts.push(a);
    }
    for (let j = 0; j < 6; j++) {
      const mean = acts.reduce((t, a) => t + a[j]!, 0) / count;
      const variance = acts.reduce((t, a) => t + (a[j]! - mean) ** 2, 0) / count; // biased
      const oldM = s.params[mm.offset + j]!;
      const oldV = s.params[mv.offset + j]!;
      expect(got.params[mm.offset + j]).toBeCloseTo(oldM - (oldM - mean) * 0.1, 12);
      expect(got.params[mv.offset + j]).toBeCloseTo(oldV - (oldV - variance) * 0.1, 12);
    }
    // Nothing else in params moves.
    for (let k = 0; k < m.paramCount; k++)
      if (k < mm.offset || k >= mv.offset + mv.size) expect(got.params[k]).toBe(s.params[k]);
  });

  it('gradient (one sample) is gradientBatch of one: the batch variance is 0, x̂ = 0', async () => {
    const s = await setup(dense({}));
    const { inputs, targets } = batch(s, 1);
    const params = Float64Array.from(s.params);
    const grad = new Float64Array(s.mod.model.paramCount);
    const work = new Float64Array(s.mod.model.workSize);
    const loss = s.mod.gradient(params, inputs, targets, grad, work);
    const want = oracle(s, inputs, targets, 1, 0);
    expect(maxRelErr([loss], [want.loss])).toBeLessThan(1e-12);
    expect(maxRelErr(grad, want.grad)).toBeLessThan(1e-10);
    expect(maxRelErr(params, want.params)).toBeLessThan(1e-12);
    // x̂ = 0: the output is beta, so gamma's gradient is 0.
    const gamma = s.mod.model.params.find((p) => p.name.endsWith('gamma'))!;
    for (let k = 0; k < gamma.size; k++) expect(Math.abs(grad[gamma.offset + k]!)).toBe(0);
  });

  it('leaves params and grad alone with no samples', async () => {
    const s = await setup(dense({}));
    const got = emitted(s, new Float64Array(0), new Float64Array(0), 0, 0);
    expect(got.loss).toBe(0);
    expect([...got.params]).toEqual([...s.params]);
    expect([...got.grad]).toEqual(new Array(s.params.length).fill(0));
  });
});

describe('training-mode gradients by finite differences', () => {
  it.each(models)('%s: central differences of the batch loss (same seed)', async (_n, model) => {
    const s = await setup(model, 3);
    const count = 5;
    const { inputs, targets } = batch(s, count, 11);
    const seed = 99;
    const got = emitted(s, inputs, targets, count, seed);
    const lossAt = (p: Float64Array) => {
      const grad = new Float64Array(p.length);
      const work = new Float64Array(s.mod.model.workSize);
      return s.mod.gradientBatch!(Float64Array.from(p), inputs, targets, count, grad, work, seed);
    };
    const rng = new TestRng(5);
    const trainable = s.mod.model.params.filter((p) => p.trainable !== false);
    for (let t = 0; t < 24; t++) {
      const p = trainable[rng.int(trainable.length)]!;
      const k = p.offset + rng.int(p.size);
      const h = 1e-5;
      const plus = Float64Array.from(s.params);
      const minus = Float64Array.from(s.params);
      plus[k]! += h;
      minus[k]! -= h;
      const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
      // A relu kink inside ±h would break the difference: such a draw is rare and loud.
      expect(Math.abs(fd - got.grad[k]!), `${p.name}[${k - p.offset}]`).toBeLessThan(
        1e-6 + 1e-5 * Math.abs(fd),
      );
    }
    // The moving statistics have zero gradient.
    for (const p of s.mod.model.params.filter((q) => q.trainable === false))
      for (let k = 0; k < p.size; k++) expect(got.grad[p.offset + k]).toBe(0);
  });
});

describe('dropout masks', () => {
  const wide: ModelInput = {
    input: 2,
    layers: [
      { type: 'dense', units: 400, activation: 'linear', useBias: false },
      { type: 'dropout', rate: 0.3 },
    ],
    loss: 'mse',
  };

  /** Which of dense0's 400 outputs survive for each sample of a batch of `count`. */
  async function kept(seed: number, count: number) {
    const s = await setup(wide);
    const m = s.mod.model;
    const inputs = Float64Array.from({ length: count * 2 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const out: boolean[][] = [];
    // Each sample alone, keyed as in a batch (its input row offset), through the gradient
    // program: the gradient of the kernel row of input 0 is dL/dy · 1 · mask, zero exactly
    // where an element is dropped.
    const { c } = s.compiled;
    const program = c.programs.find((p) => p.name === 'gradient')!;
    for (let r = 0; r < count; r++) {
      const res = interpret(
        program,
        {
          params: s.params,
          input: inputs.subarray(r * 2, r * 2 + 2),
          target: new Float64Array(m.outputSize).fill(5),
          seed,
          sample: r * 2,
        },
        m.paramCount,
      );
      out.push(Array.from({ length: 400 }, (_, j) => res.grad![j] !== 0));
    }
    return { out, s };
  }

  it('drop a fraction ≈ rate, differ per sample and per seed, repeat for equal seeds', async () => {
    const a = (await kept(1, 3)).out;
    const b = (await kept(2, 3)).out;
    const again = (await kept(1, 3)).out;
    for (const row of a) {
      const dropped = row.filter((x) => !x).length / row.length;
      expect(Math.abs(dropped - 0.3)).toBeLessThan(0.06);
    }
    const differ = (x: boolean[], y: boolean[]) => x.filter((v, i) => v !== y[i]).length;
    expect(differ(a[0]!, a[1]!)).toBeGreaterThan(100);
    expect(differ(a[0]!, b[0]!)).toBeGreaterThan(100);
    expect(again).toEqual(a);
  });

  it('the emitted masks are the interpreter masks (gradientBatch, every sample)', async () => {
    const { s } = await kept(1, 1);
    const count = 6;
    const { inputs, targets } = batch(s, count);
    for (const seed of [0, 1, 123456789, -5]) {
      const got = emitted(s, inputs, targets, count, seed);
      const want = oracle(s, inputs, targets, count, seed);
      expect(maxRelErr(got.grad, want.grad)).toBeLessThan(1e-10);
    }
    // And a different seed gives a different step.
    const g1 = emitted(s, inputs, targets, count, 1).grad;
    const g2 = emitted(s, inputs, targets, count, 2).grad;
    expect(maxRelErr(g1, g2)).toBeGreaterThan(1e-3);
  });

  it('the emitted hash is maskHash', () => {
    const f = maskFunction('gradient');
    const js = new Function(...f.signature, f.body) as (...a: number[]) => number;
    const rng = new TestRng(9);
    for (let t = 0; t < 2000; t++) {
      const seed = Math.floor(rng.range(-(2 ** 31), 2 ** 31));
      const key = rng.int(1e6);
      const salt = rng.int(50);
      const k = rng.int(1e5);
      const threshold = Math.floor(rng.next() * 2 ** 32);
      const want = maskHash(seed, key, salt, k) < threshold ? 0 : 2.5;
      expect(js(seed, key, salt, k, threshold, 2.5)).toBe(want);
    }
  });

  it('inference is unchanged: forward and loss apply no mask and use the moving statistics', async () => {
    const s = await setup(withDropout);
    const without = await setup({
      ...withDropout,
      layers: withDropout.layers.filter((l) => l.type !== 'dropout'),
    });
    expect(without.params.length).toBe(s.params.length);
    const { inputs, targets } = batch(s, 1);
    const work = new Float64Array(Math.max(s.mod.model.workSize, without.mod.model.workSize));
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    s.mod.forward(s.params, inputs, a, work);
    without.mod.forward(s.params, inputs, b, work);
    expect([...a]).toEqual([...b]);
    expect(s.mod.loss(s.params, inputs, targets, work)).toBe(
      without.mod.loss(s.params, inputs, targets, work),
    );
    expect(s.compiled.code).not.toMatch(/export function forward\([^)]*seed/);
    const fwd = /export function forward\(([\s\S]*?)\n}\n/.exec(s.compiled.code)![1]!;
    expect(fwd).not.toContain('dropoutMask');
  });
});

describe('around the entry points', () => {
  it('the WebAssembly backend refuses training-mode models (they stay on JS)', async () => {
    // relu dense stacks, which the planner takes without the training-mode layer.
    const stack = (mid: object): ModelInput => ({
      input: 8,
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        mid,
        { type: 'dense', units: 2 },
      ] as Layers,
      loss: 'mse',
    });
    const plain = await validateModel(stack({ type: 'dense', units: 16, activation: 'relu' }), 'm');
    expect(wasmRefusal(plain, false)).toBeNull();
    for (const model of [
      stack({ type: 'dropout', rate: 0.5 }),
      stack({ type: 'batchNormalization' }),
    ]) {
      const spec = await validateModel(model, 'm.json');
      expect(wasmRefusal(spec, false)).toMatch(/no WebAssembly lowering/);
      const compiled = await compileModel({ ...model, backend: 'wasm' }, { format: 'js' });
      expect(compiled.code).not.toMatch(/WebAssembly/);
      expect(compiled.code).toMatch(/export function gradientBatch\(/);
    }
  });

  it('train() passes a new seed every step, the same ones for the same run seed', async () => {
    const s = await setup(withDropout);
    const count = 12;
    const { inputs, targets } = batch(s, count);
    const seeds: number[] = [];
    const spy: GeneratedModule = {
      ...s.mod,
      alloc: undefined,
      gradientBatch: (...a: Parameters<NonNullable<GeneratedModule['gradientBatch']>>) => {
        seeds.push(a[6]!);
        return s.mod.gradientBatch!(...a);
      },
    };
    const run = (seed: number) => {
      seeds.length = 0;
      const params = Float64Array.from(s.params);
      train(
        spy,
        params,
        { inputs, targets, count },
        { epochs: 2, batchSize: 4, seed, diagnostics: false },
      );
      return { params, seeds: [...seeds] };
    };
    const a = run(1);
    const b = run(1);
    const c = run(2);
    expect(a.seeds).toHaveLength(6);
    expect(new Set(a.seeds).size).toBe(6);
    expect(b.seeds).toEqual(a.seeds);
    expect(c.seeds.some((x, i) => x !== a.seeds[i])).toBe(true);
    expect([...b.params]).toEqual([...a.params]);
    expect(maxRelErr(c.params, a.params)).toBeGreaterThan(0);
    for (const x of a.seeds) expect(Number.isInteger(x) && x === (x | 0)).toBe(true);
  });

  it('the training-mode check can fail: a gradient from other masks than its loss is caught', async () => {
    const s = await setup(withDropout);
    const count = 4;
    const { inputs, targets } = batch(s, count);
    const params = Float64Array.from(s.params);
    const good = checkTrainingGradient(s.mod, params, { inputs, targets, count, seed: 5 });
    expect(good.ok, `${good.maxRelError}`).toBe(true);
    // The gradient of one mask, the loss of another: every dropped unit's gradient is wrong.
    let calls = 0;
    const skewed: GeneratedModule = {
      ...s.mod,
      gradientBatch: (p, i, t, n, g, w, seed) =>
        s.mod.gradientBatch!(p, i, t, n, g, w, calls++ === 0 ? (seed ?? 0) + 1 : seed),
    };
    const bad = checkTrainingGradient(skewed, params, { inputs, targets, count, seed: 5 });
    expect(bad.ok).toBe(false);
    expect([...params]).toEqual([...s.params]); // the check steps on copies
  });
});

describe('training a model with batchNormalization and dropout', () => {
  it('learns three blobs, and the moving statistics converge to the population statistics', async () => {
    const model: ModelInput = {
      input: 4,
      layers: [
        { type: 'dense', units: 12, activation: 'relu' },
        { type: 'batchNormalization', momentum: 0.9 },
        { type: 'dropout', rate: 0.2 },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
      loss: 'categoricalCrossEntropy',
    };
    const mod = evaluateCompiled(await compileModel(model, { format: 'js' }));
    const m = mod.model;
    const rng = new TestRng(21);
    const count = 240;
    const centers = [
      [2, 0, 0, 1],
      [0, 2, 1, 0],
      [-1, -1, 2, 2],
    ];
    const inputs = new Float64Array(count * 4);
    const targets = new Float64Array(count * 3);
    for (let s = 0; s < count; s++) {
      const c = s % 3;
      for (let k = 0; k < 4; k++) inputs[s * 4 + k] = centers[c]![k]! * 3 + 5 + rng.normal();
      targets[s * 3 + c] = 1;
    }
    const params = initParams(m, { seed: 2 });
    train(
      mod,
      params,
      { inputs, targets, count },
      {
        epochs: 40,
        batchSize: 16,
        optimizer: adam({ lr: 0.01 }),
        seed: 4,
        diagnostics: false,
      },
    );
    // Inference (moving statistics, no dropout) classifies the blobs.
    expect(evaluate(mod, params, { inputs, targets, count }).accuracy).toBeGreaterThan(0.95);
    // The moving mean and variance track the BN input's statistics over the data (within
    // what the last steps' batches and weight updates move them).
    const kernel = m.params.find((p) => p.name === 'dense0.kernel')!;
    const bias = m.params.find((p) => p.name === 'dense0.bias')!;
    const mm = m.params.find((p) => p.name.endsWith('movingMean'))!;
    const mv = m.params.find((p) => p.name.endsWith('movingVariance'))!;
    for (let j = 0; j < 12; j++) {
      let sum = 0;
      let sq = 0;
      for (let s = 0; s < count; s++) {
        let z = params[bias.offset + j]!;
        for (let i = 0; i < 4; i++) z += inputs[s * 4 + i]! * params[kernel.offset + i * 12 + j]!;
        const a = Math.max(0, z);
        sum += a;
        sq += a * a;
      }
      const mean = sum / count;
      const variance = sq / count - mean * mean;
      const scale = Math.sqrt(variance) + 0.05;
      expect(Math.abs(params[mm.offset + j]! - mean) / scale, `mean ${j}`).toBeLessThan(0.5);
      expect(
        Math.abs(params[mv.offset + j]! - variance) / (variance + 0.05),
        `variance ${j}`,
      ).toBeLessThan(0.5);
    }
  });
});
