// dense: y = activation(x·W + b). On an input of rank > 1 it applies to the last axis, as in
// TF.js (each position of the leading axes gets the same W): that is a convolution with a
// window of 1 along the leading axes, so it reuses `conv` rather than a new primitive.
import { z } from 'zod';
import { activationSchema } from '../format/functions.ts';
import { common, initializerOptions, positiveInt, prod } from './options.ts';
import { defineLayer } from './types.ts';

const schema = z.strictObject({
  type: z.literal('dense'),
  units: positiveInt('units'),
  activation: activationSchema.optional(),
  useBias: z.boolean().optional().describe('Add a bias vector (default true)'),
  ...initializerOptions,
  ...common,
});

export const dense = defineLayer({
  type: 'dense',
  doc: 'Fully connected: activation(x·kernel + bias) over the last axis; kernel [in, units]',
  schema,
  activation: 'optional',
  shapes: (o, inputShape) => {
    const n = inputShape[inputShape.length - 1]!;
    const m = o.units;
    return {
      outputShape: [...inputShape.slice(0, -1), m],
      weights: [
        {
          name: 'kernel',
          shape: [n, m],
          role: 'kernel',
          init: o.kernelInitializer ?? 'glorotUniform',
          fanIn: n,
          fanOut: m,
        },
        ...(o.useBias === false
          ? []
          : [
              {
                name: 'bias',
                shape: [m],
                role: 'bias',
                init: o.biasInitializer ?? 'zeros',
                fanIn: n,
                fanOut: m,
              } as const,
            ]),
      ],
    };
  },
  build: ({ B, x, weights, activate, named }, o) => {
    const n = x.shape[x.shape.length - 1]!;
    const m = o.units;
    const lead = x.shape.slice(0, -1);
    const xw =
      lead.length === 0
        ? B.matvec(x, weights.kernel!, n, m)
        : B.make('conv', [x, B.reshape(weights.kernel!, [...lead.map(() => 1), n, m])], {});
    const z = weights.bias
      ? B.add(named(xw, 'xw'), lead.length ? B.bcast(weights.bias, xw.shape) : weights.bias)
      : xw;
    return activate(named(z, 'z'));
  },
  describe: (o, inputShape) => `dense ${prod(inputShape)} → ${o.units}`,
});
