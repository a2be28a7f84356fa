// The hand-written benchmark baselines must be correct before any figure is compared to them:
// gradients against central differences and against the generic reference, SGD steps and
// batched forwards against their per-sample definitions.

import { describe, expect, it } from 'vitest';
import { BASELINES } from '../bench/baselines/index.ts';
import { CASES, IRIS, MNIST, XOR, makeData, rng, type NetSpec } from '../bench/models.ts';
import { refBatchGradient, refForward, refGradient, refSgdStep } from '../bench/reference.ts';

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
