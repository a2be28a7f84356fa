// Convolution and pooling of one channels-last sample, as naive loops over every output
// element and every window tap. 1-D layers run as 2-D with a height of 1 (a height-1 kernel,
// stride and dilation 1 on that axis), which changes nothing in the arithmetic.

import { padBefore, type Padding } from '../model.ts';

export interface Window2d {
  /** Input height, width, channels. */
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly padding: Padding;
  /** Output height and width. */
  readonly oh: number;
  readonly ow: number;
}

/** Index of input pixel (y, x) channel c, or −1 when the tap falls in the padding. */
function tap(g: Window2d, oy: number, ox: number, ky: number, kx: number): number {
  const top = padBefore(g.h, g.kh, g.sh, g.dh, g.padding);
  const left = padBefore(g.w, g.kw, g.sw, g.dw, g.padding);
  const y = oy * g.sh + ky * g.dh - top;
  const x = ox * g.sw + kx * g.dw - left;
  if (y < 0 || y >= g.h || x < 0 || x >= g.w) return -1;
  return (y * g.w + x) * g.c;
}

/** out[oy, ox, f] = bias[f] + Σ_{ky, kx, c} in[tap] · kernel[ky, kx, c, f]. */
export function conv2d(
  g: Window2d,
  input: Float64Array,
  kernel: Float64Array,
  bias: Float64Array | undefined,
  filters: number,
): Float64Array {
  const out = new Float64Array(g.oh * g.ow * filters);
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let f = 0; f < filters; f++) {
        let s = bias === undefined ? 0 : bias[f];
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const i = tap(g, oy, ox, ky, kx);
            if (i < 0) continue;
            for (let c = 0; c < g.c; c++)
              s += input[i + c] * kernel[((ky * g.kw + kx) * g.c + c) * filters + f];
          }
        out[(oy * g.ow + ox) * filters + f] = s;
      }
  return out;
}

/** Max or mean over the in-bounds taps of each window (padding is never counted). */
export function pool2d(g: Window2d, input: Float64Array, kind: 'max' | 'average'): Float64Array {
  const out = new Float64Array(g.oh * g.ow * g.c);
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let c = 0; c < g.c; c++) {
        let best = -Infinity;
        let sum = 0;
        let n = 0;
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const i = tap(g, oy, ox, ky, kx);
            if (i < 0) continue;
            best = Math.max(best, input[i + c]);
            sum += input[i + c];
            n++;
          }
        out[(oy * g.ow + ox) * g.c + c] = kind === 'max' ? best : sum / n;
      }
  return out;
}
