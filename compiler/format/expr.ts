// Custom expressions (`{ "expr": "x / (1 + exp(-x))" }`): parsed with mathjs, checked against
// a whitelist, and turned into a tiny AST whose operators are IR op names. Nothing from the
// text survives except numbers, so an expression can never inject code into the output.
import { getOp } from '../ops/registry.ts';
import { erfOf, type Algebra } from './erf.ts';
import { escapeText, quote } from './errors.ts';
import type { ElementwiseOp } from '../ops/types.ts';

export type Expr =
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'op'; readonly op: string; readonly args: readonly Expr[] };

/** Function names users may call, mapped to IR primitives. */
export const exprFunctions: Readonly<Record<string, { op: string; arity: number }>> = {
  exp: { op: 'exp', arity: 1 },
  expm1: { op: 'expm1', arity: 1 },
  log: { op: 'log', arity: 1 },
  log1p: { op: 'log1p', arity: 1 },
  sqrt: { op: 'sqrt', arity: 1 },
  abs: { op: 'abs', arity: 1 },
  sign: { op: 'sign', arity: 1 },
  sin: { op: 'sin', arity: 1 },
  cos: { op: 'cos', arity: 1 },
  tanh: { op: 'tanh', arity: 1 },
  sigmoid: { op: 'sigmoid', arity: 1 },
  softplus: { op: 'softplus', arity: 1 },
  max: { op: 'max', arity: 2 },
  min: { op: 'min', arity: 2 },
  pow: { op: 'pow', arity: 2 },
  atan: { op: 'atan', arity: 1 },
};

/**
 * Functions that are sugar over the primitives (Keras losses and activations reach for them:
 * `log(cosh(y - t))` is Keras's log-cosh loss). Their derivatives come from the primitives'.
 */
export const exprSugar: Readonly<
  Record<string, { readonly arity: number; build(a: readonly Expr[]): Expr }>
> = {
  square: { arity: 1, build: ([x]) => make('mul', [x!, x!]) },
  cube: { arity: 1, build: ([x]) => make('mul', [x!, make('mul', [x!, x!])]) },
  // (e^x + e^−x) / 2; sinh through expm1 keeps its precision near 0.
  cosh: {
    arity: 1,
    build: ([x]) =>
      make('mul', [num(0.5), make('add', [make('exp', [x!]), make('exp', [make('neg', [x!])])])]),
  },
  sinh: {
    arity: 1,
    build: ([x]) =>
      make('mul', [
        num(0.5),
        make('sub', [make('expm1', [x!]), make('expm1', [make('neg', [x!])])]),
      ]),
  },
  // log(x + √(x² + 1)); acosh for x ≥ 1; atanh = (log1p(x) − log1p(−x)) / 2.
  asinh: {
    arity: 1,
    build: ([x]) =>
      make('log', [
        make('add', [x!, make('sqrt', [make('add', [make('mul', [x!, x!]), num(1)])])]),
      ]),
  },
  acosh: {
    arity: 1,
    build: ([x]) =>
      make('log', [
        make('add', [x!, make('sqrt', [make('sub', [make('mul', [x!, x!]), num(1)])])]),
      ]),
  },
  atanh: {
    arity: 1,
    build: ([x]) =>
      make('mul', [
        num(0.5),
        make('sub', [make('log1p', [x!]), make('log1p', [make('neg', [x!])])]),
      ]),
  },
  clip: { arity: 3, build: ([x, lo, hi]) => make('min', [make('max', [x!, lo!]), hi!]) },
  // Numerical Recipes' Chebyshev fit, composed from primitives (see erf.ts).
  erf: { arity: 1, build: ([x]) => erfOf(exprAlgebra, x!) },
};

/** Expressions as an algebra for erf.ts; `make` folds constants as everywhere here. */
const exprAlgebra: Algebra<Expr> = {
  num: (v) => num(v),
  op: (name, a, b) => make(name, [a, b]),
  unary: (name, a) => make(name, [a]),
  select: (c, a, b) => make('select', [c, a, b]),
};

const num = (v: number): Expr => ({ k: 'num', v });

const operators: Readonly<Record<string, string>> = {
  add: 'add',
  subtract: 'sub',
  multiply: 'mul',
  divide: 'div',
  pow: 'pow',
  unaryMinus: 'neg',
};

const namedConstants: Readonly<Record<string, number>> = { pi: Math.PI, e: Math.E };

export const MAX_EXPR_LENGTH = 1000;
export const MAX_EXPR_DEPTH = 32;

export class ExprError extends Error {}

/** Nesting depth of brackets, prefix signs (`-`, `+`, `~`, `!`) and power chains (`x^x^x` nests
 * to the right), checked before parsing so that a hostile expression cannot overflow the
 * parser's recursion. Any whitespace between signs is skipped. */
function nestingDepth(src: string): number {
  let depth = 0;
  let max = 0;
  let signs = 0;
  let powers = 0;
  let operand = false;
  const powersAt: number[] = [];
  for (const ch of src) {
    if (/\s/.test(ch)) continue;
    if (ch === '(' || ch === '[' || ch === '{') {
      powersAt.push(powers);
      powers = 0;
      max = Math.max(max, ++depth + signs);
      signs = 0;
      operand = false;
      continue;
    }
    if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      powers = powersAt.pop() ?? 0;
    } else if (ch === '^') powers++;
    else if (ch === '*' || ch === '/' || ch === ',' || ch === '=' || ch === '<' || ch === '>')
      powers = 0;
    const binary = (ch === '-' || ch === '+') && operand;
    if (binary) powers = 0;
    if (!binary && (ch === '-' || ch === '+' || ch === '~' || ch === '!')) signs++;
    else if (ch !== '^') signs = 0;
    operand = /[\w.)\]}]/.test(ch);
    max = Math.max(max, depth + signs + powers);
  }
  return max;
}

