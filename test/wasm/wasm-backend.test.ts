// The WebAssembly backend against the JS backend (itself checked against the IR interpreter
// and finite differences elsewhere) on the example and on random dense stacks, its gradient
// against central differences, and the init()/alloc() contract of every module.
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseModelBytes, validateModel } from '../../compiler/format/parse.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { compileSpec, lower } from '../../compiler/pipeline.ts';
import { describeWasm } from '../../compiler/backends/wasm/describe.ts';
import { caseArb, type FuzzCase } from '../hardening/fuzz-core.ts';
import { initParams } from '../../runtime/init.ts';
import { Rng } from '../../runtime/random.ts';
import type { FloatArray } from '../../runtime/types.ts';
import { allocPerCall, loadBackend, relErr, type Batched } from './harness.ts';

function batchData(m: Batched['model'], lossName: string, count: number, seed: number) {
  const rng = new Rng(seed);
  const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
  const inputs = new Arr(count * m.inputSize).map(() => rng.range(-2, 2));
  const targets = new Arr(count * m.outputSize);
  for (let s = 0; s < count; s++) {
    const row = s * m.outputSize;
    if (lossName === 'categoricalCrossEntropy') targets[row + rng.int(m.outputSize)] = 1;
    else for (let k = 0; k < m.outputSize; k++) targets[row + k] = rng.uniform();
  }
  return { inputs, targets };
}

/** Copies `a` into the module's memory. */
function inModule(mod: Batched, a: FloatArray): FloatArray {
  const b = mod.alloc(a.length);
  b.set(a);
  return b;
}

/** wasm and JS batched entry points on the same data; returns the worst relative errors. */
async function compare(
  spec: ModelSpec,
  counts: readonly number[],
  seed: number,
  conditioned = false,
) {
  const w = await loadBackend(spec, 'wasm');
  const j = await loadBackend(spec, 'js');
  const j64 =
    conditioned && spec.precision === 'f32'
      ? await loadBackend({ ...spec, precision: 'f64' }, 'js')
      : null;
  const m = w.model;
  const params = initParams(m, { seed });
  const rng = new Rng(seed + 1);
  for (const p of m.params)
    if (p.role === 'bias')
      for (let k = 0; k < p.size; k++) params[p.offset + k] = rng.normal(0, 0.3);
  const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
  let worst = { loss: 0, grad: 0, out: 0 };
  for (const count of counts) {
    const { inputs, targets } = batchData(m, spec.loss.name, count, seed + count);
    const work = new Arr(m.workSize);
    const gj = new Arr(m.paramCount);
    const lj = j.gradientBatch(params, inputs, targets, count, gj, work);
    const oj = new Arr(count * m.outputSize);
    j.forwardBatch(params, inputs, oj, count, work);
    const pw = inModule(w, params);
    const xw = inModule(w, inputs);
    // Garbage in grad must not leak into the result.
    const gw = w.alloc(m.paramCount).fill(5);
    const lw = w.gradientBatch(pw, xw, targets, count, gw, work);
    const ow = new Arr(count * m.outputSize);
    w.forwardBatch(pw, xw, ow, count, work);
    // f32 intermediates (both backends round some values to f32, at other places) can be
    // amplified by an ill-conditioned loss: beyond 1e-5, the wasm error may be up to 10× the
    // JS f32 module's own distance from the f64 result on the same data.
    let scale = { loss: 1, grad: 1, out: 1 };
    if (j64) {
      const f = (a: FloatArray) => Float64Array.from(a);
      const g64 = new Float64Array(m.paramCount);
      const w64 = new Float64Array(j64.model.workSize);
      const l64 = j64.gradientBatch(f(params), f(inputs), f(targets), count, g64, w64);
      const o64 = new Float64Array(count * m.outputSize);
      j64.forwardBatch(f(params), f(inputs), o64, count, w64);
      const allowed = (e: number) => Math.max(1, (10 * e) / tolerance('f32'));
      scale = {
        loss: allowed(Math.abs(lj - l64) / Math.max(1e-300, Math.abs(l64))),
        grad: allowed(relErr(gj, g64)),
        out: allowed(relErr(oj, o64)),
      };
    }
    worst = {
      loss: Math.max(worst.loss, Math.abs(lw - lj) / Math.max(1e-300, Math.abs(lj)) / scale.loss),
      grad: Math.max(worst.grad, relErr(gw, gj) / scale.grad),
      out: Math.max(worst.out, relErr(ow, oj) / scale.out),
    };
  }
  return worst;
}

