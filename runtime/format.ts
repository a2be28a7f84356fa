// One way to print a figure, used by the CLI's lines, the verdict texts and the report, so
// the same value reads the same everywhere: 4 significant digits, trailing zeros dropped,
// an exponent outside [1e-4, 1e6).

/** `0.001528`, `15.8`, `2.494e+22`, `NaN`, `-Infinity`. */
export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  // Whole numbers too long for the digits: 12346, not 1.235e+4.
  if (a >= 10 ** digits && a < 1e6) return String(Math.round(x));
  if (a >= 1e-4 && a < 1e6) {
    const s = x.toPrecision(digits);
    // toPrecision can still choose an exponent (e.g. 123456 at 4 digits); keep it then.
    return s.includes('e') ? s : s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  }
  return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
}

/** A fraction as a percentage with one decimal: `96.7%`. */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return `${(100 * x).toFixed(1)}%`;
}
