// JavaScript rendering of loop IR. Where the kernel's arguments and result live is given by
// the caller (work slots, params, a row of a batch), so this file only knows JS syntax and the
// JS backend's policy: loops of at most UNROLL_MAX iterations with a small body are unrolled
// (V8 does not unroll; the channel loops of small convolutions gain from it), a one-trip loop
// is a constant, and hinted loops (`vector`, `reduce`) are unrolled by UNROLL_BY with a tail
// loop, a reduction with UNROLL_BY partial sums: V8 neither unrolls nor reassociates, and
// measured on Node 20 that loop form runs a multiply-add in ~0.6 ns, faster than plain or
// fully unrolled loops at fan-ins above ~64.
import { num } from '../../emit/code.ts';
import { nsum, num as irNum, type Kernel, type LExpr, type LStmt } from '../../lower/loop-ir.ts';
import { getOp } from '../../ops/registry.ts';
import { jsElementwise } from './scalar-ops.ts';

export interface JsKernelTarget {
  /** Code reading element `index` (JS expression) of argument `arg` for sample `lane`. */
  load(arg: number, index: string, lane: number): string;
  /** Assignable code for element `index` of the result for sample `lane`. */
  slot(index: string, lane: number): string;
  /** The statement storing `value` into result element `index` (a constant when the result
   * lives in locals); by default `slot op value;`. */
  store?(index: string, lane: number, op: '=' | '+=', value: string): string;
  line(code: string): void;
  indent(): void;
  dedent(): void;
}

const UNROLL_MAX = 16;
const UNROLL_BODY = 3;
const UNROLL_BY = 4;

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
      return t.load(e.arg, index(e.index, t, sub), e.lane ?? 0);
    case 'loadOut':
      return t.slot(index(e.index, t, sub), e.lane ?? 0);
    case 'sum':
      return `(${sumText(e.terms, t, sub)})`;
    case 'bin': {
      const a = expr(e.a, t, sub);
      const b = expr(e.b, t, sub);
      // Index arithmetic on non-negative integers: `| 0` truncates, `%` is the remainder.
      if (e.op === 'idiv') return `((${a} / ${b}) | 0)`;
      if (e.op === 'mod') return `(${a} % ${b})`;
      // A chain max(max(a, b), c) is one Math.max(a, b, c): the same value, shorter code.
      if (e.op === 'max' || e.op === 'min') {
        const chain: LExpr[] = [e.b];
        let head: LExpr = e.a;
        while (head.k === 'bin' && head.op === e.op) {
          chain.unshift(head.b);
          head = head.a;
        }
        return `Math.${e.op}(${[head, ...chain].map((x) => expr(x, t, sub)).join(', ')})`;
      }
      return `(${a} ${e.op} ${b})`;
    }
    case 'cmp':
      return `(${expr(e.a, t, sub)} ${e.op === '==' ? '===' : e.op} ${expr(e.b, t, sub)})`;
    case 'sel':
      return `(${expr(e.c, t, sub)} ? ${expr(e.a, t, sub)} : ${expr(e.b, t, sub)})`;
    case 'elem':
      return `(${elemText(e, t, sub)})`;
  }
}

/** The terms of a sum without the parentheses left-to-right addition does not need: a term
 * that is a product of atoms prints bare (`a * b + c * d`). */
function sumText(terms: readonly LExpr[], t: JsKernelTarget, sub: Subst): string {
  // Under substitution an index term may become the constant 0 (`r + j` with j = 0).
  const kept = terms.filter((x) => constant(x, sub) !== 0);
  if (kept.length === 0) return '0';
  return kept
    .map((x) => {
      if (x.k === 'bin' && x.op === '*') {
        const a = expr(x.a, t, sub);
        const b = expr(x.b, t, sub);
        if (isAtom(a) && isAtom(b)) return `${a} * ${b}`;
      }
      return expr(x, t, sub);
    })
    .join(' + ');
}

