// Max and average pooling on the WebAssembly backend, over a chunk of r samples, channels
// innermost (contiguous). Semantics are the ops' (ops/pool.ts): max takes the first maximum
// of each window in tap order, skipping NaN until a number is seen, and ignores the padding;
// the average divides the window's sum (in tap order) by its real elements. The max forward
// stores, per output, the chunk-relative element index of its maximum (-1 for an all-NaN
// window; an element of the value's size, its low 32 bits the index), which the backward
// scatters to, so the backward never recomputes the windows.
import {
  forEachPosition,
  forEachTap,
  inputAddress,
  splitInterior,
  tapLocals,
  tapOffset,
  type ConvGeometry,
} from './window.ts';
import type { WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';

const inSize = (g: ConvGeometry) => g.H * g.W * g.C;
const outSize = (g: ConvGeometry) => g.OH * g.OW * g.C;

/**
 * pool{i}(out, idx, in, r) for max, pool{i}(out, 0, in, r) for average. Channels in whole
 * vectors (f32x4 / f64x2) keep the running maximum and its index in registers (the index as
 * an integer lane of the value's width, so idx has the element size); the rest, one channel
 * at a time.
 */
export function poolForward(
  name: string,
  precision: Precision,
  g: ConvGeometry,
  max: boolean,
): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32', 'i32', 'i32'], precision);
  const [OUT, IDX, IN, R] = [0, 1, 2, 3];
  const w = tapLocals(f);
  const s = f.local('i32');
  const c = f.local('i32');
  const o = f.local('i32');
  const ix = f.local('i32');
  const a = f.local('i32');
  const ti = f.local('i32');
  const cnt = f.local('i32');
  const v = f.local(f.f64 ? 'f64' : 'f32');
  const b = f.local(f.f64 ? 'f64' : 'f32');
  const vv = f.local('v128');
  const vb = f.local('v128');
  const vi = f.local('v128');
  const vm = f.local('v128');
  const pe = f.local('i32');
  const e = f.e;
  const lanes = 16 / e;
  const groups = Math.floor(g.C / lanes);
  /** addr + c·bytes on the stack. */
  const lane = (base: number, bytes: number) =>
    f.get(base).get(c).i32(bytes).emit(['i32.mul'], ['i32.add']);
  /** a = the byte address of this tap's channel 0 in sample s. */
  const tapAddress = () => {
    inputAddress(f, g, w, IN);
    f.get(s)
      .i32(inSize(g) * e)
      .emit(['i32.mul'], ['i32.add'])
      .set(a);
  };
  /** ti = the chunk-relative element index of this tap's channel 0. */
  const tapIndex = () => {
    f.get(w.iy).i32(g.W).emit(['i32.mul']).get(w.ix).emit(['i32.add']);
    f.i32(g.C).emit(['i32.mul']).get(s).i32(inSize(g)).emit(['i32.mul'], ['i32.add']).set(ti);
  };
  const nan = f.f64
    ? [0, 0x7ff80000, 0, 0x7ff80000]
    : [0x7fc00000, 0x7fc00000, 0x7fc00000, 0x7fc00000];
  // Lane k of a group holds channel c + k: its index is ti + c + k.
  const iota = f.f64 ? [0, 0, 1, 0] : [0, 1, 2, 3];
  f.get(OUT).set(o).get(IDX).set(ix);
  f.loop(s, { local: R }, () => {
    forEachPosition(f, g, w, () => {
      if (groups > 0)
        f.loop(c, groups, () => {
          f.emit(['v128.const', ...(max ? nan : [0, 0, 0, 0])]).set(vb);
          f.emit(['v128.const', 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]).set(vi);
          f.i32(0).set(cnt);
          /** Folds the vector at `a` + `offset` (element index ti + `index`) into the group. */
          const fold = (offset: number, index: number) => {
            f.get(a).emit(['v128.load', 0, offset]).set(vv);
            if (max) {
              // v > best, or best is NaN (nothing seen yet) and v is a number.
              f.get(vv).get(vb).vop('gt');
              f.get(vb).get(vb).vop('ne').get(vv).get(vv).vop('eq');
              f.emit(['v128.and'], ['v128.or']).set(vm);
              f.get(vv).get(vb).get(vm).emit(['v128.bitselect']).set(vb);
              f.get(ti).i32(index).emit(['i32.add']);
              if (f.f64) f.emit(['i64.extend_i32_s'], ['i64x2.splat']);
              else f.emit(['i32x4.splat']);
              f.emit(['v128.const', ...iota], [f.f64 ? 'i64x2.add' : 'i32x4.add']);
              f.get(vi).get(vm).emit(['v128.bitselect']).set(vi);
            } else f.get(vb).get(vv).vop('add').set(vb);
          };
          splitInterior(
            f,
            g,
            w,
            pe,
            () => {
              // Every tap inside: unrolled, at fixed offsets from the window's first tap.
              f.get(s).i32(inSize(g)).emit(['i32.mul']).get(pe).emit(['i32.add']);
              f.get(c).i32(lanes).emit(['i32.mul'], ['i32.add']).set(ti);
              f.get(ti).i32(e).emit(['i32.mul']).get(IN).emit(['i32.add']).set(a);
              for (let ky = 0; ky < g.KH; ky++)
                for (let kx = 0; kx < g.KW; kx++) {
                  const off = tapOffset(g, e, ky, kx);
                  fold(off, off / e);
                }
              f.i32(g.KH * g.KW).set(cnt);
            },
            () =>
              forEachTap(f, g, w, () => {
                tapAddress();
                f.bump(cnt, 1);
                lane(a, 16).set(a);
                if (max) {
                  tapIndex();
                  f.get(ti).get(c).i32(lanes).emit(['i32.mul'], ['i32.add']).set(ti);
                }
                fold(0, 0);
              }),
          );
          lane(o, 16).get(vb);
          if (!max)
            f.get(cnt)
              .emit([f.f64 ? 'f64.convert_i32_s' : 'f32.convert_i32_s'])
              .vop('splat')
              .vop('div');
          f.emit(['v128.store', 0, 0]);
          if (max) lane(ix, 16).get(vi).emit(['v128.store', 0, 0]);
        });
      if (groups * lanes < g.C) {
        // The channels past the last whole vector: running values in memory, one at a time.
        const from = groups * lanes;
        const channels = (body: () => void) =>
          f.loop(c, g.C - from, () => {
            f.bump(c, from);
            body();
            f.bump(c, -from);
          });
        channels(() => {
          lane(o, e);
          f.const(max ? NaN : 0).store();
          if (max) {
            lane(ix, e);
            f.i32(-1).emit(['i32.store', 2, 0]);
          }
        });
        f.i32(0).set(cnt);
        forEachTap(f, g, w, () => {
          tapAddress();
          f.bump(cnt, 1);
          if (max) tapIndex();
          channels(() => {
            lane(a, e);
            f.load().set(v);
            lane(o, e);
            f.load().set(b);
            if (max) {
              f.get(v).get(b).op('gt');
              f.get(b).get(b).op('ne').get(v).get(v).op('eq').emit(['i32.and'], ['i32.or']);
              f.ifElse(() => {
                lane(o, e);
                f.get(v).store();
                lane(ix, e);
                f.get(ti).get(c).emit(['i32.add'], ['i32.store', 2, 0]);
              });
            } else {
              lane(o, e);
              f.get(b).get(v).op('add').store();
            }
          });
        });
        if (!max)
          channels(() => {
            lane(o, e);
            lane(o, e);
            f.load()
              .get(cnt)
              .emit([f.f64 ? 'f64.convert_i32_s' : 'f32.convert_i32_s'])
              .op('div')
              .store();
          });
      }
      f.bump(o, g.C * e);
      f.bump(ix, g.C * e);
    });
  });
  return f.build();
}

