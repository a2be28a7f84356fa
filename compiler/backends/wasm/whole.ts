// WebAssembly for models the layer plan (plan.ts) does not take: graphs, recurrent layers,
// normalization at inference, any op mix. The batched entry points loop over the samples
// inside WebAssembly, each sample running its whole scheduled program as rendered from the
// loop IR (program.ts): the forward program for forwardBatch, the accumulating gradient
// program of the batched entry point for gradientBatch (the same schedules the JS backend
// emits, so the same memory plan and the same operation order).
//
//   fb(params, inputs, outputs, count)
//   gb(params, inputs, targets, count, grad)   grad = mean of the samples' gradients; the
//                                              samples' losses added to work[lossSlot]
//
// Chosen only by `"backend": "wasm"` (or --backend wasm): measured side by side
// (bench/wasm-programs.ts), the per-sample programs train at 0.45–1.89× the JS backend's batched
// code depending on the model, with no rule yet that predicts which, so `auto` keeps these
// models on JS. Training mode's batch statistics and dropout masks are refused (the model
// stays on JS), as are ops without a WebAssembly kernel (pow, sin, cos, atan).
import type { Compilation } from '../../frontend/model.ts';
import type { Schedule } from '../../schedule/schedule.ts';
import { stepKernel } from '../../lower/step.ts';
import { encodeModule, type WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';
import { LoopRefusal, mathHelper, transcendentalsOf } from './loops.ts';
import { MAX_PAGES } from './plan.ts';
import { REGIONS, renderProgram, type Region } from './program.ts';
import { sgdKernel } from './update.ts';

export interface WholePlan {
  readonly precision: Precision;
  readonly bytesPerElement: number;
  readonly functions: readonly WasmFunction[];
  readonly bytes: Uint8Array;
  readonly pages: number;
  readonly scratchEnd: number;
  /** The work element (from address 0) the samples' losses are added to. */
  readonly lossIndex: number;
}

/** The per-sample schedules the batched entry points run. */
export interface WholeSchedules {
  readonly forward: Schedule;
  /** The batched gradient's one-sample body (gradients added to grad). */
  readonly gradient: Schedule;
}

/** The whole-program module, or the reason the model stays on JS. */
export function planWhole(
  c: Compilation,
  s: WholeSchedules,
): WholePlan | { readonly refusal: string } {
  const precision = c.spec.precision;
  const e = precision === 'f32' ? 4 : 8;
  const { inputSize, outputSize, paramCount } = c.shapes;
  try {
    const ops = [
      ...new Set(
        [s.forward, s.gradient].flatMap((p) =>
          p.steps.flatMap((st) => [...transcendentalsOf(stepKernel(st, 1).kernel)]),
        ),
      ),
    ].sort();
    const helpers = ops.map(mathHelper);
    const helper = (op: string) => {
      const i = ops.indexOf(op);
      return i < 0 ? undefined : 2 + i;
    };
    const first = 2 + helpers.length;
    const forward = renderProgram('fwd', s.forward, precision, false, helper);
    const gradStart = first + 1;
    const gradient = renderProgram('grad', s.gradient, precision, true, helper);
    // Scratch: 64 unused bytes, then the programs' work.
    const work = 64;
    const workSize = Math.max(forward.workSize, gradient.workSize);
    const scratchEnd = Math.ceil((work + workSize * e + 16) / 16) * 16;
    const call = (f: FnBuilder, index: number, at: Partial<Record<Region, number>>) => {
      for (const r of REGIONS) {
        if (r === 'work') f.i32(work);
        else if (at[r] !== undefined) f.get(at[r]);
        else f.i32(0);
      }
      f.emit(['call', index]);
    };
    // fb(params, inputs, outputs, count)
    const fb = new FnBuilder('fb', ['i32', 'i32', 'i32', 'i32'], precision);
    {
      const [P, X, O, N] = [0, 1, 2, 3];
      const i = fb.local('i32');
      fb.loop(i, { local: N }, () => {
        call(fb, first, { params: P, input: X, output: O });
        fb.bump(X, inputSize * e).bump(O, outputSize * e);
      });
    }
    // gb(params, inputs, targets, count, grad)
    const gb = new FnBuilder('gb', ['i32', 'i32', 'i32', 'i32', 'i32'], precision);
    {
      const [P, X, T, N, G] = [0, 1, 2, 3, 4];
      gb.zero(G, paramCount * e);
      const i = gb.local('i32');
      gb.loop(i, { local: N }, () => {
        call(gb, gradStart, { params: P, input: X, target: T, grad: G });
        gb.bump(X, inputSize * e).bump(T, outputSize * e);
      });
      // The mean: grad · (1 / count), rounded once to the precision.
      const inv = gb.local('f64');
      gb.emit(['f64.const', 1]).get(N).emit(['f64.convert_i32_s'], ['f64.div']).set(inv);
      const k = gb.local('i32');
      gb.loop(k, paramCount, () => {
        gb.get(G).get(G).load();
        if (!gb.f64) gb.emit(['f64.promote_f32']);
        gb.get(inv).emit(['f64.mul']);
        if (!gb.f64) gb.emit(['f32.demote_f64']);
        gb.store().bump(G, e);
      });
    }
    // sgd: the module's optional `sgd` export (glue.ts) calls it.
    const functions = [
      fb.build(),
      gb.build(),
      ...helpers,
      forward.fn,
      gradient.fn,
      sgdKernel('sgd', precision),
    ];
    const pages = Math.ceil(scratchEnd / 65536) + 1;
    const { bytes } = encodeModule(functions, pages, MAX_PAGES);
    return {
      precision,
      bytesPerElement: e,
      functions,
      bytes,
      pages,
      scratchEnd,
      lossIndex: work / e + gradient.lossSlot!,
    };
  } catch (err) {
    if (err instanceof LoopRefusal) return { refusal: err.message };
    throw err;
  }
}
