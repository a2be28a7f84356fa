// Convolutions, pooling and flatten on the WebAssembly backend: the wasm batched entry points
// against the JS backend's (itself checked against the IR interpreter, finite differences and
// TF.js elsewhere) on the CNN example and on conv variants (every padding, strides 1 and 2,
// dilation 2, conv1d, max and average pools with overlapping and padded windows, conv after
// conv), the gradient against central differences, and the allocation probe.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelBytes, validateModel } from '../../compiler/format/parse.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { compileSpec, lower } from '../../compiler/pipeline.ts';
import { describeWasm } from '../../compiler/backends/wasm/describe.ts';
import { wasmRefusal } from '../../compiler/backends/wasm/plan.ts';
import { initParams } from '../../runtime/init.ts';
import { Rng } from '../../runtime/random.ts';
import type { FloatArray } from '../../runtime/types.ts';
import { allocPerCall, loadBackend, relErr, type Batched } from './harness.ts';

const tolerance = (p: 'f32' | 'f64') => (p === 'f32' ? 1e-5 : 1e-12);

function data(m: Batched['model'], count: number, seed: number) {
  const rng = new Rng(seed);
  const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
  const inputs = new Arr(count * m.inputSize).map(() => rng.range(-1, 1));
  const targets = new Arr(count * m.outputSize);
  for (let s = 0; s < count; s++) targets[s * m.outputSize + rng.int(m.outputSize)] = 1;
  return { inputs, targets };
}

function inModule(mod: Batched, a: FloatArray): FloatArray {
  const b = mod.alloc(a.length);
  b.set(a);
  return b;
}

/** Worst relative errors of wasm against JS (loss, gradient, outputs) over `counts`. */
async function compare(spec: ModelSpec, counts: readonly number[], seed: number) {
  const w = await loadBackend(spec, 'wasm');
  const j = await loadBackend(spec, 'js');
  const m = w.model;
  const params = initParams(m, { seed });
  const rng = new Rng(seed + 1);
  // Nonzero biases, so that the bias gradient and the relu masks are exercised.
  for (const p of m.params)
    if (p.role === 'bias')
      for (let k = 0; k < p.size; k++) params[p.offset + k] = rng.normal(0, 0.2);
  const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
  const worst = { loss: 0, grad: 0, out: 0 };
  for (const count of counts) {
    const { inputs, targets } = data(m, count, seed + count);
    const work = new Arr(m.workSize);
    const gj = new Arr(m.paramCount);
    const lj = j.gradientBatch(params, inputs, targets, count, gj, work);
    const oj = new Arr(count * m.outputSize);
    j.forwardBatch(params, inputs, oj, count, work);
    const pw = inModule(w, params);
    const xw = inModule(w, inputs);
    const gw = w.alloc(m.paramCount).fill(5);
    const lw = w.gradientBatch(pw, xw, targets, count, gw, work);
    const ow = new Arr(count * m.outputSize);
    w.forwardBatch(pw, xw, ow, count, work);
    worst.loss = Math.max(worst.loss, Math.abs(lw - lj) / Math.abs(lj));
    worst.grad = Math.max(worst.grad, relErr(gw, gj));
    worst.out = Math.max(worst.out, relErr(ow, oj));
  }
  return worst;
}

async function cnn(precision: 'f32' | 'f64'): Promise<ModelSpec> {
  const j = JSON.parse(fs.readFileSync('examples/mnist-cnn.model.json', 'utf8'));
  return parseModelBytes(
    new TextEncoder().encode(JSON.stringify({ ...j, precision })),
    'mnist-cnn.model.json',
  );
}

type Layer = Record<string, unknown>;

/** A small conv net: `body` then (flatten →) dense 5 softmax. */
async function net(
  name: string,
  input: number[],
  body: Layer[],
  precision: 'f32' | 'f64',
): Promise<ModelSpec> {
  return validateModel(
    {
      name,
      input,
      precision,
      layers: [
        ...body,
        ...(body[body.length - 1]?.type === 'dense' ? [] : [{ type: 'flatten' }]),
        { type: 'dense', units: 5, activation: 'softmax' },
      ],
      loss: 'categoricalCrossEntropy',
    } as never,
    name,
  );
}

const conv = (o: Layer): Layer => ({ type: 'conv2d', activation: 'relu', ...o });

