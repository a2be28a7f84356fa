// Wires the WebAssembly backend into a module: the JS batched entry points become the
// fallback (`*_js`), the wasm-driven ones take their names, and the head (the last
// activation and the loss) is compiled by the ordinary pipeline into JS helpers.
import type { Compilation } from '../../frontend/model.ts';
import { BATCH_SIGNATURES } from '../../emit/batch.ts';
import { emitProgram, sampleFrame, type EmittedFunction } from '../../emit/body.ts';
import { lower, schedule } from '../../pipeline.ts';
import { emitGlue, forwardBody, gradientBody, type GlueInput } from './glue.ts';
import { planWasm, wasmRefusal, type WasmPlan } from './plan.ts';

export interface WasmBatch {
  readonly plan: WasmPlan;
  readonly functions: readonly EmittedFunction[];
  readonly glue: (exp: string) => string;
}

/** The batched entry points on WebAssembly, or null where the model stays on JS. */
export function wasmBatch(
  c: Compilation,
  batched: readonly EmittedFunction[],
  ts: boolean,
  costRule: boolean,
): WasmBatch | null {
  if (wasmRefusal(c.spec, costRule)) return null;
  const plan = planWasm(c);
  const hc = lower(plan.head);
  const hs = schedule(hc);
  // The head's JS functions only where it is not on WebAssembly (head.ts).
  const head: EmittedFunction[] = plan.wasmHead
    ? []
    : [
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
  const g: GlueInput = {
    plan,
    ts,
    inputSize: c.shapes.inputSize,
    outputSize: c.shapes.outputSize,
    paramCount: c.shapes.paramCount,
    headWorkSize: hs.workSize + 1,
  };
  const renamed = batched.map((f) =>
    f.kind === 'entry' ? { ...f, name: `${f.name}_js`, kind: 'fallback' as const } : f,
  );
  const entry = (name: 'forwardBatch' | 'gradientBatch', body: string): EmittedFunction => ({
    name,
    kind: 'entry',
    signature: BATCH_SIGNATURES[name],
    body,
    returnsNumber: name === 'gradientBatch',
    entry: name,
  });
  return {
    plan,
    functions: [
      entry('forwardBatch', forwardBody(g)),
      entry('gradientBatch', gradientBody(g)),
      ...head,
      ...renamed,
    ],
    glue: (exp) => emitGlue(g, exp),
  };
}
