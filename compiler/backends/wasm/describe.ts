// `gradc inspect --after wasm`: the WebAssembly kernels as text, or why the model stays on JS.
import type { Compilation } from '../../frontend/model.ts';
import { printWat } from './encode.ts';
import { CHUNK, MAX_PAGES, planWasm, wasmRefusal } from './plan.ts';

export function describeWasm(c: Compilation): string {
  const refusal = wasmRefusal(c.spec);
  if (refusal) return `;; no WebAssembly for ${c.spec.name}: ${refusal}\n`;
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
  const names = plan.functions.map((f) => f.name);
  return [
    `;; ${c.spec.name}: ${plan.bytes.length} bytes, ${plan.precision}, chunks of ${CHUNK} samples, scratch ${plan.scratchEnd} bytes`,
    layers,
    plan.wasmHead
      ? `;; the last activation and the loss (the head): headf / headg, their programs rendered from the loop IR (head_fwd, head_grad)`
      : `;; the last activation and the loss run in JavaScript (the head: ${plan.headRefusal})`,
    '(module',
    `  (import "env" "memory" (memory ${plan.pages} ${MAX_PAGES} shared))`,
    ...plan.functions.map((f) =>
      printWat(f, names)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    ),
    ')',
    '',
  ].join('\n');
}
