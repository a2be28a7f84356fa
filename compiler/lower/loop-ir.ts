// The loop-level IR: what a computed op (a contraction, a convolution, a windowed reduction)
// becomes before a backend prints it. Loops have constant bounds; loads and stores have affine
// (integer) index expressions; values are scalar ALU expressions. A kernel reads its
// arguments (`load arg i`) and writes its one result (`store`); where those live (params,
// input, work, a row of a batch) is the backend's business, so the same kernel serves the
// JavaScript renderer, the loop interpreter and, later, a WebAssembly renderer.
//
// A kernel may compute several rows of the batch axis at once (`Kernel.lanes`, the register
// block the schedule strip-mined the axis into, schedule/batch.ts): loads and stores then
// name their row (`lane`). Arguments without the batch axis (weights) read the same element
// whatever the lane, so a kernel that loads a weight once and uses it for every lane loads it
// once per block.

/** `idiv` and `mod` are integer division and remainder of non-negative index arithmetic
 * (⌊a / b⌋ and a − b·⌊a / b⌋): a row-major index split into coordinates, for a view read at
 * a loop index. */
export type BinOp = '+' | '-' | '*' | '/' | 'max' | 'min' | 'idiv' | 'mod';
export type CmpOp = '<' | '<=' | '>' | '>=' | '==';

export type LExpr =
  | { readonly k: 'num'; readonly v: number }
  /** A loop variable or a local. */
  | { readonly k: 'var'; readonly name: string }
  /** Element `index` of argument `arg` of the op, for sample `lane` of the block (0 when
   * absent). */
  | { readonly k: 'load'; readonly arg: number; readonly index: LExpr; readonly lane?: number }
  /** Element `index` of the kernel's own result (read back while accumulating). */
  | { readonly k: 'loadOut'; readonly index: LExpr; readonly lane?: number }
  /** Σ terms, added left to right (float or index arithmetic). One n-ary node instead of a
   * chain of `bin +` so that backends can print and vectorize a dot product as one sum. */
  | { readonly k: 'sum'; readonly terms: readonly LExpr[] }
  | { readonly k: 'bin'; readonly op: BinOp; readonly a: LExpr; readonly b: LExpr }
  | { readonly k: 'cmp'; readonly op: CmpOp; readonly a: LExpr; readonly b: LExpr }
  /** `c ? a : b`, evaluating only the branch taken (a guarded load may be out of range). */
  | { readonly k: 'sel'; readonly c: LExpr; readonly a: LExpr; readonly b: LExpr }
  /** The graph's elementwise op `op` applied to scalars (an epilogue fused into a kernel). */
  | { readonly k: 'elem'; readonly op: string; readonly args: readonly LExpr[] };

/**
 * What a lowering knows about a loop that a backend may exploit (how is the backend's
 * choice: the JS renderer unrolls by 4, a SIMD renderer would vectorize along it):
 * - `vector`: iterations are independent and step along a contiguous axis of the result
 *   (an axpy over output columns);
 * - `reduce`: the body is one `set acc = sum(acc, term)`, a reduction that may be split into
 *   several partial sums (a different, equally valid, summation order).
 */
export type LoopHint = 'vector' | 'reduce';

export type LStmt =
  | {
      readonly k: 'for';
      readonly v: string;
      readonly from: number;
      readonly to: number;
      readonly body: readonly LStmt[];
      readonly hint?: LoopHint;
    }
  /** `let name = value` (mutable locals are re-assigned with `set`). */
  | { readonly k: 'let'; readonly name: string; readonly value: LExpr }
  | { readonly k: 'set'; readonly name: string; readonly value: LExpr }
  /** Result element `index` = value, or += value, for sample `lane` (0 when absent).
   * `channel`, when the lowering knows it, is the element's index along the result's last
   * axis: an epilogue reads a per-channel argument (a bias) there, not at `index mod C`. */
  | {
      readonly k: 'store';
      readonly index: LExpr;
      readonly value: LExpr;
      readonly add: boolean;
      readonly lane?: number;
      readonly channel?: LExpr;
    }
  /** Skips the rest of the innermost loop's body when `cond` holds. */
  | { readonly k: 'skipIf'; readonly cond: LExpr }
  | { readonly k: 'if'; readonly cond: LExpr; readonly then: readonly LStmt[] };

