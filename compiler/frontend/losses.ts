// Built-in losses for one sample, with the Keras / TensorFlow.js definitions. The naive
// formulas are built on purpose: the stabilize pass rewrites log(sigmoid) and log(softmax)
// into their logit forms, so sigmoid+BCE and softmax+CCE get exact, finite gradients (p − t).
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';

export interface LossContext {
  readonly B: Builder;
  /** The network's output after its activation. */
  readonly y: Node;
  readonly t: Node;
  /** Name of the last layer's activation (`custom` for expressions). */
  readonly activation: string;
}

export interface LossDef {
  readonly params: Readonly<Record<string, number>>;
  build(c: LossContext, p: Readonly<Record<string, number>>): Node;
}

/** Keras's epsilon: probabilities that do not come from a matching activation are clipped. */
const EPSILON = 1e-7;

function mean(B: Builder, v: Node): Node {
  return B.div(B.sum(v), B.const(v.size));
}

function clip(B: Builder, y: Node): Node {
  return B.min(B.max(y, B.const(EPSILON)), B.const(1 - EPSILON));
}

export const losses: Readonly<Record<string, LossDef>> = {
  mse: {
    params: {},
    build: ({ B, y, t }) => {
      const e = B.sub(y, t);
      return mean(B, B.mul(e, e));
    },
  },
  mae: { params: {}, build: ({ B, y, t }) => mean(B, B.unary('abs', B.sub(y, t))) },
  huber: {
    params: { delta: 1 },
    build: ({ B, y, t }, p) => {
      const d = p.delta!;
      const e = B.sub(y, t);
      const a = B.unary('abs', e);
      const quadratic = B.mul(B.const(0.5), B.mul(e, e));
      const linear = B.sub(B.mul(B.const(d), a), B.const(0.5 * d * d));
      return mean(B, B.select(B.gt(a, B.const(d)), linear, quadratic));
    },
  },
  binaryCrossEntropy: {
    params: {},
    build: ({ B, y, t, activation }) => {
      const p = activation === 'sigmoid' ? y : clip(B, y);
      const one = B.const(1);
      const ll = B.add(
        B.mul(t, B.unary('log', p)),
        B.mul(B.sub(one, t), B.unary('log', B.sub(one, p))),
      );
      return B.neg(mean(B, ll));
    },
  },
  categoricalCrossEntropy: {
    params: {},
    build: ({ B, y, t, activation }) => {
      const p = activation === 'softmax' ? y : clip(B, y);
      return B.neg(B.sum(B.mul(t, B.unary('log', p))));
    },
  },
};

export const lossNames = Object.keys(losses);
