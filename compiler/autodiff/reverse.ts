// Reverse-mode symbolic differentiation: walks the loss graph backwards, asking each op's
// derivative rule for the cotangents of its arguments. Cotangents are IR in the same builder,
// so they share nodes with the forward pass and go through the same optimizer. A missing
// cotangent is a symbolic zero: nothing is built for it. Fan-out accumulates with `add`.
import type { Compilation } from '../frontend/model.ts';
import type { Node } from '../ir/node.ts';
import { sameShape, topoOrder } from '../ir/node.ts';
import type { Builder } from '../ir/builder.ts';
import type { Program, ProgramOutput } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';

/** Cotangents of `wrt` for the scalar `y`; nodes of `wrt` that y does not depend on get none. */
export function vjpGraph(
  c: Pick<Compilation, 'B'>,
  y: Node,
  wrt: readonly Node[],
): Map<Node, Node> {
  const { B } = c;
  const order = topoOrder([y]);
  // Only nodes on a path from a wanted leaf carry cotangents worth building.
  const wanted = new Set<Node>(wrt);
  const needs = new Set<Node>();
  for (const n of order) if (wanted.has(n) || n.args.some((a) => needs.has(a))) needs.add(n);

  // Contributions are added on arrival, except `pad`s (cotangents of slices), which wait
  // until the node's cotangent is needed: the blocks of one value (the gates of a recurrent
  // cell) are then joined instead of each being zero-filled and added.
  const sums = new Map<Node, Node>();
  const pads = new Map<Node, Node[]>();
  sums.set(y, B.const(1));
  const cotangent = (n: Node): Node | undefined => {
    const waiting = pads.get(n);
    const sum = sums.get(n);
    if (!waiting) return sum;
    const section = B.section;
    B.section = waiting[waiting.length - 1]!.meta.section;
    const joined = joinPads(B, waiting);
    B.section = section;
    return sum ? B.add(sum, joined) : joined;
  };
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    if (!needs.has(node) || node.args.length === 0) continue;
    const ct = cotangent(node);
    if (!ct) continue;
    const section = node.meta.section;
    B.section = section ? `${section}.backward` : undefined;
    if (node.meta.name) B.named(ct, `g${node.meta.name}`);
    const def = getOp(node.op);
    const elementwise = def.kind === 'elementwise';
    const contributions = def.vjp({
      B,
      y: node,
      args: node.args,
      ct,
      needs: node.args.map((a) => needs.has(a)),
    });
    node.args.forEach((arg, i) => {
      let c = contributions[i];
      if (!c || !needs.has(arg)) return;
      // A scalar argument that an elementwise op broadcast over its elements receives the sum
      // of their cotangents; a scalar cotangent stands for the same value in every element.
      // (Other ops' rules already return the argument's own cotangent.)
      if (elementwise && arg.size === 1 && node.size > 1) {
        c = c.size > 1 ? B.sum(c) : B.mul(c, B.const(node.size));
      }
      // Cotangents carry their argument's shape (a rule may return the same elements under
      // another shape, as a reshape's cotangent does).
      if (c.size === arg.size && c.size > 1) c = B.reshape(c, arg.shape);
      if (c.op === 'pad') {
        const list = pads.get(arg);
        if (list) list.push(c);
        else pads.set(arg, [c]);
      } else {
        const prev = sums.get(arg);
        sums.set(arg, prev ? B.add(prev, c) : c);
      }
    });
  }
  B.section = undefined;
  const out = new Map<Node, Node>();
  for (const w of wrt) {
    const g = cotangent(w);
    if (g) out.set(w, g);
  }
  return out;
}

/**
 * The sum of `pad` contributions. Two or more of the same axis and shape whose blocks do not
 * overlap become one concat of their blocks, with zeros in the gaps: a copy of the value's
 * size instead of a zero-filled pad and an add for each block.
 */
