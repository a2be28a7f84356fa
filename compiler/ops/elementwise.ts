// Elementwise primitives. Arguments of size 1 broadcast against the others.
// Each record holds the scalar evaluation and the derivative rule (in IR); the JavaScript
// text of each op is the JS backend's (`backends/js/scalar-ops.ts`).
import { sameShape, type Attrs, type Node } from '../ir/node.ts';
import type { ElementwiseOp, VjpContext } from './types.ts';

/** Scalars broadcast; every other argument has the same shape (broadcasting along axes is
 * an explicit `bcast` view, so the elementwise loop stays one flat index). */
function broadcastShape(op: string, args: readonly Node[]): readonly number[] {
  let shape: readonly number[] = [];
  for (const a of args) if (a.size !== 1) shape = a.shape;
  for (const a of args) {
    if (a.size !== 1 && !sameShape(a.shape, shape)) {
      throw new Error(
        `${op}: argument shapes ${args.map((x) => `[${x.shape.join(',')}]`).join(', ')} do not broadcast`,
      );
    }
  }
  // All scalars: [1] and [] alike; the result keeps the longer form ([1] for a 1-unit layer).
  if (shape.length === 0) for (const a of args) if (a.shape.length > shape.length) shape = a.shape;
  return shape;
}

function evaluateElementwise(f: (...xs: number[]) => number) {
  return (args: readonly Float64Array[], _attrs: Attrs, out: Float64Array): void => {
    const xs = new Array<number>(args.length);
    for (let k = 0; k < out.length; k++) {
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        xs[i] = a.length === 1 ? a[0]! : a[k]!;
      }
      out[k] = f(...xs);
    }
  };
}

interface Spec {
  name: string;
  arity: number;
  commutative?: boolean;
  smooth?: boolean;
  doc: string;
  scalar: (...xs: number[]) => number;
  vjp: (c: VjpContext) => (Node | null)[];
}

function elementwise(s: Spec): ElementwiseOp {
  return {
    kind: 'elementwise',
    name: s.name,
    arity: s.arity,
    commutative: s.commutative,
    smooth: s.smooth ?? true,
    doc: s.doc,
    shape: (args) => broadcastShape(s.name, args),
    evaluate: evaluateElementwise(s.scalar),
    scalar: s.scalar,
    vjp: s.vjp,
  };
}

