// Numerical robustness: extreme logits, exact 0/1 probabilities, out-of-range targets, the
// documented subgradients at kinks, sqrt/log at 0 in custom expressions, NaN/Inf inputs found
// by checkFinite, and f32 against f64 on every example.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCompiled } from '../../compiler/cli/load.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import { checkFinite, NonFiniteError } from '../../runtime/finite.ts';
import { initParams } from '../../runtime/init.ts';
import { Rng } from '../../runtime/random.ts';
import type { GeneratedModule } from '../../runtime/types.ts';
import { ROOT } from './helpers.ts';

const cache = new Map<string, Promise<GeneratedModule>>();
function load(model: object): Promise<GeneratedModule> {
  const key = JSON.stringify(model);
  let m = cache.get(key);
  if (!m) {
    m = validateModel(model).then((spec) =>
      importCompiled(compileSpec(spec, { format: 'js', source: 'numerics.model.json' })),
    );
    cache.set(key, m);
  }
  return m;
}

interface Run {
  output: Float64Array;
  loss: number;
  grad: Float64Array;
}
function run(m: GeneratedModule, params: number[], input: number[], target: number[]): Run {
  const info = m.model;
  const p = Float64Array.from(params);
  const x = Float64Array.from(input);
  const t = Float64Array.from(target);
  const w = new Float64Array(info.workSize);
  const output = new Float64Array(info.outputSize);
  const grad = new Float64Array(info.paramCount);
  m.forward(p, x, output, w);
  const loss = m.loss(p, x, t, w);
  expect(m.gradient(p, x, t, grad, w)).toBe(loss);
  return { output, loss, grad };
}
const finite = (r: Run) =>
  Number.isFinite(r.loss) && [...r.output, ...r.grad].every((v) => Number.isFinite(v));

describe('extreme logits', () => {
  // input 1, 3 units: kernel [0, 0, 0], biases are the logits.
  const softmax = {
    input: 1,
    layers: [{ type: 'dense', units: 3, activation: 'softmax' }],
    loss: 'categoricalCrossEntropy',
  };
  it.each([
    [
      [1000, -1000, 0],
      [0, 1, 0],
    ],
    [
      [1000, -1000, 0],
      [1, 0, 0],
    ],
    [
      [-1000, -1000, -1000],
      [0, 0, 1],
    ],
    [
      [1000, 1000, -1000],
      [0, 0, 1],
    ],
  ])('softmax + CCE, logits %j, target %j: finite, p − t', async (logits, t) => {
    const m = await load(softmax);
    const r = run(m, [0, 0, 0, ...logits], [1], t);
    expect(finite(r)).toBe(true);
    // Probabilities saturate to exactly 0 and 1 without NaN.
    for (let k = 0; k < 3; k++) {
      const z = logits[k]!;
      const max = Math.max(...logits);
      if (z === max && logits.filter((v) => v === max).length === 1) expect(r.output[k]).toBe(1);
      if (z <= max - 1000) expect(r.output[k]).toBe(0);
    }
    // Exact loss: logsumexp(z) − z_target.
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, z) => s + Math.exp(z - max), 0));
    const target = t.indexOf(1);
    expect(r.loss).toBeCloseTo(lse - logits[target]!, 9);
    // Bias gradient = p − t.
    for (let k = 0; k < 3; k++) expect(r.grad[3 + k]).toBeCloseTo(r.output[k]! - t[k]!, 12);
  });

  const bce = {
    input: 1,
    layers: [{ type: 'dense', units: 1, activation: 'sigmoid' }],
    loss: 'binaryCrossEntropy',
  };
  it.each([
    [1000, 1, 0, 0],
    [1000, 0, 1000, 1],
    [-1000, 0, 0, 0],
    [-1000, 1, 1000, -1],
    [40, 0.3, 40 * 0.7, 0.7],
  ])('sigmoid + BCE, logit %d, target %d: loss %d, dL/dz %d', async (z, t, loss, dz) => {
    const m = await load(bce);
    const r = run(m, [0, z], [1], [t]);
    expect(finite(r)).toBe(true);
    expect(r.output[0]).toBe(z > 0 ? 1 : 0);
    expect(r.loss).toBeCloseTo(loss, 6);
    expect(r.grad[1]).toBeCloseTo(dz, 9);
  });

  it('targets outside [0, 1] for BCE from logits: the formula softplus(z) − t·z stays finite', async () => {
    const m = await load(bce);
    for (const t of [-3, 2, 1e6]) {
      const r = run(m, [0, 1000], [1], [t]);
      expect(finite(r)).toBe(true);
      expect(r.grad[1]).toBeCloseTo(1 - t, 6);
    }
  });

  it('mse and huber with huge errors: finite', async () => {
    for (const loss of ['mse', 'mae', 'huber']) {
      const m = await load({ input: 1, layers: [{ type: 'dense', units: 2 }], loss });
      expect(finite(run(m, [1e150, -1e150, 0, 0], [1], [1e6, -1e6]))).toBe(true);
    }
  });

  it('BCE/CCE after a non-matching activation clip to [1e-7, 1 − 1e-7]: finite at 0 and 1', async () => {
    const m = await load({
      input: 1,
      layers: [{ type: 'dense', units: 2, activation: 'relu' }],
      loss: 'categoricalCrossEntropy',
    });
    const r = run(m, [0, 0, 0, 5], [1], [1, 0]);
    expect(finite(r)).toBe(true);
    expect(r.loss).toBeCloseTo(-Math.log(1e-7), 9);
  });
});

