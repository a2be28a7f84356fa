// Convolutions on the WebAssembly backend: im2col of one sample into a scratch matrix of
// patches, then the register-blocked gemm (gemm.ts), one sample at a time so the patches of
// a sample (at most a few hundred KB) stay in cache:
//   forward          Z[pos, f]  = act(b[f] + Σ_k P[pos, k]·W[k, f])      P = im2col(x)
//   kernel gradient  gW[k, f]  += Σ_pos P[pos, k]·dZ[pos, f]             (Pᵀ·dZ)
//   bias gradient    gb[f]     += Σ_pos dZ[pos, f]                       (1ᵀ·dZ, whole chunk)
//   input gradient   dP = dZ·Wᵀ, then dx = col2im(dP)                    (scatter-add)
// with k = (ky, kx, ci) in the kernel's own row-major order, so W [kh, kw, ci, f] is already
// the K × F matrix. A conv1d is the same with a height of 1.
import type { Node } from '../../ir/node.ts';
import { gemm, type Precision } from './gemm.ts';
import { FnBuilder } from './fn.ts';
import type { WasmFunction } from './encode.ts';

/** Bytes of patches per kernel-gradient call (L1 here is 48 KB). */
const TILE_BYTES = 16384;

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

/** im2col(P, X): P[pos, (ky, kx, ci)] = X[iy, ix, ci], 0 in the padding, for one sample. */
function im2col(name: string, precision: Precision, g: ConvGeometry): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32'], precision);
  const [P, X] = [0, 1];
  const w = tapLocals(f);
  const p = f.local('i32');
  const s = f.local('i32');
  const run = g.C * f.e;
  const pe = f.local('i32');
  f.get(P).set(p);
  forEachPosition(f, g, w, () =>
    splitInterior(
      f,
      g,
      w,
      pe,
      () => {
        // Every tap inside: whole vectors from fixed offsets, a row of taps at once where
        // they are contiguous (dilation 1); P is written in order, so the excess of one
        // copy is overwritten by the next (and the last lands in P's slack).
        f.get(pe).i32(f.e).emit(['i32.mul']).get(X).emit(['i32.add']).set(s);
        const rows = g.DW === 1 ? [g.KW * run] : new Array<number>(g.KW).fill(run);
        for (let ky = 0; ky < g.KH; ky++)
          rows.forEach((bytes, i) => {
            const kx = g.DW === 1 ? 0 : i;
            const dst = (ky * g.KW + kx) * run;
            f.copyOver(p, dst, s, tapOffset(g, f.e, ky, kx), bytes);
          });
        f.bump(p, g.KH * g.KW * run);
      },
      () =>
        forEachTap(
          f,
          g,
          w,
          () => {
            inputAddress(f, g, w, X);
            f.set(s).copy(p, s, run).bump(p, run);
          },
          () => f.storeZeros(p, run).bump(p, run),
        ),
    ),
  );
  return f.build();
}

/** col2im(DX, P): DX = 0, then DX[iy, ix, ci] += P[pos, (ky, kx, ci)] for one sample. */
function col2im(name: string, precision: Precision, g: ConvGeometry): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32'], precision);
  const [DX, P] = [0, 1];
  const w = tapLocals(f);
  const p = f.local('i32');
  const d = f.local('i32');
  const run = g.C * f.e;
  f.zero(DX, g.H * g.W * run);
  const pe = f.local('i32');
  f.get(P).set(p);
  forEachPosition(f, g, w, () =>
    splitInterior(
      f,
      g,
      w,
      pe,
      () => {
        f.get(pe).i32(f.e).emit(['i32.mul']).get(DX).emit(['i32.add']).set(d);
        const rows = g.DW === 1 ? [g.KW * run] : new Array<number>(g.KW).fill(run);
        for (let ky = 0; ky < g.KH; ky++)
          rows.forEach((bytes, i) => {
            const kx = g.DW === 1 ? 0 : i;
            f.addRun(d, tapOffset(g, f.e, ky, kx), p, (ky * g.KW + kx) * run, bytes);
          });
        f.bump(p, g.KH * g.KW * run);
      },
      () =>
        forEachTap(
          f,
          g,
          w,
          () => {
            inputAddress(f, g, w, DX);
            f.set(d).copy(d, p, run, true).bump(p, run);
          },
          () => f.bump(p, run),
        ),
    ),
  );
  return f.build();
}

export interface ConvKernelInput {
  readonly name: string;
  readonly precision: Precision;
  readonly g: ConvGeometry;
  readonly bias: boolean;
  readonly relu: boolean;
  readonly fma: boolean;
  /** Byte address of the patch scratch (positions × patchSize elements). */
  readonly patches: number;
  /** Whether the input gradient is needed (not for the first layer). */
  readonly backInput: boolean;
}

/**
 * The kernels of one convolution layer, appended to `fns` (helpers first, so the drivers can
 * call them by index). Every driver takes byte addresses and the chunk's sample count r:
 *   cfwd{i}(out, x, W, b, r) · cgw{i}(gW, x, dZ, r) · cdx{i}(dx, dZ, Wᵀ, r) and gb{i}, the
 *   gemm over the whole chunk's dZ (called with m = 1, k = r·positions, A = one 1).
 */
