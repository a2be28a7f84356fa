// The JavaScript text of the elementwise ops: the JS backend's, not the op records'. Each function gets its operands as identifiers or literals (the renderer
// parenthesizes anything else), so the text may use them unparenthesized.
import type { ElementwiseOp } from '../../ops/types.ts';

/** `-x` would read `--3` for a negative literal; parenthesize anything that starts with a sign. */
function negate(x: string): string {
  return x.startsWith('-') ? `-(${x})` : `-${x}`;
}

type JsExpr = (...xs: string[]) => string;

const ELEMENTWISE: Readonly<Record<string, JsExpr>> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  neg: (a) => negate(a!),
  exp: (a) => `Math.exp(${a})`,
  expm1: (a) => `Math.expm1(${a})`,
  log: (a) => `Math.log(${a})`,
  log1p: (a) => `Math.log1p(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  pow: (a, b) => `Math.pow(${a}, ${b})`,
  tanh: (a) => `Math.tanh(${a})`,
  sigmoid: (a) => `1 / (1 + Math.exp(${negate(a!)}))`,
  softplus: (a) => `Math.max(${a}, 0) + Math.log1p(Math.exp(-Math.abs(${a})))`,
  atan: (a) => `Math.atan(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  abs: (a) => `Math.abs(${a})`,
  sign: (a) => `Math.sign(${a})`,
  floor: (a) => `Math.floor(${a})`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  gt: (a, b) => `(${a} > ${b} ? 1 : 0)`,
  select: (c, a, b) => `(${c} !== 0 ? ${a} : ${b})`,
};

/** The JS expression of elementwise op `op` over operand texts. */
export function jsElementwise(op: ElementwiseOp | string): JsExpr {
  const name = typeof op === 'string' ? op : op.name;
  const f = ELEMENTWISE[name];
  if (!f) throw new Error(`internal: the JS backend has no text for ${name}`);
  return f;
}