describe('subgradients at kinks (README: relu′(0) = 0, leakyRelu′(0) = alpha, |x|′(0) = 0)', () => {
  // One layer, one input of 1, kernel 0, bias 0: z = 0 exactly; loss mse with target −1,
  // so dL/dy = 2(y + 1) and dL/db = act′(0) · 2(act(0) + 1).
  async function biasGrad(activation: unknown): Promise<number> {
    const m = await load({
      input: 1,
      layers: [{ type: 'dense', units: 1, activation }],
      loss: 'mse',
    });
    return run(m, [0, 0], [1], [-1]).grad[1]!;
  }
  it('relu (first layer)', async () => expect(await biasGrad('relu')).toBe(0));
  it('leakyRelu', async () =>
    expect(await biasGrad({ name: 'leakyRelu', alpha: 0.3 })).toBeCloseTo(0.6, 15));
  it('abs in an expression', async () => expect(await biasGrad({ expr: 'abs(x)' })).toBe(0));
  it('max(x, 0) in an expression', async () =>
    expect(await biasGrad({ expr: 'max(x, 0)' })).toBe(0));
  it('sign in an expression: 0', async () =>
    expect(await biasGrad({ expr: 'sign(x) + x' })).toBe(2));

  it('mae at a zero error: 0', async () => {
    const m = await load({ input: 1, layers: [{ type: 'dense', units: 1 }], loss: 'mae' });
    expect(run(m, [0, 0.5], [1], [0.5]).grad[1]).toBe(0);
  });

  it('huber at |e| = delta: the quadratic side, whose slope equals the linear one (delta)', async () => {
    const m = await load({
      input: 1,
      layers: [{ type: 'dense', units: 1 }],
      loss: { name: 'huber', delta: 0.5 },
    });
    expect(run(m, [0, 0.5], [1], [0]).grad[1]).toBe(0.5);
    expect(run(m, [0, -0.5], [1], [0]).grad[1]).toBe(-0.5);
  });
});

describe('sqrt and log at 0 in custom expressions (what the generated code does)', () => {
  async function at0(expr: string): Promise<Run> {
    const m = await load({
      input: 1,
      layers: [{ type: 'dense', units: 1, activation: { expr } }],
      loss: 'mse',
    });
    return run(m, [0, 0], [1], [1]);
  }
  // sqrt′(0) and log′(0) are infinite: the gradient is ±Infinity there, as the math says.
  it('sqrt(x) at 0: value 0, gradient −Infinity (d/dz √z is +∞, dL/dy = −2)', async () => {
    const r = await at0('sqrt(x)');
    expect(r.output[0]).toBe(0);
    expect(r.grad[1]).toBe(-Infinity);
  });
  it('log(x) at 0: the loss is +Infinity (not NaN)', async () => {
    const r = await at0('log(x)');
    expect(r.output[0]).toBe(-Infinity);
    expect(r.loss).toBe(Infinity);
  });
  // The usual guarded forms are finite at 0.
  it.each(['sqrt(x^2 + 1e-8)', 'log(1 + x^2)', 'log1p(abs(x))', 'sqrt(max(x, 0))'])(
    '%s at 0: finite loss and gradient',
    async (expr) => expect(finite(await at0(expr))).toBe(true),
  );
  // sqrt(max(x, 0)) for x < 0: forward 0, sqrt′ = ∞ multiplied by max's 0 through a select,
  // never by a multiplication: finite.
  it('sqrt(max(x, 0)) at x < 0: gradient 0', async () => {
    const m = await load({
      input: 1,
      layers: [{ type: 'dense', units: 1, activation: { expr: 'sqrt(max(x, 0))' } }],
      loss: 'mse',
    });
    expect(run(m, [0, -1], [1], [1]).grad[1]).toBe(0);
  });
});

