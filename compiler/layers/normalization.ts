// layerNormalization: each sample normalized over its last axis, then scaled and shifted
// per feature (TF.js: axis −1, epsilon 1e-3, center and scale on; weights gamma (ones) then
// beta (zeros), `[features]`). The variance is the biased one, as in TF.js:
//   y = (x − mean) / sqrt(var + ε) · gamma + beta
// Composed from primitives (sumTo over the last axis and broadcasts back), so its gradient
// comes from their rules; nothing here is a derivative by hand.
import { z } from 'zod';
import { common } from './options.ts';
import { defineLayer, LayerError } from './types.ts';

const schema = z.strictObject({
  type: z.literal('layerNormalization'),
  epsilon: z
    .number()
    .gt(0, { error: 'epsilon must be greater than 0' })
    .max(1, { error: 'epsilon must be at most 1' })
    .optional()
    .describe('Added to the variance (default 1e-3)'),
  center: z.boolean().optional().describe('Add the learned offset beta (default true)'),
  scale: z.boolean().optional().describe('Multiply by the learned gamma (default true)'),
  axis: z
    .literal(-1)
    .optional()
    .describe('Only the last axis (-1, the TF.js default) is supported'),
  ...common,
});

export const layerNormalization = defineLayer({
  type: 'layerNormalization',
  doc: 'Normalizes each sample over its last axis, then gamma · x̂ + beta per feature',
  schema,
  activation: 'none',
  shapes: (o, inputShape) => {
    const n = inputShape[inputShape.length - 1]!;
    if (n < 2)
      throw new LayerError(
        ['type'],
        'layerNormalization needs at least 2 features on the last axis',
      );
    return {
      outputShape: inputShape,
      weights: [
        ...(o.scale === false
          ? []
          : [
              {
                name: 'gamma',
                shape: [n],
                role: 'gamma',
                init: 'ones',
                fanIn: n,
                fanOut: n,
              } as const,
            ]),
        ...(o.center === false
          ? []
          : [
              {
                name: 'beta',
                shape: [n],
                role: 'beta',
                init: 'zeros',
                fanIn: n,
                fanOut: n,
              } as const,
            ]),
      ],
    };
  },
  build: ({ B, x, weights, named }, o) => {
    const n = x.shape[x.shape.length - 1]!;
    const keep = [...x.shape.slice(0, -1), 1];
    const mean = B.div(B.sumTo(x, keep), B.const(n));
    const xc = named(B.sub(x, B.bcast(mean, x.shape)), 'xc');
    const variance = B.div(B.sumTo(B.mul(xc, xc), keep), B.const(n));
    const inv = B.div(B.const(1), B.unary('sqrt', B.add(variance, B.const(o.epsilon ?? 1e-3))));
    let y = B.mul(xc, B.bcast(inv, x.shape));
    if (weights.gamma) y = B.mul(named(y, 'xhat'), B.bcast(weights.gamma, x.shape));
    if (weights.beta) y = B.add(y, B.bcast(weights.beta, x.shape));
    return y;
  },
  describe: (o, inputShape) =>
    `layerNormalization over ${inputShape[inputShape.length - 1]} features, epsilon ${o.epsilon ?? 1e-3}`,
});
