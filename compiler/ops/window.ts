// Geometry of sliding windows over the spatial axes of a channels-last tensor
// ([...spatial, channels]): convolutions and pooling share it. Padding is explicit
// (before/after per axis): the layer turns TF.js's `same` / `valid` into numbers.
import { outExtent } from '../format/geometry.ts';
import { attrInts, sizeOf, type Attrs } from '../ir/node.ts';

export { outExtent };

export interface Window {
  readonly spatialIn: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilation: readonly number[];
  readonly padBefore: readonly number[];
  readonly padAfter: readonly number[];
  readonly spatialOut: readonly number[];
}

/** The window of `attrs` (strides, dilation, padBefore, padAfter) over `spatialIn`. */
export function windowOf(
  op: string,
  attrs: Attrs,
  spatialIn: readonly number[],
  kernel: readonly number[],
): Window {
  const r = spatialIn.length;
  const list = (key: string, fallback: number): readonly number[] => {
    if (attrs[key] === undefined) return new Array<number>(r).fill(fallback);
    const xs = attrInts(attrs, key, op);
    if (xs.length !== r) throw new Error(`${op}: ${key} has ${xs.length} entries, wants ${r}`);
    return xs;
  };
  const strides = list('strides', 1);
  const dilation = list('dilation', 1);
  const padBefore = list('padBefore', 0);
  const padAfter = list('padAfter', 0);
  if (kernel.length !== r) throw new Error(`${op}: a ${kernel.length}-d window on ${r}-d data`);
  const spatialOut = spatialIn.map((n, d) => {
    if (strides[d]! < 1 || dilation[d]! < 1 || padBefore[d]! < 0 || padAfter[d]! < 0)
      throw new Error(`${op}: bad window parameters`);
    const o = outExtent(n, kernel[d]!, strides[d]!, dilation[d]!, padBefore[d]!, padAfter[d]!);
    if (o < 1) throw new Error(`${op}: a window of ${kernel[d]} does not fit in ${n}`);
    return o;
  });
  return { spatialIn, kernel, strides, dilation, padBefore, padAfter, spatialOut };
}

/**
 * Calls `tap(o, k, x)` for every output position, window position and the input position it
 * reads (flat spatial indices), skipping taps that fall into the padding. The reference
 * semantics of every windowed op; lowered kernels must agree with it.
 */
export function forEachTap(w: Window, tap: (o: number, k: number, x: number) => void): void {
  const r = w.spatialIn.length;
  const outCount = sizeOf(w.spatialOut);
  const kCount = sizeOf(w.kernel);
  const oIdx = new Array<number>(r).fill(0);
  const kIdx = new Array<number>(r).fill(0);
  for (let o = 0; o < outCount; o++) {
    let rem = o;
    for (let d = r - 1; d >= 0; d--) {
      oIdx[d] = rem % w.spatialOut[d]!;
      rem = Math.floor(rem / w.spatialOut[d]!);
    }
    for (let k = 0; k < kCount; k++) {
      let remK = k;
      for (let d = r - 1; d >= 0; d--) {
        kIdx[d] = remK % w.kernel[d]!;
        remK = Math.floor(remK / w.kernel[d]!);
      }
      let x = 0;
      let inside = true;
      for (let d = 0; d < r; d++) {
        const p = oIdx[d]! * w.strides[d]! + kIdx[d]! * w.dilation[d]! - w.padBefore[d]!;
        if (p < 0 || p >= w.spatialIn[d]!) {
          inside = false;
          break;
        }
        x = x * w.spatialIn[d]! + p;
      }
      if (inside) tap(o, k, x);
    }
  }
}

export function windowAttrs(w: Window): Record<string, readonly number[]> {
  return {
    strides: w.strides,
    dilation: w.dilation,
    padBefore: w.padBefore,
    padAfter: w.padAfter,
  };
}