/** The form a scheduled step's kernel takes. */
export interface KernelForm {
  /** Straight-line (every index constant) or loops. */
  readonly mode: 'unroll' | 'loop';
  /** Rows of the batch axis computed together (the schedule's block). */
  readonly lanes: number;
  /** The result is reduced over the batch axis (a gradient, a mean over it): one array every
   * lane adds into, so a kernel's gradient `i,j->ij` per row is `bi,bj->ij` over a block. */
  readonly summed: boolean;
}

export interface Kernel {
  /** Elements of the result, which the kernel writes completely. */
  readonly size: number;
  readonly body: readonly LStmt[];
  /** Samples computed together (1 when absent): loads and stores name lanes below it. */
  readonly lanes?: number;
}

// Constructors that fold constants, so index arithmetic comes out as short as by hand.
export const num = (v: number): LExpr => ({ k: 'num', v });
export const v = (name: string): LExpr => ({ k: 'var', name });
export const load = (arg: number, index: LExpr, lane = 0): LExpr =>
  lane === 0 ? { k: 'load', arg, index } : { k: 'load', arg, index, lane };
export const loadOut = (index: LExpr): LExpr => ({ k: 'loadOut', index });

export function add(a: LExpr, b: LExpr): LExpr {
  if (a.k === 'num' && b.k === 'num') return num(a.v + b.v);
  if (a.k === 'num' && a.v === 0) return b;
  if (b.k === 'num' && b.v === 0) return a;
  return { k: 'bin', op: '+', a, b };
}
export function sub(a: LExpr, b: LExpr): LExpr {
  if (a.k === 'num' && b.k === 'num') return num(a.v - b.v);
  if (b.k === 'num' && b.v === 0) return a;
  return { k: 'bin', op: '-', a, b };
}
export function mul(a: LExpr, b: LExpr): LExpr {
  if (a.k === 'num' && b.k === 'num') return num(a.v * b.v);
  // Index arithmetic only: x·1 → x and x·0 → 0 are exact on the integers these hold.
  if (a.k === 'num' && a.v === 1) return b;
  if (b.k === 'num' && b.v === 1) return a;
  return { k: 'bin', op: '*', a, b };
}
/** Float multiply: no folding of ·0 (NaN and infinities must propagate). */
export function fmul(a: LExpr, b: LExpr): LExpr {
  if (b.k === 'num' && b.v === 1) return a;
  return { k: 'bin', op: '*', a, b };
}
export function fadd(a: LExpr, b: LExpr): LExpr {
  return { k: 'bin', op: '+', a, b };
}
export const bin = (op: BinOp, a: LExpr, b: LExpr): LExpr => ({ k: 'bin', op, a, b });
export const cmp = (op: CmpOp, a: LExpr, b: LExpr): LExpr => ({ k: 'cmp', op, a, b });
export const sel = (c: LExpr, a: LExpr, b: LExpr): LExpr => ({ k: 'sel', c, a, b });
export const elem = (op: string, args: readonly LExpr[]): LExpr => ({ k: 'elem', op, args });
export const let_ = (name: string, value: LExpr): LStmt => ({ k: 'let', name, value });
export const set = (name: string, value: LExpr): LStmt => ({ k: 'set', name, value });
export const store = (index: LExpr, value: LExpr, add = false, lane = 0): LStmt =>
  lane === 0 ? { k: 'store', index, value, add } : { k: 'store', index, value, add, lane };

/** A first store that names the element's channel (index along the result's last axis). */
export const storeChannel = (index: LExpr, value: LExpr, channel: LExpr): LStmt => ({
  k: 'store',
  index,
  value,
  add: false,
  channel,
});

/** An n-ary sum. Nested sums are flattened, which re-associates: exact for index arithmetic;
 * for floats it means "this order, left to right", as in a dot product written out. Constant
 * zero terms are dropped (x + 0 is x but for −0, which no kernel stores first). */
