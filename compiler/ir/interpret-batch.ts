// Reference evaluation of a program over a whole batch, in f64: every node's value is one
// array per sample, and `batchMean` averages its argument across them. The oracle for the
// phased batched gradient (batch/phases.ts), which never holds a batch's values at once.
import { getOp } from '../ops/registry.ts';
import { maskValue } from '../ops/batch.ts';
import { topoOrder, type Node } from './node.ts';
import type { Program } from './program.ts';

export interface BatchBindings {
  readonly params: ArrayLike<number>;
  /** Row-major `count × inputSize`. */
  readonly inputs: ArrayLike<number>;
  readonly targets?: ArrayLike<number>;
  readonly count: number;
  readonly inputSize: number;
  readonly outputSize: number;
  /** Dropout masks' seed; a sample's key is its input row offset, as in generated code. */
  readonly seed?: number;
}

export interface BatchResults {
  /** The mean of the `loss` output over the samples. */
  loss?: number;
  /** The mean gradient (paramCount long). */
  grad?: Float64Array;
  /** Packed outputs, row-major. */
  outputs?: Float64Array;
  /** The params after the state updates (moving statistics), when the program has any. */
  params?: Float64Array;
}

export function evaluateBatch(roots: readonly Node[], b: BatchBindings): Map<Node, Float64Array[]> {
  const values = new Map<Node, Float64Array[]>();
  const samples = Array.from({ length: b.count }, (_, s) => s);
  for (const n of topoOrder(roots)) {
    const leaf = (from: ArrayLike<number>, base: (s: number) => number) =>
      samples.map((s) => {
        const out = new Float64Array(n.size);
        const o = base(s) + (n.attrs.offset ?? 0);
        for (let k = 0; k < n.size; k++) out[k] = from[o + k]!;
        return out;
      });
    let v: Float64Array[];
    if (n.op === 'param') v = leaf(b.params, () => 0);
    else if (n.op === 'input') v = leaf(b.inputs, (s) => s * b.inputSize);
    else if (n.op === 'target') {
      if (!b.targets) throw new Error('the program reads the target but none was given');
      v = leaf(b.targets, (s) => s * b.outputSize);
    } else if (n.op === 'dropoutMask') {
      v = samples.map((s) => {
        const out = new Float64Array(n.size);
        for (let k = 0; k < n.size; k++)
          out[k] = maskValue(
            n.attrs.rate as number,
            b.seed ?? 0,
            s * b.inputSize,
            n.attrs.salt as number,
            k,
          );
        return out;
      });
    } else if (n.op === 'batchMean') {
      const mean = new Float64Array(n.size);
      for (const x of values.get(n.args[0]!)!) for (let k = 0; k < n.size; k++) mean[k]! += x[k]!;
      for (let k = 0; k < n.size; k++) mean[k]! /= b.count;
      v = samples.map(() => mean);
    } else {
      const def = getOp(n.op);
      v = samples.map((s) => {
        const out = new Float64Array(n.size);
        def.evaluate(
          n.args.map((a) => values.get(a)![s]!),
          n.attrs,
          out,
          n.args.map((a) => a.shape),
        );
        return out;
      });
    }
    values.set(n, v);
  }
  return values;
}

/** The program over a batch: mean loss and gradient, as `gradientBatch` returns them. */
export function interpretBatch(p: Program, b: BatchBindings, paramCount: number): BatchResults {
  if (b.count < 1) throw new Error('interpretBatch needs at least one sample');
  const values = evaluateBatch(
    p.outputs.map((o) => o.node),
    b,
  );
  const res: BatchResults = {};
  const mean = (n: Node): Float64Array => {
    const out = new Float64Array(n.size);
    for (const x of values.get(n)!) for (let k = 0; k < n.size; k++) out[k]! += x[k]!;
    for (let k = 0; k < n.size; k++) out[k]! /= b.count;
    return out;
  };
  for (const o of p.outputs) {
    const spread = (v: Float64Array, k: number) => (v.length === 1 ? v[0]! : v[k]!);
    if (o.kind === 'loss') res.loss = mean(o.node)[0];
    else if (o.kind === 'grad') {
      res.grad ??= new Float64Array(paramCount);
      const g = mean(o.node);
      for (let k = 0; k < o.node.size; k++) res.grad[o.offset! + k] = spread(g, k);
    } else if (o.kind === 'state') {
      // A state update reads only params and batch means: every sample has the same value.
      res.params ??= Float64Array.from(b.params);
      res.params.set(values.get(o.node)![0]!, o.offset!);
    } else if (o.kind === 'output') {
      const total = o.total ?? o.node.size;
      res.outputs ??= new Float64Array(b.count * total);
      values.get(o.node)!.forEach((v, s) => res.outputs!.set(v, s * total + (o.offset ?? 0)));
    } else throw new Error(`internal: interpretBatch does not take ${o.kind} outputs`);
  }
  return res;
}
