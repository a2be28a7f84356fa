// Merge layers (TF.js `tf.layers.add` ... `concatenate`): they take two inputs or more, named
// in `inputs`, and own no weights. Shapes follow TF.js's Merge layer for inputs of one rank:
// each axis equal or 1 (broadcast, numpy style); inputs of different ranks are refused, since
// TF.js reshapes those by rules that depend on the batch axis.
import { z } from 'zod';
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import { common } from './options.ts';
import { defineLayer, LayerError, type AnyLayerRecord } from './types.ts';

function show(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** TF.js's elementwise output shape, or a LayerError naming the shapes. */
function mergedShape(type: string, shapes: readonly (readonly number[])[]): number[] {
  const rank = shapes[0]!.length;
  const out = [...shapes[0]!];
  for (const s of shapes.slice(1)) {
    if (s.length !== rank)
      throw new LayerError(
        ['inputs'],
        `${type} needs inputs of one rank, got ${shapes.map(show).join(' and ')}`,
      );
    s.forEach((d, k) => {
      if (d !== out[k] && d !== 1 && out[k] !== 1)
        throw new LayerError(
          ['inputs'],
          `${type}: shapes ${shapes.map(show).join(' and ')} do not broadcast together (each axis must be equal or 1)`,
        );
      out[k] = Math.max(d, out[k]!);
    });
  }
  return out;
}

function elementwiseMerge(
  type: string,
  doc: string,
  combine: (B: Builder, xs: readonly Node[]) => Node,
  exactlyTwo = false,
): AnyLayerRecord {
  return defineLayer({
    type,
    doc,
    schema: z.strictObject({ type: z.literal(type), ...common }),
    activation: 'none',
    inputs: 'many',
    shapes: (_o, _first, inputShapes) => {
      if (exactlyTwo && inputShapes.length !== 2)
        throw new LayerError(
          ['inputs'],
          `${type} takes exactly 2 inputs, got ${inputShapes.length}`,
        );
      return { outputShape: mergedShape(type, inputShapes), weights: [] };
    },
    build: ({ B, xs, outputShape }) =>
      combine(
        B,
        xs.map((x) => B.bcast(x, outputShape)),
      ),
    describe: () => `${type} of its inputs`,
  });
}

const fold = (f: (B: Builder, a: Node, b: Node) => Node) => (B: Builder, xs: readonly Node[]) =>
  xs.slice(1).reduce((acc, x) => f(B, acc, x), xs[0]!);

export const add = elementwiseMerge(
  'add',
  'Sum of its inputs (a skip connection)',
  fold((B, a, b) => B.add(a, b)),
);
export const subtract = elementwiseMerge(
  'subtract',
  'First input minus the second (exactly 2)',
  fold((B, a, b) => B.sub(a, b)),
  true,
);
export const multiply = elementwiseMerge(
  'multiply',
  'Product of its inputs',
  fold((B, a, b) => B.mul(a, b)),
);
export const average = elementwiseMerge('average', 'Mean of its inputs', (B, xs) =>
  B.div(fold((B2, a, b) => B2.add(a, b))(B, xs), B.const(xs.length)),
);
export const maximum = elementwiseMerge(
  'maximum',
  'Elementwise maximum of its inputs',
  fold((B, a, b) => B.max(a, b)),
);
export const minimum = elementwiseMerge(
  'minimum',
  'Elementwise minimum of its inputs',
  fold((B, a, b) => B.min(a, b)),
);

const concatenateSchema = z.strictObject({
  type: z.literal('concatenate'),
  axis: z
    .number({ error: 'axis must be a number' })
    .int({ error: 'axis must be a whole number' })
    .min(-5, { error: 'axis must be at least -5' })
    .max(5, { error: 'axis must be at most 5' })
    .optional()
    .describe('Axis to join along, counting the batch axis as TF.js does (default -1, the last)'),
  ...common,
});

/** The sample axis for a TF.js axis (which counts the batch axis as 0). */
function sampleAxis(axis: number | undefined, rank: number): number {
  const a = axis ?? -1;
  if (a === 0)
    throw new LayerError(['axis'], 'axis 0 is the batch axis; concatenate joins within a sample');
  const k = a < 0 ? rank + a : a - 1;
  if (k < 0 || k >= rank)
    throw new LayerError(
      ['axis'],
      `axis ${a} is outside inputs of rank ${rank} (plus the batch axis): use 1..${rank} or -${rank}..-1`,
    );
  return k;
}

export const concatenate = defineLayer({
  type: 'concatenate',
  doc: 'Its inputs joined along an axis (all other axes equal)',
  schema: concatenateSchema,
  activation: 'none',
  inputs: 'many',
  shapes: (o, first, inputShapes) => {
    const rank = first.length;
    if (inputShapes.some((s) => s.length !== rank))
      throw new LayerError(
        ['inputs'],
        `concatenate needs inputs of one rank, got ${inputShapes.map(show).join(' and ')}`,
      );
    const k = sampleAxis(o.axis, rank);
    if (inputShapes.some((s) => s.some((d, j) => j !== k && d !== first[j])))
      throw new LayerError(
        ['inputs'],
        `concatenate needs equal shapes except along axis ${o.axis ?? -1}, got ${inputShapes.map(show).join(' and ')}`,
      );
    const out = [...first];
    out[k] = inputShapes.reduce((acc, s) => acc + s[k]!, 0);
    return { outputShape: out, weights: [] };
  },
  build: ({ B, xs }, o) => {
    const k = sampleAxis(o.axis, xs[0]!.shape.length);
    return B.concat(xs, k);
  },
  describe: (o) => `concatenate along axis ${o.axis ?? -1}`,
});

export const mergeLayers: readonly AnyLayerRecord[] = [
  add,
  subtract,
  multiply,
  average,
  maximum,
  minimum,
  concatenate,
];
