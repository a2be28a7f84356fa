// The hand-written benchmark baselines must be correct before any figure is compared to them:
// gradients against central differences and against the generic reference, SGD steps and
// batched forwards against their per-sample definitions.

import { describe, expect, it } from 'vitest';
import { BASELINES } from '../bench/baselines/index.ts';
import { createMnistCnnBaseline } from '../bench/baselines/mnist-cnn.ts';
import {
  CASES,
  IRIS,
  MNIST,
  MNIST_CNN,
  XOR,
  layout,
  makeData,
  modelFile,
  rng,
  type NetSpec,
} from '../bench/models.ts';
import { refBatchGradient, refForward, refGradient, refSgdStep } from '../bench/reference.ts';
import { parseModel, type ModelJson } from './oracle/model.ts';
import { referenceGradient, referenceRun } from './oracle/reference/network.ts';
import { createTfjsOracle } from './oracle/tfjs-layers.ts';

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-8, Math.abs(a) + Math.abs(b));
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const specs: readonly NetSpec[] = [XOR, IRIS, MNIST];

describe.each(specs)('baseline $name', (spec) => {
  const net = BASELINES[spec.name]();
  const batch = 5;
  const { params, inputs, targets } = makeData(spec, batch, 1234);
  const O = net.outputSize;
  const I = net.inputSize;

  it('has the flat gradc layout size', () => {
    expect(net.paramCount).toBe(params.length);
  });

  it('matches central differences on the loss', () => {
    const grad = new Float64Array(net.paramCount);
    const pick = rng(7);
    for (let s = 0; s < 2; s++) {
      net.gradient(params, inputs, s * I, targets, s * O, grad);
      // Every parameter of the small nets; a random subset (plus all biases) of the large one.
      const indices =
        net.paramCount <= 500
          ? Array.from({ length: net.paramCount }, (_, k) => k)
          : [
              ...Array.from({ length: 300 }, () => Math.floor(pick() * net.paramCount)),
              ...Array.from({ length: 138 }, (_, k) => net.paramCount - 1 - k),
            ];
      const p = params.slice();
      for (const k of indices) {
        const h = 1e-6 * Math.max(1, Math.abs(p[k]));
        const v = p[k];
        p[k] = v + h;
        const up = net.loss(p, inputs, s * I, targets, s * O);
        p[k] = v - h;
        const down = net.loss(p, inputs, s * I, targets, s * O);
        p[k] = v;
        const numeric = (up - down) / (2 * h);
        // Absolute floor: a gradient of ~1e-10 cannot be resolved by differences of ~1e-6.
        if (Math.abs(numeric) + Math.abs(grad[k]) > 1e-7)
          expect(relErr(numeric, grad[k])).toBeLessThan(1e-5);
        else expect(Math.abs(numeric - grad[k])).toBeLessThan(1e-7);
      }
    }
  });

  it('agrees with the generic reference (forward, loss, gradient)', () => {
    const grad = new Float64Array(net.paramCount);
    const out = new Float64Array(O);
    for (let s = 0; s < batch; s++) {
      const x = inputs.slice(s * I, (s + 1) * I);
      const t = targets.slice(s * O, (s + 1) * O);
      const [refLoss, refGrad] = refGradient(spec, params, x, t);
      const loss = net.gradient(params, inputs, s * I, targets, s * O, grad);
      expect(relErr(loss, refLoss)).toBeLessThan(1e-12);
      expect(net.loss(params, inputs, s * I, targets, s * O)).toBeCloseTo(refLoss, 12);
      expect(maxAbsDiff(grad, refGrad)).toBeLessThan(1e-12);
      net.forward(params, inputs, s * I, out, 0);
      expect(maxAbsDiff(out, refForward(spec, params, x))).toBeLessThan(1e-12);
    }
  });

  it('forwardBatch equals per-sample forward', () => {
    const outs = new Float64Array(batch * O);
    const one = new Float64Array(O);
    net.forwardBatch(params, inputs, outs, batch);
    for (let s = 0; s < batch; s++) {
      net.forward(params, inputs, s * I, one, 0);
      expect(Array.from(outs.subarray(s * O, (s + 1) * O))).toEqual(Array.from(one));
    }
  });

  it('trainStep is one SGD step on the batch-mean gradient', () => {
    const p = params.slice();
    const lr = 0.1;
    net.trainStep(p, inputs, targets, batch, lr);
    const [refLoss] = refBatchGradient(spec, params, inputs, targets, batch);
    expect(relErr(net.lastLoss[0], refLoss)).toBeLessThan(1e-12);
    expect(
      maxAbsDiff(p, refSgdStep(spec, params, inputs, targets, batch, lr, 'mean')),
    ).toBeLessThan(1e-13);
  });
});

