import { describe, expect, it } from 'vitest';
import { checkGradient, dotProductTest, relativeError } from '../../runtime/check.ts';
import { initParams } from '../../runtime/init.ts';
import { paramName } from '../../runtime/naming.ts';
import { Rng } from '../../runtime/random.ts';
import type { FloatArray, GeneratedModule, Precision } from '../../runtime/types.ts';
import { makeDenseModule, type Activation, type Loss } from './fixtures/dense.ts';
import { classifierModule, withWrongGradient, xorModule } from './fixtures/models.ts';

function sample(
  module: GeneratedModule,
  seed: number,
): { params: FloatArray; x: FloatArray; t: FloatArray } {
  const m = module.model;
  const rng = new Rng(seed);
  const make = (n: number) => {
    const a = m.precision === 'f32' ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = rng.range(-1, 1);
    return a;
  };
  const params = initParams(m, { seed });
  // Non-zero biases so bias paths are exercised too.
  for (const p of m.params)
    if (p.role === 'bias')
      for (let i = 0; i < p.size; i++) params[p.offset + i] = rng.range(-0.5, 0.5);
  const x = make(m.inputSize);
  const t = make(m.outputSize);
  if (m.loss === 'binaryCrossEntropy') for (let i = 0; i < t.length; i++) t[i] = rng.uniform();
  if (m.loss === 'categoricalCrossEntropy') {
    t.fill(0);
    t[rng.int(t.length)] = 1;
  }
  return { params, x, t };
}

const HIDDEN: Activation[] = ['linear', 'relu', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'tanh'];
const CASES: { out: Activation; loss: Loss }[] = [
  { out: 'linear', loss: 'mse' },
  { out: 'tanh', loss: 'mae' },
  { out: 'sigmoid', loss: 'binaryCrossEntropy' },
  { out: 'softmax', loss: 'categoricalCrossEntropy' },
  { out: 'softmax', loss: 'mse' },
];

describe('checkGradient on correct modules', () => {
  for (const precision of ['f64', 'f32'] as Precision[]) {
    for (const hidden of HIDDEN) {
      for (const c of CASES) {
        it(`${precision} 3-5-${c.out === 'softmax' ? 3 : 2} ${hidden} → ${c.out} / ${c.loss}`, () => {
          const module = makeDenseModule({
            name: 'case',
            input: 3,
            layers: [
              { units: 5, activation: hidden },
              { units: c.out === 'softmax' ? 3 : 2, activation: c.out },
            ],
            loss: c.loss,
            precision,
          });
          const { params, x, t } = sample(module, 17);
          const report = checkGradient(module, params, x, t);
          expect(report.ok, JSON.stringify(report.worst)).toBe(true);
          expect(report.checked).toBe(module.model.paramCount);
          expect(report.perTensor.map((p) => p.name)).toEqual([
            'dense0.kernel',
            'dense0.bias',
            'dense1.kernel',
            'dense1.bias',
          ]);
          const dot = dotProductTest(module, params, x, t);
          expect(dot.ok, JSON.stringify(dot.trials)).toBe(true);
        });
      }
    }
  }

  it('f64 relative errors are far below 1e-6 on the classifier', () => {
    const module = classifierModule();
    const { params, x, t } = sample(module, 3);
    const report = checkGradient(module, params, x, t);
    expect(report.maxRelError).toBeLessThan(1e-7);
    expect(report.lossError).toBe(0);
  });

  it('restores every parameter exactly', () => {
    for (const precision of ['f64', 'f32'] as Precision[]) {
      const module = xorModule(precision);
      const { params, x, t } = sample(module, 4);
      const before = Array.from(params);
      checkGradient(module, params, x, t);
      dotProductTest(module, params, x, t);
      expect(Array.from(params)).toEqual(before);
    }
  });
});

