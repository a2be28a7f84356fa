// `gradc inspect --after wasm`: the WebAssembly kernels as text, or why the model stays on JS.
import type { Compilation } from '../../frontend/model.ts';
import { printWat } from './encode.ts';
import { CHUNK, MAX_PAGES, planWasm, wasmRefusal } from './plan.ts';

export function describeWasm(c: Compilation): string {
  const refusal = wasmRefusal(c.spec);
  if (refusal) return `;; no WebAssembly for ${c.spec.name}: ${refusal}\n`;
  const plan = planWasm(c);
  const layers = plan.layers
    .map(
      (l) =>
        `;;   layer ${l.index}: ${l.inputs} → ${l.units}${l.relu ? ' relu' : ''}${l.pre !== null ? ` ${c.spec.layers[l.index]!.activation.name} (act${l.index} / dact${l.index})` : ''}`,
    )
    .join('\n');
  return [
    `;; ${c.spec.name}: ${plan.bytes.length} bytes, ${plan.precision}, chunks of ${CHUNK} samples, scratch ${plan.scratchEnd} bytes`,
    layers,
    `;; the last activation and the loss run in JavaScript (the head)`,
    '(module',
    `  (import "env" "memory" (memory ${plan.pages} ${MAX_PAGES} shared))`,
    ...plan.functions.map((f) =>
      printWat(f)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    ),
    ')',
    '',
  ].join('\n');
}
