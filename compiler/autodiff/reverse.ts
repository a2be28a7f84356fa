// Reverse-mode symbolic differentiation: walks the loss graph backwards, asking each op's
// derivative rule for the cotangents of its arguments. Cotangents are IR in the same builder,
// so they share nodes with the forward pass and go through the same optimizer. A missing
// cotangent is a symbolic zero: nothing is built for it. Fan-out accumulates with `add`.
import type { Compilation } from '../frontend/model.ts';
import type { Node } from '../ir/node.ts';
import { topoOrder } from '../ir/node.ts';
import type { Program, ProgramOutput } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';

/** Cotangents of `wrt` for the scalar `y`; nodes of `wrt` that y does not depend on get none. */
export function vjpGraph(c: Compilation, y: Node, wrt: readonly Node[]): Map<Node, Node> {
  const { B } = c;
  const order = topoOrder([y]);
  // Only nodes on a path from a wanted leaf carry cotangents worth building.
  const wanted = new Set<Node>(wrt);
  const needs = new Set<Node>();
  for (const n of order) if (wanted.has(n) || n.args.some((a) => needs.has(a))) needs.add(n);

  const adj = new Map<Node, Node>();
  adj.set(y, B.const(1));
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const ct = adj.get(node);
    if (!ct || !needs.has(node) || node.args.length === 0) continue;
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
      const prev = adj.get(arg);
      adj.set(arg, prev ? B.add(prev, c) : c);
    });
  }
  B.section = undefined;
  const out = new Map<Node, Node>();
  for (const w of wrt) {
    const g = adj.get(w);
    if (g) out.set(w, g);
  }
  return out;
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
  const leaves = c.params.map((p) => B.param(p.offset, p.shape));
  const trainable = leaves.filter((_, i) => c.params[i]!.trainable !== false);
  const grads = vjpGraph(c, loss, trainable);
  const outputs: ProgramOutput[] = [{ kind: 'loss', node: loss, label: 'loss' }];
  c.params.forEach((p, i) => {
    B.section = `${c.layers[p.layer]!.name}.backward`;
    let g = grads.get(leaves[i]!) ?? B.bcast(B.const(0), p.shape);
    if (g.size !== p.size) g = B.bcast(g, p.shape);
    B.named(g, `g${p.role === 'kernel' ? 'w' : p.role === 'bias' ? 'b' : p.role}${p.layer}`);
    outputs.push({ kind: 'grad', node: g, offset: p.offset, label: p.name });
  });
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
  const names = new Set(programs.map((p) => p.name));
  return { ...c, programs: [...c.programs.filter((p) => !names.has(p.name)), ...programs] };
}
