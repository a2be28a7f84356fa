// dropout (TF.js: `rate`, optional `seed`). Inference (`forward`, `forwardBatch`, `loss`):
// the identity, no code. Training (`gradient`, `gradientBatch`): x · mask, the mask 0 or
// 1/(1 − rate) per element (TF.js scales the kept ones the same way), drawn from an integer
// hash of the entry point's `seed` argument, the sample and the layer (ops/batch.ts): masks
// differ per step (the runtime passes a new seed) and per sample, and allocate nothing. The
// layer's own `seed` option is accepted so TF.js model files load; the runtime's seed rules.
// `noiseShape` is refused.
import { z } from 'zod';
import { common } from './options.ts';
import { defineLayer } from './types.ts';

const schema = z.strictObject({
  type: z.literal('dropout'),
  rate: z
    .number({ error: 'rate must be a number' })
    .min(0, { error: 'rate must be at least 0' })
    .lt(1, { error: 'rate must be less than 1' })
    .describe('Fraction of the inputs dropped in training, in [0, 1)'),
  seed: z
    .number({ error: 'seed must be a number' })
    .int({ error: 'seed must be a whole number' })
    .optional()
    .describe('Accepted for TF.js compatibility; masks come from the seed the runtime passes'),
  ...common,
});

export const dropout = defineLayer({
  type: 'dropout',
  doc: 'Training: drops a fraction `rate` of the inputs (seeded mask), scales the rest by 1/(1 − rate); inference: identity',
  schema,
  activation: 'none',
  shapes: (_o, inputShape) => ({ outputShape: inputShape, weights: [] }),
  build: ({ x }) => x,
  train: ({ B, x, salt }, o) => ({
    y:
      o.rate === 0
        ? x
        : B.mul(x, B.make('dropoutMask', [], { shape: x.shape, rate: o.rate, salt })),
  }),
  describe: (o) => `dropout rate ${o.rate}`,
});
