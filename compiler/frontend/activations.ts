// Built-in activations, each defined once: its parameters with defaults and how it is
// composed from primitives (sugar by composition: no activation has its own derivative rule).
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import { erfOf, type Algebra } from '../format/erf.ts';

export interface ActivationDef {
  readonly params: Readonly<Record<string, number>>;
  build(B: Builder, z: Node, p: Readonly<Record<string, number>>): Node;
}

// SELU constants from Klambauer et al. 2017, as in TensorFlow.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** alpha·(e^z − 1) for z < 0, z otherwise, so elu'(0) = 1 as in TensorFlow. exp sees
 * min(z, 0) so the unused branch never overflows: select's gradient multiplies it by 0, and
 * Infinity·0 would be NaN. */
function elu(B: Builder, z: Node, alpha: number): Node {
  const neg = B.mul(B.const(alpha), B.unary('expm1', B.min(z, B.const(0))));
  return B.select(B.gt(B.const(0), z), neg, z);
}

/** IR nodes as an algebra for erf.ts. */
function nodeAlgebra(B: Builder): Algebra<Node> {
  return {
    num: (v) => B.const(v),
    op: (name, a, b) => B.make(name, [a, b]),
    unary: (name, a) => B.make(name, [a]),
    select: (c, a, b) => B.select(c, a, b),
  };
}

export const activations: Readonly<Record<string, ActivationDef>> = {
  linear: { params: {}, build: (_B, z) => z },
  relu: { params: {}, build: (B, z) => B.max(z, B.const(0)) },
  // TensorFlow.js's default alpha; the gradient at 0 is alpha, as in TensorFlow.
  leakyRelu: {
    params: { alpha: 0.2 },
    build: (B, z, p) => B.select(B.gt(z, B.const(0)), z, B.mul(B.const(p.alpha!), z)),
  },
  elu: { params: { alpha: 1 }, build: (B, z, p) => elu(B, z, p.alpha!) },
  selu: {
    params: {},
    build: (B, z) => B.mul(B.const(SELU_SCALE), elu(B, z, SELU_ALPHA)),
  },
  sigmoid: { params: {}, build: (B, z) => B.unary('sigmoid', z) },
  tanh: { params: {}, build: (B, z) => B.unary('tanh', z) },
  softplus: { params: {}, build: (B, z) => B.unary('softplus', z) },
  softsign: {
    params: {},
    build: (B, z) => B.div(z, B.add(B.const(1), B.unary('abs', z))),
  },
  swish: { params: {}, build: (B, z) => B.mul(z, B.unary('sigmoid', z)) },
  // TF.js: max(0, min(1, 0.2·x + 0.5)); the slope 0.2 holds on the closed interval.
  hardSigmoid: {
    params: {},
    build: (B, z) =>
      B.max(B.min(B.add(B.mul(B.const(0.2), z), B.const(0.5)), B.const(1)), B.const(0)),
  },
  relu6: {
    params: {},
    build: (B, z) => B.min(B.max(z, B.const(0)), B.const(6)),
  },
  // x·tanh(softplus(x)) (Misra 2019), TF.js's `mish`.
  mish: {
    params: {},
    build: (B, z) => B.mul(z, B.unary('tanh', B.unary('softplus', z))),
  },
  // x·Φ(x) = x·(1 + erf(x/√2))/2, TensorFlow.js's `gelu`; the same erf as a custom `erf(...)`.
  gelu: {
    params: {},
    build: (B, z) => {
      const erf = erfOf(nodeAlgebra(B), B.mul(B.const(Math.SQRT1_2), z));
      return B.mul(B.mul(B.const(0.5), z), B.add(B.const(1), erf));
    },
  },
  // The tanh approximation (Hendrycks & Gimpel), TensorFlow.js's `gelu_new`.
  geluNew: {
    params: {},
    build: (B, z) => {
      const cube = B.mul(z, B.mul(z, z));
      const inner = B.mul(
        B.const(Math.sqrt(2 / Math.PI)),
        B.add(z, B.mul(B.const(0.044715), cube)),
      );
      return B.mul(B.mul(B.const(0.5), z), B.add(B.const(1), B.unary('tanh', inner)));
    },
  },
  // Shifted by the max so exp never overflows; the shift cancels, so it carries no gradient.
  softmax: {
    params: {},
    build: (B, z) => {
      const e = B.unary('exp', B.sub(z, B.stop(B.make('rmax', [z]))));
      return B.div(e, B.sum(e));
    },
  },
};

export const activationNames = Object.keys(activations);
