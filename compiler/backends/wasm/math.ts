// Transcendentals for the WebAssembly kernels, on f64x2 vectors: exp, expm1, tanh, sigmoid
// and softplus, as instruction sequences over v128 locals. The f32 kernels evaluate them in
// f64 too (two lanes promoted, the result demoted), so an f32 result is the f64 value rounded
// once, as the JavaScript backend's f32 modules round a Math.* result once when they store it.
//
// exp(x): clamp x to [-746, 710] (beyond it the result is 0 or Infinity anyway; NaN passes
// through the clamp), n = nearest(x·log2 e), r = x − n·ln2 (Cody–Waite: ln2 split in a high
// part with 21 trailing zero bits, so n·ln2hi is exact, and a low part), |r| ≤ ln2/2. e^r is
// its Taylor polynomial of degree 13 (truncation below 5e-18 relative) by Horner. 2^n is
// applied as two exact power-of-two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each built in the exponent
// bits, so that results that overflow, or underflow into subnormals, round once as they do
// in Math.exp.
// expm1(x): for |x| < ln2/2, x + x²·q(x) with q the Taylor tail to x^14/14! (no cancellation);
// elsewhere exp(x) − 1, whose result is at least 0.29 in magnitude, so the subtraction costs
// at most ~2 ulp.
// tanh(x) = e/(e + 2) with e = expm1(2x), x clamped to ±20 (tanh(±20) is ±1 in f64).
// sigmoid(x) = 1/(1 + exp(−x)), the IR's own formula (exactly 0 or 1 when saturated, no NaN).
// softplus(x) = max(x, 0) + log1p(exp(−|x|)), the IR's formula; log1p(u) for u in [0, 1] is
// 2·atanh(s) with s = u/(2 + u) ≤ 1/3, the odd series of atanh to s^33 (truncation below
// 2e-18 relative).
// log(x): subnormals scaled by 2^54 first; x = m·2^k from the bits, m halved above √2 so it is
// in [√½, √2]; log x = k·ln2hi + (k·ln2lo + 2·atanh(s)), s = (m − 1)/(m + 1), |s| ≤ 0.172,
// by the same atanh series; ±0 gives −Infinity, negatives NaN, +Infinity and NaN themselves.
// log1p(x) = log(u)·x/(u − 1), u = 1 + x (Goldberg: the quotient cancels u's rounding
// error), x itself where u is 1.
//
// Error bounds against Math.* (test/wasm/math.test.ts holds the kernels to them on a dense
// sweep of [-750, 750], every binade, random points of every magnitude, ±0, ±Infinity, NaN,
// the overflow and underflow edges; subnormal results within two of the smallest subnormal):
// the relative error in f64 is at most 3e-16 for exp (measured 2.2e-16, one ulp), 6e-16 for
// expm1 (5.4e-16, just past ln2/2), 7e-16 for tanh (6.3e-16), 5e-16 for sigmoid (4.2e-16)
// and softplus (4.7e-16), 6e-16 for log (4.4e-16) and 8e-16 for log1p (5.7e-16). In f32 the result is within 2^-24 (one rounding) + 1e-15 of Math's.
// Both are far inside the backends' agreement tolerances (1e-12 f64, 1e-5 f32).
import type { Ins } from './encode.ts';

/** Emits instructions and hands out v128 locals. */
export interface Vec {
  local(): number;
  emit(...ins: Ins[]): void;
}

/** Bounds on the relative error against Math.* in f64 (the tests hold the kernels to them). */
export const EXP_BOUND = 3e-16;
export const EXPM1_BOUND = 6e-16;
export const TANH_BOUND = 7e-16;
export const SIGMOID_BOUND = 5e-16;
export const SOFTPLUS_BOUND = 5e-16;
export const LOG_BOUND = 6e-16;
export const LOG1P_BOUND = 8e-16;

/** f64x2 constant with both lanes `v`. */
export function f64x2(v: number): Ins {
  const w = new Uint32Array(new Float64Array([v, v]).buffer);
  return ['v128.const', w[0]!, w[1]!, w[2]!, w[3]!];
}

/** i64x2 constant with both lanes `lo + hi·2^32` (both halves as unsigned 32-bit words). */
function i64x2(lo: number, hi: number): Ins {
  return ['v128.const', lo >>> 0, hi >>> 0, lo >>> 0, hi >>> 0];
}

const LOG2E = Math.LOG2E;
// fdlibm's split of ln 2: the high part has 21 trailing zero bits, so n·LN2_HI is exact for
// |n| < 2^21.
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5·2^52: adding it to an integer-valued double puts that integer in the low bits. */
const MAGIC = 6755399441055744;
const MAGIC_HI = 0x43380000;
const HALF_LN2 = Math.LN2 / 2;

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
/** 1/k! for k = hi down to lo (Horner order). */
const taylor = (hi: number, lo: number): number[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => 1 / factorial(hi - i));
const EXP_COEFFS = taylor(13, 0);
const EXPM1_TAIL = taylor(14, 2);
/** 1/(2k + 1) for k = 16 down to 0: atanh(s)/s as a polynomial in s². */
const ATANH_COEFFS = Array.from({ length: 17 }, (_, i) => 1 / (2 * (16 - i) + 1));

