// `gradc check`: the emitted gradient against central differences, the dot-product (VJP)
// test, and the IR interpreter, on seeded random parameters and samples.
import { checkGradient, dotProductTest, initParams } from '../../runtime/index.ts';
import type { FloatArray } from '../../runtime/types.ts';
import { interpret } from '../ir/interpret.ts';
import type { Compiled } from '../pipeline.ts';
import { importCompiled } from './load.ts';
import { lcg, sampleInput, sampleTarget } from './samples.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1e-300, Math.abs(a[i]!) + Math.abs(b[i]!));
    if (d > worst || Number.isNaN(d)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

export async function runCheck(
  compiled: Compiled,
  opts: { samples: number; seed: number; maxParams: number },
): Promise<CheckResult> {
  const mod = await importCompiled(compiled);
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
    const sampleOk = fd.ok && vjp.ok && interp <= interpTol;
    ok &&= sampleOk;
    lines.push(
      `sample ${s}: loss ${gotLoss.toPrecision(6)}  finite differences ${fd.maxRelError.toExponential(2)} (${fd.checked} params)` +
        `  dot-product ${vjp.maxRelError.toExponential(2)}  interpreter ${interp.toExponential(2)}  ${sampleOk ? 'ok' : 'FAIL'}`,
    );
    if (!fd.ok && fd.worst) {
      lines.push(
        `  worst: ${fd.worst.name} analytic ${fd.worst.analytic} numeric ${fd.worst.numeric}`,
      );
      for (const t of fd.perTensor)
        lines.push(`  ${t.name}: max rel error ${t.maxRelError.toExponential(2)}`);
    }
  }
  return { ok, lines };
}