export function nsum(terms: readonly LExpr[]): LExpr {
  const flat = terms.flatMap((t) => (t.k === 'sum' ? t.terms : [t]));
  const kept = flat.filter((t) => !(t.k === 'num' && t.v === 0));
  if (kept.length === 0) return num(0);
  return kept.length === 1 && kept[0]!.k !== 'bin' ? kept[0]! : { k: 'sum', terms: kept };
}
export const skipIf = (cond: LExpr): LStmt => ({ k: 'skipIf', cond });
export const if_ = (cond: LExpr, then: readonly LStmt[]): LStmt => ({ k: 'if', cond, then });

/** Σ terms[i] (index arithmetic). */
export function sum(terms: readonly LExpr[]): LExpr {
  return terms.reduce((acc, t) => add(acc, t), num(0));
}

export const loop = (
  name: string,
  from: number,
  to: number,
  body: readonly LStmt[],
  hint?: LoopHint,
): LStmt =>
  hint === undefined
    ? { k: 'for', v: name, from, to, body }
    : { k: 'for', v: name, from, to, body, hint };

/** The direct subexpressions of `e` (for walks that only look, not rebuild). */
export function children(e: LExpr): readonly LExpr[] {
  switch (e.k) {
    case 'num':
    case 'var':
      return [];
    case 'load':
    case 'loadOut':
      return [e.index];
    case 'sum':
      return e.terms;
    case 'bin':
    case 'cmp':
      return [e.a, e.b];
    case 'sel':
      return [e.c, e.a, e.b];
    case 'elem':
      return e.args;
  }
}

/** Whether `pred` holds for `e` or any expression inside it. */
export function someExpr(e: LExpr, pred: (x: LExpr) => boolean): boolean {
  return pred(e) || children(e).some((c) => someExpr(c, pred));
}

/** Every expression of the statements, nested loops and ifs included, outermost first. */
export function* allExprs(list: readonly LStmt[]): Generator<LExpr> {
  const walk = function* (e: LExpr): Generator<LExpr> {
    yield e;
    for (const c of children(e)) yield* walk(c);
  };
  for (const s of list) {
    switch (s.k) {
      case 'for':
        yield* allExprs(s.body);
        break;
      case 'if':
        yield* walk(s.cond);
        yield* allExprs(s.then);
        break;
      case 'let':
      case 'set':
        yield* walk(s.value);
        break;
      case 'store':
        yield* walk(s.index);
        yield* walk(s.value);
        if (s.channel) yield* walk(s.channel);
        break;
      case 'skipIf':
        yield* walk(s.cond);
        break;
    }
  }
}

/** `e` rebuilt with `f` applied to every subexpression, innermost first. */
export function mapExpr(e: LExpr, f: (x: LExpr) => LExpr): LExpr {
  const m = (x: LExpr) => mapExpr(x, f);
  switch (e.k) {
    case 'num':
    case 'var':
      return f(e);
    case 'load':
    case 'loadOut':
      return f({ ...e, index: m(e.index) });
    case 'sum':
      return f({ k: 'sum', terms: e.terms.map(m) });
    case 'bin':
    case 'cmp':
      return f({ ...e, a: m(e.a), b: m(e.b) });
    case 'sel':
      return f({ k: 'sel', c: m(e.c), a: m(e.a), b: m(e.b) });
    case 'elem':
      return f({ k: 'elem', op: e.op, args: e.args.map(m) });
  }
}

/** The statements with every expression rebuilt by mapExpr(·, f). */
export function mapStmtExprs(list: readonly LStmt[], f: (x: LExpr) => LExpr): LStmt[] {
  const m = (x: LExpr) => mapExpr(x, f);
  return list.map((s): LStmt => {
    switch (s.k) {
      case 'for':
        return { ...s, body: mapStmtExprs(s.body, f) };
      case 'if':
        return { ...s, cond: m(s.cond), then: mapStmtExprs(s.then, f) };
      case 'let':
      case 'set':
        return { ...s, value: m(s.value) };
      case 'store':
        return {
          ...s,
          index: m(s.index),
          value: m(s.value),
          ...(s.channel ? { channel: m(s.channel) } : {}),
        };
      case 'skipIf':
        return { ...s, cond: m(s.cond) };
    }
  });
}
