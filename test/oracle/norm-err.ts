// How the f32 TF.js oracle is compared with f64 values: the largest difference relative to
// the largest entry (a relative error per entry would blow up on entries near 0).

/** max |a − b| / max |b| (over `pick`, or every entry). */
export function normErr(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  pick?: readonly number[],
): number {
  const idx = pick ?? Array.from({ length: b.length }, (_, i) => i);
  let diff = 0;
  let scale = 0;
  for (const i of idx) {
    const d = Math.abs(a[i]! - b[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}