/** An identifier, literal or element access: binds tighter than `*`. */
function isAtom(s: string): boolean {
  return (
    /^[\w$.]+(\[[^\[\]]*\]!?)?$/.test(s) ||
    (s.startsWith('(') && s.endsWith(')') && balanced(s.slice(1, -1)))
  );
}

/** A value printed at statement level: a sum or an elementwise op needs no outer
 * parentheses. */
function value(e: LExpr, t: JsKernelTarget, sub: Subst): string {
  if (e.k === 'sum') return sumText(e.terms, t, sub);
  if (e.k === 'elem') return elemText(e, t, sub);
  if (e.k === 'num' && e.v < 0) return num(e.v);
  return expr(e, t, sub);
}

/** An elementwise op's JS text. Its operands must be identifiers, literals or element
 * accesses (what loads render to); anything else is parenthesized. */
function elemText(e: Extract<LExpr, { k: 'elem' }>, t: JsKernelTarget, sub: Subst): string {
  const def = getOp(e.op);
  if (def.kind !== 'elementwise') throw new Error(`internal: ${e.op} is not elementwise`);
  return jsElementwise(def)(
    ...e.args.map((a) => (a.k === 'load' ? expr(a, t, sub) : atom(expr(a, t, sub)))),
  );
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
  if (e.k === 'sum') {
    let total = 0;
    for (const x of e.terms) {
      const c = constant(x, sub);
      if (c === undefined) return undefined;
      total += c;
    }
    return total;
  }
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
        if (s.hint && trips >= UNROLL_BY && unrolledBy(s, t, sub)) break;
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
        loopOf(`for (let ${s.v} = ${s.from}; ${s.v} < ${s.to}; ${s.v}++)`, t, (inner) =>
          stmts(s.body, inner, sub, new Set()),
        );
        break;
      }
      case 'let':
        t.line(`let ${s.name} = ${value(s.value, t, sub)};`);
        declared.add(s.name);
        break;
      case 'set':
        t.line(`${s.name} = ${value(s.value, t, sub)};`);
        break;
      case 'store': {
        const at = index(s.index, t, sub);
        const lane = s.lane ?? 0;
        const op = s.add ? '+=' : '=';
        const val = value(s.value, t, sub);
        t.line(t.store ? t.store(at, lane, op, val) : `${t.slot(at, lane)} ${op} ${val};`);
        break;
      }
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

/** `head { body }`, or `head stmt;` on one line when the body is one line of code (an
 * elementwise loop, an axpy tail). */
function loopOf(head: string, t: JsKernelTarget, body: (inner: JsKernelTarget) => void): void {
  const lines: { code: string; depth: number }[] = [];
  let depth = 0;
  body({
    ...t,
    line: (code) => void lines.push({ code, depth }),
    indent: () => void depth++,
    dedent: () => void depth--,
  });
  if (lines.length === 1 && lines[0]!.depth === 0 && !lines[0]!.code.startsWith('let ')) {
    t.line(`${head} ${lines[0]!.code}`);
    return;
  }
  t.line(`${head} {`);
  t.indent();
  for (const l of lines) {
    for (let d = 0; d < l.depth; d++) t.indent();
    t.line(l.code);
    for (let d = 0; d < l.depth; d++) t.dedent();
  }
  t.dedent();
  t.line('}');
}

type ForStmt = Extract<LStmt, { k: 'for' }>;

/**
 * A hinted loop unrolled by UNROLL_BY (`j`, `j + 1`, ...) over the largest multiple of it,
 * then a tail loop; a `reduce` loop's accumulator gets UNROLL_BY − 1 more partial sums,
 * added to it in order after the loop. False (nothing written) when the body has another
 * shape than the hint promises.
 */
