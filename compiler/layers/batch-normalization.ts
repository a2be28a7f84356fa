// batchNormalization (TF.js: axis −1, momentum 0.99, epsilon 1e-3, center and scale on).
// Weights in TF.js getWeights() order: gamma (ones), beta (zeros), movingMean (zeros),
// movingVariance (ones), each `[features]`; the moving statistics are state, not trainable.
// Inference (`forward`, `forwardBatch`, `loss`) uses the moving statistics:
//   y = (x − movingMean) / sqrt(movingVariance + ε) · gamma + beta
// Training (`gradient`, `gradientBatch`) uses the statistics of the batch, as TF.js
// `normalizeBatchInTraining`: the mean and the biased variance over every sample and, for a
// rank > 1 input, every position but the last axis; each is a `batchMean` of a per-sample
// mean, so its derivative through the statistics comes out of reverse mode. The step then
// writes, as TF.js `doMovingAverage` (biased variance, no Bessel correction):
//   moving ← moving − (moving − batch) · (1 − momentum)
// With a batch of one the variance is 0 and x̂ = 0, as in Keras.
import { z } from 'zod';
import { common } from './options.ts';
import { defineLayer, LayerError, type WeightSpec } from './types.ts';
import type { Node } from '../ir/node.ts';

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
  doc: 'Normalizes each feature of the last axis (training: by the batch statistics, updating the moving ones; inference: by the moving mean and variance), then gamma · x̂ + beta',
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
  train: ({ B, x, weights, named }, o) => {
    const c = x.shape[x.shape.length - 1]!;
    const positions = x.size / c;
    // The per-sample mean over the positions (all axes but the last), then over the batch.
    const perSample = (v: Node) =>
      x.shape.length === 1 ? v : B.div(B.sumTo(v, [c]), B.const(positions));
    const mean = named(B.make('batchMean', [perSample(x)]), 'bmean');
    const xc = named(B.sub(x, B.bcast(mean, x.shape)), 'bxc');
    // The variance's derivative by the mean is −2·mean(x − mean) = 0: reading the mean
    // through `stop` there leaves that zero path out, so both backward batch means (of dy
    // and of dy·x̂) sit at one depth, one phase fewer per layer (batch/phases.ts).
    const dev = B.sub(x, B.bcast(B.stop(mean), x.shape));
    const variance = named(B.make('batchMean', [perSample(B.mul(dev, dev))]), 'bvar');
    let k = B.div(B.const(1), B.unary('sqrt', B.add(variance, B.const(o.epsilon ?? 1e-3))));
    if (weights.gamma) k = B.mul(k, weights.gamma);
    let y = B.mul(xc, B.bcast(k, x.shape));
    if (weights.beta) y = B.add(y, B.bcast(weights.beta, x.shape));
    const decay = B.const(1 - (o.momentum ?? 0.99));
    const update = (moving: Node, batch: Node) => B.sub(moving, B.mul(B.sub(moving, batch), decay));
    return {
      y,
      state: {
        movingMean: update(weights.movingMean!, mean),
        movingVariance: update(weights.movingVariance!, variance),
      },
    };
  },
  describe: (o, inputShape) =>
    `batchNormalization over ${inputShape[inputShape.length - 1]} features, epsilon ${o.epsilon ?? 1e-3}`,
});
