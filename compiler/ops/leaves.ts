// Leaves (no arguments) and views (no code of their own).
import type { Attrs } from '../ir/node.ts';
import type { LeafOp, ViewOp } from './types.ts';

function lenOf(attrs: Attrs, op: string): number {
  const n = attrs.len;
  if (n === undefined || !Number.isInteger(n) || n < 1) throw new Error(`${op}: bad length ${n}`);
  return n;
}

/** Leaves are evaluated by the interpreter from its bindings, never through `evaluate`. */
function bound(op: string) {
  return (): void => {
    throw new Error(`${op} is bound by the interpreter`);
  };
}

export const leafOps: LeafOp[] = [
  {
    name: 'const',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'a literal scalar; broadcasts',
    size: () => 1,
    evaluate: (_args, attrs, out) => {
      out[0] = attrs.value!;
    },
    vjp: () => [],
  },
  {
    name: 'param',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'params[offset .. offset+len)',
    size: (_a, attrs) => lenOf(attrs, 'param'),
    evaluate: bound('param'),
    vjp: () => [],
  },
  {
    name: 'input',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'the input sample',
    size: (_a, attrs) => lenOf(attrs, 'input'),
    evaluate: bound('input'),
    vjp: () => [],
  },
  {
    name: 'target',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'the target sample',
    size: (_a, attrs) => lenOf(attrs, 'target'),
    evaluate: bound('target'),
    vjp: () => [],
  },
];

export const viewOps: ViewOp[] = [
  {
    name: 'stop',
    kind: 'view',
    arity: 1,
    smooth: true,
    // Used where a value only shifts a formula whose result does not depend on it
    // (the max subtracted inside softmax), as JAX's stop_gradient.
    doc: 'identity whose gradient is zero',
    size: (args) => args[0]!.size,
    evaluate: (args, _attrs, out) => out.set(args[0]!),
    vjp: () => [null],
  },
  {
    name: 'bcast',
    kind: 'view',
    arity: 1,
    smooth: true,
    doc: 'a scalar repeated len times',
    size: (args, attrs) => {
      if (args[0]!.size !== 1) throw new Error(`bcast: argument has size ${args[0]!.size}, not 1`);
      return lenOf(attrs, 'bcast');
    },
    evaluate: (args, _attrs, out) => out.fill(args[0]![0]!),
    // A size-1 cotangent means the same value in all len elements.
    vjp: ({ B, y, ct }) => [ct.size === 1 ? B.mul(ct, B.const(y.size)) : B.sum(ct)],
  },
];
