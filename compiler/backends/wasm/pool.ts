// Max and average pooling on the WebAssembly backend, over a chunk of r samples, channels
// innermost (contiguous). Semantics are the ops' (ops/pool.ts): max takes the first maximum
// of each window in tap order, skipping NaN until a number is seen, and ignores the padding;
// the average divides the window's sum (in tap order) by its real elements. The max forward
// stores, per output, the chunk-relative element index of its maximum (-1 for an all-NaN
// window), which the backward scatters to; so the backward never recomputes the windows.
import { forEachPosition, forEachTap, inputAddress, tapLocals, type ConvGeometry } from './conv.ts';
import type { WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';

const inSize = (g: ConvGeometry) => g.H * g.W * g.C;
const outSize = (g: ConvGeometry) => g.OH * g.OW * g.C;

/** pool{i}(out, idx, in, r) for max, pool{i}(out, 0, in, r) for average. */
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
  const e = f.e;
  /** addr + c·bytes on the stack. */
  const lane = (base: number, bytes: number) =>
    f.get(base).get(c).i32(bytes).emit(['i32.mul'], ['i32.add']);
  f.get(OUT).set(o).get(IDX).set(ix);
  f.loop(s, { local: R }, () => {
    forEachPosition(f, g, w, () => {
      f.loop(c, g.C, () => {
        lane(o, e);
        f.const(max ? NaN : 0).store();
        if (max) {
          lane(ix, 4);
          f.i32(-1).emit(['i32.store', 2, 0]);
        }
      });
      f.i32(0).set(cnt);
      forEachTap(f, g, w, () => {
        inputAddress(f, g, w, IN);
        f.get(s)
          .i32(inSize(g) * e)
          .emit(['i32.mul'], ['i32.add'])
          .set(a);
        f.bump(cnt, 1);
        if (max) {
          // Element index of channel 0 of this tap, relative to the chunk.
          f.get(w.iy).i32(g.W).emit(['i32.mul']).get(w.ix).emit(['i32.add']);
          f.i32(g.C).emit(['i32.mul']).get(s).i32(inSize(g)).emit(['i32.mul'], ['i32.add']).set(ti);
        }
        f.loop(c, g.C, () => {
          lane(a, e);
          f.load().set(v);
          lane(o, e);
          f.load().set(b);
          if (max) {
            // v > best, or best is NaN (nothing seen yet) and v is a number.
            f.get(v).get(b).op('gt');
            f.get(b).get(b).op('ne').get(v).get(v).op('eq').emit(['i32.and'], ['i32.or']);
            f.ifElse(() => {
              lane(o, e);
              f.get(v).store();
              lane(ix, 4);
              f.get(ti).get(c).emit(['i32.add'], ['i32.store', 2, 0]);
            });
          } else {
            lane(o, e);
            f.get(b).get(v).op('add').store();
          }
        });
      });
      if (!max)
        f.loop(c, g.C, () => {
          lane(o, e);
          lane(o, e);
          f.load()
            .get(cnt)
            .emit([f.f64 ? 'f64.convert_i32_s' : 'f32.convert_i32_s'])
            .op('div')
            .store();
        });
      f.bump(o, g.C * e);
      if (max) f.bump(ix, g.C * 4);
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
    f.get(IDX).get(i).i32(4).emit(['i32.mul'], ['i32.add'], ['i32.load', 2, 0]).set(bi);
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
  const inv = f.local(f.f64 ? 'f64' : 'f32');
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
        .set(inv);
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
          f.get(inv).op('div').op('add').store();
        });
      });
      f.bump(o, g.C * e);
    });
  });
  return f.build();
}
