// The batch axis (a vmap). Every program gradc builds is written for one sample; the batched
// entry points (`forwardBatch`, `gradientBatch`) run it over a leading axis of `count`
// samples. This pass gives each value of the programs they run its batch dimension, as JAX's
// batching rules do: 0 when the value holds one row per sample (it depends on the input, the
// target or a sample's dropout mask), null when every sample shares it (weights, constants, a
// finished batch statistic). The rule is each op record's `batch` field; without one, a
// result has the axis when an argument has it.
//
// Each output leaves the axis by its reduction (`reductionOf`): outputs keep their rows; the
// loss and every gradient are means over the axis, so a kernel's gradient `outer(x, g)`,
// `i,j->ij` per sample, becomes the contraction `bi,bj->ij` that every row adds into; a
// `batchMean` inside the program is a mean that later values read, which splits the gradient
// into phases (batch/phases.ts); state updates run once, from finished means.
//
// Nothing here decides how the axis is computed: the schedule strip-mines it into register
// blocks (schedule/batch.ts), and the emitter loops over what the schedule made.
import type { Compilation } from '../frontend/model.ts';
import { topoOrder, type Node } from '../ir/node.ts';
import type { OutputKind, Program, ProgramName } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';
import { printProgram } from '../ir/printer.ts';
import { hasBatchMeans, planPhases } from './phases.ts';

/** A value's batch dimension: 0 (a leading axis, one row per sample) or null (shared). */
export type BatchDim = 0 | null;

/** How an output leaves the batch axis: its rows are the result (`rows`), it is a mean over
 * the axis (`mean`), or it is computed once per batch from shared values (`once`). */
export type Reduction = 'rows' | 'mean' | 'once';

export function reductionOf(kind: OutputKind): Reduction {
  if (kind === 'output' || kind === 'dinput') return 'rows';
  return kind === 'state' ? 'once' : 'mean';
}

export interface BatchPhase {
  /** Sums one depth of batch means over the axis into work slots. */
  readonly program: Program;
  /** The slots it sums, relative to the statistics' base. */
  readonly range: readonly [number, number];
}

export interface BatchedProgram {
  readonly entry: 'forwardBatch' | 'gradientBatch';
  /** What every row runs: the forward program, or the gradient with each batch mean read from
   * its finished slot. */
  readonly sample: Program;
  /** The phases before it, one per depth of nested batch means (none without statistics). */
  readonly phases: readonly BatchPhase[];
  /** The state updates (moving statistics), once per batch; null without state. */
  readonly state: Program | null;
  /** Work elements the batch means take. */
  readonly statSize: number;
  /** The batch dimension of every value of the programs above. */
  readonly dims: ReadonlyMap<Node, BatchDim>;
  /** Rows draw dropout masks, so the entry point takes the seed. */
  readonly seed: boolean;
}

export interface BatchedPrograms {
  readonly forwardBatch: BatchedProgram;
  readonly gradientBatch: BatchedProgram;
}

/** The batch dimension of every value the programs compute, by the ops' batching rules. */
export function batchDims(programs: readonly Program[]): Map<Node, BatchDim> {
  const dims = new Map<Node, BatchDim>();
  for (const n of topoOrder(programs.flatMap((p) => p.outputs.map((o) => o.node)))) {
    const rule = getOp(n.op).batch;
    const rows = rule === 'row' || (rule !== 'mean' && n.args.some((a) => dims.get(a) === 0));
    dims.set(n, rows ? 0 : null);
  }
  return dims;
}

function batched(
  entry: BatchedProgram['entry'],
  sample: Program,
  phases: readonly BatchPhase[],
  state: Program | null,
  statSize: number,
): BatchedProgram {
  const dims = batchDims([...phases.map((p) => p.program), sample, ...(state ? [state] : [])]);
  // Computed once per batch, the state updates can read nothing that has rows.
  for (const o of state?.outputs ?? [])
    if (dims.get(o.node) !== null)
      throw new Error(`internal: the state update ${o.label} reads a per-sample value`);
  const seed = [...dims.keys()].some(isMask);
  return { entry, sample, phases, state, statSize, dims, seed };
}

const isMask = (n: Node) => n.op === 'dropoutMask';

/** The program draws dropout masks, so its entry point takes the seed. */
export function drawsMasks(p: Program): boolean {
  return topoOrder(p.outputs.map((o) => o.node)).some(isMask);
}

function programOf(c: Compilation, name: ProgramName): Program {
  const p = c.programs.find((q) => q.name === name);
  if (!p) throw new Error(`internal: no ${name} program`);
  return p;
}

/** The pass: the batched entry points' programs, with the batch axis of every value. */
export function batchAxis(c: Compilation): Compilation {
  const gradient = programOf(c, 'gradient');
  // Batch statistics: phases that take the means first, then the gradient reading them, then
  // the state updates once.
  const ph = hasBatchMeans(gradient) ? planPhases(c.B, gradient) : null;
  const phases = ph ? ph.stats.map((program, d) => ({ program, range: ph.ranges[d]! })) : [];
  return {
    ...c,
    batched: {
      forwardBatch: batched('forwardBatch', programOf(c, 'forward'), [], null, 0),
      gradientBatch: batched(
        'gradientBatch',
        ph ? ph.final : gradient,
        phases,
        ph?.state ?? null,
        ph?.size ?? 0,
      ),
    },
  };
}

/** The batched programs of a compilation lowered through the `batch` pass. */
export function batchedOf(c: Compilation): BatchedPrograms {
  if (!c.batched) throw new Error('internal: the batch pass has not run');
  return c.batched;
}

/** `gradc inspect --after batch`: the batched entry points' programs, values with the batch
 * axis typed `[n, ...]`, each output with its reduction over the axis. */
export function printBatched(bp: BatchedProgram, dtype: string): string {
  const view = (title: string) => ({
    title,
    rows: (n: Node) => bp.dims.get(n) === 0,
    reduce: (o: { readonly kind: OutputKind }) => `${reductionOf(o.kind)}_n`,
  });
  const parts = bp.phases.map((ph, d) =>
    printProgram(
      ph.program,
      dtype,
      view(
        `${bp.entry} phase ${d + 1} of ${bp.phases.length + 1}: batch means into slots ${ph.range[0]}..${ph.range[1]}`,
      ),
    ),
  );
  const last = bp.phases.length ? ` phase ${bp.phases.length + 1}` : '';
  parts.push(printProgram(bp.sample, dtype, view(`${bp.entry}${last}: each of n rows`)));
  if (bp.state) parts.push(printProgram(bp.state, dtype, view(`${bp.entry} state: once`)));
  return parts.join('\n');
}
