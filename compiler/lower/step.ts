// The kernel of one scheduled step: what the emitter renders and `gradc inspect --after
// loops` prints. Contractions get the form their step asks for (unrolled or looped, lanes,
// shared weights, a gradient summed over a block); a fused step is its producer's kernel with
// the elementwise chain applied to every stored value.
import type { Node } from '../ir/node.ts';
import { getOp } from '../ops/registry.ts';
import type { BatchDim } from '../batch/axis.ts';
import { isComputed, viewBase, type Schedule, type Step } from '../schedule/schedule.ts';
import { storesChannels, withEpilogue, type EpilogueOp } from './fuse.ts';
import { lowerNode } from './kernels.ts';
import { lowerElementwise } from './elementwise.ts';
import { lowerLinalg } from './linalg.ts';
import { lowerReduce } from './reduce.ts';
import type { Kernel } from './loop-ir.ts';

/** The step's kernel and the nodes its `load arg i` reads, in a body computing `axis.lanes`
 * rows of the batch axis (schedule/batch.ts). Structured kernels (and fused steps) are per
 * sample: a block runs them once per lane; the others compute every lane in one kernel. */
export function stepKernel(
  step: Step,
  axis: Pick<Schedule, 'lanes' | 'dims'> = { lanes: 1, dims: null },
): { kernel: Kernel; args: readonly Node[] } {
  const lanes = axis.lanes;
  const node = step.node;
  const kind = getOp(node.op).kind;
  if (kind === 'structured' || step.epilogue) return fusedStep(step);
  // A result added into `grad` for a whole batch: one array that every lane adds to.
  const summed = step.storage.kind === 'array' && step.storage.accumulate === true;
  const form = { mode: step.mode, lanes, summed };
  switch (kind) {
    case 'linalg':
      return {
        kernel: lowerLinalg(node, {
          ...form,
          shared: node.args.map((a) => sharedByLanes(a, axis.dims)),
        }),
        args: node.args,
      };
    case 'elementwise':
      return { kernel: lowerElementwise(node, form), args: node.args };
    case 'reduce':
      return { kernel: lowerReduce(node, form), args: node.args };
    default:
      throw new Error(`internal: ${node.op} is not computed`);
  }
}

/** A structured step's kernel and the nodes its `load arg i` reads: for a fused step, the
 * producer's arguments, then the epilogue's other arguments in order. */
function fusedStep(step: Step): { kernel: Kernel; args: readonly Node[] } {
  const e = step.epilogue;
  if (!e) return { kernel: lowerNode(step.node), args: step.node.args };
  const args = [...e.producer.args];
  const kernel = lowerNode(e.producer);
  const channels = storesChannels(kernel) ? e.producer.shape[e.producer.shape.length - 1]! : 0;
  let prev = e.producer;
  const ops: EpilogueOp[] = e.ops.map((o) => {
    const from = prev;
    prev = o;
    return {
      op: o.op,
      args: o.args.map((a) => {
        if (a === from) return 'prev';
        // A vector broadcast along the last axis (a bias): read at the store's channel.
        const base = a.op === 'bcast' ? a.args[0]! : undefined;
        if (channels && base && perChannel(base.shape, channels))
          return { channel: args.push(base) - 1 };
        // A scalar (the 0 of a relu) broadcasts as elementwise ops do: read at 0.
        if (a.size === 1) return { scalar: args.push(a) - 1 };
        return args.push(a) - 1;
      }),
    };
  });
  return { kernel: withEpilogue(kernel, ops), args };
}

/** A shape that broadcasts (trailing axes aligned) as one value per channel of the last axis. */
function perChannel(shape: readonly number[], channels: number): boolean {
  return (
    shape.length > 0 &&
    shape[shape.length - 1] === channels &&
    shape.every((d, i) => i === shape.length - 1 || d === 1)
  );
}

/**
 * A value every lane of a block reads at one place, loaded once per block: it has no batch
 * axis (batch/axis.ts) and is not computed in the body, which keeps a copy per lane (weights,
 * constants, finished batch statistics, and views of them).
 */
export function sharedByLanes(n: Node, dims: ReadonlyMap<Node, BatchDim> | null): boolean {
  return dims !== null && dims.get(n) === null && !isComputed(viewBase(n));
}
