// The compiler, one direction, each arrow a pure function in its own file.
import { differentiate } from './autodiff/reverse.ts';
import { buildModel, type Compilation } from './frontend/model.ts';
import { batchAxis, batchedOf } from './batch/axis.ts';
import { emitForwardBatch, emitGradientBatch } from './emit/batch.ts';
import { emitProgram, type EmittedFunction } from './emit/body.ts';
import { maskFunction } from './emit/mask.ts';
import { emitDeclarations, emitModule, type OutputFormat } from './emit/module.ts';
import type { ProgramName } from './ir/program.ts';
import { simplify } from './passes/simplify.ts';
import { stabilize } from './passes/stabilize.ts';
import { planMemory } from './schedule/memory.ts';
import { scheduleProgram, type Schedule } from './schedule/schedule.ts';
import { scheduleBatches, type BatchSchedules } from './schedule/batch.ts';
import type { ModelSpec } from './format/model.ts';
import { VERSION } from './version.ts';
import { verifyProgram } from './ir/verify.ts';
import { wasmBatch } from './backends/wasm/batch.ts';
import { checkExpressionCost, checkModelCost, checkPlan } from './cost.ts';

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
  // The batched entry points: every value's batch axis, batch statistics as phases.
  ['batch', batchAxis],
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

/** The IR verifier (shapes, def-before-use, what each output may write) over every program,
 * the batched entry points' included: a pass that breaks an invariant fails right after it. */
function verifyAll(c: Compilation): void {
  for (const p of c.programs) verifyProgram(p, c.shapes);
  // The batched ones that are not the programs themselves (the phases' rewritten graphs).
  for (const bp of c.batched ? [c.batched.forwardBatch, c.batched.gradientBatch] : [])
    for (const p of [
      ...bp.phases.map((ph) => ph.program),
      bp.sample,
      ...(bp.state ? [bp.state] : []),
    ])
      if (!c.programs.includes(p)) verifyProgram(p, c.shapes);
}

/** Spec → IR after the named pass (or all passes), verified after each; `verify` adds a
 * caller's checks (tests). */
export function lower(
  spec: ModelSpec,
  opts: { until?: string; verify?: (c: Compilation, pass: string) => void } = {},
): Compilation {
  const after = (c: Compilation, pass: string) => {
    verifyAll(c);
    opts.verify?.(c, pass);
  };
  // Spec → forward IR: one program for the output, one for the loss.
  let c = buildModel(spec);
  after(c, 'build');
  if (opts.until === 'build') return c;
  for (const [name, pass] of passes) {
    c = pass(c);
    after(c, name);
    if (opts.until === name) break;
  }
  return c;
}

/** Unroll-or-loop and chunking per node, then work slots by liveness, for every program. */
export function schedulePrograms(c: Compilation): { schedules: Schedules; workSize: number } {
  const schedules = {} as Schedules;
  let workSize = 0;
  for (const p of c.programs) {
    const s = scheduleProgram(p, c.sectionOrder);
    workSize = Math.max(workSize, planMemory(s));
    schedules[p.name] = s;
  }
  return { schedules, workSize };
}

/** The programs' schedules, and the batched entry points' over their batch axis
 * (schedule/batch.ts). */
export function schedule(c: Compilation): {
  schedules: Schedules;
  batch: BatchSchedules;
  workSize: number;
} {
  const { schedules, workSize } = schedulePrograms(c);
  const batch = scheduleBatches(batchedOf(c), schedules.gradient, c.sectionOrder);
  return { schedules, batch, workSize: Math.max(workSize, batch.workSize) };
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
  const { schedules, batch, workSize } = schedule(c);
  checkPlan([...Object.values(schedules), ...batch.bodies], workSize, opts.source);
  const functions: EmittedFunction[] = [];
  for (const name of ['forward', 'loss', 'gradient'] as const) {
    functions.push(...emitProgram(schedules[name], c.sections));
  }
  if (schedules.inputGradient) functions.push(...emitProgram(schedules.inputGradient, c.sections));
  const batched = [
    ...emitForwardBatch(batch.forward, c.sections, c.shapes),
    ...emitGradientBatch(batch.gradient, c.sections, c.shapes, { seed: batch.seed }, batch.phased),
  ];
  if (batch.seed) functions.push(maskFunction('gradient'));
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
          backend === 'wasm' && !batch.phased && !batch.seed
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
