// Option fragments shared by several layer records, with TF.js's names and rules.
import { z } from 'zod';
import { LayerError } from './types.ts';

export const MAX_EXTENT = 1_000_000;

export const positiveInt = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    // Range before integrality: 1e300 is "too large", not "not a whole number".
    .min(1, { error: `${what} must be at least 1` })
    .max(MAX_EXTENT, { error: `${what} must be at most ${MAX_EXTENT}` })
    .int({ error: `${what} must be a whole number` });

/** A number for every spatial axis, or one list entry per axis (TF.js accepts both). */
export const intOrTuple = (what: string) =>
  z.union([positiveInt(what), z.array(positiveInt(what)).min(1).max(3)]);

export function perAxis(
  v: number | readonly number[] | undefined,
  rank: number,
  fallback: number | readonly number[],
  field: string,
): number[] {
  const value = v ?? fallback;
  if (typeof value === 'number') return new Array<number>(rank).fill(value);
  if (value.length !== rank)
    throw new LayerError(
      [field],
      `needs ${rank} entr${rank === 1 ? 'y' : 'ies'}, got ${value.length}`,
    );
  return [...value];
}

export const padding = z
  .enum(['valid', 'same'])
  .describe('valid: no padding; same: zero padding so that the output is ceil(input / stride)');

/** TF.js initializer names a kernel may ask for (`kernelInitializer`); TF.js's default is
 * glorotUniform. Variance scaling counts the receptive field in fan-in and fan-out. */
export const KERNEL_INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heNormal',
  'heUniform',
  'leCunNormal',
  'leCunUniform',
  'zeros',
  'ones',
] as const;

export const initializerOptions = {
  kernelInitializer: z
    .enum(KERNEL_INITIALIZERS)
    .optional()
    .describe('How the kernel starts (TF.js names; default glorotUniform, as TF.js)'),
  biasInitializer: z
    .enum(['zeros', 'ones'])
    .optional()
    .describe('How the bias starts (default zeros)'),
};

export const common = {
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, {
      error: 'must start with a letter and hold only letters, digits, _ and -',
    })
    .optional()
    .describe('Layer name (default: the type and a per-type counter, e.g. conv2d0)'),
  inputs: z
    .array(z.string().min(1).max(64))
    .min(1)
    .max(16)
    .optional()
    .describe('Names of the layers or model inputs this layer takes (default: the previous layer)'),
  trainable: z
    .boolean()
    .optional()
    .describe('false freezes the layer: its gradient is zero and nothing is computed for it'),
};

/**
 * TF's padding per axis: `valid` pads nothing; `same` pads so the output is ceil(in / stride),
 * the odd element going after (as TensorFlow does, for even kernels and strides > 1).
 */
export function padAmounts(
  mode: 'valid' | 'same',
  input: number,
  k: number,
  stride: number,
  dilation: number,
): [number, number] {
  if (mode === 'valid') return [0, 0];
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export function requireRank(inputShape: readonly number[], rank: number, what: string): void {
  if (inputShape.length !== rank) {
    throw new LayerError(
      ['type'],
      `${what} needs an input of rank ${rank} (${rank === 2 ? '[steps, channels]' : rank === 3 ? '[height, width, channels]' : `${rank} axes`}), got [${inputShape.join(', ')}]`,
    );
  }
}

export function prod(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}
