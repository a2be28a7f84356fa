// The one contraction kernel of the WebAssembly backend, specialized at compile time:
// C[m, n] (+)= Σ_k A[m, k]·B[k, n] over a chunk of samples, vectorized along n (f32x4 or
// f64x2) and register-blocked: ROWS rows × VECS vectors of accumulators per inner loop, so
// each vector of B is loaded once per ROWS rows. Dense forward (A = inputs, B = kernel), the
// kernel's gradient (A = inputs transposed, B = dZ), the bias gradient (A = a row of ones) and
// the backward matvec (A = dZ, B = the kernel transposed) are all this kernel with other
// strides and epilogues.
//
// Facts from V8 11.3 that shaped it: addresses of the A splats are kept in their own i32
// locals and advanced by i32.add (a constant `offset=` per splat made V8 spill base+offset
// pairs, 3× slower); the reduction (k) loop is not unrolled; the row loop stays a loop.
import type { Ins, ValType, WasmFunction } from './encode.ts';

export type Precision = 'f32' | 'f64';

/** Rows of C per block (samples, for the forward kernel). */
export const ROWS = 2;
/** Vectors of C per block: 2 × 4 accumulators + 4 B vectors + 2 splats fit 16 registers. */
export const VECS = 4;

export interface GemmSpec {
  readonly name: string;
  readonly precision: Precision;
  /** Columns of C and B (a compile-time constant; M and K are arguments). */
  readonly n: number;
  /** Element strides of A: (m, k) is at A + m·aRow + k·aCol. */
  readonly aRow: number;
  readonly aCol: number;
  /** Row strides of B and C, in elements. */
  readonly ldb: number;
  readonly ldc: number;
  /** Start from C's contents (gradients accumulate over chunks) instead of zero. */
  readonly accumulate: boolean;
  /** Add a bias row (argument `bias`) before the activation. */
  readonly bias: boolean;
  readonly relu: boolean;
  /** Multiply by (mask > 0), mask shaped like C (a relu's output: its derivative). */
  readonly mask: boolean;
  /** Use relaxed_madd (fused multiply-add where the engine has it). */
  readonly fma: boolean;
  /** Rows per block (default ROWS): 4 where C has at most 2 vectors (8 filters of a conv),
   * so a block still holds 8 accumulators. */
  readonly rows?: number;
}

/** Argument order of every gemm function: byte addresses, then the runtime extents. */
export const GEMM_PARAMS = ['c', 'a', 'b', 'extra', 'm', 'k'] as const;

