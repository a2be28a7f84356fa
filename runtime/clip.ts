// Gradient norms and clipping by global norm.

import type { FloatArray } from './types.ts';

/** Euclidean norm of the whole array (NaN/Infinity propagate, which diagnostics rely on). */
export function globalNorm(grad: FloatArray): number {
  let sum = 0;
  for (let i = 0; i < grad.length; i++) sum += grad[i] * grad[i];
  return Math.sqrt(sum);
}

/**
 * Rescales `grad` in place so its global L2 norm is at most `maxNorm`, and returns the
 * norm before clipping — PyTorch `clip_grad_norm_` (scale = maxNorm / (norm + 1e-6), only
 * applied when below 1). A non-finite norm leaves `grad` untouched: scaling would turn every
 * entry into 0 or NaN and hide where the problem is; the returned norm reports it.
 */
export function clipGradNorm(grad: FloatArray, maxNorm: number): number {
  const norm = globalNorm(grad);
  if (!Number.isFinite(norm)) return norm;
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) {
    for (let i = 0; i < grad.length; i++) grad[i] *= scale;
  }
  return norm;
}

/**
 * The optimizers' allocation-free form of clipping: threshold read from `scalars[clipSlot]`
 * (0 = no clipping), pre-clip norm written to `scalars[normSlot]`. Nothing numeric is passed
 * or returned, so V8 boxes nothing even when this call is not inlined.
 */
export function clipInto(
  grad: FloatArray,
  scalars: Float64Array,
  clipSlot: number,
  normSlot: number,
): void {
  let sum = 0;
  for (let i = 0; i < grad.length; i++) sum += grad[i] * grad[i];
  const norm = Math.sqrt(sum);
  scalars[normSlot] = norm;
  const maxNorm = scalars[clipSlot];
  if (maxNorm > 0 && norm - norm === 0) {
    const scale = maxNorm / (norm + 1e-6);
    if (scale < 1) for (let i = 0; i < grad.length; i++) grad[i] *= scale;
  }
}