// The CNN's reference gradient in the bench is the baseline's own (bench/reference-cnn.ts), so
// here it is checked against independent numbers: the naive f64 network of the TF.js oracle's
// tests (forward, and central differences of it) and TF.js Layers itself.
describe('baseline mnist-cnn', () => {
  const net = createMnistCnnBaseline();
  const batch = 4;
  const { params, inputs, targets } = makeData(MNIST_CNN, batch, 1234);
  const model = parseModel(modelFile(MNIST_CNN) as ModelJson);
  const I = net.inputSize;
  const O = net.outputSize;

  it('has the flat layout of the model file (TF.js order)', () => {
    expect(net.paramCount).toBe(layout(MNIST_CNN).paramCount);
    expect(net.paramCount).toBe(model.paramCount);
    expect(model.params.map((p) => `${p.name}:${p.shape.join('x')}`)).toEqual([
      'conv2d0.kernel:3x3x1x8',
      'conv2d0.bias:8',
      'conv2d1.kernel:3x3x8x16',
      'conv2d1.bias:16',
      'dense0.kernel:784x10',
      'dense0.bias:10',
    ]);
  });

  it('forward and loss equal the naive reference', () => {
    const ref = referenceRun(model, params, inputs, targets, batch);
    const out = new Float64Array(batch * O);
    net.forwardBatch(params, inputs, out, batch);
    expect(maxAbsDiff(out, ref.outputs)).toBeLessThan(1e-12);
    for (let s = 0; s < batch; s++)
      expect(relErr(net.loss(params, inputs, s * I, targets, s * O), ref.losses[s])).toBeLessThan(
        1e-12,
      );
  });

  // Two samples keep the naive reference's many runs and TF.js's cpu conv gradients quick.
  const small = 2;

  it('the gradient matches central differences of the naive reference', () => {
    const grad = new Float64Array(net.paramCount);
    const mean = net.gradientBatch(params, inputs, targets, small, grad);
    expect(relErr(mean, referenceRun(model, params, inputs, targets, small).loss)).toBeLessThan(
      1e-12,
    );
    const pick = rng(3);
    // All conv biases, and a random sample of every kernel and of the dense layer.
    const idx = [
      ...model.params
        .filter((p) => p.weight === 'bias')
        .flatMap((p) => [p.offset, p.offset + p.size - 1]),
      ...model.params.flatMap((p) =>
        Array.from({ length: 8 }, () => p.offset + Math.floor(pick() * p.size)),
      ),
    ];
    const fd = referenceGradient(model, params, inputs, targets, small, { mode: 'inference' }, idx);
    for (const k of idx) {
      if (Math.abs(fd[k]) + Math.abs(grad[k]) > 1e-7)
        expect(relErr(fd[k], grad[k])).toBeLessThan(1e-5);
      else expect(Math.abs(fd[k] - grad[k])).toBeLessThan(1e-7);
    }
    expect(idx.some((k) => Math.abs(grad[k]) > 1e-4)).toBe(true);
  });

  it('agrees with TF.js Layers (forward, mean loss, gradient)', async () => {
    const oracle = await createTfjsOracle(modelFile(MNIST_CNN) as ModelJson);
    try {
      const g = oracle.gradient(params, inputs, targets, small, { mode: 'inference' });
      const grad = new Float64Array(net.paramCount);
      const loss = net.gradientBatch(params, inputs, targets, small, grad);
      const out = new Float64Array(small * O);
      net.forwardBatch(params, inputs, out, small);
      const scale = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbsDiff(oracle.forward(params, inputs, small), out) / scale(out)).toBeLessThan(
        1e-4,
      );
      expect(relErr(g.loss, loss)).toBeLessThan(1e-5);
      expect(maxAbsDiff(g.grad, grad) / scale(grad)).toBeLessThan(1e-4);
    } finally {
      oracle.dispose();
    }
  });

  it('gradientBatch is the mean of per-sample gradients; trainStep one SGD step on it', () => {
    const mean = new Float64Array(net.paramCount);
    const one = new Float64Array(net.paramCount);
    const sum = new Float64Array(net.paramCount);
    let lossSum = 0;
    for (let s = 0; s < batch; s++) {
      lossSum += net.gradient(params, inputs, s * I, targets, s * O, one);
      for (let k = 0; k < sum.length; k++) sum[k] += one[k];
    }
    const loss = net.gradientBatch(params, inputs, targets, batch, mean);
    expect(relErr(loss, lossSum / batch)).toBeLessThan(1e-12);
    expect(
      maxAbsDiff(
        mean,
        sum.map((v) => v / batch),
      ),
    ).toBeLessThan(1e-14);
    const p = params.slice();
    net.trainStep(p, inputs, targets, batch, 0.1);
    expect(
      maxAbsDiff(
        p,
        params.map((v, k) => v - 0.1 * mean[k]),
      ),
    ).toBeLessThan(1e-14);
    expect(relErr(net.lastLoss[0], loss)).toBeLessThan(1e-12);
  });
});

