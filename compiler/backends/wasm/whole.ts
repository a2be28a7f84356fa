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
// Chosen only by `"backend": "wasm"` (or --backend wasm), where the layer plan has no form
// for the model: measured side by side (bench/wasm-programs.ts), the per-sample programs
// train at 0.71–1.31× and infer at 0.44–1.23× the JS backend's batched code depending on the
// model, with no rule yet that predicts which, so `auto` keeps these models on JS. Training mode's batch statistics and dropout masks are refused (the model
// stays on JS), as are ops without a WebAssembly kernel (pow, sin, cos, atan).
import type { Compilation } from '../../frontend/model.ts';
import type { Schedule } from '../../schedule/schedule.ts';
import { encodeModule, type WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';
import { LoopRefusal } from './loops.ts';
import { MAX_PAGES } from './plan.ts';
import { callProgram, programHelpers, renderProgram } from './program.ts';
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
    const helpers = programHelpers([s.forward, s.gradient], 2);
    const first = 2 + helpers.functions.length;
    const forward = renderProgram('fwd', s.forward, precision, false, helpers.helper);
    const gradient = renderProgram('grad', s.gradient, precision, true, helpers.helper);
    // Scratch: 64 unused bytes, then the programs' work.
    const work = 64;
    const workSize = Math.max(forward.workSize, gradient.workSize);
    const scratchEnd = Math.ceil((work + workSize * e + 16) / 16) * 16;
    // fb(params, inputs, outputs, count)
    const fb = new FnBuilder('fb', ['i32', 'i32', 'i32', 'i32'], precision);
    {
      const [P, X, O, N] = [0, 1, 2, 3];
      const i = fb.local('i32');
      fb.loop(i, { local: N }, () => {
        const regions = {
          params: () => fb.get(P),
          input: () => fb.get(X),
          output: () => fb.get(O),
        };
        callProgram(fb, first, regions, work);
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
        const regions = {
          params: () => gb.get(P),
          input: () => gb.get(X),
          target: () => gb.get(T),
          grad: () => gb.get(G),
        };
        callProgram(gb, first + 1, regions, work);
        gb.bump(X, inputSize * e).bump(T, outputSize * e);
      });
      // The mean over the batch.
      gb.divideBy(G, paramCount, N);
    }
    // sgd: the module's optional `sgd` export (glue.ts) calls it.
    const functions = [
      fb.build(),
      gb.build(),
      ...helpers.functions,
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