function joinPads(B: Builder, pads: readonly Node[]): Node {
  const list = pads;
  let rest = list;
  if (pads.length >= 2) {
    const p0 = pads[0]!;
    const axis = p0.attrs.axis as number;
    const same = pads.filter((p) => p.attrs.axis === axis && sameShape(p.shape, p0.shape));
    const sorted = [...same].sort((a, b) => (a.attrs.start as number) - (b.attrs.start as number));
    const disjoint = sorted.every(
      (p, i) =>
        i === 0 ||
        (p.attrs.start as number) >=
          (sorted[i - 1]!.attrs.start as number) + sorted[i - 1]!.args[0]!.shape[axis]!,
    );
    if (same.length >= 2 && disjoint) {
      const pieces: Node[] = [];
      let at = 0;
      const zeros = (len: number) =>
        B.bcast(
          B.const(0),
          p0.shape.map((d, k) => (k === axis ? len : d)),
        );
      for (const p of sorted) {
        const start = p.attrs.start as number;
        if (start > at) pieces.push(zeros(start - at));
        pieces.push(p.args[0]!);
        at = start + p.args[0]!.shape[axis]!;
      }
      if (at < p0.shape[axis]!) pieces.push(zeros(p0.shape[axis]! - at));
      const joined = B.concat(pieces, axis);
      rest = [joined, ...list.filter((c) => !same.includes(c))];
    }
  }
  return rest.reduce((acc, c) => B.add(acc, c));
}

/**
 * Adds the `gradient` program: the loss and dLoss/dparams for every parameter tensor. Frozen
 * layers' parameters are not differentiated: their gradient is a symbolic zero, so no backward
 * work exists for them (nor below them, when nothing trainable is below). With
 * `inputGradient`, also a program for dLoss/dinput.
 */
export function differentiate(c: Compilation): Compilation {
  const { B } = c;
  const lossProgram = c.programs.find((p) => p.name === 'loss')!;
  const loss = lossProgram.outputs[0]!.node;
  // `gradient` differentiates the training-mode loss where the model has one (dropout, batch
  // statistics) and writes the state updates after the gradients; `inputGradient` stays
  // inference, as `loss`.
  const train = c.programs.find((p) => p.name === 'trainLoss');
  const trainLoss = train ? train.outputs[0]!.node : loss;
  const state = train ? train.outputs.filter((o) => o.kind === 'state') : [];
  const leaves = c.params.map((p) => B.param(p.offset, p.shape));
  const trainable = leaves.filter((_, i) => c.params[i]!.trainable !== false);
  const grads = vjpGraph(c, trainLoss, trainable);
  const outputs: ProgramOutput[] = [{ kind: 'loss', node: trainLoss, label: 'loss' }];
  c.params.forEach((p, i) => {
    B.section = `${c.layers[p.layer]!.name}.backward`;
    let g = grads.get(leaves[i]!) ?? B.bcast(B.const(0), p.shape);
    if (g.size !== p.size) g = B.bcast(g, p.shape);
    B.named(g, `g${p.role === 'kernel' ? 'w' : p.role === 'bias' ? 'b' : p.role}${p.layer}`);
    outputs.push({ kind: 'grad', node: g, offset: p.offset, label: p.name });
  });
  outputs.push(...state);
  B.section = undefined;
  const programs: Program[] = [{ name: 'gradient', outputs }];
  if (c.spec.inputGradient) {
    // One leaf per model input (the same nodes the forward pass read, by hash-consing); with
    // several inputs, each gradient goes to its part of the packed `dinput`.
    const slots = c.spec.inputs;
    const leavesIn = slots.map((x) => B.input(x.shape, x.offset));
    const gs = vjpGraph(c, loss, leavesIn);
    const dinputs: ProgramOutput[] = slots.map((x, i) => {
      const input = leavesIn[i]!;
      let g = gs.get(input) ?? B.bcast(B.const(0), input.shape);
      if (g.size !== input.size) g = B.bcast(g, input.shape);
      B.named(g, slots.length > 1 ? `g${x.name}` : 'ginput');
      return slots.length > 1
        ? {
            kind: 'dinput',
            node: g,
            label: `dinput.${x.name}`,
            offset: x.offset,
            total: c.spec.input,
          }
        : { kind: 'dinput', node: g, label: 'dinput' };
    });
    programs.push({
      name: 'inputGradient',
      outputs: [{ kind: 'loss', node: loss, label: 'loss' }, ...dinputs],
    });
  }
  const names = new Set<string>([...programs.map((p) => p.name), 'trainLoss']);
  return { ...c, programs: [...c.programs.filter((p) => !names.has(p.name)), ...programs] };
}