/** Conv variants: each a body over a [9, 10, 3] input (odd and even extents). */
const VARIANTS: [string, number[], Layer[]][] = [
  [
    'conv → dense relu (relu′ fused in the dense backward)',
    [9, 10, 3],
    [
      conv({ filters: 4, kernelSize: 3 }),
      { type: 'flatten' },
      { type: 'dense', units: 7, activation: 'relu' },
    ],
  ],
  [
    'frozen conv under a trainable one',
    [9, 10, 3],
    [conv({ filters: 4, kernelSize: 3, trainable: false }), conv({ filters: 3, kernelSize: 3 })],
  ],
  [
    'max pool 2 strides 3 (gaps between windows)',
    [9, 10, 3],
    [conv({ filters: 4, kernelSize: 2 }), { type: 'maxPooling2d', poolSize: 2, strides: 3 }],
  ],
  [
    'conv1d dilation 2, 10 filters (a partial vector)',
    [20, 3],
    [
      { type: 'conv1d', filters: 10, kernelSize: 3, dilationRate: 2, activation: 'relu' },
      { type: 'maxPooling1d', poolSize: 3 },
    ],
  ],
  ['valid 3x3', [9, 10, 3], [conv({ filters: 4, kernelSize: 3 })]],
  [
    'same 3x3 + max pool',
    [9, 10, 3],
    [conv({ filters: 8, kernelSize: 3, padding: 'same' }), { type: 'maxPooling2d', poolSize: 2 }],
  ],
  [
    'same stride 2 (odd padding)',
    [9, 10, 3],
    [conv({ filters: 6, kernelSize: 3, strides: 2, padding: 'same' })],
  ],
  [
    'valid stride 2, 2x3 kernel, no bias',
    [9, 10, 3],
    [conv({ filters: 5, kernelSize: [2, 3], strides: 2, useBias: false })],
  ],
  [
    'same dilation 2, linear',
    [9, 10, 3],
    [conv({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'linear' })],
  ],
  [
    'valid dilation 2 + avg pool',
    [9, 10, 3],
    [
      conv({ filters: 4, kernelSize: 3, dilationRate: 2 }),
      { type: 'averagePooling2d', poolSize: 2 },
    ],
  ],
  [
    'conv → conv (relu mask through col2im)',
    [9, 10, 3],
    [
      conv({ filters: 4, kernelSize: 3, padding: 'same' }),
      conv({ filters: 6, kernelSize: 3, strides: 2 }),
    ],
  ],
  [
    'overlapping same max pool, 3 strides 2',
    [9, 10, 3],
    [
      conv({ filters: 4, kernelSize: 3 }),
      { type: 'maxPooling2d', poolSize: 3, strides: 2, padding: 'same' },
      conv({ filters: 3, kernelSize: 2 }),
    ],
  ],
  [
    'same avg pool 3 stride 1 (padding not counted)',
    [9, 10, 3],
    [
      conv({ filters: 4, kernelSize: 3 }),
      { type: 'averagePooling2d', poolSize: 3, strides: 1, padding: 'same' },
    ],
  ],
  [
    'pool first, then conv',
    [9, 10, 3],
    [{ type: 'maxPooling2d', poolSize: 2 }, conv({ filters: 4, kernelSize: 3, padding: 'same' })],
  ],
  [
    'conv1d same + max pool 1d',
    [20, 3],
    [
      { type: 'conv1d', filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' },
      { type: 'maxPooling1d', poolSize: 2 },
    ],
  ],
  [
    'conv1d stride 2 + avg pool 1d',
    [21, 2],
    [
      { type: 'conv1d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
      { type: 'averagePooling1d', poolSize: 3, strides: 2, padding: 'same' },
    ],
  ],
];

describe('WebAssembly backend: convolutions and pooling', () => {
  for (const precision of ['f32', 'f64'] as const) {
    it(`mnist-cnn ${precision}: wasm agrees with JS (counts across chunk edges)`, async () => {
      const spec = await cnn(precision);
      expect(wasmRefusal(spec)).toBeNull();
      const worst = await compare(spec, [1, 3, 32, 33], 7);
      expect(worst.loss).toBeLessThanOrEqual(tolerance(precision));
      expect(worst.grad).toBeLessThanOrEqual(tolerance(precision));
      expect(worst.out).toBeLessThanOrEqual(tolerance(precision));
    }, 120_000);
  }

  for (const [name, input, body] of VARIANTS)
    for (const precision of ['f32', 'f64'] as const)
      it(`${name} (${precision}): wasm agrees with JS`, async () => {
        const spec = await net(name.replace(/\W+/g, '-'), input, body, precision);
        expect(wasmRefusal(spec, false)).toBeNull();
        const worst = await compare(spec, [1, 5, 34], 11);
        expect(worst.loss).toBeLessThanOrEqual(tolerance(precision));
        expect(worst.grad).toBeLessThanOrEqual(tolerance(precision));
        expect(worst.out).toBeLessThanOrEqual(tolerance(precision));
      });

  it('the wasm gradient of a conv net matches central differences of the loss (f64)', async () => {
    const spec = await net(
      'fd-conv',
      [7, 8, 2],
      [
        conv({ filters: 3, kernelSize: 3, padding: 'same' }),
        { type: 'maxPooling2d', poolSize: 2 },
        conv({ filters: 4, kernelSize: 2, strides: 2 }),
        { type: 'averagePooling2d', poolSize: 2, padding: 'same' },
      ],
      'f64',
    );
    const w = await loadBackend(spec, 'wasm');
    const m = w.model;
    const params = inModule(w, initParams(m, { seed: 4 }));
    const count = 6;
    const d = data(m, count, 9);
    const inputs = inModule(w, d.inputs);
    const grad = w.alloc(m.paramCount);
    const work = new Float64Array(m.workSize);
    w.gradientBatch(params, inputs, d.targets, count, grad, work);
    // The mean loss as gradientBatch returns it (into a scratch grad): the wasm path throughout.
    const scratch = w.alloc(m.paramCount);
    const loss = () => w.gradientBatch(params, inputs, d.targets, count, scratch, work);
    let worst = 0;
    for (let k = 0; k < m.paramCount; k++) {
      const h = 1e-6;
      const p0 = params[k]!;
      params[k] = p0 + h;
      const up = loss();
      params[k] = p0 - h;
      const down = loss();
      params[k] = p0;
      const fd = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[k]!) / (1e-6 + Math.abs(fd) + Math.abs(grad[k]!)));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('refuses what it does not lower, with the reason', async () => {
    const lastConv = await validateModel(
      {
        name: 'last-conv',
        input: [6, 6, 1],
        layers: [{ type: 'conv2d', filters: 2, kernelSize: 3 }],
        loss: 'mse',
      } as never,
      'x',
    );
    expect(wasmRefusal(lastConv, false)).toMatch(/last layer \(conv2d\) is not dense/);
    const tanh = await net(
      'tanh-conv',
      [6, 6, 1],
      [conv({ filters: 2, kernelSize: 3, activation: 'tanh' })],
      'f32',
    );
    expect(wasmRefusal(tanh, false)).toMatch(/activation tanh is not fused/);
  });

  it('inspect --after wasm prints the conv and pool kernels as WAT', async () => {
    const wat = describeWasm(lower(await cnn('f32')));
    for (const k of [
      'im2col0',
      'convz0',
      'cfwd0',
      'cgw0',
      'gb0',
      'pool1',
      'poolb1',
      'cdx2',
      'col2im2',
      'tr2',
      'mask',
      'fwd4',
      'dx4',
    ])
      expect(wat).toContain(`(func $${k} (export "${k}")`);
    expect(wat).toContain('call $im2col0');
    expect(wat).toMatch(/layer 0: conv 3×3×1 → 8/);
  });
});

describe('WebAssembly conv hot path', () => {
  it('the CNN forwardBatch and gradientBatch on alloc arrays allocate nothing per call (a fresh V8)', async () => {
    const spec = await cnn('f32');
    const code = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    // 33 samples: a full chunk and a partial one.
    const bytes = allocPerCall(code, { samples: 33, calls: 200, oneHot: true, sgd: false });
    // ~2 KB of constant noise over 200 calls. gradientBatch returns a double (a loss that is
    // not a small integer, with these one-hot targets): the JS backend's gradientBatch shows
    // the same ~50 bytes per call in this probe. Boxing anything per sample (the head's
    // loss, say) would cost 16 bytes × 33.
    expect(bytes.forwardBatch).toBeLessThanOrEqual(12);
    expect(bytes.gradientBatch).toBeLessThanOrEqual(64);
  }, 120_000);
});

describe('the cost rule with convolutions', () => {
  it('a model with a convolution goes to wasm at any size; pooling alone does not lift the dense rule', async () => {
    const tiny = await net(
      'tiny-conv',
      [4, 4, 1],
      [conv({ filters: 1, kernelSize: 3, padding: 'same' })],
      'f32',
    );
    expect(wasmRefusal(tiny)).toBeNull();
    const poolOnly = await net(
      'pool-only',
      [4, 4, 1],
      [{ type: 'maxPooling2d', poolSize: 2 }],
      'f32',
    );
    expect(wasmRefusal(poolOnly)).toMatch(/under the cost rule/);
    expect(wasmRefusal(poolOnly, false)).toBeNull();
  });
});

describe('relaxed SIMD on the conv kernels', () => {
  it('with --experimental-wasm-relaxed-simd the CNN takes the fused kernels and stays within tolerance of the plain ones', async () => {
    const { spawnSync } = await import('node:child_process');
    const os = await import('node:os');
    const path = await import('node:path');
    const spec = await cnn('f32');
    const code = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'm' }).code;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-conv-relaxed-'));
    try {
      fs.writeFileSync(path.join(dir, 'm.mjs'), code);
      const probe = `
        const src = await (await import('node:fs')).promises.readFile(new URL('./m.mjs', import.meta.url), 'utf8');
        const fmaBytes = /const wasmBytesFma = '([^']*)'/.exec(src)[1];
        const fma = WebAssembly.validate(Uint8Array.from(atob(fmaBytes), (c) => c.charCodeAt(0)));
        const run = async (tag, opts) => {
          const m = await import('./m.mjs?' + tag);
          await m.init(opts);
          const M = m.model, n = 33;
          const p = m.alloc(M.paramCount), x = m.alloc(n * M.inputSize), g = m.alloc(M.paramCount);
          for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.1;
          for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.3);
          const t = new Float32Array(n * M.outputSize);
          for (let s = 0; s < n; s++) t[s * M.outputSize + (s % M.outputSize)] = 1;
          const loss = m.gradientBatch(p, x, t, n, g, new Float32Array(M.workSize));
          return { loss, g: Array.from(g) };
        };
        const a = await run('a', { relaxedSimd: false });
        const b = await run('b');
        let num = 0, den = 0;
        for (let k = 0; k < a.g.length; k++) { num += (a.g[k] - b.g[k]) ** 2; den += a.g[k] ** 2; }
        console.log(JSON.stringify({ fma, rel: Math.sqrt(num / den), loss: Math.abs(a.loss - b.loss) / a.loss }));
      `;
      fs.writeFileSync(path.join(dir, 'probe.mjs'), probe);
      const r = spawnSync(
        process.execPath,
        ['--experimental-wasm-relaxed-simd', path.join(dir, 'probe.mjs')],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout.trim()) as { fma: boolean; rel: number; loss: number };
      expect(out.fma).toBe(true);
      expect(out.rel).toBeLessThan(1e-5);
      expect(out.loss).toBeLessThan(1e-5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('runtime on a conv WebAssembly module', () => {
  it('train() on the CNN (f64): the same history and parameters as the JS module', async () => {
    const { train } = await import('../../runtime/train.ts');
    const spec = await cnn('f64');
    const w = await loadBackend(spec, 'wasm');
    const j = await loadBackend(spec, 'js');
    const m = w.model;
    const count = 70;
    const { inputs, targets } = data(m, count, 5);
    const run = (mod: Batched) => {
      const params = initParams(m, { seed: 8 });
      const history = train(
        mod,
        params,
        { inputs, targets, count },
        { epochs: 2, batchSize: 32, seed: 1 },
      );
      return { params, losses: history.epochs.map((e) => e.loss) };
    };
    const a = run(w);
    const b = run(j);
    expect(a.losses).toHaveLength(2);
    for (let e = 0; e < 2; e++)
      expect(Math.abs(a.losses[e]! - b.losses[e]!) / b.losses[e]!).toBeLessThan(1e-10);
    expect(relErr(a.params, b.params)).toBeLessThan(1e-10);
    expect(relErr(a.params, initParams(m, { seed: 8 }))).toBeGreaterThan(1e-6);
  }, 120_000);
});