export function convKernels(fns: WasmFunction[], c: ConvKernelInput): void {
  const { g, precision: prec } = c;
  const e = prec === 'f64' ? 8 : 4;
  const K = patchSize(g);
  const M = positions(g);
  const inBytes = g.H * g.W * g.C * e;
  const outBytes = M * g.F * e;
  const add = (fn: WasmFunction) => fns.push(fn) - 1;
  // Few filters (C of at most 2 vectors): 4 rows per block keep 8 accumulators busy.
  const rows = Math.ceil((g.F * e) / 16) <= 2 ? 4 : undefined;
  const base = { precision: prec, accumulate: false, bias: false, relu: false, mask: false };
  const im = add(im2col(`im2col${c.name}`, prec, g));
  const fwd = add(
    gemm({
      ...base,
      fma: c.fma,
      name: `convz${c.name}`,
      rows,
      n: g.F,
      aRow: K,
      aCol: 1,
      ldb: g.F,
      ldc: g.F,
      bias: c.bias,
      relu: c.relu,
    }),
  );
  const gw = add(
    gemm({
      ...base,
      fma: c.fma,
      name: `convgw${c.name}`,
      rows,
      n: g.F,
      aRow: 1,
      aCol: K,
      ldb: g.F,
      ldc: g.F,
      accumulate: true,
    }),
  );
  add(
    gemm({
      ...base,
      fma: c.fma,
      name: `gb${c.name}`,
      n: g.F,
      aRow: 0,
      aCol: 0,
      ldb: g.F,
      ldc: g.F,
      accumulate: true,
    }),
  );
  /** A driver: for s < r, call `steps` with the per-sample addresses. */
  const driver = (name: string, params: number, body: (f: FnBuilder, s: number) => void) => {
    const f = new FnBuilder(name, new Array(params).fill('i32'), prec);
    const s = f.local('i32');
    f.loop(s, { local: params - 1 }, () => body(f, s));
    add(f.build());
  };
  /** base + s·stride on the stack. */
  const at = (f: FnBuilder, baseLocal: number, s: number, stride: number) =>
    f.get(baseLocal).get(s).i32(stride).emit(['i32.mul'], ['i32.add']);
  driver(`cfwd${c.name}`, 5, (f, s) => {
    f.i32(c.patches);
    at(f, 1, s, inBytes);
    f.emit(['call', im]);
    at(f, 0, s, outBytes);
    f.i32(c.patches).get(2).get(3).i32(M).i32(K).emit(['call', fwd]);
  });
  // The kernel gradient reads P down its columns (2 per pass of the k loop): in tiles of
  // positions small enough to stay in L1 across the passes.
  const tile = Math.max(1, Math.min(M, Math.floor(TILE_BYTES / (K * e))));
  driver(`cgw${c.name}`, 4, (f, s) => {
    f.i32(c.patches);
    at(f, 1, s, inBytes);
    f.emit(['call', im]);
    for (let t0 = 0; t0 < M; t0 += tile) {
      f.get(0).i32(c.patches + t0 * K * e);
      at(f, 2, s, outBytes);
      f.i32(t0 * g.F * e).emit(['i32.add']);
      f.i32(0)
        .i32(K)
        .i32(Math.min(tile, M - t0))
        .emit(['call', gw]);
    }
  });
  if (c.backInput) {
    const dp = add(
      gemm({
        ...base,
        fma: c.fma,
        name: `convdp${c.name}`,
        n: K,
        aRow: g.F,
        aCol: 1,
        ldb: K,
        ldc: K,
      }),
    );
    const ci = add(col2im(`col2im${c.name}`, prec, g));
    driver(`cdx${c.name}`, 4, (f, s) => {
      f.i32(c.patches);
      at(f, 1, s, outBytes);
      f.get(2).i32(0).i32(M).i32(g.F).emit(['call', dp]);
      at(f, 0, s, inBytes);
      f.i32(c.patches).emit(['call', ci]);
    });
  }
}

/** mask(d, a, n): d[i] = a[i] > 0 ? d[i] : 0 for n elements (relu′ of a layer's output),
 * whole vectors (buffers have 16 bytes of slack). */
export function reluMask(name: string, precision: Precision): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32', 'i32'], precision);
  const [D, A, N] = [0, 1, 2];
  const i = f.local('i32');
  const end = f.local('i32');
  f.get(N).i32(f.e).emit(['i32.mul']).set(end);
  f.i32(0).set(i);
  f.emit(['block'], ['loop']).get(i).get(end).emit(['i32.ge_s'], ['br_if', 1]);
  f.get(D).get(i).emit(['i32.add']);
  f.get(D).get(i).emit(['i32.add'], ['v128.load', 0, 0]);
  f.get(A).get(i).emit(['i32.add'], ['v128.load', 0, 0], ['v128.const', 0, 0, 0, 0]).vop('gt');
  f.emit(['v128.and'], ['v128.store', 0, 0]);
  f.bump(i, 16).emit(['br', 0], ['end'], ['end']);
  return f.build();
}
