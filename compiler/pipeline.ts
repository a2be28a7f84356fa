// The compiler, one direction, each arrow a pure function in its own file.
import { differentiate } from './autodiff/reverse.ts';
import { buildModel, type Compilation } from './frontend/model.ts';
import {
  BLOCK,
  emitForwardBatch,
  emitGradientBatch,
  type BatchPlan,
  type PhasedPlan,
} from './emit/batch.ts';
import { emitProgram, needsSeed, type EmittedFunction } from './emit/body.ts';
import { hasBatchMeans, planPhases } from './emit/phases.ts';
import { maskFunction } from './emit/mask.ts';
import { emitDeclarations, emitModule, type OutputFormat } from './emit/module.ts';
import type { Program, ProgramName } from './ir/program.ts';
import { simplify } from './passes/simplify.ts';
import { stabilize } from './passes/stabilize.ts';
import { planMemory } from './schedule/memory.ts';
import { scheduleProgram, type Schedule, type ScheduleOptions } from './schedule/schedule.ts';
import { getOp } from './ops/registry.ts';
import type { ModelSpec } from './format/model.ts';
import { VERSION } from './version.ts';
import { wasmBatch } from './backends/wasm/batch.ts';
import { checkExpressionCost, checkModelCost, checkPlan, type PlannedBody } from './cost.ts';

export type Pass = (c: Compilation) => Compilation;

/** One schedule per program; `inputGradient` only when the model asks for it. */
export type Schedules = { [K in Exclude<ProgramName, 'inputGradient' | 'trainLoss'>]: Schedule } & {
  inputGradient?: Schedule;
  /** Only before `differentiate` (which turns it into `gradient`). */
  trainLoss?: Schedule;
};

/** IR-to-IR passes in order; `gradc inspect --after NAME` prints the IR after any of them. */
export const passes: readonly (readonly [string, Pass])[] = [
  // log(softmax) → log-softmax, log(sigmoid) → −softplus(−z), log(1+x) → log1p(x), ...
  ['stabilize', stabilize],
  // Constant folding and float-safe algebra on the forward graph.
  ['simplify', simplify],
  // Reverse mode: adds the gradient program, sharing forward nodes.
  ['differentiate', differentiate],
  // The same folding and algebra over the backward graph (1·g → g, x + −y → x − y, ...).
  ['optimize', simplify],
];

export const passNames = ['build', ...passes.map(([n]) => n), 'schedule'];

export interface Compiled {
  readonly c: Compilation;
  readonly schedules: Schedules;
  readonly workSize: number;
  readonly code: string;
  /** The `.d.ts` text for JavaScript output (absent for TypeScript). */
  readonly declarations?: string;
}

/** Spec → IR after the named pass (or all passes). `verify` runs after each pass if given. */
export function lower(
  spec: ModelSpec,
  opts: { until?: string; verify?: (c: Compilation, pass: string) => void } = {},
): Compilation {
  // Spec → forward IR: one program for the output, one for the loss.
  let c = buildModel(spec);
  opts.verify?.(c, 'build');
  if (opts.until === 'build') return c;
  for (const [name, pass] of passes) {
    c = pass(c);
    opts.verify?.(c, name);
    if (opts.until === name) break;
  }
  return c;
}

/** Unroll-or-loop and chunking per node, then work slots by liveness. */
export function schedule(c: Compilation): {
  schedules: Schedules;
  workSize: number;
} {
  const schedules = {} as Schedules;
  let workSize = 0;
  for (const p of c.programs) {
    const s = scheduleProgram(p, c.sectionOrder);
    workSize = Math.max(workSize, planMemory(s));
    schedules[p.name] = s;
  }
  return { schedules, workSize };
}

export interface EmitOptions {
  readonly format: OutputFormat;
  /** Model file base name for the header. */
  readonly source: string;
  /** Overrides the model file's `backend` (the CLI's --backend). */
  readonly backend?: 'auto' | 'js' | 'wasm';
  /** False puts every dense stack on wasm, however small (tests check the kernels on tiny
   * nets); the default applies the backend's cost rule. */
  readonly wasmCostRule?: boolean;
}