describe('NaN and Infinity inputs are reported by checkFinite with the index', () => {
  it.each([
    [NaN, 2],
    [Infinity, 0],
    [-Infinity, 1],
  ])('%d at index %d', async (bad, index) => {
    const m = await load({ input: 3, layers: [{ type: 'dense', units: 2 }], loss: 'mse' });
    const x = Float64Array.of(1, 2, 3);
    x[index] = bad;
    expect(() => checkFinite(x, 'input')).toThrow(NonFiniteError);
    try {
      checkFinite(x, 'input');
    } catch (e) {
      expect((e as NonFiniteError).index).toBe(index);
      expect((e as Error).message).toBe(`input[${index}] is ${bad} (first non-finite entry)`);
    }
    // The generated code itself does not check: the bad value reaches the outputs, where
    // checkFinite reports it too.
    const y = new Float64Array(2);
    m.forward(
      new Float64Array(m.model.paramCount).fill(0.5),
      x,
      y,
      new Float64Array(m.model.workSize),
    );
    expect(() => checkFinite(y, 'output')).toThrow(/^output\[0\] is (NaN|-?Infinity)/);
  });
});

// Stated tolerances for f32 against f64 on the same (f32-representable) parameters and data:
// outputs and loss within 1e-4 relative (+1e-6 absolute), gradients within 1e-3 of the largest
// gradient entry. f32 rounds every stored value to 24 bits (~6e-8); these bounds leave room
// for the error to grow through the layers.
const F32_TOL = { rel: 1e-4, abs: 1e-6, grad: 1e-3 };

describe('f32 within stated tolerances of f64 on every example', () => {
  const examples = fs
    .readdirSync(path.join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.model.json'));
  it('has examples', () => expect(examples.length).toBeGreaterThan(0));
  it.each(examples)('%s', async (file) => {
    const json = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Record<
      string,
      unknown
    >;
    delete json.$schema;
    const m64 = await load({ ...json, precision: 'f64' });
    const m32 = await load({ ...json, precision: 'f32' });
    const info = m64.model;
    const p64 = Float64Array.from(Float32Array.from(initParams(info, { seed: 7 })));
    const rng = new Rng(3);
    for (let s = 0; s < 3; s++) {
      const x64 = Float64Array.from(
        Float32Array.from({ length: info.inputSize }, () => rng.range(-1, 1)),
      );
      const t64 = new Float64Array(info.outputSize);
      t64[rng.int(info.outputSize)] = 1;
      const a = run(m64, [...p64], [...x64], [...t64]);
      const p32 = Float32Array.from(p64);
      const x32 = Float32Array.from(x64);
      const t32 = Float32Array.from(t64);
      const w = new Float32Array(m32.model.workSize);
      const y32 = new Float32Array(info.outputSize);
      const g32 = new Float32Array(info.paramCount);
      m32.forward(p32, x32, y32, w);
      const l32 = m32.gradient(p32, x32, t32, g32, w);
      for (let k = 0; k < y32.length; k++)
        expect(Math.abs(y32[k]! - a.output[k]!)).toBeLessThanOrEqual(
          F32_TOL.abs + F32_TOL.rel * Math.abs(a.output[k]!),
        );
      expect(Math.abs(l32 - a.loss)).toBeLessThanOrEqual(
        F32_TOL.abs + F32_TOL.rel * Math.abs(a.loss),
      );
      let gmax = 0;
      let dmax = 0;
      for (let k = 0; k < g32.length; k++) {
        gmax = Math.max(gmax, Math.abs(a.grad[k]!));
        dmax = Math.max(dmax, Math.abs(g32[k]! - a.grad[k]!));
      }
      expect(dmax).toBeLessThanOrEqual(F32_TOL.abs + F32_TOL.grad * gmax);
    }
  });
});
