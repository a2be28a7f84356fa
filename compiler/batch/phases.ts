// Batch statistics in a per-sample pipeline. A `batchMean(u)` node is the mean over the batch
// of a per-sample value u; the batched gradient runs in phases by batchMean nesting depth.
// Phase d loops over the samples, recomputing per sample what it needs, and sums u of every
// depth-d batchMean into fixed work slots (`stat` outputs); the slots are then divided by the
// count, and later phases read them as `batchStat` leaves. The last phase is the ordinary
// batched gradient with every batchMean read from its slot, and a once-per-batch program
// writes the state updates (moving statistics). Work memory is fixed: one slot per element
// of each batchMean, independent of the count.
import type { Builder } from '../ir/builder.ts';
import { topoOrder, type Node } from '../ir/node.ts';
import type { Program, ProgramOutput } from '../ir/program.ts';

export interface Phases {
  /** Programs of phases 1..D: each sums the arguments of its depth's batchMeans. */
  readonly stats: readonly Program[];
  /** Each phase's slot range [start, end) relative to the statistics' base. */
  readonly ranges: readonly (readonly [number, number])[];
  /** The gradient program (loss and gradients) reading every batchMean from its slot. */
  readonly final: Program;
  /** The state updates, from params and finished statistics only; null without state. */
  readonly state: Program | null;
  /** Work elements the statistics take. */
  readonly size: number;
}

/** Whether a program needs phases: it reads a mean over the batch. */
export function hasBatchMeans(p: Program): boolean {
  return topoOrder(p.outputs.map((o) => o.node)).some((n) => n.op === 'batchMean');
}

/** The phases of a gradient program with batchMean nodes. */
export function planPhases(B: Builder, gradient: Program): Phases {
  const order = topoOrder(gradient.outputs.map((o) => o.node));
  const depth = new Map<Node, number>();
  for (const n of order) {
    const d = Math.max(0, ...n.args.map((a) => depth.get(a)!));
    depth.set(n, n.op === 'batchMean' ? d + 1 : d);
  }
  const means = order.filter((n) => n.op === 'batchMean');
  const deepest = Math.max(...means.map((m) => depth.get(m)!));
  // Slots in phase order, so that each phase clears and scales one contiguous range.
  const slot = new Map<Node, number>();
  const ranges: [number, number][] = [];
  let size = 0;
  for (let d = 1; d <= deepest; d++) {
    const start = size;
    for (const m of means)
      if (depth.get(m) === d) {
        slot.set(m, size);
        size += m.size;
      }
    ranges.push([start, size]);
  }
  // The program with every batchMean shallower than `limit` read from its slot.
  const memo = new Map<string, Map<Node, Node>>();
  const rewrite = (n: Node, limit: number): Node => {
    const key = String(limit);
    let m = memo.get(key);
    if (!m) memo.set(key, (m = new Map()));
    const hit = m.get(n);
    if (hit) return hit;
    let out: Node;
    if (n.op === 'batchMean' && depth.get(n)! < limit) {
      out = B.make('batchStat', [], { shape: n.shape, offset: slot.get(n)! });
    } else {
      const args = n.args.map((a) => rewrite(a, limit));
      if (args.every((a, i) => a === n.args[i])) out = n;
      else {
        const section = B.section;
        B.section = n.meta.section;
        out = B.make(n.op, args, n.attrs);
        B.section = section;
        if (n.meta.name) B.named(out, n.meta.name);
      }
    }
    m.set(n, out);
    return out;
  };
  const stats: Program[] = [];
  for (let d = 1; d <= deepest; d++) {
    const outputs: ProgramOutput[] = means
      .filter((mean) => depth.get(mean) === d)
      .map((mean) => ({
        kind: 'stat',
        node: rewrite(mean.args[0]!, d),
        offset: slot.get(mean)!,
        label: `batchMean %${mean.id}`,
      }));
    stats.push({ name: 'gradient', outputs });
  }
  const all = deepest + 1;
  const mapped = (o: ProgramOutput): ProgramOutput => ({ ...o, node: rewrite(o.node, all) });
  const stateOutputs = gradient.outputs.filter((o) => o.kind === 'state').map(mapped);
  return {
    stats,
    ranges,
    final: {
      name: 'gradient',
      outputs: gradient.outputs.filter((o) => o.kind !== 'state').map(mapped),
    },
    state: stateOutputs.length ? { name: 'gradient', outputs: stateOutputs } : null,
    size,
  };
}
