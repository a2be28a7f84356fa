// Locating the first NaN / ±Infinity in an array: the first bad index usually tells which
// layer blew up (parameters are laid out layer by layer).

import type { FloatArray } from './types.ts';

export class NonFiniteError extends Error {
  constructor(
    readonly index: number,
    readonly value: number,
    readonly label: string,
  ) {
    super(`${label}[${index}] is ${value} (first non-finite entry)`);
    this.name = 'NonFiniteError';
  }
}

/** Index of the first NaN or ±Infinity, or −1 when every entry is finite. */
export function firstNonFinite(array: ArrayLike<number>): number {
  for (let i = 0; i < array.length; i++) {
    // `x − x` is 0 for finite x and NaN for NaN/±Infinity: one comparison covers all three.
    const x = array[i];
    if (x - x !== 0) return i;
  }
  return -1;
}

/**
 * Throws a NonFiniteError naming `label` and the first bad index if `array` holds a NaN or
 * ±Infinity; returns the array otherwise, so it can wrap an expression.
 */
export function checkFinite<T extends FloatArray | ArrayLike<number>>(
  array: T,
  label = 'array',
): T {
  const i = firstNonFinite(array);
  if (i >= 0) throw new NonFiniteError(i, array[i], label);
  return array;
}
