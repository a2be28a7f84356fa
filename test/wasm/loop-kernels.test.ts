// Every kernel of every example and fixture, rendered to WebAssembly from the loop IR and run
// against the loop-IR interpreter (test/wasm/loop-check.ts says how they must agree).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleFiles, loadSpec } from '../compiler/helpers.ts';
import { checkLoopKernels } from './loop-check.ts';
import { encodeModule, type WasmFunction } from '../../compiler/backends/wasm/encode.ts';
import {
  elemRefusal,
  LoopRefusal,
  mathHelper,
  renderLoopKernel,
} from '../../compiler/backends/wasm/loops.ts';
import { MAX_PAGES } from '../../compiler/backends/wasm/plan.ts';
import { runKernel } from '../../compiler/lower/interpret-loops.ts';
import { elem, load, loop, num, store, v, type Kernel } from '../../compiler/lower/loop-ir.ts';
import { registry } from '../../compiler/ops/registry.ts';
import { Rng } from '../../runtime/random.ts';

const FIXTURES = path.join(import.meta.dirname, '../compiler/fixtures');
const fixtures = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.model.json') && !f.startsWith('bad-'))
  .map((f) => path.join(FIXTURES, f));

/** The elementwise ops the renderer has no kernel for (pow and the trigonometric ones). */
const NO_KERNEL = /^the elementwise op (pow|sin|cos|atan) has no WebAssembly kernel$/;

describe('WebAssembly loop-IR kernels against the loop interpreter', () => {
  for (const file of [...exampleFiles(), ...fixtures]) {
    it(
      path.basename(file),
      async () => {
        const spec = await loadSpec(file);
        const r = await checkLoopKernels(spec);
        expect(r.checked).toBeGreaterThan(0);
        for (const why of r.refused.keys()) expect(why).toMatch(NO_KERNEL);
      },
      120_000,
    );
  }
});

// Every elementwise op on its own, in a scalar loop, a vector loop (f32x4 / f64x2, or the
// widened f64x2 form for the transcendentals) and a vector loop with an invariant operand,
// on ordinary values and the special ones: exact where WebAssembly has the operation, within
// math.ts's bounds where it is a polynomial kernel; refused where there is no kernel.
const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-300, -1e-300, 700, -745, 20, -20, 0.5, 1];
const POLYNOMIAL = new Set(['exp', 'expm1', 'tanh', 'sigmoid', 'softplus', 'log', 'log1p']);

describe('WebAssembly elementwise ops in loop IR', () => {
  const ops = [...registry.values()].filter((d) => d.kind === 'elementwise');
  it('covers the registry', () => expect(ops.length).toBeGreaterThan(20));
  for (const def of ops) {
    it(def.name, () => {
      const n = 23;
      const arity = def.arity;
      const rng = new Rng(def.name.length * 31 + arity);
      const data = Array.from({ length: arity }, (_, i) =>
        Float64Array.from({ length: n }, (_, k) =>
          k < SPECIAL.length ? SPECIAL[(k + 5 * i) % SPECIAL.length]! : rng.range(-3, 3),
        ),
      );
      // out[k] = op(a0[k], a1[k], ...), or with the last operand invariant (a_last[3]).
      const kernel = (vector: boolean, invariant: boolean): Kernel => {
        const at = (i: number) => (invariant && i === arity - 1 ? num(3) : v('k'));
        const value = elem(
          def.name,
          data.map((_, i) => load(i, at(i))),
        );
        return {
          size: n,
          body: [loop('k', 0, n, [store(v('k'), value)], vector ? 'vector' : undefined)],
        };
      };
      const kernels = [false, true].flatMap((vector) => [
        kernel(vector, false),
        kernel(vector, true),
      ]);
      for (const precision of ['f64', 'f32'] as const) {
        const f32 = precision === 'f32';
        const round = (x: number) => (f32 ? Math.fround(x) : x);
        for (const kernel of kernels) {
          const why = elemRefusal(def.name);
          if (why) {
            expect(() => renderLoopKernel('k', kernel, precision, arity)).toThrow(LoopRefusal);
            continue;
          }
          const r = renderLoopKernel('k', kernel, precision, arity);
          const args = data.map((a) => Float64Array.from(a, round));
          const got = runOne([r.fn], precision, args, n);
          if (POLYNOMIAL.has(def.name)) {
            // The scalar form calling the op's helper function computes the same bits as the
            // polynomial inlined.
            const called = renderLoopKernel('k', kernel, precision, arity, {
              vectors: false,
              helper: (op) => (op === def.name ? 0 : undefined),
            });
            const inline = renderLoopKernel('k', kernel, precision, arity, { vectors: false });
            const a = runOne([mathHelper(def.name), called.fn], precision, args, n);
            const b = runOne([inline.fn], precision, args, n);
            for (let k = 0; k < n; k++) expect(Object.is(a[k], b[k]), `helper [${k}]`).toBe(true);
          }
          const want = new Float64Array(n);
          runKernel(kernel, args, want);
          for (let k = 0; k < n; k++) {
            const w = round(want[k]!);
            const g = got[k]!;
            const at = `${precision} [${k}] of ${args.map((a) => a[k]).join(', ')}`;
            if (Number.isNaN(w)) expect(g, at).toBeNaN();
            else if (!Number.isFinite(w)) expect(g, at).toBe(w);
            else if (!POLYNOMIAL.has(def.name))
              expect(Object.is(g, w), `${at}: ${g} vs ${w}`).toBe(true);
            else {
              const tol = f32 ? 2 ** -23 * Math.abs(w) + 1e-45 : 1e-15 * Math.abs(w) + 1e-300;
              expect(Math.abs(g - w), `${at}: ${g} vs ${w}`).toBeLessThanOrEqual(tol);
            }
          }
          if (kernel.body[0]!.k === 'for' && kernel.body[0]!.hint === 'vector')
            expect(r.vectorLoops, 'vectorized').toBe(1);
        }
      }
    });
  }
});

/** Runs a one-lane kernel function on `args` (doubles, written in the precision). */
function runOne(
  fns: readonly WasmFunction[],
  precision: 'f32' | 'f64',
  args: readonly Float64Array[],
  size: number,
): Float64Array {
  const pages = 4;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
  const { bytes } = encodeModule(fns, pages, MAX_PAGES);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(bytes)), {
    env: { memory },
  });
  const Arr = precision === 'f32' ? Float32Array : Float64Array;
  const stride = 1024;
  args.forEach((a, i) => new Arr(memory.buffer, stride * (i + 1), a.length).set(a));
  const out = new Arr(memory.buffer, 0, size).fill(NaN);
  (inst.exports.k as (...a: number[]) => void)(0, ...args.map((_, i) => stride * (i + 1)));
  return Float64Array.from(out);
}
