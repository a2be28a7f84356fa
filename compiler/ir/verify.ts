// Structural checks on a program, run by the pipeline after every pass: a pass that breaks an
// invariant fails here, next to its cause, instead of as a wrong number far downstream.
import { getOp } from '../ops/registry.ts';
import { sameShape, sizeOf, topoOrder, type Node } from './node.ts';
import type { Program, Shapes } from './program.ts';

const leafEnd = (n: Node): number => (n.attrs.offset ?? 0) + n.size;
const leafLimit = (n: Node, shapes: Shapes): number =>
  n.op === 'input' ? shapes.inputSize : shapes.outputSize;

export function verifyProgram(p: Program, shapes: Shapes): void {
  const fail = (msg: string): never => {
    throw new Error(`IR verification failed in ${p.name}: ${msg}`);
  };
  const nodes = topoOrder(p.outputs.map((o) => o.node));
  for (const n of nodes) {
    const def = getOp(n.op);
    if (def.variadic ? n.args.length < def.arity : n.args.length !== def.arity)
      fail(`%${n.id} ${n.op} has ${n.args.length} args, wants ${def.arity}`);
    for (const a of n.args)
      if (a.id >= n.id) fail(`%${n.id} uses %${a.id}, which is not defined before it`);
    let shape: readonly number[];
    try {
      shape = def.shape(n.args, n.attrs);
    } catch (e) {
      return fail(`%${n.id}: ${(e as Error).message}`);
    }
    if (!sameShape(shape, n.shape))
      fail(`%${n.id} ${n.op} has shape [${n.shape.join(',')}], its op says [${shape.join(',')}]`);
    if (sizeOf(n.shape) !== n.size) fail(`%${n.id} has size ${n.size} for shape [${n.shape}]`);
    if (n.op === 'const' && typeof n.attrs.value !== 'number')
      fail(`%${n.id} const without a value`);
    if (n.op === 'param') {
      const end = n.attrs.offset! + n.size;
      if (n.attrs.offset! < 0 || end > shapes.paramCount)
        fail(`%${n.id} reads params[${n.attrs.offset}..${end})`);
    }
    if ((n.op === 'input' || n.op === 'target') && leafEnd(n) > leafLimit(n, shapes))
      fail(`%${n.id} ${n.op} reads [${n.attrs.offset ?? 0}..${leafEnd(n)})`);
  }
  for (const o of p.outputs) {
    const want =
      o.kind === 'loss'
        ? 1
        : o.kind === 'output'
          ? shapes.outputSize
          : o.kind === 'dinput'
            ? shapes.inputSize
            : undefined;
    const packed = (o.kind === 'output' || o.kind === 'dinput') && o.total !== undefined;
    if (packed && ((o.offset ?? 0) + o.node.size > want! || o.total !== want))
      fail(`${o.label} writes outside its array`);
    if (want !== undefined && !packed && o.node.size !== want)
      fail(`${o.label} has size ${o.node.size}, wants ${want}`);
    if (
      o.kind === 'grad' &&
      (o.offset === undefined || o.offset + o.node.size > shapes.paramCount)
    ) {
      fail(`${o.label} writes outside the gradient array`);
    }
  }
}
