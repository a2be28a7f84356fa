// maxPooling1d/2d and averagePooling1d/2d: a window per channel (TF.js defaults: poolSize 2,
// strides = poolSize, padding valid). Padding never counts: max ignores it, the average
// divides by the real elements of each window, as TF.js does.
import { z } from 'zod';
import { outExtent } from '../format/geometry.ts';
import { common, intOrTuple, padAmounts, padding, perAxis, requireRank } from './options.ts';
import { defineLayer, LayerError, type AnyLayerRecord } from './types.ts';

function poolLayer(type: string, kind: 'max' | 'avg', rank: number): AnyLayerRecord {
  const schema = z.strictObject({
    type: z.literal(type),
    poolSize: intOrTuple('poolSize').optional().describe('Window size (default 2)'),
    strides: intOrTuple('strides').optional().describe('Step between windows (default poolSize)'),
    padding: padding.optional(),
    ...common,
  });
  type O = z.output<typeof schema>;
  const geometry = (o: O, inputShape: readonly number[]) => {
    requireRank(inputShape, rank + 1, type);
    const spatial = inputShape.slice(0, rank);
    const k = perAxis(o.poolSize, rank, 2, 'poolSize');
    const s = perAxis(o.strides, rank, k, 'strides');
    const mode = o.padding ?? 'valid';
    const pads = spatial.map((n, a) => padAmounts(mode, n, k[a]!, s[a]!, 1));
    const out = spatial.map((n, a) => outExtent(n, k[a]!, s[a]!, 1, pads[a]![0], pads[a]![1]));
    out.forEach((e, a) => {
      if (e < 1)
        throw new LayerError(
          ['poolSize'],
          `a pool of ${k[a]} leaves nothing of the input's ${spatial[a]} along axis ${a}`,
        );
    });
    return { k, s, pads, out, mode };
  };
  return defineLayer({
    type,
    doc: `${rank}-D ${kind === 'max' ? 'max' : 'average'} pooling per channel`,
    schema,
    activation: 'none',
    shapes: (o, inputShape) => ({
      outputShape: [...geometry(o, inputShape).out, inputShape[rank]!],
      weights: [],
    }),
    build: ({ B, x }, o) => {
      const g = geometry(o, x.shape);
      const attrs = {
        window: g.k,
        strides: g.s,
        padBefore: g.pads.map((p) => p[0]),
        padAfter: g.pads.map((p) => p[1]),
      };
      return kind === 'max'
        ? B.make('poolMax', [B.stop(x), x], attrs)
        : B.make('poolAvg', [x], attrs);
    },
    describe: (o, inputShape) => {
      const g = geometry(o, inputShape);
      return `${type} ${g.k.join('×')}, strides ${g.s.join('×')}, ${g.mode}`;
    },
  });
}

export const maxPooling1d = poolLayer('maxPooling1d', 'max', 1);
export const maxPooling2d = poolLayer('maxPooling2d', 'max', 2);
export const averagePooling1d = poolLayer('averagePooling1d', 'avg', 1);
export const averagePooling2d = poolLayer('averagePooling2d', 'avg', 2);

/** Global pooling: one window over all spatial axes, so the result is one value per channel. */
function globalPoolLayer(type: string, kind: 'max' | 'avg', rank: number): AnyLayerRecord {
  const schema = z.strictObject({ type: z.literal(type), ...common });
  return defineLayer({
    type,
    doc: `${kind === 'max' ? 'Max' : 'Mean'} over all ${rank === 1 ? 'steps' : 'positions'}, per channel`,
    schema,
    activation: 'none',
    shapes: (_o, inputShape) => {
      requireRank(inputShape, rank + 1, type);
      return { outputShape: [inputShape[rank]!], weights: [] };
    },
    build: ({ B, x }) => {
      const attrs = { window: x.shape.slice(0, rank) };
      const y =
        kind === 'max' ? B.make('poolMax', [B.stop(x), x], attrs) : B.make('poolAvg', [x], attrs);
      return B.reshape(y, [x.shape[rank]!]);
    },
    describe: (_o, inputShape) => `${type} over [${inputShape.slice(0, rank).join('×')}]`,
  });
}

export const globalMaxPooling1d = globalPoolLayer('globalMaxPooling1d', 'max', 1);
export const globalMaxPooling2d = globalPoolLayer('globalMaxPooling2d', 'max', 2);
export const globalAveragePooling1d = globalPoolLayer('globalAveragePooling1d', 'avg', 1);
export const globalAveragePooling2d = globalPoolLayer('globalAveragePooling2d', 'avg', 2);
