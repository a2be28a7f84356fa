import { describe, expect, it } from 'vitest';
import {
  allocGrad,
  allocOutput,
  allocWork,
  defaultScheme,
  initParams,
} from '../../runtime/init.ts';
import type { FloatArray, ParamInfo } from '../../runtime/types.ts';
import { makeDenseModule, type Activation } from './fixtures/dense.ts';
import { xorModule } from './fixtures/models.ts';

function wide(activation: Activation, precision: 'f32' | 'f64' = 'f64') {
  return makeDenseModule({
    name: 'wide',
    input: 200,
    layers: [
      { units: 300, activation },
      { units: 2, activation: 'linear' },
    ],
    loss: 'mse',
    precision,
  }).model;
}

function stats(params: FloatArray, p: ParamInfo): { mean: number; std: number; maxAbs: number } {
  let sum = 0;
  let sq = 0;
  let maxAbs = 0;
  for (let i = p.offset; i < p.offset + p.size; i++) {
    sum += params[i];
    sq += params[i] * params[i];
    maxAbs = Math.max(maxAbs, Math.abs(params[i]));
  }
  const mean = sum / p.size;
  return { mean, std: Math.sqrt(sq / p.size - mean * mean), maxAbs };
}

describe('initParams', () => {
  it('is deterministic bit-for-bit for a seed (pinned values)', () => {
    const model = xorModule().model;
    const a = initParams(model, { seed: 1 });
    const b = initParams(model, { seed: 1 });
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Array.from(a.slice(0, 3))).toEqual([
      -0.2678626911722968, 0.17570832078156173, -0.3148200228410621,
    ]);
    const c = initParams(model, { seed: 2 });
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('returns Float32Array for f32 models and Float64Array for f64', () => {
    expect(initParams(xorModule('f32').model, { seed: 1 })).toBeInstanceOf(Float32Array);
    expect(initParams(xorModule('f64').model, { seed: 1 })).toBeInstanceOf(Float64Array);
    // f32 values are the f64 draws rounded, so both precisions share one stream.
    const f32 = initParams(xorModule('f32').model, { seed: 1 });
    const f64 = initParams(xorModule('f64').model, { seed: 1 });
    expect(Array.from(f32)).toEqual(Array.from(f64, Math.fround));
  });

  it('zeroes biases', () => {
    const model = xorModule().model;
    const params = initParams(model, { seed: 5 });
    for (const p of model.params.filter((q) => q.role === 'bias')) {
      expect(Array.from(params.subarray(p.offset, p.offset + p.size)).every((v) => v === 0)).toBe(
        true,
      );
    }
  });

  it('Glorot uniform for tanh: within ±sqrt(6/(fanIn+fanOut)), std limit/√3', () => {
    const model = wide('tanh');
    const params = initParams(model, { seed: 1 });
    const k = model.params[0];
    const limit = Math.sqrt(6 / (200 + 300));
    const s = stats(params, k);
    expect(s.maxAbs).toBeLessThanOrEqual(limit);
    expect(s.maxAbs).toBeGreaterThan(limit * 0.99);
    expect(s.std).toBeCloseTo(limit / Math.sqrt(3), 3);
    expect(Math.abs(s.mean)).toBeLessThan(0.002);
  });

  it('He normal for relu: std sqrt(2/fanIn)', () => {
    const model = wide('relu');
    const s = stats(initParams(model, { seed: 1 }), model.params[0]);
    expect(s.std / Math.sqrt(2 / 200)).toBeCloseTo(1, 2);
  });

  it('LeCun normal for selu: std sqrt(1/fanIn)', () => {
    const model = wide('selu');
    const s = stats(initParams(model, { seed: 1 }), model.params[0]);
    expect(s.std / Math.sqrt(1 / 200)).toBeCloseTo(1, 2);
  });

  it('scheme overrides the activation default', () => {
    const model = wide('relu');
    const s = stats(initParams(model, { seed: 1, scheme: 'glorot' }), model.params[0]);
    expect(s.maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 500));
    const l = stats(initParams(wide('tanh'), { seed: 1, scheme: 'lecun' }), model.params[0]);
    expect(l.std / Math.sqrt(1 / 200)).toBeCloseTo(1, 2);
  });

  it('TF.js initializers by name: uniform in ±sqrt(3·scale), truncated normal of std sqrt(scale)', () => {
    const base = wide('tanh');
    const k = base.params[0]!;
    const cases = [
      ['glorotUniform', 1 / 250, 'uniform'],
      ['heUniform', 2 / 200, 'uniform'],
      ['leCunUniform', 1 / 200, 'uniform'],
      ['glorotNormal', 1 / 250, 'normal'],
      ['heNormal', 2 / 200, 'normal'],
      ['leCunNormal', 1 / 200, 'normal'],
    ] as const;
    for (const [init, scale, shape] of cases) {
      const model = { ...base, params: base.params.map((p, i) => (i === 0 ? { ...p, init } : p)) };
      const s = stats(initParams(model, { seed: 3 }), k);
      if (shape === 'uniform') {
        const limit = Math.sqrt(3 * scale);
        expect(s.maxAbs, init).toBeLessThanOrEqual(limit);
        expect(s.maxAbs, init).toBeGreaterThan(limit * 0.99);
        expect(s.std / (limit / Math.sqrt(3)), init).toBeCloseTo(1, 2);
      } else {
        // Redrawn beyond 2σ, as TF.js's truncatedNormal: the spread shrinks to 0.8796σ.
        const sigma = Math.sqrt(scale);
        expect(s.maxAbs, init).toBeLessThanOrEqual(2 * sigma);
        expect(s.maxAbs, init).toBeGreaterThan(1.95 * sigma);
        expect(s.std / (0.8796 * sigma), init).toBeCloseTo(1, 2);
      }
      expect(Math.abs(s.mean), init).toBeLessThan(0.002);
    }
    const ones = {
      ...base,
      params: base.params.map((p, i) => (i === 1 ? { ...p, init: 'ones' as const } : p)),
    };
    const b = ones.params[1]!;
    const filled = initParams(ones, { seed: 3 }).subarray(b.offset, b.offset + b.size);
    expect(Array.from(filled).every((v) => v === 1)).toBe(true);
  });

  it('defaultScheme by activation', () => {
    expect(defaultScheme('relu')).toBe('he');
    expect(defaultScheme('leakyRelu')).toBe('he');
    expect(defaultScheme('elu')).toBe('he');
    expect(defaultScheme('selu')).toBe('lecun');
    expect(defaultScheme('tanh')).toBe('glorot');
    expect(defaultScheme('sigmoid')).toBe('glorot');
    expect(defaultScheme('custom')).toBe('glorot');
  });

  it('allocates work, grad and output buffers of the right size and precision', () => {
    const m = xorModule('f32').model;
    expect(allocWork(m)).toBeInstanceOf(Float32Array);
    expect(allocWork(m).length).toBe(m.workSize);
    expect(allocGrad(m).length).toBe(m.paramCount);
    expect(allocOutput(m).length).toBe(1);
    expect(allocGrad(xorModule('f64').model)).toBeInstanceOf(Float64Array);
  });
});
