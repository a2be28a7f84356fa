// Convolutions on the WebAssembly backend: im2col of one sample into a scratch matrix of
// patches, then the register-blocked gemm (gemm.ts), one sample at a time so the patches of
// a sample (at most a few hundred KB) stay in cache:
//   forward          Z[pos, f]  = act(b[f] + Σ_k P[pos, k]·W[k, f])      P = im2col(x)
//   kernel gradient  gW[k, f]  += Σ_pos P[pos, k]·dZ[pos, f]             (Pᵀ·dZ)
//   bias gradient    gb[f]     += Σ_pos dZ[pos, f]                       (1ᵀ·dZ, whole chunk)
//   input gradient   dP = dZ·Wᵀ, then dx = col2im(dP)                    (scatter-add)
// with k = (ky, kx, ci) in the kernel's own row-major order, so W [kh, kw, ci, f] is already
// the K × F matrix. A conv1d is the same with a height of 1.
import { gemm, type Precision } from './gemm.ts';
import { FnBuilder } from './fn.ts';
import type { WasmFunction } from './encode.ts';
import {
  forEachPosition,
  forEachTap,
  inputAddress,
  patchSize,
  positions,
  splitInterior,
  tapLocals,
  tapOffset,
  type ConvGeometry,
} from './window.ts';

/** Bytes of patches per kernel-gradient call (L1 here is 48 KB). */
const TILE_BYTES = 16384;

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
