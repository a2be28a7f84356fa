// Reference evaluation of a program, node by node in f64. The oracle for emitted code.
import { getOp } from '../ops/registry.ts';
import { maskValue } from '../ops/batch.ts';
import { topoOrder, type Node } from './node.ts';
import type { Program } from './program.ts';

export interface Bindings {
  readonly params: ArrayLike<number>;
  readonly input: ArrayLike<number>;
  readonly target?: ArrayLike<number>;
  /** Dropout masks (training mode): the seed, and the sample's key (its input row offset). */
  readonly seed?: number;
  readonly sample?: number;
}

export function evaluateNodes(roots: readonly Node[], b: Bindings): Map<Node, Float64Array> {
  const values = new Map<Node, Float64Array>();
  for (const n of topoOrder(roots)) {
    const out = new Float64Array(n.size);
    if (n.op === 'param') {
      for (let k = 0; k < n.size; k++) out[k] = b.params[n.attrs.offset! + k]!;
    } else if (n.op === 'input') {
      const o = n.attrs.offset ?? 0;
      for (let k = 0; k < n.size; k++) out[k] = b.input[o + k]!;
    } else if (n.op === 'target') {
      if (!b.target) throw new Error('the program reads the target but none was given');
      const o = n.attrs.offset ?? 0;
      for (let k = 0; k < n.size; k++) out[k] = b.target[o + k]!;
    } else if (n.op === 'dropoutMask') {
      const rate = n.attrs.rate as number;
      const salt = n.attrs.salt as number;
      for (let k = 0; k < n.size; k++)
        out[k] = maskValue(rate, b.seed ?? 0, b.sample ?? 0, salt, k);
    } else {
      getOp(n.op).evaluate(
        n.args.map((a) => values.get(a)!),
        n.attrs,
        out,
        n.args.map((a) => a.shape),
      );
    }
    values.set(n, out);
  }
  return values;
}

export interface Results {
  output?: Float64Array;
  loss?: number;
  /** Full gradient array (paramCount long), when the program computes gradients. */
  grad?: Float64Array;
  /** dLoss/dinput, for the inputGradient program. */
  dinput?: Float64Array;
  /** The params array after a training step's state updates (moving statistics). */
  params?: Float64Array;
}

export function interpret(p: Program, b: Bindings, paramCount: number): Results {
  const values = evaluateNodes(
    p.outputs.map((o) => o.node),
    b,
  );
  const res: Results = {};
  for (const o of p.outputs) {
    const v = values.get(o.node)!;
    if (o.kind === 'output') {
      // Several outputs are packed into one array, each at its offset.
      res.output ??= new Float64Array(o.total ?? o.node.size);
      res.output.set(v, o.offset ?? 0);
    } else if (o.kind === 'loss') res.loss = v[0];
    else if (o.kind === 'state') {
      res.params ??= Float64Array.from(b.params);
      res.params.set(v, o.offset!);
    } else if (o.kind === 'stat') throw new Error('internal: batch statistics need a batch');
    else if (o.kind === 'dinput') {
      res.dinput ??= new Float64Array(o.total ?? o.node.size);
      for (let k = 0; k < o.node.size; k++)
        res.dinput[(o.offset ?? 0) + k] = v.length === 1 ? v[0]! : v[k]!;
    } else {
      res.grad ??= new Float64Array(paramCount);
      for (let k = 0; k < o.node.size; k++)
        res.grad[o.offset! + k] = v.length === 1 ? v[0]! : v[k]!;
    }
  }
  return res;
}