/** poolb{i}(dIn, dOut, idx, r): dIn = 0, then each output's cotangent added to its maximum. */
export function maxPoolBackward(name: string, precision: Precision, g: ConvGeometry): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32', 'i32', 'i32'], precision);
  const [DIN, DOUT, IDX, R] = [0, 1, 2, 3];
  const i = f.local('i32');
  const n = f.local('i32');
  const bi = f.local('i32');
  const e = f.e;
  f.get(DIN)
    .i32(0)
    .get(R)
    .i32(inSize(g) * e)
    .emit(['i32.mul'], ['memory.fill']);
  f.get(R).i32(outSize(g)).emit(['i32.mul']).set(n);
  f.loop(i, { local: n }, () => {
    f.get(IDX).get(i).i32(e).emit(['i32.mul'], ['i32.add'], ['i32.load', 2, 0]).set(bi);
    f.get(bi).i32(0).emit(['i32.ge_s']);
    f.ifElse(() => {
      f.get(DIN).get(bi).i32(e).emit(['i32.mul'], ['i32.add']).set(bi);
      f.get(bi).get(bi).load();
      f.get(DOUT).get(i).i32(e).emit(['i32.mul'], ['i32.add']);
      f.load().op('add').store();
    });
  });
  return f.build();
}

/** poolb{i}(dIn, dOut, 0, r): dIn = 0, then each output's cotangent / its window's count
 * added to every element of the window. */
export function avgPoolBackward(name: string, precision: Precision, g: ConvGeometry): WasmFunction {
  const f = new FnBuilder(name, ['i32', 'i32', 'i32', 'i32'], precision);
  const [DIN, DOUT, , R] = [0, 1, 2, 3];
  const w = tapLocals(f);
  const s = f.local('i32');
  const c = f.local('i32');
  const o = f.local('i32');
  const a = f.local('i32');
  const cnt = f.local('i32');
  const count = f.local(f.f64 ? 'f64' : 'f32');
  const e = f.e;
  f.get(DIN)
    .i32(0)
    .get(R)
    .i32(inSize(g) * e)
    .emit(['i32.mul'], ['memory.fill']);
  f.get(DOUT).set(o);
  f.loop(s, { local: R }, () => {
    forEachPosition(f, g, w, () => {
      f.i32(0).set(cnt);
      forEachTap(f, g, w, () => f.bump(cnt, 1));
      f.get(cnt)
        .emit([f.f64 ? 'f64.convert_i32_s' : 'f32.convert_i32_s'])
        .set(count);
      forEachTap(f, g, w, () => {
        inputAddress(f, g, w, DIN);
        f.get(s)
          .i32(inSize(g) * e)
          .emit(['i32.mul'], ['i32.add'])
          .set(a);
        f.loop(c, g.C, () => {
          f.get(a).get(c).i32(e).emit(['i32.mul'], ['i32.add']);
          f.get(a).get(c).i32(e).emit(['i32.mul'], ['i32.add']).load();
          f.get(o).get(c).i32(e).emit(['i32.mul'], ['i32.add']).load();
          f.get(count).op('div').op('add').store();
        });
      });
      f.bump(o, g.C * e);
    });
  });
  return f.build();
}