function unrolledBy(s: ForStmt, t: JsKernelTarget, sub: Subst): boolean {
  const acc = s.hint === 'reduce' ? reduction(s) : undefined;
  if (s.hint === 'reduce' && !acc) return false;
  if (
    s.hint === 'vector' &&
    (declares(s.body) || hasLoop(s.body) || s.body.some((b) => b.k === 'skipIf'))
  )
    return false;
  const trips = s.to - s.from;
  const end = s.from + trips - (trips % UNROLL_BY);
  const copies = Array.from({ length: UNROLL_BY }, (_, u) => u);
  const partial = (u: number): string => (u === 0 ? acc!.name : `${acc!.name}_${u}`);
  if (acc)
    t.line(
      `let ${copies
        .slice(1)
        .map((u) => `${partial(u)} = 0`)
        .join(', ')};`,
    );
  t.line(`for (let ${s.v} = ${s.from}; ${s.v} < ${end}; ${s.v} += ${UNROLL_BY}) {`);
  t.indent();
  for (const u of copies) {
    const shifted = s.body.map((b) => shift(b, s.v, u));
    if (acc) t.line(`${partial(u)} += ${sumText([termOf(shifted[0]!)], t, sub)};`);
    else stmts(shifted, t, sub, new Set());
  }
  t.dedent();
  t.line('}');
  if (end < s.to) {
    loopOf(`for (let ${s.v} = ${end}; ${s.v} < ${s.to}; ${s.v}++)`, t, (inner) => {
      if (acc) inner.line(`${acc.name} += ${sumText([termOf(s.body[0]!)], inner, sub)};`);
      else stmts(s.body, inner, sub, new Set());
    });
  }
  if (acc) t.line(`${acc.name} = ${copies.map(partial).join(' + ')};`);
  return true;
}

/** The accumulator of a `reduce` loop whose body is one `set acc = sum(acc, term)`. */
function reduction(s: ForStmt): { name: string } | undefined {
  const [b] = s.body;
  if (s.body.length !== 1 || b?.k !== 'set' || b.value.k !== 'sum') return undefined;
  const [head, ...rest] = b.value.terms;
  if (head?.k !== 'var' || head.name !== b.name || rest.length !== 1) return undefined;
  return { name: b.name };
}

function termOf(b: LStmt): LExpr {
  if (b.k !== 'set' || b.value.k !== 'sum') throw new Error('internal: not a reduction step');
  return b.value.terms[1]!;
}

/** `b` with loop variable `name` replaced by `name + u`. */
function shift(b: LStmt, name: string, u: number): LStmt {
  if (u === 0) return b;
  const e = (x: LExpr): LExpr => shiftExpr(x, name, u);
  switch (b.k) {
    case 'let':
    case 'set':
      return { ...b, value: e(b.value) };
    case 'store':
      return {
        ...b,
        index: e(b.index),
        value: e(b.value),
        ...(b.channel ? { channel: e(b.channel) } : {}),
      };
    case 'if':
      return { ...b, cond: e(b.cond), then: b.then.map((x) => shift(x, name, u)) };
    case 'skipIf':
      return { ...b, cond: e(b.cond) };
    case 'for':
      return b.v === name ? b : { ...b, body: b.body.map((x) => shift(x, name, u)) };
  }
}

function shiftExpr(x: LExpr, name: string, u: number): LExpr {
  const e = (y: LExpr): LExpr => shiftExpr(y, name, u);
  switch (x.k) {
    case 'num':
      return x;
    case 'var':
      return x.name === name ? nsum([x, irNum(u)]) : x;
    case 'load':
    case 'loadOut':
      return { ...x, index: e(x.index) };
    case 'sum': {
      // Index sums are flattened so that `r + j + 1` prints without nesting.
      const terms = x.terms.map(e);
      return {
        k: 'sum',
        terms: terms.flatMap((y) => (y.k === 'sum' && isIndex(y) ? y.terms : [y])),
      };
    }
    case 'bin':
    case 'cmp':
      return { ...x, a: e(x.a), b: e(x.b) };
    case 'sel':
      return { ...x, c: e(x.c), a: e(x.a), b: e(x.b) };
    case 'elem':
      return { ...x, args: x.args.map(e) };
  }
}

/** A sum of variables and integer constants only (index arithmetic). */
function isIndex(x: LExpr): boolean {
  return (
    x.k === 'sum' && x.terms.every((y) => y.k === 'var' || (y.k === 'num' && Number.isInteger(y.v)))
  );
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