const get = (l: number): Ins => ['local.get', l];
const set = (l: number): Ins => ['local.set', l];

/** A new local holding what the instructions leave on the stack. */
function keep(V: Vec, ...ins: Ins[]): number {
  const l = V.local();
  V.emit(...ins, set(l));
  return l;
}

/** Σ c[i]·x^(n−1−i) by Horner. */
function horner(V: Vec, x: number, coeffs: readonly number[]): number {
  V.emit(f64x2(coeffs[0]!));
  for (const c of coeffs.slice(1)) V.emit(get(x), ['f64x2.mul'], f64x2(c), ['f64x2.add']);
  return keep(V);
}

export function exp(V: Vec, x: number): number {
  const xc = keep(V, get(x), f64x2(-746), ['f64x2.max'], f64x2(710), ['f64x2.min']);
  const n = keep(V, get(xc), f64x2(LOG2E), ['f64x2.mul'], ['f64x2.nearest']);
  const r = keep(
    V,
    get(xc),
    get(n),
    f64x2(LN2_HI),
    ['f64x2.mul'],
    ['f64x2.sub'],
    get(n),
    f64x2(LN2_LO),
    ['f64x2.mul'],
    ['f64x2.sub'],
  );
  const p = horner(V, r, EXP_COEFFS);
  // n as a 64-bit integer: the bits of n + MAGIC less the bits of MAGIC.
  const ni = keep(V, get(n), f64x2(MAGIC), ['f64x2.add'], i64x2(0, MAGIC_HI), ['i64x2.sub']);
  const n1 = keep(V, get(ni), ['i32.const', 1], ['i64x2.shr_s']);
  const n2 = keep(V, get(ni), get(n1), ['i64x2.sub']);
  const scale = (k: number): Ins[] => [
    get(k),
    i64x2(1023, 0),
    ['i64x2.add'],
    ['i32.const', 52],
    ['i64x2.shl'],
  ];
  return keep(V, get(p), ...scale(n1), ['f64x2.mul'], ...scale(n2), ['f64x2.mul']);
}

export function expm1(V: Vec, x: number): number {
  const q = horner(V, x, EXPM1_TAIL);
  // x + x²·q has the sign of x; or-ing x's sign bit in keeps expm1(−0) = −0, as Math's.
  const small = keep(
    V,
    get(x),
    get(x),
    get(x),
    ['f64x2.mul'],
    get(q),
    ['f64x2.mul'],
    ['f64x2.add'],
    get(x),
    i64x2(0, 0x80000000),
    ['v128.and'],
    ['v128.or'],
  );
  const e = exp(V, x);
  const large = keep(V, get(e), f64x2(1), ['f64x2.sub']);
  return keep(
    V,
    get(small),
    get(large),
    get(x),
    ['f64x2.abs'],
    f64x2(HALF_LN2),
    ['f64x2.lt'],
    ['v128.bitselect'],
  );
}

export function tanh(V: Vec, x: number): number {
  const x2 = keep(V, get(x), f64x2(-20), ['f64x2.max'], f64x2(20), ['f64x2.min'], f64x2(2), [
    'f64x2.mul',
  ]);
  const e = expm1(V, x2);
  return keep(V, get(e), get(e), f64x2(2), ['f64x2.add'], ['f64x2.div']);
}

export function sigmoid(V: Vec, x: number): number {
  const m = keep(V, get(x), ['f64x2.neg']);
  const e = exp(V, m);
  return keep(V, f64x2(1), f64x2(1), get(e), ['f64x2.add'], ['f64x2.div']);
}

/** log(1 + u) for u in [0, 1] (and NaN). */
function log1pUnit(V: Vec, u: number): number {
  const s = keep(V, get(u), f64x2(2), get(u), ['f64x2.add'], ['f64x2.div']);
  const w = keep(V, get(s), get(s), ['f64x2.mul']);
  const p = horner(V, w, ATANH_COEFFS);
  return keep(V, f64x2(2), get(s), ['f64x2.mul'], get(p), ['f64x2.mul']);
}

export function softplus(V: Vec, x: number): number {
  const m = keep(V, get(x), ['f64x2.abs'], ['f64x2.neg']);
  const e = exp(V, m);
  const l = log1pUnit(V, e);
  return keep(V, get(x), f64x2(0), ['f64x2.max'], get(l), ['f64x2.add']);
}

/** 2^-1022, the smallest normal double. */
const MIN_NORMAL = 2.2250738585072014e-308;

