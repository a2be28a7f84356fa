// Layers that only move or relabel values: flatten, reshape, activation. Views emit no code.
import { z } from 'zod';
import { activationSchema } from '../format/functions.ts';
import { common, MAX_EXTENT, prod } from './options.ts';
import { defineLayer, LayerError } from './types.ts';

export const flatten = defineLayer({
  type: 'flatten',
  doc: 'The input as one vector (row-major, as TF.js)',
  schema: z.strictObject({ type: z.literal('flatten'), ...common }),
  activation: 'none',
  shapes: (_o, inputShape) => {
    if (inputShape.length < 2)
      throw new LayerError(
        ['type'],
        `flatten needs an input of rank 2 or more, got [${inputShape.join(', ')}]`,
      );
    return { outputShape: [prod(inputShape)], weights: [] };
  },
  build: ({ B, x }) => B.reshape(x, [x.size]),
  describe: (_o, inputShape) => `flatten [${inputShape.join('×')}] → ${prod(inputShape)}`,
});

const reshapeSchema = z.strictObject({
  type: z.literal('reshape'),
  targetShape: z
    .array(z.number().int().min(-1).max(MAX_EXTENT))
    .min(1)
    .max(4)
    .describe('The new shape of one sample; one entry may be -1 (inferred)'),
  ...common,
});

function target(o: z.output<typeof reshapeSchema>, inputShape: readonly number[]): number[] {
  const size = prod(inputShape);
  const unknown = o.targetShape.filter((d) => d === -1).length;
  if (unknown > 1) throw new LayerError(['targetShape'], 'at most one entry may be -1');
  if (o.targetShape.some((d) => d === 0))
    throw new LayerError(['targetShape'], 'entries must be at least 1 (or -1)');
  const known = prod(o.targetShape.filter((d) => d !== -1));
  const shape = o.targetShape.map((d) => (d === -1 ? size / known : d));
  if (prod(shape) !== size || !shape.every((d) => Number.isInteger(d)))
    throw new LayerError(
      ['targetShape'],
      `cannot reshape [${inputShape.join(', ')}] (${size} elements) to [${o.targetShape.join(', ')}]`,
    );
  return shape;
}

export const reshape = defineLayer({
  type: 'reshape',
  doc: 'The same elements under another shape (row-major)',
  schema: reshapeSchema,
  activation: 'none',
  shapes: (o, inputShape) => ({ outputShape: target(o, inputShape), weights: [] }),
  build: ({ B, x }, o) => B.reshape(x, target(o, x.shape)),
  describe: (o, inputShape) => `reshape → [${target(o, inputShape).join('×')}]`,
});

export const activation = defineLayer({
  type: 'activation',
  doc: 'Applies an activation and nothing else',
  schema: z.strictObject({
    type: z.literal('activation'),
    activation: activationSchema,
    ...common,
  }),
  activation: 'required',
  shapes: (_o, inputShape) => ({ outputShape: inputShape, weights: [] }),
  build: ({ x, activate }) => activate(x),
  describe: () => 'activation',
});
