// A small builder for the hand-structured kernels (im2col, col2im, pooling, masks): typed
// locals, counted loops and element loads/stores of one precision, so that those kernels
// read as loop nests rather than as opcode lists. The gemm kernel predates it and stays as is.
import type { Ins, ValType, WasmFunction } from './encode.ts';
import type { Precision } from './gemm.ts';

export class FnBuilder {
  readonly body: Ins[] = [];
  private readonly locals: ValType[] = [];
  readonly e: number;
  readonly f64: boolean;
  /** log2 of the element size: the natural alignment of element loads. */
  readonly al: number;

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    precision: Precision,
  ) {
    this.f64 = precision === 'f64';
    this.e = this.f64 ? 8 : 4;
    this.al = this.f64 ? 3 : 2;
  }

  local(t: ValType): number {
    return this.params.length + this.locals.push(t) - 1;
  }

  emit(...ins: Ins[]): this {
    this.body.push(...ins);
    return this;
  }

  get(l: number): this {
    return this.emit(['local.get', l]);
  }
  set(l: number): this {
    return this.emit(['local.set', l]);
  }
  i32(v: number): this {
    return this.emit(['i32.const', v]);
  }
  /** The scalar op of this precision (`add` → f32.add / f64.add). */
  op(name: string): this {
    return this.emit([`${this.f64 ? 'f64' : 'f32'}.${name}`]);
  }
  /** The SIMD op of this precision (`add` → f32x4.add / f64x2.add). */
  vop(name: string): this {
    return this.emit([`${this.f64 ? 'f64x2' : 'f32x4'}.${name}`]);
  }
  load(offset = 0): this {
    return this.emit([this.f64 ? 'f64.load' : 'f32.load', this.al, offset]);
  }
  store(offset = 0): this {
    return this.emit([this.f64 ? 'f64.store' : 'f32.store', this.al, offset]);
  }
  const(v: number): this {
    return this.emit([this.f64 ? 'f64.const' : 'f32.const', v]);
  }
  /** local += v (an i32 constant). */
  bump(l: number, v: number): this {
    if (v === 0) return this;
    return this.get(l).i32(v).emit(['i32.add']).set(l);
  }

  /** for (i = 0; i < end; i++) body(), `end` a constant or a local's value. */
  loop(i: number, end: number | { local: number }, body: () => void): this {
    this.i32(0).set(i);
    this.emit(['block'], ['loop'], ['local.get', i]);
    if (typeof end === 'number') this.i32(end);
    else this.get(end.local);
    this.emit(['i32.ge_s'], ['br_if', 1]);
    body();
    this.bump(i, 1).emit(['br', 0], ['end'], ['end']);
    return this;
  }

  /** if (condition on the stack) then() else otherwise(). */
  ifElse(then: () => void, otherwise?: () => void): this {
    this.emit(['if']);
    then();
    if (otherwise) {
      this.emit(['else']);
      otherwise();
    }
    return this.emit(['end']);
  }

  /** Copies `bytes` (a multiple of the element size) from the address in `src` to the one in
   * `dst`: 16-byte vectors, then elements. */
  copy(dst: number, src: number, bytes: number, add = false): this {
    let at = 0;
    for (; at + 16 <= bytes; at += 16) {
      this.get(dst).get(src).emit(['v128.load', 0, at]);
      if (add) this.get(dst).emit(['v128.load', 0, at]).vop('add');
      this.emit(['v128.store', 0, at]);
    }
    for (; at < bytes; at += this.e) {
      this.get(dst).get(src).load(at);
      if (add) this.get(dst).load(at).op('add');
      this.store(at);
    }
    return this;
  }

  /** Copies ⌈bytes/16⌉ whole vectors from src + srcOff to dst + dstOff: up to 12 bytes past
   * the run are read and written. Only for a destination written in increasing order (the
   * next run overwrites the excess) with slack after its end. */
  copyOver(dst: number, dstOff: number, src: number, srcOff: number, bytes: number): this {
    for (let at = 0; at < bytes; at += 16)
      this.get(dst)
        .get(src)
        .emit(['v128.load', 0, srcOff + at], ['v128.store', 0, dstOff + at]);
    return this;
  }

  /** dst[dstOff..] += src[srcOff..] for `bytes` (a multiple of the element size). */
  addRun(dst: number, dstOff: number, src: number, srcOff: number, bytes: number): this {
    let at = 0;
    for (; at + 16 <= bytes; at += 16) {
      this.get(dst)
        .get(dst)
        .emit(['v128.load', 0, dstOff + at]);
      this.get(src)
        .emit(['v128.load', 0, srcOff + at])
        .vop('add');
      this.emit(['v128.store', 0, dstOff + at]);
    }
    for (; at < bytes; at += this.e)
      this.get(dst)
        .get(dst)
        .load(dstOff + at)
        .get(src)
        .load(srcOff + at)
        .op('add')
        .store(dstOff + at);
    return this;
  }

  /** Zeroes a short run at the address in `dst` with stores (memory.fill costs a call). */
  storeZeros(dst: number, bytes: number): this {
    if (bytes > 256) return this.zero(dst, bytes);
    let at = 0;
    for (; at + 16 <= bytes; at += 16)
      this.get(dst).emit(['v128.const', 0, 0, 0, 0], ['v128.store', 0, at]);
    for (; at < bytes; at += this.e) this.get(dst).const(0).store(at);
    return this;
  }

  /** Zeroes `bytes` at the address in `dst`. */
  zero(dst: number, bytes: number): this {
    return this.get(dst).i32(0).i32(bytes).emit(['memory.fill']);
  }

  /** dst[k] ·= 1 / count for k < n (the batch mean), the product rounded once to the
   * precision; `dst` is advanced past the run. */
  divideBy(dst: number, n: number | { local: number }, count: number): this {
    const inv = this.local('f64');
    this.emit(['f64.const', 1]).get(count).emit(['f64.convert_i32_s'], ['f64.div']).set(inv);
    const k = this.local('i32');
    return this.loop(k, n, () => {
      this.get(dst).get(dst).load();
      if (!this.f64) this.emit(['f64.promote_f32']);
      this.get(inv).emit(['f64.mul']);
      if (!this.f64) this.emit(['f32.demote_f64']);
      this.store().bump(dst, this.e);
    });
  }

  build(): WasmFunction {
    return { name: this.name, params: this.params, locals: this.locals, body: this.body };
  }
}