export function compileSpec(spec: ModelSpec, opts: EmitOptions): Compiled {
  checkExpressionCost(spec, opts.source);
  const c = lower(spec);
  checkModelCost(c, opts.source);
  const sched = schedule(c);
  const { schedules } = sched;
  const batch = planBatches(c, schedules);
  const workSize = Math.max(sched.workSize, batch.workSize);
  checkPlan(
    [...Object.values(schedules).map((s) => ({ schedule: s, lanes: 1 })), ...batch.bodies],
    workSize,
    opts.source,
  );
  const functions: EmittedFunction[] = [];
  for (const name of ['forward', 'loss', 'gradient'] as const) {
    functions.push(...emitProgram(schedules[name], c.sections));
  }
  if (schedules.inputGradient) functions.push(...emitProgram(schedules.inputGradient, c.sections));
  const batched = [
    ...emitForwardBatch(batch.forward, c.sections, c.shapes),
    ...emitGradientBatch(batch.gradient, c.sections, c.shapes, batch.needs, batch.phased),
  ];
  if (batch.needs.seed) functions.push(maskFunction('gradient'));
  // `auto` (the default) and `wasm`: WebAssembly where the plan accepts the model and the cost
  // rule says it pays (backends/wasm/plan.ts, measured by bench/wasm-threshold.ts), JS
  // otherwise; `js` never.
  const backend = opts.backend ?? spec.backend ?? 'auto';
  const wasm =
    backend === 'js'
      ? null
      : wasmBatch(
          c,
          batched,
          opts.format === 'ts',
          opts.wasmCostRule ?? true,
          // Whole programs only when asked for, and not in training mode's phases or with
          // dropout masks (backends/wasm/whole.ts).
          backend === 'wasm' && !batch.phased && !batch.needs.seed
            ? { forward: schedules.forward, gradient: batch.gradient.sample }
            : null,
        );
  functions.push(...(wasm ? wasm.functions : batched));
  const shell = {
    c,
    functions,
    workSize,
    format: opts.format,
    source: opts.source,
    version: VERSION,
    ...(wasm ? { wasm: wasm.glue } : {}),
  };
  const code = emitModule(shell);
  if (opts.format === 'ts') return { c, schedules, workSize, code };
  return { c, schedules, workSize, code, declarations: emitDeclarations(shell) };
}

/**
 * Schedules for the batched entry points. The batched gradient adds into `grad`, so it is
 * scheduled without in-place gradients. Nets with loops (large layers) also get a body for
 * BLOCK samples at once; small nets, fully unrolled, gain nothing from it (their weights
 * already live in registers) and get the per-sample body in a loop.
 */
export function planBatches(
  c: Compilation,
  schedules: Schedules,
): {
  forward: BatchPlan;
  gradient: BatchPlan;
  workSize: number;
  bodies: PlannedBody[];
  needs: { seed: boolean };
  phased: PhasedPlan | null;
} {
  const blocked = schedules.gradient.steps.some(
    (s) => s.mode === 'loop' && getOp(s.node.op).kind === 'linalg',
  );
  const planned = (p: Program, o: ScheduleOptions): Schedule => {
    const s = scheduleProgram(p, c.sectionOrder, o);
    planMemory(s);
    return s;
  };
  const gradient = programOf(c, 'gradient');
  const needs = { seed: needsSeed(gradient.outputs.map((o) => o.node)) };
  // Batch statistics: phases that sum them first (emit/phases.ts), then the gradient reading
  // them, then the state updates once.
  const phases = hasBatchMeans(gradient) ? planPhases(c.B, gradient) : null;
  const main = phases ? phases.final : gradient;
  const pair = (p: Program) => ({
    sample: planned(p, { gradsInPlace: false }),
    block: blocked ? planned(p, { gradsInPlace: false, lanes: BLOCK }) : null,
  });
  const statPlans = phases ? phases.stats.map(pair) : [];
  const stateSchedule = phases?.state ? planned(phases.state, {}) : null;
  const fwdBlock = blocked ? planned(programOf(c, 'forward'), { lanes: BLOCK }) : null;
  const { sample: gradSample, block: gradBlock } = pair(main);
  // Lane l of a block uses work[l·W, (l+1)·W); the loss sum goes after all of it, and the
  // batch statistics after that.
  const lossSlot = Math.max(
    ...[{ sample: gradSample, block: gradBlock }, ...statPlans].map((p) =>
      Math.max(p.sample.workSize, p.block ? BLOCK * p.block.workSize : 0),
    ),
    stateSchedule?.workSize ?? 0,
  );
  const statBase = lossSlot + 1;
  const phased: PhasedPlan | null = phases
    ? {
        stats: statPlans.map((p, d) => ({
          plan: { ...p, lossSlot: null },
          range: phases.ranges[d]!,
        })),
        state: stateSchedule,
        statBase,
      }
    : null;
  const blocks = (p: { sample: Schedule; block: Schedule | null }): PlannedBody[] => [
    { schedule: p.sample, lanes: 1 },
    ...(p.block ? [{ schedule: p.block, lanes: BLOCK }] : []),
  ];
  return {
    forward: { sample: schedules.forward, block: fwdBlock, lossSlot: null },
    gradient: { sample: gradSample, block: gradBlock, lossSlot },
    workSize: Math.max(statBase + (phases?.size ?? 0), fwdBlock ? BLOCK * fwdBlock.workSize : 0),
    // For the cost check (compiler/cost.ts): a block body is emitted once for BLOCK lanes.
    bodies: [
      { schedule: gradSample, lanes: 1 },
      ...(fwdBlock ? [{ schedule: fwdBlock, lanes: BLOCK }] : []),
      ...(gradBlock ? [{ schedule: gradBlock, lanes: BLOCK }] : []),
      ...statPlans.flatMap(blocks),
      ...(stateSchedule ? [{ schedule: stateSchedule, lanes: 1 }] : []),
    ],
    needs,
    phased,
  };
}

function programOf(c: Compilation, name: ProgramName): Program {
  return c.programs.find((p) => p.name === name)!;
}
