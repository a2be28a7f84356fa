// Whole per-sample programs on WebAssembly (compiler/backends/wasm/whole.ts) for models the
// layer plan does not take, under `"backend": "wasm"`: forwardBatch and gradientBatch against
// the JS backend over 37 samples (f64 within 1e-12, f32 within 1e-5 norm-wise), arrays from
// elsewhere on the JS fallback, nothing allocated per call; and the models that stay on JS.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wasmRefusal } from '../../compiler/backends/wasm/plan.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { Rng } from '../../runtime/random.ts';
import { exampleFiles, loadSpec } from '../compiler/helpers.ts';
import { allocPerCall, loadBackend, relErr, type Batched } from './harness.ts';

const COUNT = 37;
const WHOLE = ['names-gru', 'ink-lstm', 'residual-mlp', 'two-input'];

async function example(name: string): Promise<ModelSpec> {
  return loadSpec(exampleFiles().find((f) => f.endsWith(`/${name}.model.json`))!);
}

function data(m: Batched['model'], seed: number) {
  const rng = new Rng(seed);
  const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
  const params = new Arr(m.paramCount).map(() => rng.range(-0.3, 0.3));
  // Inputs in [0, 1) cover the one-hot and id inputs too (floored ids stay in range).
  const inputs = new Arr(COUNT * m.inputSize).map(() => rng.uniform());
  const targets = new Arr(COUNT * m.outputSize).map(() => rng.uniform());
  return { params, inputs, targets };
}

describe('whole programs on WebAssembly (backend wasm, models the layer plan refuses)', () => {
  for (const name of WHOLE) {
    for (const precision of ['f64', 'f32'] as const) {
      it(`${name} ${precision}: forwardBatch and gradientBatch = the JS backend`, async () => {
        const spec = { ...(await example(name)), precision };
        expect(wasmRefusal(spec, false)).not.toBeNull();
        const w = await loadBackend(spec, 'wasm');
        const j = await loadBackend(spec, 'js');
        const m = j.model;
        const d = data(m, name.length);
        const inMem = (a: Float32Array | Float64Array) => {
          const b = w.alloc(a.length);
          b.set(a);
          return b;
        };
        const [pw, xw, tw] = [inMem(d.params), inMem(d.inputs), inMem(d.targets)];
        const Arr = precision === 'f32' ? Float32Array : Float64Array;
        const work = new Arr(m.workSize);
        const oj = new Arr(COUNT * m.outputSize);
        j.forwardBatch(d.params, d.inputs, oj, COUNT, work);
        const ow = w.alloc(COUNT * m.outputSize);
        w.forwardBatch(pw, xw, ow, COUNT, work);
        const gj = new Arr(m.paramCount);
        const lj = j.gradientBatch(d.params, d.inputs, d.targets, COUNT, gj, work);
        const gw = w.alloc(m.paramCount).fill(NaN);
        const lw = w.gradientBatch(pw, xw, tw, COUNT, gw, work);
        const tol = precision === 'f32' ? 1e-5 : 1e-12;
        expect(relErr(ow, oj), 'outputs').toBeLessThanOrEqual(tol);
        expect(relErr(gw, gj), 'gradient').toBeLessThanOrEqual(tol);
        expect(Math.abs(lw - lj) / Math.abs(lj), 'loss').toBeLessThanOrEqual(tol);
        // The vector sgd export works on these modules too.
        const p2 = w.alloc(m.paramCount);
        p2.set(pw);
        w.sgd(p2, gw, 0.5);
        for (let k = 0; k < m.paramCount; k += 97)
          expect(p2[k]).toBeCloseTo(pw[k]! - 0.5 * gw[k]!, precision === 'f32' ? 5 : 12);
        // Arrays from elsewhere: the JS fallback, the same numbers.
        const g2 = new Arr(m.paramCount);
        expect(w.gradientBatch(d.params, d.inputs, d.targets, COUNT, g2, work)).toBe(lj);
        expect(Array.from(g2)).toEqual(Array.from(gj));
      }, 120_000);
    }
  }

  it('runs the samples in WebAssembly and allocates nothing per call (names-gru f32)', async () => {
    const spec = {
      ...(await example('names-gru')),
      precision: 'f32' as const,
      backend: 'wasm' as const,
    };
    const { code } = compileSpec(spec, { format: 'js', source: 'm.json' });
    expect(code).toContain('k.gb(');
    // As for the layer plan's modules: ~2 KB of constant noise per measurement, spread over
    // 2000 calls; a returned double may be boxed (16 bytes).
    const bytes = allocPerCall(code, {
      samples: 9,
      calls: 2000,
      oneHot: true,
      sgd: false,
      memory: true,
    });
    expect(bytes.forwardBatch).toBeLessThanOrEqual(2);
    expect(bytes.gradientBatch).toBeLessThanOrEqual(16 + 2);
  }, 120_000);

  it('keeps a tiny dense stack under the cost rule on JS under "wasm" too (xor)', async () => {
    const xor = { ...(await example('xor')), backend: 'wasm' as const };
    expect(compileSpec(xor, { format: 'js', source: 'm.json' }).code).not.toContain(
      'const wasmBytes',
    );
  });

  it('keeps training-mode models (batch statistics) and auto on JS', async () => {
    const bn = await loadSpec(
      path.join(import.meta.dirname, '../compiler/fixtures/train-mode.model.json'),
    );
    const wasm = compileSpec({ ...bn, backend: 'wasm' }, { format: 'js', source: 'm.json' });
    expect(wasm.code).not.toContain('const wasmBytes');
    const gru = await example('names-gru');
    const auto = compileSpec(gru, { format: 'js', source: 'm.json' });
    expect(auto.code).not.toContain('const wasmBytes');
  });
});
