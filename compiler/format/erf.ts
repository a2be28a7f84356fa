// erf as a composition of primitives, written once over any algebra, so that the expression
// sugar (format/expr.ts) and the `gelu` activation (frontend/activations.ts) build the same
// function without the activation table importing the op registry (the schema command must
// stay light).
//
// erf(x) = 1 − erfc(x) for x > 0 and erfc(−x) − 1 otherwise, with erfc from the Chebyshev fit
// of Press et al., Numerical Recipes §6.2 (fractional error below 1.2e-7 everywhere; TF.js's
// own erf is Abramowitz & Stegun 7.1.26, absolute error 1.5e-7). Composed from primitives, its
// derivative is the exact derivative of this approximation, so finite differences agree with
// it. Each branch sees only its own half-line (max(x, 0), min(0, x)), so neither overflows;
// the tie rules of max and min give min(0, x) the gradient of x at 0, so erf'(0) = 2/√π rather
// than a zero subgradient.

export interface Algebra<T> {
  num(v: number): T;
  op(name: 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'gt', a: T, b: T): T;
  unary(name: 'exp' | 'neg', a: T): T;
  select(c: T, a: T, b: T): T;
}

/** Numerical Recipes' erfc coefficients, highest power of t first. */
const ERFC_COEFFS = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
];

/** erfc(z) for z ≥ 0: t·exp(−z² + P(t)) with t = 1 / (1 + z/2). */
function erfc<T>(A: Algebra<T>, z: T): T {
  const t = A.op('div', A.num(1), A.op('add', A.num(1), A.op('mul', A.num(0.5), z)));
  let p = A.num(ERFC_COEFFS[0]!);
  for (const c of ERFC_COEFFS.slice(1)) p = A.op('add', A.op('mul', p, t), A.num(c));
  return A.op('mul', t, A.unary('exp', A.op('sub', p, A.op('mul', z, z))));
}

export function erfOf<T>(A: Algebra<T>, x: T): T {
  return A.select(
    A.op('gt', x, A.num(0)),
    A.op('sub', A.num(1), erfc(A, A.op('max', x, A.num(0)))),
    A.op('sub', erfc(A, A.unary('neg', A.op('min', A.num(0), x))), A.num(1)),
  );
}
