// Windowed reductions over the spatial axes of a channels-last tensor [...spatial, c], one
// channel at a time (pooling). Padding is never part of a window: max pooling ignores it and
// average pooling divides by the number of real elements, as TF.js does.
//   poolMax(s, v)   y[o,c] = v[argmax_{i ∈ window(o)} s[i,c], c]   (the first maximum)
//   poolMaxT(s, c)  dv[i,c] = Σ_{o: i = argmax window(o) of s} c[o,c]
//   poolAvg(x)      y[o,c] = mean_{i ∈ window(o)} x[i,c]
//   poolAvgT(c)     dx[i,c] = Σ_{o: i ∈ window(o)} c[o,c] / |window(o)|
// Max pooling is poolMax(stop(x), x): the selector has no gradient (the choice of the
// maximum is piecewise constant) and the value's cotangent is routed back by poolMaxT.
// poolMax and poolMaxT are transposes of each other in their second argument, as are
// poolAvg and poolAvgT.
import { attrInts, sameShape, sizeOf, type Attrs, type Node } from '../ir/node.ts';
import { forEachTap, windowOf, type Window } from './window.ts';
import { fullCotangent as full } from './cotangent.ts';
import type { StructuredOp } from './types.ts';

export function poolGeometry(op: string, inShape: readonly number[], attrs: Attrs): Window {
  if (inShape.length < 2) throw new Error(`${op}: the input needs spatial axes and channels`);
  return windowOf(op, attrs, inShape.slice(0, -1), attrInts(attrs, 'window', op));
}

function outShape(op: string, inShape: readonly number[], attrs: Attrs): number[] {
  const w = poolGeometry(op, inShape, attrs);
  return [...w.spatialOut, inShape[inShape.length - 1]!];
}

function inShapeOf(op: string, attrs: Attrs, channels: number): number[] {
  return [...attrInts(attrs, 'spatialIn', op), channels];
}

/** Flat spatial input index of the first maximum of `s` in each window, per channel (-1 when
 * a window holds only NaN). */
export function argmaxTable(w: Window, s: Float64Array, channels: number): Int32Array {
  const outCount = sizeOf(w.spatialOut);
  const best = new Int32Array(outCount * channels).fill(-1);
  forEachTap(w, (o, _k, x) => {
    for (let c = 0; c < channels; c++) {
      const b = best[o * channels + c]!;
      if (b < 0 ? !Number.isNaN(s[x * channels + c]!) : s[x * channels + c]! > s[b * channels + c]!)
        best[o * channels + c] = x;
    }
  });
  return best;
}

export function windowCounts(w: Window): Int32Array {
  const outCount = sizeOf(w.spatialOut);
  const n = new Int32Array(outCount);
  forEachTap(w, (o) => n[o]!++);
  return n;
}

function windowOnly(a: Attrs): Attrs {
  const out: Record<string, readonly number[]> = {};
  for (const k of ['window', 'strides', 'padBefore', 'padAfter'] as const) {
    const v = a[k];
    if (Array.isArray(v)) out[k] = v;
  }
  return out;
}

const taps = (w: Window, channels: number): number => {
  let n = 0;
  forEachTap(w, () => n++);
  return n * channels;
};

