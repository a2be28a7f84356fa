// embedding (TF.js `tf.layers.embedding`): token ids in, rows of a learned table out. The ids
// arrive in the float input array; an id that is not a whole number in [0, inputDim) gives a
// zero row and no gradient (TF.js on cpu throws for an id out of range and truncates a
// fractional one; gradc never reads out of bounds and never throws in generated code).
import { z } from 'zod';
import { common, positiveInt } from './options.ts';
import { defineLayer, LayerError } from './types.ts';

const schema = z.strictObject({
  type: z.literal('embedding'),
  inputDim: positiveInt('inputDim').describe('Vocabulary size: ids are 0 .. inputDim − 1'),
  outputDim: positiveInt('outputDim').describe('Length of each id’s vector'),
  maskZero: z.boolean().optional().describe('Not supported (masking): only false is accepted'),
  inputLength: z
    .union([positiveInt('inputLength'), z.array(positiveInt('inputLength')).min(1).max(3)])
    .optional()
    .describe('Accepted as in TF.js; must match the input shape'),
  ...common,
});

export const embedding = defineLayer({
  type: 'embedding',
  doc: 'Rows of an [inputDim, outputDim] table at integer ids (zero rows for ids out of range)',
  schema,
  activation: 'none',
  shapes: (o, inputShape) => {
    if (o.maskZero === true)
      throw new LayerError(
        ['maskZero'],
        'masking is not supported; remove maskZero or set it false',
      );
    const len = o.inputLength === undefined ? undefined : [o.inputLength].flat();
    if (len && len.join() !== inputShape.join())
      throw new LayerError(
        ['inputLength'],
        `is [${len.join(', ')}] but the input is [${inputShape.join(', ')}]`,
      );
    const table = o.inputDim * o.outputDim;
    if (table > 20_000_000)
      throw new LayerError(
        ['inputDim'],
        `the table would have ${table} entries, more than 20000000`,
      );
    return {
      // TF.js: [batch, ...ids] → [batch, ...ids, outputDim]; a single id ([1]) gives [1, d].
      outputShape: [...inputShape, o.outputDim],
      weights: [
        {
          name: 'embeddings',
          shape: [o.inputDim, o.outputDim],
          role: 'embeddings',
          init: 'randomUniform',
          fanIn: o.inputDim,
          fanOut: o.outputDim,
        },
      ],
    };
  },
  build: ({ B, x, weights }) => B.make('gather', [weights.embeddings!, x]),
  describe: (o) => `embedding ${o.inputDim} × ${o.outputDim}`,
});
