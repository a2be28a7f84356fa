// batchNormalization (TF.js: axis −1, momentum 0.99, epsilon 1e-3, center and scale on).
// Weights in TF.js getWeights() order: gamma (ones), beta (zeros), movingMean (zeros),
// movingVariance (ones), each `[features]`; the moving statistics are state, not trainable.
//   y = (x − movingMean) / sqrt(movingVariance + ε) · gamma + beta
// Every program of this compiler uses the moving statistics (inference mode), `gradient`
// and `gradientBatch` included: training with batch statistics is not implemented, so a
// model trains its batchNormalization as Keras does with the layer's statistics frozen.
// `momentum` is accepted and validated (so TF.js model files load) but nothing reads it yet.
import { z } from 'zod';
import { common } from './options.ts';
import { defineLayer, LayerError, type WeightSpec } from './types.ts';

const schema = z.strictObject({
  type: z.literal('batchNormalization'),
  momentum: z
    .number({ error: 'momentum must be a number' })
    .min(0, { error: 'momentum must be at least 0' })
    .max(1, { error: 'momentum must be at most 1' })
    .optional()
    .describe('Moving-average momentum of the statistics (default 0.99)'),
  epsilon: z
    .number({ error: 'epsilon must be a number' })
    .gt(0, { error: 'epsilon must be greater than 0' })
    .max(1, { error: 'epsilon must be at most 1' })
    .optional()
    .describe('Added to the variance (default 1e-3)'),
  center: z.boolean().optional().describe('Add the learned offset beta (default true)'),
  scale: z.boolean().optional().describe('Multiply by the learned gamma (default true)'),
  axis: z
    .literal(-1, { error: 'only axis -1 (the last axis, the TF.js default) is supported' })
    .optional()
    .describe('Only the last axis (-1, the TF.js default) is supported'),
  ...common,
});

const weight = (
  name: WeightSpec['name'],
  role: WeightSpec['role'],
  init: WeightSpec['init'],
  n: number,
  trainable: boolean,
): WeightSpec => ({ name, shape: [n], role, init, fanIn: n, fanOut: n, trainable });

export const batchNormalization = defineLayer({
  type: 'batchNormalization',
  doc: 'Normalizes each feature of the last axis by the moving mean and variance, then gamma · x̂ + beta',
  schema,
  activation: 'none',
  shapes: (o, inputShape) => {
    const n = inputShape[inputShape.length - 1]!;
    if (n < 1) throw new LayerError(['type'], 'batchNormalization needs at least 1 feature');
    return {
      outputShape: inputShape,
      weights: [
        ...(o.scale === false ? [] : [weight('gamma', 'gamma', 'ones', n, true)]),
        ...(o.center === false ? [] : [weight('beta', 'beta', 'zeros', n, true)]),
        weight('movingMean', 'movingMean', 'zeros', n, false),
        weight('movingVariance', 'movingVariance', 'ones', n, false),
      ],
    };
  },
  build: ({ B, x, weights, named }, o) => {
    const eps = B.const(o.epsilon ?? 1e-3);
    // One scale per feature, then broadcast: n square roots per sample, not one per element.
    let k = B.div(B.const(1), B.unary('sqrt', B.add(weights.movingVariance!, eps)));
    if (weights.gamma) k = B.mul(k, weights.gamma);
    const xc = named(B.sub(x, B.bcast(weights.movingMean!, x.shape)), 'xc');
    let y = B.mul(xc, B.bcast(k, x.shape));
    if (weights.beta) y = B.add(y, B.bcast(weights.beta, x.shape));
    return y;
  },
  trainingNote:
    'batchNormalization trains with its moving statistics, frozen (batch statistics and their updates are not implemented)',
  describe: (o, inputShape) =>
    `batchNormalization over ${inputShape[inputShape.length - 1]} features, epsilon ${o.epsilon ?? 1e-3}`,
});
