// `gradc check`: the emitted gradient against central differences, the dot-product (VJP)
// test, and the IR interpreter, on seeded random parameters and samples. A model with a
// training mode (dropout, batch statistics) is checked in it: gradientBatch over a batch of
// TRAIN_BATCH samples with a fixed seed (so each dropout mask is held fixed), against
// central differences of the batch loss gradientBatch returns and the batch interpreter.
import {
  checkGradient,
  checkTrainingGradient,
  dotProductTest,
  initParams,
  trainingDotProductTest,
} from '@gradc/runtime';
import type { FloatArray, GeneratedModule, GradientCheckReport } from '@gradc/runtime';
import type { Program } from '../ir/program.ts';
import { interpret } from '../ir/interpret.ts';
import { interpretBatch } from '../ir/interpret-batch.ts';
import { topoOrder } from '../ir/node.ts';
import type { Compiled } from '../pipeline.ts';
import { importCompiled } from './load.ts';
import { lcg, sampleInput, sampleTarget } from './samples.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/** Largest |a − b| / (|a| + |b|), entries below `floor` × the largest |b| compared as if
 * that large (0: every entry relative to itself). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let top = 0;
  for (let i = 0; i < b.length; i++) top = Math.max(top, Math.abs(b[i]!));
  const least = Math.max(1e-300, floor * top);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(least, Math.abs(a[i]!) + Math.abs(b[i]!));
    if (d > worst || Number.isNaN(d)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

type WithInputGradient = GeneratedModule & {
  inputGradient?(
    params: FloatArray,
    input: FloatArray,
    target: FloatArray,
    dinput: FloatArray,
    work: FloatArray,
  ): number;
};

/**
 * The optional inputGradient export against central differences of the loss by each input
 * and against the interpreter: the worst relative error, or undefined without the export.
 */
function checkInputGradient(
  mod: WithInputGradient,
  program: Program | undefined,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
  work: FloatArray,
): number | undefined {
  if (!mod.inputGradient || !program) return undefined;
  const dinput = new Float64Array(input.length);
  const loss = mod.inputGradient(params, input, target, dinput, work);
  const want = interpret(program, { params, input, target }, params.length);
  let worst = Math.max(maxRelDiff(dinput, want.dinput!), maxRelDiff([loss], [want.loss!]));
  const f32 = mod.model.precision === 'f32';
  for (let i = 0; i < input.length; i++) {
    const x = input[i]!;
    const h = (f32 ? 1e-3 : 1e-6) * Math.max(1, Math.abs(x));
    input[i] = x + h;
    const up = mod.loss(params, input, target, work);
    const hi = input[i]!;
    input[i] = x - h;
    const down = mod.loss(params, input, target, work);
    const lo = input[i]!;
    input[i] = x;
    const fd = (up - down) / (hi - lo);
    const scale = Math.abs(fd) + Math.abs(dinput[i]!);
    if (scale > (f32 ? 1e-4 : 1e-9))
      worst = Math.max(worst, Math.abs(fd - dinput[i]!) / Math.max(1e-8, scale));
  }
  return worst;
}

/** Samples of the training-mode check's batch: enough for batch statistics to mean something. */
const TRAIN_BATCH = 4;

/** Whether the gradient program trains differently from inference. */
function hasTrainingMode(p: Program): boolean {
  return topoOrder(p.outputs.map((o) => o.node)).some(
    (n) => n.op === 'batchMean' || n.op === 'dropoutMask',
  );
}

export async function runCheck(
  compiled: Compiled,
  opts: { samples: number; seed: number; maxParams: number },
): Promise<CheckResult> {
  const mod: WithInputGradient = await importCompiled(compiled);
  const model = mod.model;
  const f32 = model.precision === 'f32';
  // The interpreter runs in f64; f32 storage rounds intermediates.
  const interpTol = f32 ? 1e-4 : 1e-9;
  const lines: string[] = [];
  let ok = true;
  const rnd = lcg(opts.seed + 1);
  const work = (f32 ? Float32Array : Float64Array).from({ length: model.workSize });
  const grad = (f32 ? Float32Array : Float64Array).from({ length: model.paramCount });
  const output = (f32 ? Float32Array : Float64Array).from({ length: model.outputSize });
  const programs = new Map(compiled.c.programs.map((p) => [p.name, p]));
  if (hasTrainingMode(programs.get('gradient')!))
    return runTrainingCheck(mod, compiled, opts, programs);
  for (let s = 0; s < opts.samples; s++) {
    const params: FloatArray = initParams(model, { seed: opts.seed + s });
    const cast = (a: Float64Array): FloatArray => (f32 ? Float32Array.from(a) : a);
    const input = cast(sampleInput(model, rnd));
    const target = cast(sampleTarget(model, rnd));
    const fd = checkGradient(mod, params, input, target, {
      seed: opts.seed + s,
      maxParams: opts.maxParams,
    });
    const vjp = dotProductTest(mod, params, input, target, { seed: opts.seed + s });
    // Emitted code against the interpreter, on the same values.
    const b = { params, input, target };
    const want = interpret(programs.get('gradient')!, b, model.paramCount);
    const wantOut = interpret(programs.get('forward')!, b, model.paramCount).output!;
    const gotLoss = mod.gradient(params, input, target, grad, work);
    mod.forward(params, input, output, work);
    const interp = Math.max(
      maxRelDiff(grad, want.grad!),
      maxRelDiff([gotLoss], [want.loss!]),
      maxRelDiff(output, wantOut),
    );
    const dinput = checkInputGradient(
      mod,
      programs.get('inputGradient'),
      params,
      input,
      target,
      work,
    );
    const sampleOk =
      fd.ok &&
      vjp.ok &&
      interp <= interpTol &&
      (dinput === undefined || dinput <= (f32 ? 2e-2 : 1e-6));
    ok &&= sampleOk;
    lines.push(
      `sample ${s}: loss ${gotLoss.toPrecision(6)}  finite differences ${fd.maxRelError.toExponential(2)} (${fd.checked} params${fd.kinks ? `, ${fd.kinks} re-measured across a kink` : ''})` +
        `  dot-product ${vjp.maxRelError.toExponential(2)}  interpreter ${interp.toExponential(2)}` +
        `${dinput === undefined ? '' : `  input gradient ${dinput.toExponential(2)}`}  ${sampleOk ? 'ok' : 'FAIL'}`,
    );
    lines.push(...failureDetail(fd));
  }
  return { ok, lines };
}

/** Where finite differences failed: the worst parameter, then each tensor's worst error. */
function failureDetail(fd: GradientCheckReport): string[] {
  if (fd.ok || !fd.worst) return [];
  return [
    `  worst: ${fd.worst.name} analytic ${fd.worst.analytic} numeric ${fd.worst.numeric}`,
    ...fd.perTensor.map((t) => `  ${t.name}: max rel error ${t.maxRelError.toExponential(2)}`),
  ];
}

/** The training-mode check: one batch of TRAIN_BATCH samples per round, its own seed each. */
function runTrainingCheck(
  mod: GeneratedModule,
  compiled: Compiled,
  opts: { samples: number; seed: number; maxParams: number },
  programs: ReadonlyMap<string, Program>,
): CheckResult {
  const model = mod.model;
  const f32 = model.precision === 'f32';
  const interpTol = f32 ? 1e-4 : 1e-9;
  // Batch statistics make some gradients exactly 0 in exact arithmetic (a bias before a
  // batchNormalization: the mean takes it out) and others small differences of larger terms
  // (dy − mean(dy) − x̂·mean(dy·x̂)); f32 rounding leaves ~1e-8 of the largest there. In f32,
  // entries under 1 % of the largest are compared at that scale.
  const floor = f32 ? 1e-2 : 0;
  const lines: string[] = [];
  let ok = true;
  const rnd = lcg(opts.seed + 1);
  const Arr = f32 ? Float32Array : Float64Array;
  const work = Arr.from({ length: model.workSize });
  const grad = Arr.from({ length: model.paramCount });
  const output = Arr.from({ length: model.outputSize });
  const count = TRAIN_BATCH;
  for (let s = 0; s < opts.samples; s++) {
    const params: FloatArray = initParams(model, { seed: opts.seed + s });
    const inputs = new Arr(count * model.inputSize);
    const targets = new Arr(count * model.outputSize);
    for (let r = 0; r < count; r++) {
      inputs.set(sampleInput(model, rnd), r * model.inputSize);
      targets.set(sampleTarget(model, rnd), r * model.outputSize);
    }
    const seed = opts.seed + 1000 * s + 1;
    const batch = { inputs, targets, count, seed };
    const fd = checkTrainingGradient(mod, params, batch, {
      seed: opts.seed + s,
      maxParams: opts.maxParams,
    });
    const vjp = trainingDotProductTest(mod, params, batch, { seed: opts.seed + s });
    // Emitted code against the batch interpreter, the moving statistics after the step too.
    const want = interpretBatch(
      programs.get('gradient')!,
      {
        params,
        inputs,
        targets,
        count,
        inputSize: model.inputSize,
        outputSize: model.outputSize,
        seed,
      },
      model.paramCount,
    );
    const after = Arr.from(params);
    const gotLoss = mod.gradientBatch!(after, inputs, targets, count, grad, work, seed);
    const input = inputs.subarray(0, model.inputSize);
    const wantOut = interpret(
      programs.get('forward')!,
      { params, input },
      model.paramCount,
    ).output!;
    mod.forward(params, input, output, work);
    const interp = Math.max(
      maxRelDiff(grad, want.grad!, floor),
      maxRelDiff([gotLoss], [want.loss!]),
      maxRelDiff(after, want.params ?? params, floor),
      maxRelDiff(output, wantOut),
    );
    const sampleOk = fd.ok && vjp.ok && interp <= interpTol;
    ok &&= sampleOk;
    lines.push(
      `batch ${s} (training mode, ${count} samples, seed ${seed}): loss ${gotLoss.toPrecision(6)}  finite differences ${fd.maxRelError.toExponential(2)} (${fd.checked} params${fd.kinks ? `, ${fd.kinks} re-measured across a kink` : ''})` +
        `  dot-product ${vjp.maxRelError.toExponential(2)}  interpreter ${interp.toExponential(2)}  ${sampleOk ? 'ok' : 'FAIL'}`,
    );
    lines.push(...failureDetail(fd));
  }
  return { ok, lines };
}
