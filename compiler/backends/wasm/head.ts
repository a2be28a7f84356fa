// The head (the last layer's activation and the loss) on WebAssembly: its per-sample programs
// are compiled by the ordinary pipeline, as for the JavaScript head, and rendered from the
// loop IR by program.ts; two chunk drivers loop over a chunk's rows so that a training step
// runs no JavaScript per sample for the head:
//
//   headf(z, out, r)            out row i = head forward of row i of z
//   headg(z, t, dz, r, count)   dz row i = (∂loss/∂z of row i, target row i of t) / count;
//                               the rows' losses are added to work[lossSlot]
//
// z, out, t, dz are byte addresses of row-major rows of `units` elements. A head the
// renderer cannot express (an activation or loss op without a WebAssembly kernel: pow, sin,
// cos, atan) gets null, and the glue keeps the JavaScript head.
import type { ModelSpec } from '../../format/model.ts';
import { lower, schedulePrograms } from '../../pipeline.ts';
import type { WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';
import { LoopRefusal } from './loops.ts';
import { callProgram, programHelpers, renderProgram } from './program.ts';

export interface WasmHead {
  /** The chunk drivers, the per-sample drivers and their step functions, in module order. */
  readonly functions: readonly WasmFunction[];
  /** The element of scratch (counted from address 0) the gradient program adds each
   * sample's loss to. */
  readonly lossIndex: number;
}

/**
 * The head's functions, to be placed at function index `base` of the module, with its work
 * in scratch from `take`; the reason instead where a program has no WebAssembly form.
 */
export function renderHead(
  head: ModelSpec,
  precision: Precision,
  base: number,
  /** Reserves scratch for `elements` elements; returns its byte address. */
  take: (elements: number) => number,
): WasmHead | { readonly refusal: string } {
  const hc = lower(head);
  const { schedules } = schedulePrograms(hc);
  const e = precision === 'f32' ? 4 : 8;
  const units = head.inputShape[0]!;
  const row = units * e;
  try {
    // Module order: headf, headg, the math helpers, the forward program, the gradient one.
    const programs = [schedules.forward, schedules.inputGradient!];
    const helpers = programHelpers(programs, base + 2);
    const first = base + 2 + helpers.functions.length;
    const forward = renderProgram('head_fwd', programs[0]!, precision, false, helpers.helper);
    const gradient = renderProgram('head_grad', programs[1]!, precision, false, helpers.helper);
    const at = take(Math.max(forward.workSize, gradient.workSize));
    // headf(z, out, r)
    const hf = new FnBuilder('headf', ['i32', 'i32', 'i32'], precision);
    {
      const [Z, O, Rn] = [0, 1, 2];
      const i = hf.local('i32');
      hf.loop(i, { local: Rn }, () => {
        callProgram(hf, first, { input: () => hf.get(Z), output: () => hf.get(O) }, at);
        hf.bump(Z, row).bump(O, row);
      });
    }
    // headg(z, t, dz, r, count)
    const hg = new FnBuilder('headg', ['i32', 'i32', 'i32', 'i32', 'i32'], precision);
    {
      const [Z, T, D, Rn, N] = [0, 1, 2, 3, 4];
      const i = hg.local('i32');
      const d = hg.local('i32');
      hg.get(D).set(d);
      hg.loop(i, { local: Rn }, () => {
        const regions = {
          input: () => hg.get(Z),
          target: () => hg.get(T),
          dinput: () => hg.get(D),
        };
        callProgram(hg, first + 1, regions, at);
        hg.bump(Z, row).bump(T, row).bump(D, row);
      });
      // The mean over the batch is taken here, on dz, as the JavaScript head's glue does.
      const all = hg.local('i32');
      hg.get(Rn).i32(units).emit(['i32.mul']).set(all);
      hg.divideBy(d, { local: all }, N);
    }
    return {
      functions: [hf.build(), hg.build(), ...helpers.functions, forward.fn, gradient.fn],
      lossIndex: at / e + gradient.lossSlot!,
    };
  } catch (err) {
    if (err instanceof LoopRefusal) return { refusal: err.message };
    throw err;
  }
}
