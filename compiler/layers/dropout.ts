// dropout (TF.js: `rate`, optional `seed`). Every program of this compiler is inference mode
// for dropout, `gradient` and `gradientBatch` included: the layer is the identity and emits
// no code. Training-mode masks are not implemented; `seed` is accepted so TF.js model files
// load. `noiseShape` is refused: it only matters for masks.
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
    .describe('Accepted for TF.js compatibility; dropout is the identity in every program'),
  ...common,
});

export const dropout = defineLayer({
  type: 'dropout',
  doc: 'Identity in every program (inference mode); training-mode masks are not implemented',
  schema,
  activation: 'none',
  shapes: (_o, inputShape) => ({ outputShape: inputShape, weights: [] }),
  build: ({ x }) => x,
  trainingNote: 'dropout is the identity in training too (masks are not implemented)',
  describe: (o) => `dropout rate ${o.rate} (identity)`,
});
