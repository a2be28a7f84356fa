// `gradc inspect --after wasm`: the WebAssembly kernels as text, or why the model stays on JS.
import type { Compilation } from '../../frontend/model.ts';
import { printWat, type WasmFunction } from './encode.ts';
import { schedule } from '../../pipeline.ts';
import { CHUNK, MAX_PAGES, planWasm, wasmRefusal } from './plan.ts';
import { planWhole } from './whole.ts';

export function describeWasm(c: Compilation): string {
  const refusal = wasmRefusal(c.spec);
  if (refusal) return describeWhole(c, refusal);
  const plan = planWasm(c);
  const layers = plan.layers
    .map((l) => {
      const g = l.geometry;
      const what =
        l.kind === 'dense' || !g
          ? ''
          : l.kind === 'conv'
            ? ` conv ${g.KH}×${g.KW}×${g.C} → ${g.F} (im2col ${g.OH * g.OW} × ${g.KH * g.KW * g.C}, gemm)`
            : ` ${l.kind === 'maxPool' ? 'max' : 'average'} pool ${g.KH}×${g.KW}`;
      const act = l.pre !== null ? ` ${l.activation.name} (act${l.index} / dact${l.index})` : '';
      return `;;   layer ${l.index}:${what} ${l.inputs} → ${l.units}${l.relu ? ' relu' : ''}${act}`;
    })
    .join('\n');
  return [
    `;; ${c.spec.name}: ${plan.bytes.length} bytes, ${plan.precision}, chunks of ${CHUNK} samples, scratch ${plan.scratchEnd} bytes`,
    layers,
    plan.wasmHead
      ? `;; the last activation and the loss (the head): headf / headg, their programs rendered from the loop IR (head_fwd, head_grad)`
      : `;; the last activation and the loss run in JavaScript (the head: ${plan.headRefusal})`,
    moduleText(plan.functions, plan.pages),
  ].join('\n');
}

/** A model the layer plan refuses: its whole per-sample programs (what `"backend": "wasm"`
 * compiles, whole.ts), or why it has none. */
function describeWhole(c: Compilation, refusal: string): string {
  const head = `;; no layer plan for ${c.spec.name}: ${refusal}`;
  const { schedules, batch } = schedule(c);
  const why = batch.phased
    ? 'training mode computes batch statistics'
    : batch.seed
      ? 'training mode draws dropout masks'
      : null;
  const plan = why
    ? { refusal: why }
    : planWhole(c, { forward: schedules.forward, gradient: batch.gradient.sample });
  if ('refusal' in plan) return `${head}\n;; no WebAssembly: ${plan.refusal}\n`;
  return [
    head,
    `;; with "backend": "wasm": whole per-sample programs from the loop IR, ${plan.bytes.length} bytes, ${plan.precision}, scratch ${plan.scratchEnd} bytes`,
    `;; fb / gb loop over the samples; fwd and grad are the forward and gradient programs, one function per step`,
    moduleText(plan.functions, plan.pages),
  ].join('\n');
}

/** The module as WAT: its memory import and every function, indented. */
function moduleText(functions: readonly WasmFunction[], pages: number): string {
  const names = functions.map((f) => f.name);
  const body = functions.map((f) =>
    printWat(f, names)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  return [
    '(module',
    `  (import "env" "memory" (memory ${pages} ${MAX_PAGES} shared))`,
    ...body,
    ')',
    '',
  ].join('\n');
}