describe('benchmark cases', () => {
  it('every case has a baseline and deterministic data', () => {
    for (const c of CASES) {
      expect(BASELINES[c.spec.name]).toBeDefined();
      const a = makeData(c.spec, c.batch, 1);
      const b = makeData(c.spec, c.batch, 1);
      expect(maxAbsDiff(a.params, b.params)).toBe(0);
      expect(a.params.every((v) => Math.fround(v) === v)).toBe(true);
    }
  });
});

// The hand-written WebAssembly reference computes in f32: checked against the f64 reference
// within f32 rounding.
describe('baseline mnist-mlp, hand-written WebAssembly f32', () => {
  const batch = 6;
  const { params, inputs, targets } = makeData(MNIST, batch, 99);
  it('forward and one SGD step match the f64 reference', async () => {
    const { createHandWasmMnist } = await import('../bench/baselines/mnist-wasm.ts');
    const net = await createHandWasmMnist();
    net.params.set(params);
    net.inputs.set(inputs);
    net.targets.set(targets);
    net.forward(batch);
    let worst = 0;
    for (let s = 0; s < batch; s++) {
      const want = refForward(MNIST, params, inputs.subarray(s * 784, (s + 1) * 784));
      for (let k = 0; k < 10; k++)
        worst = Math.max(worst, Math.abs(net.probs[s * 10 + k]! - want[k]!));
    }
    expect(worst).toBeLessThan(1e-5);
    const lr = 0.5;
    net.trainStep(batch, lr);
    const want = refSgdStep(MNIST, params, inputs, targets, batch, lr, 'mean');
    let moved = 0;
    let err = 0;
    for (let k = 0; k < want.length; k++) {
      moved = Math.max(moved, Math.abs(want[k]! - params[k]!));
      err = Math.max(err, Math.abs(net.params[k]! - want[k]!));
    }
    expect(moved).toBeGreaterThan(1e-3);
    expect(err).toBeLessThan(1e-6);
  });
});