/** Folds an operation on numbers, as the simplify pass would, so that `x / (1 - 1)` is caught. */
function make(op: string, args: Expr[]): Expr {
  if (op === 'div' && args[1]!.k === 'num' && args[1]!.v === 0)
    throw new ExprError('divides by zero');
  if (args.every((a) => a.k === 'num')) {
    const def = getOp(op) as ElementwiseOp;
    const v = def.scalar(...args.map((a) => (a as { v: number }).v));
    // `sqrt(-1)`, `10^400`: a constant that is not a finite number is a mistake in the model.
    if (!Number.isFinite(v)) throw new ExprError(`a constant part evaluates to ${v}`);
    return { k: 'num', v };
  }
  return { k: 'op', op, args };
}

interface MathNode {
  type: string;
  name?: string;
  fn?: string | MathNode;
  op?: string;
  value?: unknown;
  args?: MathNode[];
  content?: MathNode;
}

const syntaxNames: Readonly<Record<string, string>> = {
  FunctionAssignmentNode: 'function definition',
  AccessorNode: 'property or index',
  BlockNode: 'multiple statements',
  RelationalNode: 'comparison',
};

function convert(n: MathNode, vars: readonly string[]): Expr {
  switch (n.type) {
    case 'ConstantNode':
      if (typeof n.value === 'number' && Number.isNaN(n.value))
        throw new ExprError('NaN is not a number a model can use');
      if (typeof n.value === 'number' && !Number.isFinite(n.value))
        throw new ExprError('a number is too large (it would be Infinity)');
      if (typeof n.value !== 'number')
        throw new ExprError(`unsupported constant ${quote(String(n.value), 40)}`);
      return { k: 'num', v: n.value };
    case 'SymbolNode': {
      const name = n.name ?? '';
      if (vars.includes(name)) return { k: 'var', name };
      if (Object.hasOwn(namedConstants, name)) return { k: 'num', v: namedConstants[name]! };
      throw new ExprError(`unknown variable ${quote(name, 40)} (expected ${vars.join(' or ')})`);
    }
    case 'ParenthesisNode':
      return convert(n.content!, vars);
    case 'OperatorNode': {
      const fn = typeof n.fn === 'string' ? n.fn : '';
      const args = (n.args ?? []).map((a) => convert(a, vars));
      if (fn === 'unaryPlus') return args[0]!;
      const op = Object.hasOwn(operators, fn) ? operators[fn] : undefined;
      if (!op) throw new ExprError(`operator ${quote(n.op ?? fn, 20)} is not supported`);
      return make(op, args);
    }
    case 'FunctionNode': {
      if (typeof n.fn !== 'object' || n.fn.type !== 'SymbolNode') {
        // `Math.exp(x)`, `f(1)(x)`: only a plain function name can be called.
        const called = typeof n.fn === 'object' && n.fn.type === 'AccessorNode';
        throw new ExprError(
          called
            ? 'calling a property (like Math.exp) is not supported; call the function by its name, e.g. exp(x)'
            : 'only a function name can be called, e.g. exp(x)',
        );
      }
      const name = n.fn.name ?? '';
      const sugar = Object.hasOwn(exprSugar, name) ? exprSugar[name] : undefined;
      const f = Object.hasOwn(exprFunctions, name) ? exprFunctions[name] : undefined;
      if (!f && !sugar)
        throw new ExprError(
          `unknown function ${quote(name, 40)} (known: ${[...Object.keys(exprFunctions), ...Object.keys(exprSugar)].join(', ')})`,
        );
      const args = (n.args ?? []).map((a) => convert(a, vars));
      if (sugar) {
        if (args.length !== sugar.arity)
          throw new ExprError(
            `${name} takes ${sugar.arity} argument${sugar.arity > 1 ? 's' : ''}, got ${args.length}`,
          );
        return sugar.build(args);
      }
      if (!f) throw new ExprError('internal: no function');
      if (args.length !== f.arity)
        throw new ExprError(
          `${name} takes ${f.arity} argument${f.arity > 1 ? 's' : ''}, got ${args.length}`,
        );
      return make(f.op, args);
    }
    default:
      throw new ExprError(
        `${syntaxNames[n.type] ?? n.type.replace(/Node$/, '').toLowerCase()} syntax is not supported in an expression`,
      );
  }
}

export async function parseExpr(src: string, vars: readonly string[]): Promise<Expr> {
  if (src.trim() === '') throw new ExprError('expression is empty');
  if (src.length > MAX_EXPR_LENGTH)
    throw new ExprError(`expression is longer than ${MAX_EXPR_LENGTH} characters`);
  if (nestingDepth(src) > MAX_EXPR_DEPTH)
    throw new ExprError(`expression is nested deeper than ${MAX_EXPR_DEPTH} levels`);
  // mathjs is large; load it only for models that use custom expressions.
  const { parse } = await import('mathjs');
  let tree: MathNode;
  try {
    tree = parse(src) as unknown as MathNode;
  } catch (e) {
    if (e instanceof RangeError) throw new ExprError('expression is nested too deeply');
    // mathjs quotes the offending text: escape it (ESC sequences, bidi controls).
    throw new ExprError(`does not parse: ${escapeText((e as Error).message)}`);
  }
  const expr = convert(tree, vars);
  if (!usesVariable(expr)) throw new ExprError(`expression does not use ${vars.join(' or ')}`);
  return expr;
}

function usesVariable(e: Expr): boolean {
  return e.k === 'var' || (e.k === 'op' && e.args.some(usesVariable));
}
