// How the batch axis (batch/axis.ts) is computed: the batched entry points' schedules. The
// axis is strip-mined. Where a per-sample step loops over a contraction, blocks of
// `SCHEDULE.batchBlock` rows are computed together (the lanes of one body: a weight, shared
// by every row, is loaded once per block, and a gradient's `bi,bj->ij` reads and writes each
// element once per block), then the remaining rows one by one. A small net, fully unrolled,
// gains nothing from blocks (its weights already live in registers) and runs row by row.
//
// Outputs that are means over the axis are added into their arrays by every row (the
// scheduler then never keeps a gradient in place); the emitter divides by the count once.
// Work memory: lane l of a block uses work[l·W, (l+1)·W); the loss sum goes after all of it,
// and the batch statistics after that.
import type { BatchedProgram, BatchedPrograms } from '../batch/axis.ts';
import type { Program } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';
import { planMemory } from './memory.ts';
import { SCHEDULE, scheduleProgram, type Schedule, type ScheduleOptions } from './schedule.ts';

/** The schedules of one program over the batch axis. */
export interface BatchPlan {
  /** One row (every row of a small net; the rows after the blocks otherwise). */
  readonly sample: Schedule;
  /** A block of rows at once (`block.lanes` of them), or null. */
  readonly block: Schedule | null;
  /** The loss sum's work slot (gradientBatch), past everything the bodies use. */
  readonly lossSlot: number | null;
}

/** The batch statistics' phases of a gradient, scheduled. */
export interface PhasedPlan {
  /** Each phase's bodies and the slot range it sums (relative to `statBase`). */
  readonly stats: readonly {
    readonly plan: BatchPlan;
    readonly range: readonly [number, number];
  }[];
  /** The state updates, run once per batch; null when the model has none. */
  readonly state: Schedule | null;
  readonly statBase: number;
}

export interface BatchSchedules {
  readonly forward: BatchPlan;
  readonly gradient: BatchPlan;
  readonly phased: PhasedPlan | null;
  /** The gradient's rows draw dropout masks (its entry point takes the seed). */
  readonly seed: boolean;
  readonly workSize: number;
  /** Every body, for the cost check (compiler/cost.ts). */
  readonly bodies: readonly Schedule[];
}

/** The cost rule: rows per block, 1 for none. `gradient` is the per-sample gradient's
 * schedule (the forward program's contractions are among its steps). */
export function blockRows(gradient: Schedule): number {
  const loops = gradient.steps.some((s) => s.mode === 'loop' && getOp(s.node.op).kind === 'linalg');
  return loops ? SCHEDULE.batchBlock : 1;
}

function planned(p: Program, sectionOrder: readonly string[], batch?: ScheduleOptions['batch']) {
  const s = scheduleProgram(p, sectionOrder, { batch });
  planMemory(s);
  return s;
}

export function scheduleBatches(
  batched: BatchedPrograms,
  gradient: Schedule,
  sectionOrder: readonly string[],
): BatchSchedules {
  const rows = blockRows(gradient);
  const pair = (p: Program, bp: BatchedProgram) => ({
    sample: planned(p, sectionOrder, { dims: bp.dims, lanes: 1 }),
    block: rows > 1 ? planned(p, sectionOrder, { dims: bp.dims, lanes: rows }) : null,
  });
  const { forwardBatch: fb, gradientBatch: gb } = batched;
  const fwd = pair(fb.sample, fb);
  const grad = pair(gb.sample, gb);
  const stats = gb.phases.map((ph) => ({ ...pair(ph.program, gb), range: ph.range }));
  // Once per batch: not over the axis, so scheduled as a per-sample program.
  const state = gb.state ? planned(gb.state, sectionOrder) : null;
  const span = (p: { sample: Schedule; block: Schedule | null }) =>
    Math.max(p.sample.workSize, p.block ? p.block.lanes * p.block.workSize : 0);
  const lossSlot = Math.max(span(grad), ...stats.map(span), state?.workSize ?? 0);
  const statBase = lossSlot + 1;
  const bodiesOf = (p: { sample: Schedule; block: Schedule | null }) =>
    p.block ? [p.sample, p.block] : [p.sample];
  return {
    forward: { ...fwd, lossSlot: null },
    gradient: { ...grad, lossSlot },
    phased: gb.phases.length
      ? {
          stats: stats.map((p) => ({
            plan: { sample: p.sample, block: p.block, lossSlot: null },
            range: p.range,
          })),
          state,
          statBase,
        }
      : null,
    seed: gb.seed,
    workSize: Math.max(statBase + gb.statSize, span(fwd)),
    // The forward row body is the per-sample forward's schedule again, which the cost check
    // already counts.
    bodies: [
      ...(fwd.block ? [fwd.block] : []),
      ...bodiesOf(grad),
      ...stats.flatMap(bodiesOf),
      ...(state ? [state] : []),
    ],
  };
}