export function gemm(g: GemmSpec): WasmFunction {
  const f64 = g.precision === 'f64';
  const e = f64 ? 8 : 4;
  const lanes = 16 / e;
  const p = (s: string) => `${f64 ? 'f64x2' : 'f32x4'}.${s}`;
  const splat = f64 ? 'v128.load64_splat' : 'v128.load32_splat';
  const alignLog = f64 ? 3 : 2;
  const params: ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'];
  const [C, A, B, X, M, K] = [0, 1, 2, 3, 4, 5];
  const locals: ValType[] = [];
  const local = (t: ValType) => params.length + locals.push(t) - 1;
  const m0 = local('i32');
  const k = local('i32');
  const pb = local('i32');
  const rows = g.rows ?? ROWS;
  const pa = Array.from({ length: rows }, () => local('i32'));
  const acc = Array.from({ length: rows * VECS }, () => local('v128'));
  const w = Array.from({ length: VECS }, () => local('v128'));
  const x = Array.from({ length: rows }, () => local('v128'));
  const body: Ins[] = [];
  const emit = (...ins: Ins[]) => body.push(...ins);
  const get = (l: number): Ins => ['local.get', l];
  const set = (l: number): Ins => ['local.set', l];
  const iconst = (v: number): Ins => ['i32.const', v];
  /** addr = base + m·stride (bytes), m a local. */
  const rowAddr = (base: number, row: number, strideBytes: number, plus = 0) => {
    emit(get(base), get(m0));
    if (row) emit(iconst(row), ['i32.add']);
    emit(iconst(strideBytes), ['i32.mul'], ['i32.add']);
    if (plus) emit(iconst(plus), ['i32.add']);
  };

  /** One block of `rows` rows × `vecs` vectors starting at column `col`; `valid` columns
   * in the last vector (lanes for a full one). */
  const block = (rows: number, col: number, vecs: number, valid: number) => {
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) {
        const a = acc[r * VECS + v]!;
        if (g.accumulate) {
          rowAddr(C, r, g.ldc * e, (col + v * lanes) * e);
          emit(['v128.load', alignLog, 0], set(a));
        } else emit(['v128.const', 0, 0, 0, 0], set(a));
      }
      rowAddr(A, r, g.aRow * e);
      emit(set(pa[r]!));
    }
    emit(get(B), iconst(col * e), ['i32.add'], set(pb), iconst(0), set(k));
    emit(['block'], ['loop'], get(k), get(K), ['i32.ge_s'], ['br_if', 1]);
    for (let v = 0; v < vecs; v++) emit(get(pb), ['v128.load', alignLog, v * 16], set(w[v]!));
    for (let r = 0; r < rows; r++) {
      emit(get(pa[r]!), [splat, alignLog, 0], set(x[r]!));
      for (let v = 0; v < vecs; v++) {
        const a = acc[r * VECS + v]!;
        if (g.fma) emit(get(x[r]!), get(w[v]!), get(a), [p('relaxed_madd')], set(a));
        else emit(get(a), get(x[r]!), get(w[v]!), [p('mul')], [p('add')], set(a));
      }
      emit(get(pa[r]!), iconst(g.aCol * e), ['i32.add'], set(pa[r]!));
    }
    emit(get(pb), iconst(g.ldb * e), ['i32.add'], set(pb));
    emit(get(k), iconst(1), ['i32.add'], set(k), ['br', 0], ['end'], ['end']);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) {
        const a = acc[r * VECS + v]!;
        const colBytes = (col + v * lanes) * e;
        emit(get(a));
        if (g.bias) emit(get(X), ['v128.load', alignLog, colBytes], [p('add')]);
        if (g.relu) emit(set(a), ['v128.const', 0, 0, 0, 0], get(a), [p('pmax')]);
        if (g.mask) {
          rowAddr(X, r, g.ldc * e, colBytes);
          emit(['v128.load', alignLog, 0], ['v128.const', 0, 0, 0, 0], [p('gt')], ['v128.and']);
        }
        emit(set(a));
        const n = v === vecs - 1 ? valid : lanes;
        if (n === lanes) {
          rowAddr(C, r, g.ldc * e, colBytes);
          emit(get(a), ['v128.store', alignLog, 0]);
        } else {
          // A partial vector: store its valid lanes only (loads may read past the row end,
          // stores never write there).
          for (let l = 0; l < n; l++) {
            rowAddr(C, r, g.ldc * e, colBytes + l * e);
            emit(get(a), [f64 ? 'v128.store64_lane' : 'v128.store32_lane', alignLog, 0, l]);
          }
        }
      }
    }
  };

  /** Every column group of `rows` rows. */
  const rowBlock = (rows: number) => {
    const vectors = Math.ceil(g.n / lanes);
    for (let v0 = 0; v0 < vectors; v0 += VECS) {
      const vecs = Math.min(VECS, vectors - v0);
      const lastCol = (v0 + vecs - 1) * lanes;
      block(rows, v0 * lanes, vecs, Math.min(lanes, g.n - lastCol));
    }
  };

  emit(iconst(0), set(m0));
  emit(['block'], ['loop'], get(m0), iconst(rows), ['i32.add'], get(M), ['i32.gt_s'], ['br_if', 1]);
  rowBlock(rows);
  emit(get(m0), iconst(rows), ['i32.add'], set(m0), ['br', 0], ['end'], ['end']);
  // Remaining rows one at a time (M mod ROWS of them).
  emit(['block'], ['loop'], get(m0), get(M), ['i32.ge_s'], ['br_if', 1]);
  rowBlock(1);
  emit(get(m0), iconst(1), ['i32.add'], set(m0), ['br', 0], ['end'], ['end']);
  return { name: g.name, params, locals, body };
}

/** dst[j, i] = src[i, j] for a rows × cols matrix (the kernel transposed for backward). */
export function transpose(
  name: string,
  precision: Precision,
  rows: number,
  cols: number,
): WasmFunction {
  const f64 = precision === 'f64';
  const e = f64 ? 8 : 4;
  const [load, store] = f64 ? ['f64.load', 'f64.store'] : ['f32.load', 'f32.store'];
  const al = f64 ? 3 : 2;
  const params: ValType[] = ['i32', 'i32'];
  const [DST, SRC] = [0, 1];
  const i = 2;
  const j = 3;
  const body: Ins[] = [
    ['i32.const', 0],
    ['local.set', i],
    ['block'],
    ['loop'],
    ['local.get', i],
    ['i32.const', rows],
    ['i32.ge_s'],
    ['br_if', 1],
    ['i32.const', 0],
    ['local.set', j],
    ['block'],
    ['loop'],
    ['local.get', j],
    ['i32.const', cols],
    ['i32.ge_s'],
    ['br_if', 1],
    // dst + (j·rows + i)·e
    ['local.get', DST],
    ['local.get', j],
    ['i32.const', rows],
    ['i32.mul'],
    ['local.get', i],
    ['i32.add'],
    ['i32.const', e],
    ['i32.mul'],
    ['i32.add'],
    // src + (i·cols + j)·e
    ['local.get', SRC],
    ['local.get', i],
    ['i32.const', cols],
    ['i32.mul'],
    ['local.get', j],
    ['i32.add'],
    ['i32.const', e],
    ['i32.mul'],
    ['i32.add'],
    [load, al, 0],
    [store, al, 0],
    ['local.get', j],
    ['i32.const', 1],
    ['i32.add'],
    ['local.set', j],
    ['br', 0],
    ['end'],
    ['end'],
    ['local.get', i],
    ['i32.const', 1],
    ['i32.add'],
    ['local.set', i],
    ['br', 0],
    ['end'],
    ['end'],
  ];
  return { name, params, locals: ['i32', 'i32'], body };
}

/** memory[p, p + bytes) = 0. */
export function clear(name: string): WasmFunction {
  return {
    name,
    params: ['i32', 'i32'],
    locals: [],
    body: [['local.get', 0], ['i32.const', 0], ['local.get', 1], ['memory.fill']],
  };
}
