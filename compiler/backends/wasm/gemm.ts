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
  /** Vectors per block (default VECS). Only bench/gemm-variants.ts sets it and unroll: on
   * 784-128-10 (Node 20, Sapphire Rapids) 2×4 and 4×2 blocks both run at ~19 GMAC/s, the
   * mul + add ports' limit; 3×4, 4×3, 2×5, 2×6 and 1×8 blocks are 10–35 % slower. */
  readonly vecs?: number;
  /** Reduction steps per loop iteration (default 1); a remainder loop takes the rest.
   * Unrolled by 2 or 4 the kernel ran 20–35 % slower (V8 keeps fewer values in registers). */
  readonly unroll?: number;
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
  const nv = g.vecs ?? VECS;
  const unroll = g.unroll ?? 1;
  const pa = Array.from({ length: rows }, () => local('i32'));
  const acc = Array.from({ length: rows * nv }, () => local('v128'));
  const w = Array.from({ length: nv }, () => local('v128'));
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
        const a = acc[r * nv + v]!;
        if (g.accumulate) {
          rowAddr(C, r, g.ldc * e, (col + v * lanes) * e);
          emit(['v128.load', alignLog, 0], set(a));
        } else emit(['v128.const', 0, 0, 0, 0], set(a));
      }
      rowAddr(A, r, g.aRow * e);
      emit(set(pa[r]!));
    }
    emit(get(B), iconst(col * e), ['i32.add'], set(pb), iconst(0), set(k));
    /** One reduction step: a row of B times a column of A. */
    const step = () => {
      for (let v = 0; v < vecs; v++) emit(get(pb), ['v128.load', alignLog, v * 16], set(w[v]!));
      for (let r = 0; r < rows; r++) {
        emit(get(pa[r]!), [splat, alignLog, 0], set(x[r]!));
        for (let v = 0; v < vecs; v++) {
          const a = acc[r * nv + v]!;
          if (g.fma) emit(get(x[r]!), get(w[v]!), get(a), [p('relaxed_madd')], set(a));
          else emit(get(a), get(x[r]!), get(w[v]!), [p('mul')], [p('add')], set(a));
        }
        emit(get(pa[r]!), iconst(g.aCol * e), ['i32.add'], set(pa[r]!));
      }
      emit(get(pb), iconst(g.ldb * e), ['i32.add'], set(pb));
    };
    if (unroll > 1) {
      emit(['block'], ['loop'], get(k), iconst(unroll), ['i32.add'], get(K), ['i32.gt_s']);
      emit(['br_if', 1]);
      for (let u = 0; u < unroll; u++) step();
      emit(get(k), iconst(unroll), ['i32.add'], set(k), ['br', 0], ['end'], ['end']);
    }
    emit(['block'], ['loop'], get(k), get(K), ['i32.ge_s'], ['br_if', 1]);
    step();
    emit(get(k), iconst(1), ['i32.add'], set(k), ['br', 0], ['end'], ['end']);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vecs; v++) {
        const a = acc[r * nv + v]!;
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
    for (let v0 = 0; v0 < vectors; v0 += nv) {
      const vecs = Math.min(nv, vectors - v0);
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

/** Layout of the per-unit lists the sparse kernel gradient builds (one chunk's). */
export interface SparseLists {
  /** Bytes of one (x row offset, dZ value) record: an i32, then the value aligned. */
  readonly record: number;
  /** Byte offset of the value within a record. */
  readonly value: number;
  /** Bytes of the lists of `units` units: the records, then an i32 end pointer per unit. */
  readonly bytes: number;
}

export function sparseLists(precision: Precision, units: number, chunk: number): SparseLists {
  const f64 = precision === 'f64';
  const record = f64 ? 16 : 8;
  return { record, value: f64 ? 8 : 4, bytes: units * chunk * record + units * 4 };
}

export interface SparseGradientSpec {
  readonly name: string;
  readonly precision: Precision;
  /** Inputs of the layer: columns of x, rows of the kernel (and of C). */
  readonly inputs: number;
  readonly units: number;
  /** Most samples per call (the lists hold this many records per unit). */
  readonly chunk: number;
  readonly accumulate: boolean;
  /** Vectors of a column block (default: 4–7, the fewest blocks). */
  readonly vecs?: number;
}

/**
 * The kernel gradient gW[i, j] (+)= Σ_r x[r, i]·dZ[r, j] of a dense layer whose dZ is masked
 * by its relu′: a sample whose unit j was inactive (dZ[r, j] == 0, about half of them in a
 * relu layer) contributes nothing to column j, so per unit the kernel lists the samples that
 * do, then runs only those, vectorized along i (a row of x). The dense gemm vectorizes along
 * j, where a vector is all zero too rarely to skip. The sums keep the samples' order, so each
 * is the dense kernel's bit for bit with exact zero terms left out: from +0, adding ±0 changes
 * nothing, so only an inf or NaN in x times a zero dZ would differ. Accumulating (the chunks
 * after the first), the chunk's sum is added to gW at the end, where the dense kernel starts
 * from gW: deterministic, rounded once more.
 *
 * 784-128-10 f32, relu dZ half zero: 117 µs writing against the dense kernel's 171 (0.68×;
 * bench/gemm-variants.ts), where half the multiply-adds at the dense kernel's rate would be
 * ~85: the rest is the epilogue (a lane store per element of gW, on the shuffle port the adds
 * share) and the per-unit loop set-up. Blocks of 4–7 vectors run within 5 %, 8 slower; tiling the
 * columns so that a unit's sample loop runs the same count several times in a row measured
 * slower.
 *
 * Arguments as the gemm's: (c = gW, a = x, b = dZ, extra = the lists' scratch, m unused,
 * k = samples). Columns of gW are strided (ldc = units), so results go out a lane at a time.
 */
export function sparseGradient(g: SparseGradientSpec): WasmFunction {
  const f64 = g.precision === 'f64';
  const e = f64 ? 8 : 4;
  const lanes = 16 / e;
  const al = f64 ? 3 : 2;
  const t = f64 ? 'f64' : 'f32';
  const p = (s: string) => `${f64 ? 'f64x2' : 'f32x4'}.${s}`;
  const splat = f64 ? 'v128.load64_splat' : 'v128.load32_splat';
  const storeLane = f64 ? 'v128.store64_lane' : 'v128.store32_lane';
  const { record, value } = sparseLists(g.precision, g.units, g.chunk);
  const endsAt = g.units * g.chunk * record;
  // 4–7 vectors a block, the fewest blocks (a unit's set-up and loop exit are per block),
  // the widest among equals: 7 for 784 inputs (28 blocks, 4 % faster than 4 vectors' 49).
  const vectorsAll = Math.ceil(g.inputs / lanes);
  const blocks = (n: number) => Math.ceil(vectorsAll / n);
  const nv = g.vecs ?? [7, 6, 5, 4].reduce((b, n) => (blocks(n) < blocks(b) ? n : b));
  const params: ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'];
  const [C, A, B, L, , K] = [0, 1, 2, 3, 4, 5];
  const locals: ValType[] = [];
  const local = (ty: ValType) => params.length + locals.push(ty) - 1;
  const [j, r, pr, pd, xo, end, col, pa0, pc, v, c0] = Array.from({ length: 11 }, () =>
    local('i32'),
  );
  const s = local('v128');
  const acc = Array.from({ length: nv }, () => local('v128'));
  const dzv = local(t);
  const body: Ins[] = [];
  const emit = (...ins: Ins[]) => body.push(...ins);
  const get = (l: number): Ins => ['local.get', l];
  const set = (l: number): Ins => ['local.set', l];
  const iconst = (c: number): Ins => ['i32.const', c];
  const bump = (l: number, by: number) => emit(get(l), iconst(by), ['i32.add'], set(l));
  /** for (l = 0; l < end; l++), end a constant or a local. */
  const loop = (l: number, until: number | { local: number }, inner: () => void) => {
    emit(iconst(0), set(l), ['block'], ['loop'], get(l));
    emit(typeof until === 'number' ? iconst(until) : get(until.local), ['i32.ge_s'], ['br_if', 1]);
    inner();
    bump(l, 1);
    emit(['br', 0], ['end'], ['end']);
  };

  // The lists: for each unit j the records (byte offset of x's row r, dZ[r, j]) of the
  // samples with dZ[r, j] != 0, in order, then where they end. Branch-free: every record is
  // written, and the pointer moves past it only when its value is non-zero.
  loop(j, g.units, () => {
    emit(get(L), get(j), iconst(g.chunk * record), ['i32.mul'], ['i32.add'], set(pr));
    emit(get(B), get(j), iconst(e), ['i32.mul'], ['i32.add'], set(pd));
    emit(iconst(0), set(xo));
    loop(r, { local: K }, () => {
      emit(get(pd), [`${t}.load`, al, 0], set(dzv));
      emit(get(pr), get(xo), ['i32.store', 2, 0]);
      emit(get(pr), get(dzv), [`${t}.store`, al, value]);
      emit(get(pr), get(dzv), [`${t}.const`, 0], [`${t}.ne`], iconst(record), ['i32.mul']);
      emit(['i32.add'], set(pr));
      bump(pd, g.units * e);
      bump(xo, g.inputs * e);
    });
    emit(get(L), get(j), iconst(4), ['i32.mul'], ['i32.add'], get(pr), ['i32.store', 2, endsAt]);
  });

  /** Columns [col, col + vecs·lanes) of unit j; `valid` columns in the last vector. */
  const block = (vecs: number, valid: number) => {
    for (let q = 0; q < vecs; q++) emit(['v128.const', 0, 0, 0, 0], set(acc[q]!));
    emit(get(L), get(j), iconst(g.chunk * record), ['i32.mul'], ['i32.add'], set(pr));
    emit(get(A), get(col), iconst(e), ['i32.mul'], ['i32.add'], set(pa0));
    emit(['block'], ['loop'], get(pr), get(end), ['i32.ge_u'], ['br_if', 1]);
    emit(get(pr), [splat, al, value], set(s));
    emit(get(pa0), get(pr), ['i32.load', 2, 0], ['i32.add'], set(v));
    for (let q = 0; q < vecs; q++)
      emit(get(acc[q]!), get(s), get(v), ['v128.load', al, q * 16], [p('mul')], [p('add')]);
    for (let q = vecs - 1; q >= 0; q--) emit(set(acc[q]!));
    bump(pr, record);
    emit(['br', 0], ['end'], ['end']);
    emit(get(C), get(col), iconst(g.units * e), ['i32.mul'], ['i32.add']);
    emit(get(j), iconst(e), ['i32.mul'], ['i32.add'], set(pc));
    for (let q = 0; q < vecs; q++) {
      const n = q === vecs - 1 ? valid : lanes;
      for (let l = 0; l < n; l++) {
        const at = (q * lanes + l) * g.units * e;
        emit(get(pc));
        if (g.accumulate) emit(get(pc), [splat, al, at], get(acc[q]!), [p('add')]);
        else emit(get(acc[q]!));
        emit([storeLane, al, at, l]);
      }
    }
  };
  const unitEnd = () =>
    emit(get(L), get(j), iconst(4), ['i32.mul'], ['i32.add'], ['i32.load', 2, endsAt], set(end));
  const vectors = Math.ceil(g.inputs / lanes);
  // Blocks of whole vectors only: a partial last vector goes with the narrower block.
  const full = Math.floor(Math.floor(g.inputs / lanes) / nv);
  const width = nv * lanes;
  // Column blocks outermost: a block's columns of x and rows of gW stay in L1 across the
  // units.
  emit(iconst(0), set(c0), ['block'], ['loop'], get(c0), iconst(full * width));
  emit(['i32.ge_s'], ['br_if', 1]);
  loop(j, g.units, () => {
    unitEnd();
    emit(get(c0), set(col));
    block(nv, lanes);
  });
  bump(c0, width);
  emit(['br', 0], ['end'], ['end']);
  // The last, narrower block.
  const rest = vectors - full * nv;
  if (rest > 0)
    loop(j, g.units, () => {
      unitEnd();
      emit(iconst(full * width), set(col));
      block(rest, g.inputs - (vectors - 1) * lanes);
    });
  return { name: g.name, params, locals, body };
}
