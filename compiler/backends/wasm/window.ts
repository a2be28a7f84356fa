// The windows of convolutions and pooling on the WebAssembly backend: their geometry (from
// the graph's conv / poolMax / poolAvg node) and the loop nests over output positions and
// taps that conv.ts and pool.ts share, with an unrolled path for interior windows (every tap
// inside the input, at fixed offsets from the window's first tap).
import type { Node } from '../../ir/node.ts';
import type { FnBuilder } from './fn.ts';

/** A 2-D window over a channels-last input (conv1d: H = KH = 1). */
export interface ConvGeometry {
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly OH: number;
  readonly OW: number;
  /** Output channels (filters; the input's channels for a pool). */
  readonly F: number;
  readonly KH: number;
  readonly KW: number;
  readonly SH: number;
  readonly SW: number;
  readonly DH: number;
  readonly DW: number;
  /** Padding before (top, left); padding after is implied by the output extent. */
  readonly PT: number;
  readonly PL: number;
}

const ints = (n: Node, key: string, fallback: number, rank: number): number[] => {
  const v = n.attrs[key];
  return Array.isArray(v) ? (v as number[]) : new Array<number>(rank).fill(fallback);
};

/** The geometry of a conv / poolMax / poolAvg node (its attributes and shapes). */
export function windowGeometry(n: Node): ConvGeometry {
  const x = n.op === 'poolMax' ? n.args[1]! : n.args[0]!;
  const rank = x.shape.length - 1;
  const lift = (v: readonly number[], one: number) => (rank === 1 ? [one, v[0]!] : [v[0]!, v[1]!]);
  const [H, W] = lift(x.shape, 1);
  const [OH, OW] = lift(n.shape, 1);
  const kernel = n.op === 'conv' ? n.args[1]!.shape.slice(0, rank) : ints(n, 'window', 1, rank);
  const [KH, KW] = lift(kernel, 1);
  const [SH, SW] = lift(ints(n, 'strides', 1, rank), 1);
  const [DH, DW] = lift(ints(n, 'dilation', 1, rank), 1);
  const [PT, PL] = lift(ints(n, 'padBefore', 0, rank), 0);
  return {
    H: H!,
    W: W!,
    C: x.shape[rank]!,
    OH: OH!,
    OW: OW!,
    F: n.shape[rank]!,
    KH: KH!,
    KW: KW!,
    SH: SH!,
    SW: SW!,
    DH: DH!,
    DW: DW!,
    PT: PT!,
    PL: PL!,
  };
}

export const positions = (g: ConvGeometry): number => g.OH * g.OW;
/** The contraction length: one patch. */
export const patchSize = (g: ConvGeometry): number => g.KH * g.KW * g.C;

type TapLocals = ReturnType<typeof tapLocals>;

/** Every output position (oy, ox) in row-major order. */
export function forEachPosition(f: FnBuilder, g: ConvGeometry, w: TapLocals, body: () => void) {
  f.loop(w.oy, g.OH, () => f.loop(w.ox, g.OW, body));
}

/**
 * Every tap (ky, kx) of the window at (oy, ox) in row-major order, with iy/ix the input
 * position it reads: `inside` where that is in the input, `outside` in the padding.
 */
export function forEachTap(
  f: FnBuilder,
  g: ConvGeometry,
  w: TapLocals,
  inside: () => void,
  outside?: () => void,
): void {
  f.loop(w.ky, g.KH, () => {
    f.get(w.oy).i32(g.SH).emit(['i32.mul']).get(w.ky).i32(g.DH).emit(['i32.mul'], ['i32.add']);
    f.i32(g.PT).emit(['i32.sub']).set(w.iy);
    f.loop(w.kx, g.KW, () => {
      f.get(w.ox).i32(g.SW).emit(['i32.mul']).get(w.kx).i32(g.DW).emit(['i32.mul']);
      f.emit(['i32.add']).i32(g.PL).emit(['i32.sub']).set(w.ix);
      // Unsigned compares: a negative coordinate is out of range too.
      f.get(w.iy).i32(g.H).emit(['i32.lt_u']).get(w.ix).i32(g.W).emit(['i32.lt_u']);
      f.emit(['i32.and']).ifElse(inside, outside);
    });
  });
}

/** Windows with at most this many taps get an unrolled path for interior positions. */
const MAX_UNROLLED_TAPS = 64;

/** Byte offset of tap (ky, kx) from the window's first tap (top-left, channel 0). */
export const tapOffset = (g: ConvGeometry, e: number, ky: number, kx: number): number =>
  (ky * g.DH * g.W + kx * g.DW) * g.C * e;

/** The output positions whose every tap is inside the input, [oy0, oy1) × [ox0, ox1), or
 * null where that is empty or the window too large to unroll. */
export function interior(g: ConvGeometry) {
  if (g.KH * g.KW > MAX_UNROLLED_TAPS) return null;
  const lo = (p: number, s: number) => Math.ceil(p / s);
  const hi = (n: number, p: number, k: number, d: number, s: number, out: number) =>
    Math.min(out, Math.floor((n - 1 + p - (k - 1) * d) / s) + 1);
  const r = {
    oy0: lo(g.PT, g.SH),
    oy1: hi(g.H, g.PT, g.KH, g.DH, g.SH, g.OH),
    ox0: lo(g.PL, g.SW),
    ox1: hi(g.W, g.PL, g.KW, g.DW, g.SW, g.OW),
  };
  return r.oy1 > r.oy0 && r.ox1 > r.ox0 ? r : null;
}

/**
 * At each position: `inner()` where every tap is inside the input (then `pe` holds the
 * sample-relative element index of the window's first tap, which may not be needed),
 * `general()` elsewhere. Without an interior, always `general()`.
 */
export function splitInterior(
  f: FnBuilder,
  g: ConvGeometry,
  w: TapLocals,
  pe: number,
  inner: () => void,
  general: () => void,
): void {
  const r = interior(g);
  if (!r) return general();
  f.get(w.oy)
    .i32(r.oy0)
    .emit(['i32.sub'])
    .i32(r.oy1 - r.oy0)
    .emit(['i32.lt_u']);
  f.get(w.ox)
    .i32(r.ox0)
    .emit(['i32.sub'])
    .i32(r.ox1 - r.ox0)
    .emit(['i32.lt_u']);
  f.emit(['i32.and']).ifElse(() => {
    f.get(w.oy).i32(g.SH).emit(['i32.mul']).i32(g.PT).emit(['i32.sub']).i32(g.W).emit(['i32.mul']);
    f.get(w.ox).i32(g.SW).emit(['i32.mul']).i32(g.PL).emit(['i32.sub'], ['i32.add']);
    f.i32(g.C).emit(['i32.mul']).set(pe);
    inner();
  }, general);
}

/** The window locals of forEachTap. */
export function tapLocals(f: FnBuilder) {
  return {
    oy: f.local('i32'),
    ox: f.local('i32'),
    ky: f.local('i32'),
    kx: f.local('i32'),
    iy: f.local('i32'),
    ix: f.local('i32'),
  };
}

/** (iy·W + ix)·C·e + base: the byte address of input position (iy, ix), channel 0. */
export function inputAddress(
  f: FnBuilder,
  g: ConvGeometry,
  w: { iy: number; ix: number },
  base: number,
) {
  f.get(w.iy).i32(g.W).emit(['i32.mul']).get(w.ix).emit(['i32.add']);
  f.i32(g.C * f.e)
    .emit(['i32.mul'])
    .get(base)
    .emit(['i32.add']);
}
