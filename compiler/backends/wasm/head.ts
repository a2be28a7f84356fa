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
import { lower, schedule } from '../../pipeline.ts';
import type { WasmFunction } from './encode.ts';
import { FnBuilder } from './fn.ts';
import type { Precision } from './gemm.ts';
import { stepKernel } from '../../lower/step.ts';
import { LoopRefusal, mathHelper, transcendentalsOf } from './loops.ts';
import { REGIONS, renderProgram, type Region } from './program.ts';

export interface WasmHead {
  /** The chunk drivers, the per-sample drivers and their step functions, in module order. */
  readonly functions: readonly WasmFunction[];
  /** Work elements the head's programs need (the loss slot included). */
  readonly workSize: number;
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
  const { schedules } = schedule(hc);
  const e = precision === 'f32' ? 4 : 8;
  const units = head.inputShape[0]!;
  const row = units * e;
  try {
    // Module order: headf, headg, one scalar helper per transcendental the programs use
    // (the unrolled softmax calls exp per unit), the forward program, the gradient program.
    const programs = [schedules.forward, schedules.inputGradient!];
    const ops = [
      ...new Set(
        programs.flatMap((s) =>
          s.steps.flatMap((st) => [...transcendentalsOf(stepKernel(st, 1).kernel)]),
        ),
      ),
    ].sort();
    const helpers = ops.map(mathHelper);
    const helper = (op: string) => {
      const i = ops.indexOf(op);
      return i < 0 ? undefined : base + 2 + i;
    };
    const first = base + 2 + helpers.length;
    const forward = renderProgram('head_fwd', programs[0]!, precision, false, helper);
    const gradient = renderProgram('head_grad', programs[1]!, precision, false, helper);
    const workSize = Math.max(forward.workSize, gradient.workSize);
    const at = take(workSize);
    const call = (f: FnBuilder, index: number, regions: Partial<Record<Region, () => void>>) => {
      for (const r of REGIONS) {
        const push = regions[r];
        if (push) push();
        else if (r === 'work') f.i32(at);
        else f.i32(0);
      }
      f.emit(['call', index]);
    };
    // headf(z, out, r)
    const hf = new FnBuilder('headf', ['i32', 'i32', 'i32'], precision);
    {
      const [Z, O, Rn] = [0, 1, 2];
      const i = hf.local('i32');
      hf.loop(i, { local: Rn }, () => {
        call(hf, first, {
          input: () => hf.get(Z),
          output: () => hf.get(O),
        });
        hf.bump(Z, row).bump(O, row);
      });
    }
    // headg(z, t, dz, r, count)
    const hg = new FnBuilder('headg', ['i32', 'i32', 'i32', 'i32', 'i32'], precision);
    {
      const [Z, T, D, Rn, N] = [0, 1, 2, 3, 4];
      const i = hg.local('i32');
      const d = hg.local('i32');
      const inv = hg.local('f64');
      hg.get(D).set(d);
      hg.loop(i, { local: Rn }, () => {
        call(hg, first + 1, {
          input: () => hg.get(Z),
          target: () => hg.get(T),
          dinput: () => hg.get(D),
        });
        hg.bump(Z, row).bump(T, row).bump(D, row);
      });
      // The mean over the batch is taken here, on dz, as the JavaScript head's glue does
      // (the product rounded once to the precision).
      hg.emit(['f64.const', 1]).get(N).emit(['f64.convert_i32_s'], ['f64.div']).set(inv);
      const k = hg.local('i32');
      const all = hg.local('i32');
      hg.get(Rn).i32(units).emit(['i32.mul']).set(all);
      hg.loop(k, { local: all }, () => {
        hg.get(d).get(d).load();
        if (!hg.f64) hg.emit(['f64.promote_f32']);
        hg.get(inv).emit(['f64.mul']);
        if (!hg.f64) hg.emit(['f32.demote_f64']);
        hg.store().bump(d, e);
      });
    }
    return {
      functions: [hf.build(), hg.build(), ...helpers, forward.fn, gradient.fn],
      workSize,
      lossIndex: at / e + gradient.lossSlot!,
    };
  } catch (err) {
    if (err instanceof LoopRefusal) return { refusal: err.message };
    throw err;
  }
}