const tolerance = (p: 'f32' | 'f64') => (p === 'f32' ? 1e-5 : 1e-12);

async function mnist(precision: 'f32' | 'f64'): Promise<ModelSpec> {
  const j = JSON.parse(fs.readFileSync('examples/mnist-mlp.model.json', 'utf8'));
  return parseModelBytes(
    new TextEncoder().encode(JSON.stringify({ ...j, precision })),
    'mnist-mlp.model.json',
  );
}

describe('WebAssembly backend', () => {
  for (const precision of ['f32', 'f64'] as const) {
    it(`mnist-mlp ${precision}: wasm agrees with JS (counts across chunk edges)`, async () => {
      const worst = await compare(await mnist(precision), [1, 2, 31, 32, 33, 70], 3);
      expect(worst.loss).toBeLessThanOrEqual(tolerance(precision));
      expect(worst.grad).toBeLessThanOrEqual(tolerance(precision));
      expect(worst.out).toBeLessThanOrEqual(tolerance(precision));
    });
  }

  it('random dense stacks (any last activation and loss, relu/linear hidden) agree with JS', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb({ maxWidth: 40, maxInput: 40 }), async (c: FuzzCase) => {
        const layers = c.model.layers.map((l, i, all) =>
          i === all.length - 1 ? l : { ...l, activation: i % 2 ? 'linear' : 'relu' },
        );
        const spec = await validateModel({ ...c.model, layers } as never, 'fuzz');
        const worst = await compare(spec, [1, 5, 37], c.seed, true);
        // Errors relative to the tolerance, scaled by the conditioning for f32 (see compare).
        // f32: the wasm kernels round every layer's output to f32 where the unrolled JS body
        // keeps doubles, and fuzzed heads (clipped cross-entropy of a linear output, custom
        // expressions) amplify that rounding: 1e-4 here, 1e-5 on the examples.
        const tol = spec.precision === 'f32' ? 1e-4 : tolerance('f64');
        expect(worst.grad).toBeLessThanOrEqual(tol);
        expect(worst.out).toBeLessThanOrEqual(tol);
        // A cross-entropy of an output that is not a sigmoid/softmax is clipped to [ε, 1 − ε]:
        // where an output lies at the clip, f32 rounding of the layer's sum (done in another
        // place by each backend) decides whether it is clipped, so the loss VALUE may jump
        // (by up to |log ε|/count) while the gradient, 0 through the clip, stays equal. Found
        // with `x + erf(x)`, which saturates just above 1: such losses are compared only in f64.
        const last = spec.layers[spec.layers.length - 1]!.activation.name;
        const clipped =
          spec.precision === 'f32' &&
          /CrossEntropy$/.test(spec.loss.name) &&
          last !== 'sigmoid' &&
          last !== 'softmax';
        if (!clipped) expect(worst.loss).toBeLessThanOrEqual(tol);
      }),
      { numRuns: 40, seed: 12 },
    );
  }, 120_000);

  // Every built-in hidden activation but relu / linear runs as a vector pass of its own.
  const HIDDEN = [
    'sigmoid',
    'tanh',
    'softplus',
    'elu',
    'selu',
    'leakyRelu',
    'swish',
    'gelu',
    'geluNew',
    'mish',
    'softsign',
    'hardSigmoid',
    'relu6',
  ];
  for (const precision of ['f64', 'f32'] as const) {
    it(`hidden activations on wasm agree with JS (${precision}): ${HIDDEN.join(', ')}`, async () => {
      for (const activation of HIDDEN) {
        const spec = await validateModel(
          {
            name: 'act',
            input: 37,
            layers: [
              { type: 'dense', units: 19, activation },
              { type: 'dense', units: 6, activation: 'tanh' },
              { type: 'dense', units: 4, activation: 'softmax' },
            ],
            loss: 'categoricalCrossEntropy',
            precision,
          },
          'act',
        );
        const code = compileSpec(spec, {
          format: 'js',
          source: 'a',
          backend: 'wasm',
          wasmCostRule: false,
        }).code;
        expect(code, activation).toContain(`k.act0(`);
        const worst = await compare(spec, [1, 5, 33], 11);
        const tol = tolerance(precision);
        expect(worst.out, activation).toBeLessThanOrEqual(tol);
        expect(worst.grad, activation).toBeLessThanOrEqual(tol);
        expect(worst.loss, activation).toBeLessThanOrEqual(tol);
      }
    });
  }

  it('an activation using an op without a vector kernel is refused with the op named', async () => {
    const spec = await validateModel(
      {
        name: 'sin',
        input: 80,
        layers: [
          { type: 'dense', units: 80, activation: { expr: 'sin(x)' } },
          { type: 'dense', units: 2, activation: 'softmax' },
        ],
        loss: 'categoricalCrossEntropy',
      },
      'sin',
    );
    expect(describeWasm(lower(spec))).toMatch(
      /layer 0's activation custom: it uses sin, which has no WebAssembly kernel/,
    );
  });

  it('the wasm gradient matches central differences of the loss (f64)', async () => {
    const spec = await validateModel(
      {
        name: 'fd',
        input: 70,
        layers: [
          { type: 'dense', units: 24, activation: 'relu' },
          { type: 'dense', units: 9, activation: 'linear' },
          { type: 'dense', units: 5, activation: 'softmax' },
        ],
        loss: 'categoricalCrossEntropy',
      },
      'fd',
    );
    const w = await loadBackend(spec, 'wasm');
    const m = w.model;
    const params = inModule(w, initParams(m, { seed: 4 }));
    const count = 6;
    const d = batchData(m, 'categoricalCrossEntropy', count, 9);
    const inputs = inModule(w, d.inputs);
    const grad = w.alloc(m.paramCount);
    const work = new Float64Array(m.workSize);
    w.gradientBatch(params, inputs, d.targets, count, grad, work);
    const meanLoss = () => {
      let s = 0;
      for (let i = 0; i < count; i++)
        s += w.loss(
          params,
          d.inputs.subarray(i * m.inputSize, (i + 1) * m.inputSize),
          d.targets.subarray(i * m.outputSize, (i + 1) * m.outputSize),
          work,
        );
      return s / count;
    };
    const rng = new Rng(2);
    let worst = 0;
    for (let n = 0; n < 60; n++) {
      const k = rng.int(m.paramCount);
      const h = 1e-5;
      const p0 = params[k]!;
      params[k] = p0 + h;
      const up = meanLoss();
      params[k] = p0 - h;
      const down = meanLoss();
      params[k] = p0;
      const fd = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[k]!) / (1e-6 + Math.abs(fd) + Math.abs(grad[k]!)));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('contract: alloc arrays live in the memory and survive its growth; others take the slow path', async () => {
    const spec = await mnist('f32');
    const w = await loadBackend(spec, 'wasm');
    const m = w.model;
    const params = w.alloc(m.paramCount);
    expect(params).toBeInstanceOf(Float32Array);
    expect(params.every((v) => v === 0)).toBe(true);
    params.set(initParams(m, { seed: 1 }));
    // 64 MB more: the memory grows; the first array keeps its contents.
    const big = w.alloc(16 * 1024 * 1024);
    expect(big.length).toBe(16 * 1024 * 1024);
    expect(params.length).toBe(m.paramCount);
    const { inputs, targets } = batchData(m, 'categoricalCrossEntropy', 8, 1);
    const work = new Float32Array(m.workSize);
    const fast = w.alloc(m.paramCount);
    const lf = w.gradientBatch(params, inModule(w, inputs), targets, 8, fast, work);
    const slow = new Float32Array(m.paramCount);
    const ls = w.gradientBatch(new Float32Array(params), inputs, targets, 8, slow, work);
    expect(Math.abs(lf - ls) / ls).toBeLessThan(1e-5);
    expect(relErr(fast, slow)).toBeLessThan(1e-5);
  });

  for (const precision of ['f32', 'f64'] as const)
    it(`contract: the optional sgd export updates params -= lr·grad, in the memory and on other arrays (${precision})`, async () => {
      const w = (await loadBackend(await mnist(precision), 'wasm')) as Batched & {
        sgd(params: FloatArray, grad: FloatArray, lr: number): void;
      };
      // Declared for JS consumers too (the .d.ts beside a .js module).
      const js = compileSpec(
        { ...(await mnist(precision)), backend: 'wasm' },
        { format: 'js', source: 'm.json' },
      );
      const arr = precision === 'f32' ? 'Float32Array' : 'Float64Array';
      expect(js.declarations).toContain(
        `export declare function sgd(params: ${arr}, grad: ${arr}, lr: number): void;`,
      );
      const rng = new Rng(7);
      const lr = 0.0375;
      // The whole parameter vector (101,770: a partial last vector) and 7 elements (3 only in
      // the scalar tail for f64, 1 vector + 3 for f32), the latter followed by a guard array.
      for (const n of [w.model.paramCount, 7]) {
        const p = w.alloc(n).map(() => rng.range(-1, 1));
        const g = w.alloc(n).map(() => rng.range(-1, 1));
        const guard = w.alloc(4).fill(9);
        const want = Float64Array.from(p, (v, i) => v - lr * g[i]!);
        const slowP = p.slice();
        w.sgd(p, g, lr);
        expect(guard.every((v) => v === 9)).toBe(true);
        if (precision === 'f64') expect(Array.from(p)).toEqual(Array.from(want));
        // f32: lr rounded to f32 and two roundings per element, within an ulp or two.
        else
          for (let i = 0; i < n; i++)
            expect(Math.abs(p[i]! - want[i]!)).toBeLessThanOrEqual(
              4 * 2 ** -24 * Math.max(Math.abs(want[i]!), 2 ** -10),
            );
        // Arrays from elsewhere: the JavaScript loop, one rounding.
        w.sgd(slowP, g.slice(), lr);
        expect(Array.from(slowP)).toEqual(
          Array.from(precision === 'f32' ? Float32Array.from(want) : want),
        );
      }
    });

  it('contract: a wasm entry point before init() throws one clear error; JS-only modules resolve at once', async () => {
    const spec = await mnist('f64');
    const w = await loadBackend(spec, 'wasm', { init: false });
    const m = w.model;
    const a = (n: number) => new Float64Array(n);
    expect(() =>
      w.forwardBatch(a(m.paramCount), a(m.inputSize), a(m.outputSize), 1, a(m.workSize)),
    ).toThrow(/await init\(\) before calling forwardBatch/);
    const j = await loadBackend(spec, 'js', { init: false });
    await expect(j.init()).resolves.toBeUndefined();
    const x = j.alloc(7);
    expect(x).toBeInstanceOf(Float64Array);
    expect(x.length).toBe(7);
  });

  it('inspect --after wasm prints every kernel as WAT, or why the model stays on JS', async () => {
    const wat = describeWasm(lower(await mnist('f32')));
    for (const k of ['fwd0', 'fwd1', 'gw0', 'gw1', 'gb0', 'gb1', 'dx1', 'tr1', 'clear', 'sgd'])
      expect(wat).toContain(`(func $${k} (export "${k}")`);
    expect(wat).toContain('f32x4.mul');
    const rnn = await parseModelBytes(fs.readFileSync('examples/ink-lstm.model.json'), 'rnn');
    // The LSTM has no layer plan; its whole per-sample programs are what `backend: wasm` runs.
    const whole = describeWasm(lower(rnn));
    expect(whole).toMatch(/no layer plan for .*lstm/);
    for (const k of ['fb', 'gb', 'fwd', 'grad'])
      expect(whole).toContain(`(func $${k} (export "${k}")`);
    expect(wat).toContain('(func $headg (export "headg")');
  });

  it('the embedded bytes are deterministic', async () => {
    const spec = await mnist('f32');
    const a = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    const b = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    expect(a).toBe(b);
  });
});

