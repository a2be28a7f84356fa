// Wires the WebAssembly backend into a module: the JS batched entry points become the
// fallback (`*_js`), the wasm-driven ones take their names, and the head (the last
// activation and the loss) is compiled by the ordinary pipeline into JS helpers.
import type { Compilation } from '../../frontend/model.ts';
import type { ModelSpec } from '../../format/model.ts';
import { BATCH_SIGNATURES } from '../../emit/batch.ts';
import { emitProgram, sampleFrame, type EmittedFunction } from '../../emit/body.ts';
import { lower, schedulePrograms } from '../../pipeline.ts';
import {
  emitGlue,
  emitRuntime,
  forwardBody,
  gradientBody,
  type GlueInput,
  type WasmImage,
} from './glue.ts';
import { planWasm, wasmRefusal } from './plan.ts';
import { planWhole, type WholeSchedules } from './whole.ts';

export interface WasmBatch {
  readonly functions: readonly EmittedFunction[];
  readonly glue: (exp: string) => string;
}

/** The batched entry points on WebAssembly, or null where the model stays on JS. */
export function wasmBatch(
  c: Compilation,
  batched: readonly EmittedFunction[],
  ts: boolean,
  costRule: boolean,
  /** `"backend": "wasm"` asked for explicitly: a model the layer plan refuses then runs its
   * whole per-sample programs in WebAssembly (whole.ts), where they render. */
  whole: WholeSchedules | null = null,
): WasmBatch | null {
  // Whole programs where the layer plan has no form for the model, not where its cost rule
  // says JS is faster (a tiny dense stack stays on JS under "wasm" too).
  if (wasmRefusal(c.spec, false)) return whole ? wholeBatch(c, batched, ts, whole) : null;
  if (costRule && wasmRefusal(c.spec, true)) return null;
  const plan = planWasm(c);
  // The head in JavaScript only where it is not on WebAssembly (head.ts).
  const jsHead = plan.wasmHead ? null : jsHeadFunctions(plan.head);
  const head = jsHead?.functions ?? [];
  const g: GlueInput = {
    plan,
    ts,
    inputSize: c.shapes.inputSize,
    outputSize: c.shapes.outputSize,
    paramCount: c.shapes.paramCount,
    headWorkSize: jsHead?.workSize ?? 0,
  };
  const renamed = batched.map((f) =>
    f.kind === 'entry' ? { ...f, name: `${f.name}_js`, kind: 'fallback' as const } : f,
  );
  return {
    functions: [
      entryFn('forwardBatch', forwardBody(g)),
      entryFn('gradientBatch', gradientBody(g)),
      ...head,
      ...renamed,
    ],
    glue: (exp) => emitGlue(g, exp),
  };
}

/** The batched entry points of a whole-program module (whole.ts), or null where a program
 * has no WebAssembly form. */
function wholeBatch(
  c: Compilation,
  batched: readonly EmittedFunction[],
  ts: boolean,
  schedules: WholeSchedules,
): WasmBatch | null {
  const plan = planWhole(c, schedules);
  if ('refusal' in plan) return null;
  const nn = ts ? '!' : '';
  const forward = `  const k = wasmKernels;
  if (!wasmReady) wasmNotReady('forwardBatch');
  if (!k || !wasmHas(params) || !wasmHas(inputs) || !wasmHas(outputs))
    return forwardBatch_js(params, inputs, outputs, count, work);
  if (count > 0) k.fb${nn}(params.byteOffset, inputs.byteOffset, outputs.byteOffset, count);`;
  const gradient = `  const k = wasmKernels;
  if (!wasmReady) wasmNotReady('gradientBatch');
  if (!k || count <= 0 || !wasmHas(params) || !wasmHas(inputs) || !wasmHas(targets) || !wasmHas(grad))
    return gradientBatch_js(params, inputs, targets, count, grad, work);
  const z = wasmScratch${nn};
  z[${plan.lossIndex}] = 0;
  k.gb${nn}(params.byteOffset, inputs.byteOffset, targets.byteOffset, count, grad.byteOffset);
  return z[${plan.lossIndex}]${nn} / count;`;
  const image: WasmImage = { ...plan, fmaBytes: plan.bytes, ones: null };
  return {
    functions: [
      entryFn('forwardBatch', forward),
      entryFn('gradientBatch', gradient),
      ...batched.map((f) =>
        f.kind === 'entry' ? { ...f, name: `${f.name}_js`, kind: 'fallback' as const } : f,
      ),
    ],
    glue: (exp) => emitRuntime(image, ts, exp),
  };
}

function entryFn(name: 'forwardBatch' | 'gradientBatch', body: string): EmittedFunction {
  return {
    name,
    kind: 'entry',
    signature: BATCH_SIGNATURES[name],
    body,
    returnsNumber: name === 'gradientBatch',
    entry: name,
  };
}

/** The head (the last activation and the loss) as JS functions, compiled by the ordinary
 * pipeline, and its work size with the loss slot. */
function jsHeadFunctions(spec: ModelSpec): { functions: EmittedFunction[]; workSize: number } {
  const hc = lower(spec);
  const hs = schedulePrograms(hc);
  const functions = [
    ...emitProgram(
      hs.schedules.forward,
      hc.sections,
      { ...sampleFrame('forward'), name: 'head_forward' },
      'sample',
      'forwardBatch',
    ),
    ...emitProgram(
      hs.schedules.inputGradient!,
      hc.sections,
      // The loss is added to headWork[workSize], not returned: a call V8 does not inline
      // (the head is too large) would box the returned double, 16 bytes per sample.
      { ...sampleFrame('inputGradient'), name: 'head_inputGradient', lossSlot: hs.workSize },
      'sample',
      'gradientBatch',
    ),
  ];
  return { functions, workSize: hs.workSize + 1 };
}
