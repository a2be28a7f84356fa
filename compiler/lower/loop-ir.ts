// The loop-level IR: what a structured op (a convolution, a windowed reduction) becomes
// before a backend prints it. Loops have constant bounds; loads and stores have affine
// (integer) index expressions; values are scalar ALU expressions. A kernel reads its
// arguments (`load arg i`) and writes its one result (`store`); where those live (params,
// input, work, a row of a batch) is the backend's business, so the same kernel serves the
// JavaScript renderer, the loop interpreter and, later, a WebAssembly renderer.

export type BinOp = '+' | '-' | '*' | '/' | 'max' | 'min';
export type CmpOp = '<' | '<=' | '>' | '>=' | '==';

export type LExpr =
  | { readonly k: 'num'; readonly v: number }
  /** A loop variable or a local. */
  | { readonly k: 'var'; readonly name: string }
  /** Element `index` of argument `arg` of the op. */
  | { readonly k: 'load'; readonly arg: number; readonly index: LExpr }
  /** Element `index` of the kernel's own result (read back while accumulating). */
  | { readonly k: 'loadOut'; readonly index: LExpr }
  | { readonly k: 'bin'; readonly op: BinOp; readonly a: LExpr; readonly b: LExpr }
  | { readonly k: 'cmp'; readonly op: CmpOp; readonly a: LExpr; readonly b: LExpr }
  /** `c ? a : b`, evaluating only the branch taken (a guarded load may be out of range). */
  | { readonly k: 'sel'; readonly c: LExpr; readonly a: LExpr; readonly b: LExpr }
  /** The graph's elementwise op `op` applied to scalars (an epilogue fused into a kernel). */
  | { readonly k: 'elem'; readonly op: string; readonly args: readonly LExpr[] };

export type LStmt =
  | {
      readonly k: 'for';
      readonly v: string;
      readonly from: number;
      readonly to: number;
      readonly body: readonly LStmt[];
    }
  /** `let name = value` (mutable locals are re-assigned with `set`). */
  | { readonly k: 'let'; readonly name: string; readonly value: LExpr }
  | { readonly k: 'set'; readonly name: string; readonly value: LExpr }
  /** Result element `index` = value, or += value. */
  | { readonly k: 'store'; readonly index: LExpr; readonly value: LExpr; readonly add: boolean }
  /** Skips the rest of the innermost loop's body when `cond` holds. */
  | { readonly k: 'skipIf'; readonly cond: LExpr }
  | { readonly k: 'if'; readonly cond: LExpr; readonly then: readonly LStmt[] };

export interface Kernel {
  /** Elements of the result, which the kernel writes completely. */
  readonly size: number;
  readonly body: readonly LStmt[];
}

// Constructors that fold constants, so index arithmetic comes out as short as by hand.
export const num = (v: number): LExpr => ({ k: 'num', v });
export const v = (name: string): LExpr => ({ k: 'var', name });
export const load = (arg: number, index: LExpr): LExpr => ({ k: 'load', arg, index });
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
export const store = (index: LExpr, value: LExpr, add = false): LStmt => ({
  k: 'store',
  index,
  value,
  add,
});
export const skipIf = (cond: LExpr): LStmt => ({ k: 'skipIf', cond });
export const if_ = (cond: LExpr, then: readonly LStmt[]): LStmt => ({ k: 'if', cond, then });

/** Σ terms[i] (index arithmetic). */
export function sum(terms: readonly LExpr[]): LExpr {
  return terms.reduce((acc, t) => add(acc, t), num(0));
}

export const loop = (name: string, from: number, to: number, body: readonly LStmt[]): LStmt => ({
  k: 'for',
  v: name,
  from,
  to,
  body,
});
