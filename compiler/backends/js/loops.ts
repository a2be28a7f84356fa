// JavaScript rendering of loop IR. Where the kernel's arguments and result live is given by
// the caller (work slots, params, a row of a batch), so this file only knows JS syntax and the
// JS backend's policy: loops of at most UNROLL_MAX iterations with a small body are unrolled
// (V8 does not unroll; the channel loops of small convolutions gain from it), a one-trip loop
// is a constant.
import { num } from '../../emit/code.ts';
import type { Kernel, LExpr, LStmt } from '../../lower/loop-ir.ts';
import { getOp } from '../../ops/registry.ts';

export interface JsKernelTarget {
  /** Code reading element `index` (JS expression) of argument `arg`. */
  load(arg: number, index: string): string;
  /** Assignable code for element `index` of the result. */
  slot(index: string): string;
  line(code: string): void;
  indent(): void;
  dedent(): void;
}

const UNROLL_MAX = 16;
const UNROLL_BODY = 3;

type Subst = ReadonlyMap<string, number>;

function expr(e: LExpr, t: JsKernelTarget, sub: Subst): string {
  switch (e.k) {
    case 'num':
      // The global `NaN` is a tagged constant to TurboFan: `c ? NaN : x` boxed every x it
      // stored (measured: kilobytes per pooling call). `0 / 0` folds to an unboxed double.
      if (Number.isNaN(e.v)) return '(0 / 0)';
      return e.v < 0 ? `(${num(e.v)})` : num(e.v);
    case 'var': {
      const c = sub.get(e.name);
      return c === undefined ? e.name : String(c);
    }
    case 'load':
      return t.load(e.arg, index(e.index, t, sub));
    case 'loadOut':
      return t.slot(index(e.index, t, sub));
    case 'bin': {
      const a = expr(e.a, t, sub);
      const b = expr(e.b, t, sub);
      if (e.op === 'max' || e.op === 'min') return `Math.${e.op}(${a}, ${b})`;
      return `(${a} ${e.op} ${b})`;
    }
    case 'cmp':
      return `(${expr(e.a, t, sub)} ${e.op === '==' ? '===' : e.op} ${expr(e.b, t, sub)})`;
    case 'sel':
      return `(${expr(e.c, t, sub)} ? ${expr(e.a, t, sub)} : ${expr(e.b, t, sub)})`;
    case 'elem': {
      const def = getOp(e.op);
      if (def.kind !== 'elementwise') throw new Error(`internal: ${e.op} is not elementwise`);
      // The op's JS text expects identifiers or literals: anything else is parenthesized.
      return `(${def.expr(...e.args.map((a) => atom(expr(a, t, sub))))})`;
    }
  }
}

function atom(s: string): string {
  return /^[\w$]+$/.test(s) || (s.startsWith('(') && s.endsWith(')') && balanced(s.slice(1, -1)))
    ? s
    : `(${s})`;
}

/** Index expressions with constants folded after substitution (unrolled loop variables). */
function index(e: LExpr, t: JsKernelTarget, sub: Subst): string {
  const c = constant(e, sub);
  if (c !== undefined) return String(c);
  const s = expr(e, t, sub);
  return s.startsWith('(') && s.endsWith(')') && balanced(s.slice(1, -1)) ? s.slice(1, -1) : s;
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function constant(e: LExpr, sub: Subst): number | undefined {
  if (e.k === 'num') return e.v;
  if (e.k === 'var') return sub.get(e.name);
  if (e.k === 'bin' && (e.op === '+' || e.op === '-' || e.op === '*')) {
    const a = constant(e.a, sub);
    const b = constant(e.b, sub);
    if (a === undefined || b === undefined) return undefined;
    return e.op === '+' ? a + b : e.op === '-' ? a - b : a * b;
  }
  return undefined;
}

function isCondition(e: LExpr): boolean {
  return e.k === 'cmp' || e.k === 'sel';
}

function stmts(list: readonly LStmt[], t: JsKernelTarget, sub: Subst, declared: Set<string>): void {
  for (const s of list) {
    switch (s.k) {
      case 'for': {
        const trips = s.to - s.from;
        if (trips <= 0) break;
        // `continue` belongs to a real loop: a body that skips is never unrolled.
        const skips = s.body.some((b) => b.k === 'skipIf');
        const small =
          !skips &&
          (trips === 1 ||
            (trips <= UNROLL_MAX && s.body.length <= UNROLL_BODY && !hasLoop(s.body)));
        if (small) {
          for (let i = s.from; i < s.to; i++) {
            const inner = new Map(sub);
            inner.set(s.v, i);
            // Each unrolled copy is its own block: its locals must not clash.
            if (declares(s.body)) {
              t.line('{');
              t.indent();
              stmts(s.body, t, inner, new Set());
              t.dedent();
              t.line('}');
            } else stmts(s.body, t, inner, declared);
          }
          break;
        }
        t.line(`for (let ${s.v} = ${s.from}; ${s.v} < ${s.to}; ${s.v}++) {`);
        t.indent();
        stmts(s.body, t, sub, new Set());
        t.dedent();
        t.line('}');
        break;
      }
      case 'let':
        t.line(`let ${s.name} = ${expr(s.value, t, sub)};`);
        declared.add(s.name);
        break;
      case 'set':
        t.line(`${s.name} = ${expr(s.value, t, sub)};`);
        break;
      case 'store':
        t.line(`${t.slot(index(s.index, t, sub))} ${s.add ? '+=' : '='} ${expr(s.value, t, sub)};`);
        break;
      case 'skipIf':
        t.line(
          `if (${isCondition(s.cond) ? expr(s.cond, t, sub).slice(1, -1) : expr(s.cond, t, sub)}) continue;`,
        );
        break;
      case 'if':
        t.line(`if (${expr(s.cond, t, sub)}) {`);
        t.indent();
        stmts(s.then, t, sub, declared);
        t.dedent();
        t.line('}');
        break;
    }
  }
}

function hasLoop(list: readonly LStmt[]): boolean {
  return list.some((s) => s.k === 'for' || (s.k === 'if' && hasLoop(s.then)));
}

function declares(list: readonly LStmt[]): boolean {
  return list.some((s) => s.k === 'let');
}

export function renderKernel(k: Kernel, t: JsKernelTarget): void {
  stmts(k.body, t, new Map(), new Set());
}