export const poolOps: StructuredOp[] = [
  {
    name: 'poolMax',
    kind: 'structured',
    arity: 2,
    smooth: false,
    doc: 'v at the first maximum of s in each window, per channel (max pooling is poolMax(stop x, x))',
    shape: ([s, v], attrs) => {
      if (!sameShape(s!.shape, v!.shape))
        throw new Error('poolMax: selector and value differ in shape');
      return outShape('poolMax', s!.shape, attrs);
    },
    evaluate: ([s, v], attrs, out, [ss]) => {
      const channels = ss![ss!.length - 1]!;
      const best = argmaxTable(poolGeometry('poolMax', ss!, attrs), s!, channels);
      for (let j = 0; j < out.length; j++) {
        const b = best[j]!;
        out[j] = b < 0 ? NaN : v![b * channels + (j % channels)]!;
      }
    },
    vjp: ({ B, ct, y, args: [s], needs }) => [
      null,
      needs[1] ? B.make('poolMaxT', [s!, full(B, ct, y)], windowOnly(y.attrs)) : null,
    ],
    cost: (n) =>
      taps(poolGeometry('poolMax', n.args[0]!.shape, n.attrs), n.shape[n.shape.length - 1]!),
  },
  {
    name: 'poolMaxT',
    kind: 'structured',
    arity: 2,
    smooth: false,
    doc: 'c scattered (added) to the first maximum of s in each window: poolMax transposed',
    shape: ([s, c], attrs) => {
      const want = outShape('poolMaxT', s!.shape, attrs);
      if (!sameShape(c!.shape, want))
        throw new Error(
          `poolMaxT: cotangent has shape [${c!.shape.join(',')}], wants [${want.join(',')}]`,
        );
      return s!.shape;
    },
    evaluate: ([s, c], attrs, out, [ss]) => {
      const channels = ss![ss!.length - 1]!;
      const best = argmaxTable(poolGeometry('poolMaxT', ss!, attrs), s!, channels);
      out.fill(0);
      for (let j = 0; j < best.length; j++) {
        const b = best[j]!;
        if (b >= 0) out[b * channels + (j % channels)] += c![j]!;
      }
    },
    vjp: ({ B, ct, y, args: [s], needs }) => [
      null,
      needs[1] ? B.make('poolMax', [s!, full(B, ct, y)], windowOnly(y.attrs)) : null,
    ],
    cost: (n) =>
      taps(poolGeometry('poolMaxT', n.args[0]!.shape, n.attrs), n.shape[n.shape.length - 1]!),
  },
  {
    name: 'poolAvg',
    kind: 'structured',
    arity: 1,
    smooth: true,
    doc: 'mean of each window per channel, padding excluded from the count',
    shape: ([x], attrs) => outShape('poolAvg', x!.shape, attrs),
    evaluate: ([x], attrs, out, [xs]) => {
      const channels = xs![xs!.length - 1]!;
      const w = poolGeometry('poolAvg', xs!, attrs);
      const n = windowCounts(w);
      // Sum, then divide: the same rounding as the lowered kernel.
      out.fill(0);
      forEachTap(w, (o, _k, p) => {
        for (let c = 0; c < channels; c++) out[o * channels + c] += x![p * channels + c]!;
      });
      for (let j = 0; j < out.length; j++) out[j] = out[j]! / n[Math.floor(j / channels)]!;
    },
    vjp: ({ B, ct, y, args: [x] }) => [
      B.make('poolAvgT', [full(B, ct, y)], {
        ...windowOnly(y.attrs),
        spatialIn: x!.shape.slice(0, -1),
      }),
    ],
    cost: (n) =>
      taps(poolGeometry('poolAvg', n.args[0]!.shape, n.attrs), n.shape[n.shape.length - 1]!),
  },
  {
    name: 'poolAvgT',
    kind: 'structured',
    arity: 1,
    smooth: true,
    doc: 'each window cotangent shared out over its real elements: poolAvg transposed',
    shape: ([c], attrs) => {
      const channels = c!.shape[c!.shape.length - 1]!;
      const inShape = inShapeOf('poolAvgT', attrs, channels);
      const want = outShape('poolAvgT', inShape, attrs);
      if (!sameShape(c!.shape, want))
        throw new Error(
          `poolAvgT: cotangent has shape [${c!.shape.join(',')}], wants [${want.join(',')}]`,
        );
      return inShape;
    },
    evaluate: ([c], attrs, out, [cs]) => {
      const channels = cs![cs!.length - 1]!;
      const w = poolGeometry('poolAvgT', inShapeOf('poolAvgT', attrs, channels), attrs);
      const n = windowCounts(w);
      out.fill(0);
      forEachTap(w, (o, _k, p) => {
        for (let ch = 0; ch < channels; ch++)
          out[p * channels + ch] += c![o * channels + ch]! / n[o]!;
      });
    },
    vjp: ({ B, ct, y }) => [B.make('poolAvg', [full(B, ct, y)], windowOnly(y.attrs))],
    cost: (n) => taps(poolGeometry('poolAvgT', n.shape, n.attrs), n.shape[n.shape.length - 1]!),
  },
];