describe('checkGradient catches wrong gradients', () => {
  it('names the wrong parameter with its multi-index', () => {
    const inner = xorModule();
    // Flat index 13: dense0.kernel has shape [2, 8], so 13 = row 1, column 5.
    const module = withWrongGradient(inner, 13, 1.01);
    const { params, x, t } = sample(inner, 5);
    const report = checkGradient(module, params, x, t);
    expect(report.ok).toBe(false);
    expect(report.worst?.index).toBe(13);
    expect(report.worst?.name).toBe('dense0.kernel[1,5]');
    // 1 % too large: relative error ≈ 0.01 / 2.01
    expect(report.maxRelError).toBeCloseTo(0.01 / 2.01, 5);
    const perTensor = Object.fromEntries(report.perTensor.map((p) => [p.name, p.maxRelError]));
    expect(perTensor['dense0.kernel']).toBeGreaterThan(1e-3);
    expect(perTensor['dense0.bias']).toBeLessThan(1e-6);
    expect(perTensor['dense1.kernel']).toBeLessThan(1e-6);
  });

  it('catches an error in a bias and in f32', () => {
    const inner = classifierModule('f32');
    const biasOffset = inner.model.params.find((p) => p.name === 'dense2.bias')!.offset;
    const module = withWrongGradient(inner, biasOffset + 2, 1, 0.05);
    const { params, x, t } = sample(inner, 6);
    const report = checkGradient(module, params, x, t);
    expect(report.ok).toBe(false);
    expect(report.worst?.name).toBe('dense2.bias[2]');
  });

  it('the dot-product test catches it too', () => {
    const inner = xorModule();
    const { params, x, t } = sample(inner, 5);
    const g = new Float64Array(inner.model.paramCount);
    inner.gradient(params, x, t, g, new Float64Array(inner.model.workSize));
    let big = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
    const dot = dotProductTest(withWrongGradient(inner, big, 2), params, x, t);
    expect(dot.ok).toBe(false);
    expect(dot.maxRelError).toBeGreaterThan(1e-3);
  });

  it('reports a loss that gradient() returns wrongly', () => {
    const inner = xorModule();
    const module: GeneratedModule = {
      ...inner,
      gradient: (p, x, t, g, w) => inner.gradient(p, x, t, g, w) * 1.001,
    };
    const { params, x, t } = sample(inner, 5);
    const report = checkGradient(module, params, x, t);
    expect(report.maxRelError).toBeLessThan(1e-6);
    expect(report.lossError).toBeGreaterThan(1e-4);
    expect(report.ok).toBe(false);
  });

  it('NaN gradients fail instead of slipping through comparisons', () => {
    const inner = xorModule();
    const { params, x, t } = sample(inner, 5);
    const report = checkGradient(withWrongGradient(inner, 3, NaN), params, x, t);
    expect(report.ok).toBe(false);
    expect(report.worst?.index).toBe(3);
  });
});

describe('checkGradient options', () => {
  it('samples at most about maxParams, every tensor at least once, reproducibly', () => {
    const module = makeDenseModule({
      name: 'big',
      input: 30,
      layers: [
        { units: 40, activation: 'tanh' },
        { units: 4, activation: 'linear' },
      ],
      loss: 'mse',
    });
    const { params, x, t } = sample(module, 8);
    const a = checkGradient(module, params, x, t, { maxParams: 50, seed: 1 });
    expect(a.ok).toBe(true);
    expect(a.checked).toBeLessThanOrEqual(54);
    expect(a.checked).toBeGreaterThanOrEqual(46);
    for (const p of a.perTensor) expect(p.checked).toBeGreaterThanOrEqual(1);
    const b = checkGradient(module, params, x, t, { maxParams: 50, seed: 1 });
    expect(b.worst).toEqual(a.worst);
  });

  it('plain central differences (richardson: false) also work, with a smaller step', () => {
    const module = classifierModule();
    const { params, x, t } = sample(module, 3);
    const report = checkGradient(module, params, x, t, { richardson: false, tolerance: 1e-5 });
    expect(report.ok, JSON.stringify(report.worst)).toBe(true);
    const wrong = checkGradient(withWrongGradient(module, 7, 1.01), params, x, t, {
      richardson: false,
    });
    expect(wrong.worst?.index).toBe(7);
    expect(wrong.ok).toBe(false);
  });

  it('absFloor treats tiny pairs as exact', () => {
    expect(relativeError(1e-12, 3e-12, 1e-9)).toBe(0);
    // Without the floor the 1e-8 in the denominator bounds the error: 2e-12 / 1e-8.
    expect(relativeError(1e-12, 3e-12, 0)).toBeCloseTo(2e-4, 15);
    expect(relativeError(1, 1.1)).toBeCloseTo(0.1 / 2.1, 12);
    expect(relativeError(NaN, 1)).toBe(Infinity);
  });

  it('rejects arrays of the wrong size', () => {
    const module = xorModule();
    const { params, x, t } = sample(module, 1);
    expect(() => checkGradient(module, params.subarray(1), x, t)).toThrow(/params has 32/);
    expect(() => checkGradient(module, params, new Float64Array(3), t)).toThrow(/input has 3/);
  });

  it('paramName formats tensor and multi-index', () => {
    const m = classifierModule().model;
    expect(paramName(m, 0)).toBe('dense0.kernel[0,0]');
    expect(paramName(m, 17)).toBe('dense0.kernel[1,1]');
    expect(paramName(m, 64)).toBe('dense0.bias[0]');
    expect(paramName(m, 10_000)).toBe('params[10000]');
  });
});
