// The sparse kernel gradient (gemm.ts sparseGradient) against the dense gemm it replaces for
// a relu layer: the same sums bit for bit when dZ has exact zeros, over widths that end in a
// partial vector or a narrower block, writing and accumulating, f32 and f64.
import { describe, expect, it } from 'vitest';
import { encodeModule } from '../../compiler/backends/wasm/encode.ts';
import {
  gemm,
  sparseGradient,
  sparseLists,
  type Precision,
} from '../../compiler/backends/wasm/gemm.ts';

const CHUNK = 32;

function run(precision: Precision, inputs: number, units: number, samples: number) {
  const e = precision === 'f64' ? 8 : 4;
  const base = { precision, bias: false, relu: false, mask: false, fma: false } as const;
  const fns = [true, false].flatMap((accumulate) => [
    gemm({
      ...base,
      name: `dense${+accumulate}`,
      n: units,
      aRow: 1,
      aCol: inputs,
      ldb: units,
      ldc: units,
      accumulate,
    }),
    sparseGradient({
      name: `sparse${+accumulate}`,
      precision,
      inputs,
      units,
      chunk: CHUNK,
      accumulate,
    }),
  ]);
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
  const module = new WebAssembly.Module(encodeModule(fns, 32, 32).bytes as Uint8Array<ArrayBuffer>);
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<
    string,
    (...a: number[]) => void
  >;
  const Arr = precision === 'f64' ? Float64Array : Float32Array;
  const view = new Arr(memory.buffer);
  const pad = (bytes: number) => Math.ceil((bytes + 16) / 16) * 16;
  const X = 64;
  const DZ = X + pad(samples * inputs * e);
  const G = DZ + pad(samples * units * e);
  const LISTS = G + pad(inputs * units * e);
  expect(LISTS + sparseLists(precision, units, CHUNK).bytes).toBeLessThan(32 * 65536);
  for (let i = 0; i < samples * inputs; i++) view[X / e + i] = Math.sin(i * 0.73) * 3;
  // About half of dZ exactly zero (±0), as a relu′ mask leaves it.
  for (let i = 0; i < samples * units; i++)
    view[DZ / e + i] = Math.sin(i * 12.9898) > 0 ? Math.cos(i * 0.31) : i % 3 ? 0 : -0;
  const start = Array.from({ length: inputs * units }, (_, i) => Math.cos(i * 1.3));
  const result = (name: string, accumulate: boolean) => {
    view.set(accumulate ? start : start.map(() => 7), G / e);
    if (name === 'dense') k[`dense${+accumulate}`]!(G, X, DZ, 0, inputs, samples);
    else k[`sparse${+accumulate}`]!(G, X, DZ, LISTS, 0, samples);
    return Array.from(view.subarray(G / e, G / e + inputs * units));
  };
  return { result };
}

describe('sparse kernel gradient', () => {
  for (const precision of ['f32', 'f64'] as const)
    for (const [inputs, units, samples] of [
      [784, 128, 32],
      [13, 1, 5],
      [17, 3, 32],
      [37, 10, 1],
      [2, 7, 9],
    ] as const)
      it(`${precision} ${inputs}×${units}, ${samples} samples: the dense gemm's sums`, () => {
        const { result } = run(precision, inputs, units, samples);
        // Written from zero, the same sums bit for bit.
        expect(result('sparse', false)).toEqual(result('dense', false));
        // Accumulating, the chunk's sum is added to grad at the end (the dense kernel starts
        // from grad): equal to rounding.
        const s = result('sparse', true);
        const d = result('dense', true);
        for (let i = 0; i < d.length; i++)
          expect(Math.abs(s[i]! - d[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(d[i]!)));
      });
});
