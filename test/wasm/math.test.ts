// The vector transcendentals of compiler/backends/wasm/math.ts (exp, expm1, tanh, sigmoid,
// softplus, log, log1p) against Math.*: the documented
// error bounds over the whole range (a dense sweep, random points of every magnitude), the
// special values, the overflow / underflow edges and subnormal results, in f64 and f32.
import { describe, expect, it } from 'vitest';
import { mapKernel } from '../../compiler/backends/wasm/activation.ts';
import { encodeModule } from '../../compiler/backends/wasm/encode.ts';
import * as M from '../../compiler/backends/wasm/math.ts';
import { Rng } from '../../runtime/random.ts';

type Kernel = (dst: number, a: number, b: number, c: number, count: number) => void;

const REFS: Record<string, { ref: (x: number) => number; bound: number }> = {
  exp: { ref: Math.exp, bound: M.EXP_BOUND },
  expm1: { ref: Math.expm1, bound: M.EXPM1_BOUND },
  tanh: { ref: Math.tanh, bound: M.TANH_BOUND },
  sigmoid: { ref: (x) => 1 / (1 + Math.exp(-x)), bound: M.SIGMOID_BOUND },
  softplus: {
    ref: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    bound: M.SOFTPLUS_BOUND,
  },
  log: { ref: Math.log, bound: M.LOG_BOUND },
  log1p: { ref: Math.log1p, bound: M.LOG1P_BOUND },
};

/** One module per precision with a map kernel per function; runs them on arrays. */
function kernels(precision: 'f32' | 'f64') {
  const fns = Object.keys(REFS).map((name) =>
    mapKernel(name, precision, 1, (V, [x]) => M.TRANSCENDENTALS[name]!(V, x!)),
  );
  const pages = 64;
  const { bytes } = encodeModule(fns, pages, pages);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(bytes)), {
    env: { memory },
  });
  const ex = inst.exports as unknown as Record<string, Kernel>;
  const Arr = precision === 'f32' ? Float32Array : Float64Array;
  const e = Arr.BYTES_PER_ELEMENT;
  return (name: string, xs: ArrayLike<number>): Float64Array => {
    const n = xs.length;
    const src = new Arr(memory.buffer, 64, n);
    const at = 64 + Math.ceil((n * e + 16) / 16) * 16;
    const dst = new Arr(memory.buffer, at, n);
    src.set(xs);
    ex[name]!(at, 64, 0, 0, n);
    return Float64Array.from(dst);
  };
}

/** Points over the whole range: a dense sweep of [-750, 750], every binade, random points. */
function points(): number[] {
  const xs: number[] = [];
  for (let x = -750; x <= 750; x += 0.0137) xs.push(x);
  for (let k = -1074; k <= 1023; k++) xs.push(2 ** k, -(2 ** k));
  const rng = new Rng(7);
  for (let i = 0; i < 20000; i++) xs.push(rng.range(-1, 1) * 10 ** rng.range(-8, 3));
  // Near the branch points of expm1 (ln2/2), the exp clamp and the overflow / underflow edges.
  for (const c of [Math.LN2 / 2, 709.782712893384, -708.4, -745.13321910194, 20, 0.5])
    for (let d = -40; d <= 40; d++) xs.push(c + d * c * 2 ** -50, -(c + d * c * 2 ** -50));
  return xs;
}

/** Subnormal results (below 2.2e-308) are compared absolutely: within two of the smallest
 * subnormal (exp itself rounds once there; softplus's log1p series adds a rounding). */
const SUBNORMAL_SLACK = 1e-323;

const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 710, -746, 1e300, -1e300, 5e-324];

function worstRelative(got: Float64Array, xs: readonly number[], ref: (x: number) => number) {
  let worst = 0;
  let at = 0;
  for (let i = 0; i < xs.length; i++) {
    const want = ref(xs[i]!);
    const g = got[i]!;
    if (!Number.isFinite(want) || want === 0 || Math.abs(want) < 2.2250738585072014e-308) {
      // Infinities and zeros exactly; subnormal results to half an ulp of the smallest one.
      const ok = Number.isFinite(want) ? Math.abs(g - want) <= SUBNORMAL_SLACK : Object.is(g, want);
      if (!ok) throw new Error(`at ${xs[i]}: got ${g}, want ${want}`);
      continue;
    }
    const e = Math.abs(g - want) / Math.abs(want);
    if (!(e <= worst)) {
      worst = e;
      at = xs[i]!;
    }
  }
  return { worst, at };
}

describe('WebAssembly transcendentals (f64x2)', () => {
  const run = kernels('f64');
  const xs = points();
  for (const [name, { ref, bound }] of Object.entries(REFS)) {
    it(`${name}: relative error ≤ ${bound} against Math over the whole range`, () => {
      const { worst, at } = worstRelative(run(name, xs), xs, ref);
      expect(worst, `worst at x = ${at}`).toBeLessThanOrEqual(bound);
      // The bound is tight: it is not a loose number that any kernel would meet.
      expect(worst).toBeGreaterThan(bound / 20);
    });
    it(`${name}: ±0, ±Infinity, NaN, beyond the clamps`, () => {
      const got = run(name, SPECIAL);
      SPECIAL.forEach((x, i) => {
        const want = ref(x);
        if (Number.isNaN(want)) expect(got[i]).toBeNaN();
        else if (want === 0 || !Number.isFinite(want)) expect(got[i]).toBe(want);
        else expect(Math.abs(got[i]! - want) / Math.abs(want)).toBeLessThanOrEqual(bound);
      });
    });
  }
  it('exp: subnormal results and the overflow edge round once, as Math.exp', () => {
    const edge = [-708.5, -720, -730, -740, -744.4, -745.1, 709.78, 709.782712893383];
    const got = run('exp', edge);
    edge.forEach((x, i) => {
      const want = Math.exp(x);
      expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(
        Math.max(want * M.EXP_BOUND, 5e-324 / 2),
      );
    });
    // Past the edges: exactly 0 and Infinity.
    expect(Array.from(run('exp', [-745.2, 709.8]))).toEqual([0, Infinity]);
  });
});

describe('WebAssembly transcendentals (f32: evaluated in f64, rounded once)', () => {
  const run = kernels('f32');
  const xs = points()
    .map(Math.fround)
    .filter((x) => Math.abs(x) < 200);
  for (const [name, { ref }] of Object.entries(REFS)) {
    it(`${name}: within one f32 rounding (2^-24) + 1e-15 of Math`, () => {
      const got = run(name, xs);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = ref(xs[i]!);
        // Results beyond f32's range or below its normal range are ±Infinity or denormal.
        if (!(Math.abs(want) < 3.4e38) || Math.abs(want) < 1.2e-38) continue;
        worst = Math.max(worst, Math.abs(got[i]! - want) / Math.abs(want));
      }
      expect(worst).toBeLessThanOrEqual(2 ** -24 + 1e-15);
      expect(worst).toBeGreaterThan(2 ** -26);
    });
  }
});