export function log(V: Vec, x: number): number {
  // Subnormals: scaled by 2^54 into the normals, 54 taken off the exponent afterwards.
  const tiny = keep(V, get(x), f64x2(MIN_NORMAL), ['f64x2.lt']);
  const xs = keep(V, get(x), f64x2(2 ** 54), ['f64x2.mul'], get(x), get(tiny), ['v128.bitselect']);
  // x = m·2^k with m in [1, 2) from the bits; m > √2 is halved (k + 1) so m is in
  // [√½, √2] and s = (m − 1)/(m + 1) in [−0.172, 0.172].
  const k = keep(V, get(xs), ['i32.const', 52], ['i64x2.shr_s']);
  const m0 = keep(V, get(xs), i64x2(0xffffffff, 0x000fffff), ['v128.and'], i64x2(0, 0x3ff00000), [
    'v128.or',
  ]);
  const big = keep(V, get(m0), f64x2(Math.SQRT2), ['f64x2.gt']);
  const m = keep(V, get(m0), f64x2(0.5), ['f64x2.mul'], get(m0), get(big), ['v128.bitselect']);
  // k as a double (the magic-number trick of exp, backwards), less the bias and the
  // subnormal scaling, plus the halving.
  const kf = keep(
    V,
    get(k),
    i64x2(0, MAGIC_HI),
    ['i64x2.add'],
    f64x2(MAGIC + 1023),
    ['f64x2.sub'],
    f64x2(1),
    f64x2(0),
    get(big),
    ['v128.bitselect'],
    ['f64x2.add'],
    f64x2(54),
    f64x2(0),
    get(tiny),
    ['v128.bitselect'],
    ['f64x2.sub'],
  );
  const s = keep(
    V,
    get(m),
    f64x2(1),
    ['f64x2.sub'],
    get(m),
    f64x2(1),
    ['f64x2.add'],
    ['f64x2.div'],
  );
  const w = keep(V, get(s), get(s), ['f64x2.mul']);
  const p = horner(V, w, ATANH_COEFFS);
  // log x = k·ln2hi + (k·ln2lo + 2·atanh(s)): k·ln2hi is exact.
  const r = keep(
    V,
    get(kf),
    f64x2(LN2_HI),
    ['f64x2.mul'],
    get(kf),
    f64x2(LN2_LO),
    ['f64x2.mul'],
    f64x2(2),
    get(s),
    ['f64x2.mul'],
    get(p),
    ['f64x2.mul'],
    ['f64x2.add'],
    ['f64x2.add'],
  );
  // ±0 → −Infinity, negative → NaN, +Infinity and NaN → themselves.
  const z = keep(V, f64x2(-Infinity), get(r), get(x), f64x2(0), ['f64x2.eq'], ['v128.bitselect']);
  const n = keep(V, f64x2(NaN), get(z), get(x), f64x2(0), ['f64x2.lt'], ['v128.bitselect']);
  return keep(
    V,
    get(x),
    get(n),
    get(x),
    f64x2(Infinity),
    ['f64x2.eq'],
    get(x),
    get(x),
    ['f64x2.ne'],
    ['v128.or'],
    ['v128.bitselect'],
  );
}

export function log1p(V: Vec, x: number): number {
  // log1p x = log(u)·x/(u − 1) with u = 1 + x rounded: the quotient corrects u's rounding
  // error (Goldberg's formula); where u is 1, log1p x is x (to the last bit, −0 kept).
  const u = keep(V, get(x), f64x2(1), ['f64x2.add']);
  const l = log(V, u);
  const r = keep(V, get(l), get(x), get(u), f64x2(1), ['f64x2.sub'], ['f64x2.div'], ['f64x2.mul']);
  // u = 1: x itself; x = +Infinity: x (the quotient would be ∞/∞).
  return keep(
    V,
    get(x),
    get(r),
    get(u),
    f64x2(1),
    ['f64x2.eq'],
    get(x),
    f64x2(Infinity),
    ['f64x2.eq'],
    ['v128.or'],
    ['v128.bitselect'],
  );
}

/** gt, select and sign with the IR's semantics: gt is 1 or 0; select(c, a, b) picks a where
 * c != 0 (NaN included); sign is ±1 off zero and the argument itself at ±0 and NaN. */
const LOGIC: Readonly<Record<string, (V: Vec, args: readonly number[]) => number>> = {
  gt: (V, [a, b]) => keep(V, get(a!), get(b!), ['f64x2.gt'], f64x2(1), ['v128.and']),
  select: (V, [c, a, b]) =>
    keep(V, get(a!), get(b!), get(c!), f64x2(0), ['f64x2.ne'], ['v128.bitselect']),
  sign: (V, [x]) => {
    const neg = keep(V, f64x2(-1), get(x!), get(x!), f64x2(0), ['f64x2.lt'], ['v128.bitselect']);
    return keep(V, f64x2(1), get(neg), get(x!), f64x2(0), ['f64x2.gt'], ['v128.bitselect']);
  },
};

/** The f64x2 form of an elementwise op that is neither arithmetic nor a single instruction
 * (a transcendental, gt, select, sign): it returns the local holding the result. */
export function vectorForm(op: string): ((V: Vec, args: readonly number[]) => number) | undefined {
  const t = TRANSCENDENTALS[op];
  if (t) return (V, args) => t(V, args[0]!);
  return LOGIC[op];
}

/** The transcendental ops of the IR that have a vector kernel here. */
export const TRANSCENDENTALS: Readonly<Record<string, (V: Vec, x: number) => number>> = {
  exp,
  expm1,
  tanh,
  sigmoid,
  softplus,
  log,
  log1p,
};
