// Shape arithmetic shared by op shape rules, the interpreter and the emitters.
import { sizeOf } from './node.ts';

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k]!;
  }
  return s;
}

/** Whether `from` broadcasts to `to` (numpy rules: trailing axes aligned, dims equal or 1). */
export function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return sizeOf(from) === 1;
  const lead = to.length - from.length;
  return from.every((d, k) => d === 1 || d === to[lead + k]);
}

/**
 * Flat index into a broadcast argument of shape `from` for flat index `idx` of the result of
 * shape `to`: a number for constant indices, a JS expression for loop indices. The common
 * cases come out short: a trailing block (`k % 8`, a bias over pixels), a leading one
 * (`(k / 8) | 0`, one value per pixel).
 */
export function broadcastIndex(
  from: readonly number[],
  to: readonly number[],
  idx: number | string,
): number | string {
  const fromSize = sizeOf(from);
  if (fromSize === 1) return 0;
  const toSize = sizeOf(to);
  if (fromSize === toSize) return idx;
  const lead = to.length - from.length;
  const aligned = [...new Array<number>(lead).fill(1), ...from];
  const ts = strides(to);
  const fs = strides(aligned);
  if (typeof idx === 'number') {
    let r = 0;
    for (let k = 0; k < to.length; k++)
      if (aligned[k] !== 1) r += (Math.floor(idx / ts[k]!) % to[k]!) * fs[k]!;
    return r;
  }
  // Which axes the argument keeps: a contiguous run of kept axes is one block.
  const kept = aligned.map((d) => d !== 1);
  const first = kept.indexOf(true);
  const last = kept.lastIndexOf(true);
  const contiguous = kept.slice(first, last + 1).every((x) => x);
  if (contiguous) {
    // Elements of the kept block repeat every `inner` results, for `fromSize` blocks.
    const inner = ts[last]!;
    const q = inner === 1 ? idx : `((${idx}) / ${inner} | 0)`;
    return first === 0 ? q : `${q} % ${fromSize}`;
  }
  const terms: string[] = [];
  for (let k = 0; k < to.length; k++) {
    if (!kept[k]) continue;
    terms.push(`(((${idx}) / ${ts[k]} | 0) % ${to[k]}) * ${fs[k]}`);
  }
  return terms.join(' + ');
}