export const elementwiseOps: ElementwiseOp[] = [
  elementwise({
    name: 'add',
    arity: 2,
    commutative: true,
    doc: 'a + b',
    scalar: (a, b) => a! + b!,
    vjp: ({ ct, needs }) => [needs[0] ? ct : null, needs[1] ? ct : null],
  }),
  elementwise({
    name: 'sub',
    arity: 2,
    doc: 'a - b',
    scalar: (a, b) => a! - b!,
    vjp: ({ B, ct, needs }) => [needs[0] ? ct : null, needs[1] ? B.neg(ct) : null],
  }),
  elementwise({
    name: 'mul',
    arity: 2,
    commutative: true,
    doc: 'a * b',
    scalar: (a, b) => a! * b!,
    vjp: ({ B, ct, args: [a, b], needs }) => [
      needs[0] ? B.mul(ct, b!) : null,
      needs[1] ? B.mul(ct, a!) : null,
    ],
  }),
  elementwise({
    name: 'div',
    arity: 2,
    doc: 'a / b',
    scalar: (a, b) => a! / b!,
    // d(a/b)/db = -a/b² = -y/b: reuses the quotient instead of squaring b.
    vjp: ({ B, y, ct, args: [, b], needs }) => [
      needs[0] ? B.div(ct, b!) : null,
      needs[1] ? B.neg(B.div(B.mul(ct, y), b!)) : null,
    ],
  }),
  elementwise({
    name: 'neg',
    arity: 1,
    doc: '-a',
    scalar: (a) => -a!,
    vjp: ({ B, ct }) => [B.neg(ct)],
  }),
  elementwise({
    name: 'exp',
    arity: 1,
    doc: 'e^a',
    scalar: Math.exp,
    vjp: ({ B, y, ct }) => [B.mul(ct, y)],
  }),
  elementwise({
    name: 'expm1',
    arity: 1,
    doc: 'e^a - 1, accurate near 0',
    scalar: Math.expm1,
    vjp: ({ B, y, ct }) => [B.mul(ct, B.add(y, B.const(1)))],
  }),
  elementwise({
    name: 'log',
    arity: 1,
    doc: 'natural logarithm',
    scalar: Math.log,
    vjp: ({ B, ct, args: [a] }) => [B.div(ct, a!)],
  }),
  elementwise({
    name: 'log1p',
    arity: 1,
    doc: 'log(1 + a), accurate near 0',
    scalar: Math.log1p,
    vjp: ({ B, ct, args: [a] }) => [B.div(ct, B.add(a!, B.const(1)))],
  }),
  elementwise({
    name: 'sqrt',
    arity: 1,
    doc: 'square root',
    scalar: Math.sqrt,
    vjp: ({ B, y, ct }) => [B.div(ct, B.mul(B.const(2), y))],
  }),
  elementwise({
    name: 'pow',
    arity: 2,
    doc: 'a^b',
    scalar: Math.pow,
    vjp: ({ B, y, ct, args: [a, b], needs }) => [
      needs[0] ? B.mul(ct, B.mul(b!, B.make('pow', [a!, B.sub(b!, B.const(1))]))) : null,
      needs[1] ? B.mul(ct, B.mul(B.unary('log', a!), y)) : null,
    ],
  }),
  elementwise({
    name: 'tanh',
    arity: 1,
    doc: 'hyperbolic tangent',
    scalar: Math.tanh,
    vjp: ({ B, y, ct }) => [B.mul(ct, B.sub(B.const(1), B.mul(y, y)))],
  }),
  elementwise({
    name: 'sigmoid',
    arity: 1,
    doc: '1 / (1 + e^-a); saturates to exactly 0 or 1 without NaN for any finite a',
    scalar: (a) => 1 / (1 + Math.exp(-a!)),
    vjp: ({ B, y, ct }) => [B.mul(ct, B.mul(y, B.sub(B.const(1), y)))],
  }),
  elementwise({
    name: 'softplus',
    arity: 1,
    doc: 'log(1 + e^a), computed as max(a, 0) + log1p(e^-|a|) so it never overflows',
    scalar: (a) => Math.max(a!, 0) + Math.log1p(Math.exp(-Math.abs(a!))),
    vjp: ({ B, ct, args: [a] }) => [B.mul(ct, B.unary('sigmoid', a!))],
  }),
  elementwise({
    name: 'atan',
    arity: 1,
    doc: 'arctangent',
    scalar: Math.atan,
    // atan'(x) = 1 / (1 + x²)
    vjp: ({ B, ct, args: [a] }) => [B.div(ct, B.add(B.const(1), B.mul(a!, a!)))],
  }),
  elementwise({
    name: 'sin',
    arity: 1,
    doc: 'sine',
    scalar: Math.sin,
    vjp: ({ B, ct, args: [a] }) => [B.mul(ct, B.unary('cos', a!))],
  }),
  elementwise({
    name: 'cos',
    arity: 1,
    doc: 'cosine',
    scalar: Math.cos,
    vjp: ({ B, ct, args: [a] }) => [B.neg(B.mul(ct, B.unary('sin', a!)))],
  }),
  elementwise({
    name: 'abs',
    arity: 1,
    smooth: false,
    doc: '|a|; subgradient 0 at a = 0',
    scalar: Math.abs,
    vjp: ({ B, ct, args: [a] }) => [B.mul(ct, B.unary('sign', a!))],
  }),
  elementwise({
    name: 'sign',
    arity: 1,
    smooth: false,
    doc: '-1, 0 or 1; derivative 0 everywhere it exists',
    scalar: Math.sign,
    vjp: () => [null],
  }),
  elementwise({
    // For integrality tests on data (embedding ids): its derivative is 0 where it exists.
    name: 'floor',
    arity: 1,
    smooth: false,
    doc: 'the largest whole number ≤ a; derivative 0 everywhere it exists',
    scalar: Math.floor,
    vjp: () => [null],
  }),
  elementwise({
    name: 'max',
    arity: 2,
    // Not marked commutative: the tie rule below depends on the argument order.
    smooth: false,
    // On a tie the gradient goes to the second argument (strict a > b below), so that
    // relu(x) = max(x, 0) has subgradient 0 at x = 0, as in TensorFlow.
    doc: 'larger of a and b; at a tie the whole gradient goes to one side (relu: 0 at 0)',
    scalar: Math.max,
    vjp: ({ B, ct, args: [a, b], needs }) => {
      const aWins = B.gt(a!, b!);
      const zero = B.const(0);
      return [
        needs[0] ? B.select(aWins, ct, zero) : null,
        needs[1] ? B.select(aWins, zero, ct) : null,
      ];
    },
  }),
  elementwise({
    name: 'min',
    arity: 2,
    // Not marked commutative: the tie rule below depends on the argument order.
    smooth: false,
    doc: 'smaller of a and b; at a tie the whole gradient goes to one side',
    scalar: Math.min,
    vjp: ({ B, ct, args: [a, b], needs }) => {
      const aWins = B.gt(b!, a!);
      const zero = B.const(0);
      return [
        needs[0] ? B.select(aWins, ct, zero) : null,
        needs[1] ? B.select(aWins, zero, ct) : null,
      ];
    },
  }),
  elementwise({
    name: 'gt',
    arity: 2,
    smooth: false,
    doc: '1 where a > b, else 0 (a step: no gradient)',
    scalar: (a, b) => (a! > b! ? 1 : 0),
    vjp: () => [null, null],
  }),
  elementwise({
    name: 'select',
    arity: 3,
    smooth: false,
    doc: 'b where c != 0, else d',
    scalar: (c, a, b) => (c !== 0 ? a! : b!),
    vjp: ({ B, ct, args: [c], needs }) => {
      const zero = B.const(0);
      return [
        null,
        needs[1] ? B.select(c!, ct, zero) : null,
        needs[2] ? B.select(c!, zero, ct) : null,
      ];
    },
  }),
];
