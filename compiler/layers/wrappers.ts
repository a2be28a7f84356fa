// Wrappers hold another layer as an object (TF.js 4.22, wrappers.js):
// - bidirectional runs its recurrent layer forwards and a copy with goBackwards flipped, and
//   merges the two outputs (mergeMode concat, the default, sum, mul or ave); with
//   returnSequences the backward output is put back in time order first. Tensors
//   `forward.kernel`, ..., then `backward.kernel`, ... (getWeights order).
// - timeDistributed applies its dense layer to every step of [steps, ...] with one set of
//   weights (`kernel`, `bias`).
// The wrapped layer's activation takes the built-in names only (custom expressions are
// parsed for top-level layers).
import { z } from 'zod';
import { activations } from '../frontend/activations.ts';
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import { dense } from './dense.ts';
import { common } from './options.ts';
import {
  buildRecurrent,
  loopsOverTime,
  recurrentSchemas,
  recurrentShapes,
  type RecurrentOptions,
} from './recurrent.ts';
import { defineLayer, LayerError, type WeightSpec } from './types.ts';

type ActivationOption = string | { name: string; alpha?: number } | { expr: string } | undefined;

/** A wrapped layer's activation as IR, or a LayerError for a custom expression. */
function innerActivation(
  B: Builder | null,
  a: ActivationOption,
  fallback: string,
): (z: Node) => Node {
  if (a !== undefined && typeof a !== 'string' && 'expr' in a)
    throw new LayerError(
      ['layer', 'activation'],
      'custom activation expressions are not supported inside a wrapper (use a built-in name)',
    );
  const name = a === undefined ? fallback : typeof a === 'string' ? a : a.name;
  const def = activations[name]!;
  const params = { ...def.params };
  if (a !== undefined && typeof a !== 'string' && a.alpha !== undefined) params.alpha = a.alpha;
  return (v) => def.build(B!, v, params);
}

const bidirectionalSchema = z.strictObject({
  type: z.literal('bidirectional'),
  mergeMode: z
    .enum(['concat', 'sum', 'mul', 'ave'])
    .optional()
    .describe('How the forward and backward outputs combine (default concat)'),
  layer: z
    .discriminatedUnion('type', [...recurrentSchemas])
    .describe('The recurrent layer to run both ways'),
  ...common,
});

function prefixed(ws: readonly WeightSpec[], prefix: string): WeightSpec[] {
  return ws.map((w) => ({ ...w, name: `${prefix}.${w.name}` }));
}

function flipped(o: RecurrentOptions): RecurrentOptions {
  return { ...o, goBackwards: o.goBackwards !== true };
}

export const bidirectional = defineLayer({
  type: 'bidirectional',
  doc: 'A recurrent layer run forwards and backwards, outputs merged (concat, sum, mul, ave)',
  schema: bidirectionalSchema,
  activation: 'none',
  shapes: (o, inputShape) => {
    innerActivation(null, o.layer.activation, 'tanh');
    const inner = recurrentShapes(o.layer, inputShape);
    const out = inner.outputShape;
    const last = out.length - 1;
    return {
      outputShape:
        (o.mergeMode ?? 'concat') === 'concat' ? out.map((d, k) => (k === last ? 2 * d : d)) : out,
      weights: [...prefixed(inner.weights, 'forward'), ...prefixed(inner.weights, 'backward')],
    };
  },
  build: ({ B, x, weights, named }, o) => {
    const activate = innerActivation(B, o.layer.activation, 'tanh');
    const half = (prefix: string) =>
      Object.fromEntries(
        Object.entries(weights)
          .filter(([k]) => k.startsWith(`${prefix}.`))
          .map(([k, v]) => [k.slice(prefix.length + 1), v]),
      );
    const fwd = buildRecurrent(
      { B, x, weights: half('forward'), named: (n, r) => named(n, `f${r}`), activate },
      o.layer,
    );
    let bwd = buildRecurrent(
      { B, x, weights: half('backward'), named: (n, r) => named(n, `b${r}`), activate },
      flipped(o.layer),
    );
    if (o.layer.returnSequences === true) {
      const steps = bwd.shape[0]!;
      const order = Array.from({ length: steps }, (_, t) => steps - 1 - t);
      bwd = B.concat(
        order.map((t) => B.slice(bwd, 0, t, 1)),
        0,
      );
    }
    switch (o.mergeMode ?? 'concat') {
      case 'concat':
        return B.concat([fwd, bwd], fwd.shape.length - 1);
      case 'sum':
        return B.add(fwd, bwd);
      case 'mul':
        return B.mul(fwd, bwd);
      case 'ave':
        return B.mul(B.const(0.5), B.add(fwd, bwd));
    }
  },
  describe: (o, inputShape) =>
    `bidirectional ${o.layer.type} [${inputShape.join('×')}] → 2 × ${o.layer.units} units, ${o.mergeMode ?? 'concat'}, ${loopsOverTime(o.layer, inputShape) ? 'looped over time' : 'unrolled'}`,
});

const timeDistributedSchema = z.strictObject({
  type: z.literal('timeDistributed'),
  layer: (dense.schema as z.ZodObject).describe('The dense layer applied at every step'),
  ...common,
});

type DenseOptions = { units: number; activation?: ActivationOption; useBias?: boolean };

export const timeDistributed = defineLayer({
  type: 'timeDistributed',
  doc: 'A dense layer applied to every step of [steps, ...] with shared weights',
  schema: timeDistributedSchema,
  activation: 'none',
  shapes: (o, inputShape) => {
    if (inputShape.length < 2)
      throw new LayerError(
        ['type'],
        `timeDistributed needs an input of [steps, ...] (rank 2 or more), got [${inputShape.join(', ')}]`,
      );
    const inner = o.layer as unknown as DenseOptions;
    innerActivation(null, inner.activation, 'linear');
    const step = dense.shapes(o.layer, inputShape.slice(1), [inputShape.slice(1)]);
    return { outputShape: [inputShape[0]!, ...step.outputShape], weights: step.weights };
  },
  build: (ctx, o) => {
    const { B, x } = ctx;
    const inner = o.layer as unknown as DenseOptions;
    const activate = innerActivation(B, inner.activation, 'linear');
    const rest = x.shape.slice(1);
    const steps = x.shape[0]!;
    const outputs = Array.from({ length: steps }, (_, t) => {
      const xt = B.reshape(B.slice(x, 0, t, 1), rest);
      const y = dense.build(
        { ...ctx, x: xt, activate, named: (n, r) => ctx.named(n, `${r}${t}_`) },
        o.layer,
      );
      return B.reshape(y, [1, ...y.shape]);
    });
    return B.concat(outputs, 0);
  },
  describe: (o, inputShape) =>
    `timeDistributed dense [${inputShape.join('×')}] → ${(o.layer as unknown as DenseOptions).units} units per step`,
});