describe('WebAssembly module text', () => {
  it('the TypeScript output type-checks under --strict --noUncheckedIndexedAccess', async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const path = await import('node:path');
    const spec = await mnist('f32');
    const code = compileSpec({ ...spec, backend: 'wasm' }, { format: 'ts', source: 'm' }).code;
    expect(code).toContain('const wasmBytes');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-wasm-'));
    try {
      const file = path.join(dir, 'mnist-wasm.ts');
      fs.writeFileSync(file, code);
      const r = spawnSync(
        path.join('node_modules', '.bin', 'tsc'),
        [
          '--ignoreConfig',
          '--strict',
          '--noUncheckedIndexedAccess',
          '--noEmit',
          '--target',
          'es2022',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--types',
          'node',
          file,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('relaxed SIMD', () => {
  it('where the engine has it (node --experimental-wasm-relaxed-simd), init() picks the fused kernels; results stay within tolerance, and relaxedSimd: false gives the plain ones bit for bit', async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const path = await import('node:path');
    const spec = await mnist('f32');
    const code = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-relaxed-'));
    try {
      fs.writeFileSync(path.join(dir, 'm.mjs'), code);
      // Three fresh module instances (query strings): plain reference, default, opted out.
      const probe = `
        const fma = (b) => WebAssembly.validate(Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
        const src = await (await import('node:fs')).promises.readFile(new URL('./m.mjs', import.meta.url), 'utf8');
        const run = async (tag, opts) => {
          const m = await import('./m.mjs?' + tag);
          await m.init(opts);
          const M = m.model, n = 9;
          const p = m.alloc(M.paramCount), x = m.alloc(n * M.inputSize), g = m.alloc(M.paramCount);
          for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.05;
          for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.3);
          const t = new Float32Array(n * M.outputSize);
          for (let s = 0; s < n; s++) t[s * M.outputSize + (s % M.outputSize)] = 1;
          const loss = m.gradientBatch(p, x, t, n, g, new Float32Array(M.workSize));
          return { loss, g: Array.from(g) };
        };
        const fmaBytes = /const wasmBytesFma = '([^']*)'/.exec(src)[1];
        const a = await run('a', { relaxedSimd: false });
        const b = await run('b');
        const c = await run('c', { relaxedSimd: false });
        let num = 0, den = 0;
        for (let k = 0; k < a.g.length; k++) { num += (a.g[k] - b.g[k]) ** 2; den += a.g[k] ** 2; }
        console.log(JSON.stringify({ fma: fma(fmaBytes), rel: Math.sqrt(num / den),
          same: a.g.every((v, k) => v === c.g[k]) && a.loss === c.loss }));
      `;
      fs.writeFileSync(path.join(dir, 'probe.mjs'), probe);
      const r = spawnSync(
        process.execPath,
        ['--experimental-wasm-relaxed-simd', path.join(dir, 'probe.mjs')],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout.trim()) as { fma: boolean; rel: number; same: boolean };
      expect(out.fma).toBe(true);
      expect(out.rel).toBeLessThan(1e-5);
      expect(out.same).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('WebAssembly hot path', () => {
  it('forwardBatch, gradientBatch and sgd on alloc arrays allocate nothing per call (a fresh V8)', async () => {
    const spec = await mnist('f32');
    const code = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    const bytes = allocPerCall(code, { samples: 9, calls: 2000, oneHot: false, sgd: true });
    // As for the JS entry points: a returned double may be boxed (16 bytes), nothing else.
    // A measurement has ~2 KB of constant noise (a JS-only module shows the same), here
    // spread over 2000 calls.
    expect(bytes.forwardBatch).toBeLessThanOrEqual(2);
    expect(bytes.gradientBatch).toBeLessThanOrEqual(16 + 2);
    expect(bytes.sgd).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe('runtime on a WebAssembly module', () => {
  it('train() runs through alloc and gradientBatch: the same history as the JS module, params written back', async () => {
    const { train } = await import('../../runtime/train.ts');
    const spec = await mnist('f64');
    const w = await loadBackend(spec, 'wasm');
    const j = await loadBackend(spec, 'js');
    const m = w.model;
    const count = 70;
    const { inputs, targets } = batchData(m, 'categoricalCrossEntropy', count, 5);
    const data = { inputs, targets, count };
    const run = (mod: Batched) => {
      const params = initParams(m, { seed: 8 });
      const history = train(mod, params, data, { epochs: 2, batchSize: 32, seed: 1 });
      return { params, losses: history.epochs.map((e) => e.loss) };
    };
    // Every array gradientBatch gets must come from alloc (the zero-copy path).
    const allocated = new Set<FloatArray>();
    let fast = 0;
    const spy: Batched = {
      ...w,
      alloc: (n: number) => {
        const x = w.alloc(n);
        allocated.add(x);
        return x;
      },
      gradientBatch: (p, x, t, n, g, wk) => {
        if (allocated.has(p) && allocated.has(x) && allocated.has(g)) fast++;
        else throw new Error('gradientBatch got an array from outside the module memory');
        return w.gradientBatch(p, x, t, n, g, wk);
      },
    };
    const a = run(spy);
    expect(fast).toBe(2 * Math.ceil(count / 32));
    const b = run(j);
    expect(a.losses).toHaveLength(2);
    for (let e = 0; e < 2; e++)
      expect(Math.abs(a.losses[e]! - b.losses[e]!) / b.losses[e]!).toBeLessThan(1e-10);
    // The caller's array holds the trained parameters (training ran on a copy in the memory).
    expect(relErr(a.params, b.params)).toBeLessThan(1e-10);
    expect(relErr(a.params, initParams(m, { seed: 8 }))).toBeGreaterThan(1e-6);
  });
});
