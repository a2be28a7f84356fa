// Leaves (no arguments) and views (no code of their own).
import { sizeOf, type Attrs } from '../ir/node.ts';
import { broadcastIndex, broadcastsTo } from '../ir/shape.ts';
import type { LeafOp, ViewOp } from './types.ts';

function shapeOf(attrs: Attrs, op: string): readonly number[] {
  const s = attrs.shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 1))
    throw new Error(`${op}: bad shape ${JSON.stringify(s)}`);
  return s;
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
    shape: () => [],
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
    doc: 'params[offset .. offset+size), shaped',
    shape: (_a, attrs) => shapeOf(attrs, 'param'),
    evaluate: bound('param'),
    vjp: () => [],
  },
  {
    name: 'input',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'the input sample',
    batch: 'row',
    shape: (_a, attrs) => shapeOf(attrs, 'input'),
    evaluate: bound('input'),
    vjp: () => [],
  },
  {
    name: 'target',
    kind: 'leaf',
    arity: 0,
    smooth: true,
    doc: 'the target sample',
    batch: 'row',
    shape: (_a, attrs) => shapeOf(attrs, 'target'),
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
    shape: (args) => args[0]!.shape,
    evaluate: (args, _attrs, out) => out.set(args[0]!),
    vjp: () => [null],
  },
  {
    name: 'reshape',
    kind: 'view',
    arity: 1,
    smooth: true,
    doc: 'the same elements in row-major order under another shape (flatten, reshape)',
    shape: (args, attrs) => {
      const s = shapeOf(attrs, 'reshape');
      if (sizeOf(s) !== args[0]!.size)
        throw new Error(`reshape: ${args[0]!.size} elements cannot take shape [${s.join(',')}]`);
      return s;
    },
    evaluate: (args, _attrs, out) => out.set(args[0]!),
    // The inverse movement: the cotangent read back under the argument's shape.
    vjp: ({ B, ct, args: [a] }) => [ct.size === 1 && a!.size > 1 ? ct : B.reshape(ct, a!.shape)],
  },
  {
    name: 'bcast',
    kind: 'view',
    arity: 1,
    smooth: true,
    doc: 'the argument repeated along new or size-1 axes (numpy broadcasting, trailing axes aligned)',
    shape: (args, attrs) => {
      const s = shapeOf(attrs, 'bcast');
      const a = args[0]!;
      if (!broadcastsTo(a.shape, s))
        throw new Error(
          `bcast: shape [${a.shape.join(',')}] does not broadcast to [${s.join(',')}]`,
        );
      return s;
    },
    evaluate: (args, attrs, out, [from]) => {
      const a = args[0]!;
      if (a.length === 1) out.fill(a[0]!);
      else
        for (let k = 0; k < out.length; k++)
          out[k] = a[broadcastIndex(from!, attrs.shape!, k) as number]!;
    },
    // The inverse movement: cotangents summed over the repeated axes. A size-1 cotangent
    // means the same value in all elements.
    vjp: ({ B, y, ct, args: [a] }) => {
      if (a!.size === 1) return [ct.size === 1 ? B.mul(ct, B.const(y.size)) : B.sum(ct)];
      if (ct.size === 1) return [B.mul(ct, B.const(y.size / a!.size))];
      return [B.sumTo(ct, a!.shape)];
    },
  },
];
