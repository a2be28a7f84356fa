// conv1d / conv2d: activation(conv(x, kernel) + bias), channels-last, TF.js options and
// defaults (strides 1, padding valid, dilationRate 1, useBias true); kernel
// [...kernelSize, inChannels, filters]. Padding `same` pads as TensorFlow does (the odd element
// after). Like TF, strides > 1 together with dilationRate > 1 is refused.
import { z } from 'zod';
import { activationSchema } from '../format/functions.ts';
import { outExtent } from '../format/geometry.ts';
import {
  common,
  initializerOptions,
  intOrTuple,
  padAmounts,
  padding,
  perAxis,
  positiveInt,
  prod,
  requireRank,
} from './options.ts';
import { defineLayer, LayerError, type AnyLayerRecord } from './types.ts';

function convLayer(type: 'conv1d' | 'conv2d', rank: number): AnyLayerRecord {
  const schema = z.strictObject({
    type: z.literal(type),
    filters: positiveInt('filters'),
    kernelSize: intOrTuple('kernelSize').describe('Window size: a number or one per spatial axis'),
    strides: intOrTuple('strides').optional().describe('Step between windows (default 1)'),
    padding: padding.optional(),
    dilationRate: intOrTuple('dilationRate')
      .optional()
      .describe('Spacing of window taps (default 1)'),
    activation: activationSchema.optional(),
    useBias: z.boolean().optional().describe('Add a bias per filter (default true)'),
    ...initializerOptions,
    ...common,
  });
  type O = z.output<typeof schema>;
  const geometry = (o: O, inputShape: readonly number[]) => {
    requireRank(inputShape, rank + 1, type);
    const spatial = inputShape.slice(0, rank);
    const k = perAxis(o.kernelSize, rank, 1, 'kernelSize');
    const s = perAxis(o.strides, rank, 1, 'strides');
    const d = perAxis(o.dilationRate, rank, 1, 'dilationRate');
    if (s.some((x) => x > 1) && d.some((x) => x > 1))
      throw new LayerError(
        ['dilationRate'],
        'strides > 1 together with dilationRate > 1 is not supported (as in TF.js)',
      );
    const mode = o.padding ?? 'valid';
    const pads = spatial.map((n, a) => padAmounts(mode, n, k[a]!, s[a]!, d[a]!));
    const out = spatial.map((n, a) => outExtent(n, k[a]!, s[a]!, d[a]!, pads[a]![0], pads[a]![1]));
    out.forEach((e, a) => {
      if (e < 1)
        throw new LayerError(
          ['kernelSize'],
          `a window of ${(k[a]! - 1) * d[a]! + 1} does not fit in the input's ${spatial[a]} along axis ${a}`,
        );
    });
    return { k, s, d, pads, out, ci: inputShape[rank]!, mode };
  };
  return defineLayer({
    type,
    doc: `${rank}-D convolution: activation(conv(x, kernel) + bias), kernel [${rank === 1 ? 'k' : 'kh, kw'}, in, filters]`,
    schema,
    activation: 'optional',
    shapes: (o, inputShape) => {
      const g = geometry(o, inputShape);
      const receptive = prod(g.k);
      const fanIn = receptive * g.ci;
      const fanOut = receptive * o.filters;
      return {
        outputShape: [...g.out, o.filters],
        weights: [
          {
            name: 'kernel',
            shape: [...g.k, g.ci, o.filters],
            role: 'kernel',
            init: o.kernelInitializer ?? 'glorotUniform',
            fanIn,
            fanOut,
          },
          ...(o.useBias === false
            ? []
            : [
                {
                  name: 'bias',
                  shape: [o.filters],
                  role: 'bias',
                  init: o.biasInitializer ?? 'zeros',
                  fanIn,
                  fanOut,
                } as const,
              ]),
        ],
      };
    },
    build: ({ B, x, weights, activate, named }, o) => {
      const g = geometry(o, x.shape);
      const y = B.make('conv', [x, weights.kernel!], {
        strides: g.s,
        dilation: g.d,
        padBefore: g.pads.map((p) => p[0]),
        padAfter: g.pads.map((p) => p[1]),
      });
      const z = weights.bias ? B.add(named(y, 'conv'), B.bcast(weights.bias, y.shape)) : y;
      return activate(named(z, 'z'));
    },
    describe: (o, inputShape) => {
      const g = geometry(o, inputShape);
      const extra = [
        g.s.some((x) => x > 1) ? `strides ${g.s.join('×')}` : '',
        g.d.some((x) => x > 1) ? `dilation ${g.d.join('×')}` : '',
      ].filter(Boolean);
      return `${type} ${g.k.join('×')}×${g.ci} → ${o.filters}, ${g.mode}${extra.length ? `, ${extra.join(', ')}` : ''}`;
    },
  });
}

export const conv1d = convLayer('conv1d', 1);
export const conv2d = convLayer('conv2d', 2);
