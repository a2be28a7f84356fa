// The wasm cost rule for convolutions, measured: small conv nets (s×s×1 → conv2d f 3×3 same
// relu → flatten → dense 10 softmax, f32, batch 32) on the JS and the wasm backend, side by
// side in one process, the fastest of several rounds each (the machine is shared).
// `npx tsx bench/wasm-cost-rule.ts`
import { importCompiled } from '../compiler/cli/load.ts';
import { validateModel } from '../compiler/format/parse.ts';
import { compileSpec } from '../compiler/pipeline.ts';
import type { GeneratedModule } from '../runtime/types.ts';

const SIZES: [number, number][] = [
  [4, 1],
  [6, 2],
  [8, 4],
  [8, 8],
  [12, 8],
  [16, 8],
];
const B = 32;

async function build(s: number, f: number, backend: 'js' | 'wasm') {
  const model = {
    name: `conv-${s}-${f}`,
    input: [s, s, 1],
    precision: 'f32',
    layers: [
      { type: 'conv2d', filters: f, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'flatten' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
    loss: 'categoricalCrossEntropy',
  };
  const spec = await validateModel(model as never, 'm.json');
  const compiled = compileSpec(
    { ...spec, backend },
    { format: 'js', source: 'm.json', wasmCostRule: false },
  );
  return (await importCompiled(compiled)) as Required<GeneratedModule>;
}

function best(run: () => void): number {
  for (let i = 0; i < 200; i++) run();
  let min = Infinity;
  for (let r = 0; r < 20; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) run();
    min = Math.min(min, ((performance.now() - t0) / 20) * 1000);
  }
  return min;
}

console.log(
  'input  filters  MACs/sample (conv)  train JS µs  train wasm µs  infer JS µs  infer wasm µs',
);
for (const [s, f] of SIZES) {
  const mods = { js: await build(s, f, 'js'), wasm: await build(s, f, 'wasm') };
  const times: Record<string, number> = {};
  for (const [name, m] of Object.entries(mods)) {
    const M = m.model;
    const p = m.alloc(M.paramCount);
    for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.1;
    const x = m.alloc(B * M.inputSize);
    for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.37);
    const t = new Float32Array(B * M.outputSize);
    for (let i = 0; i < B; i++) t[i * M.outputSize + (i % M.outputSize)] = 1;
    const g = m.alloc(M.paramCount);
    const o = new Float32Array(B * M.outputSize);
    const w = new Float32Array(M.workSize);
    times[`train ${name}`] = best(() => m.gradientBatch(p, x, t, B, g, w));
    times[`infer ${name}`] = best(() => m.forwardBatch(p, x, o, B, w));
  }
  const fmt = (v: number) => v.toFixed(1).padStart(12);
  console.log(
    `${`${s}×${s}`.padEnd(7)}${String(f).padStart(7)}${String(s * s * 9 * f).padStart(20)}` +
      `${fmt(times['train js']!)}${fmt(times['train wasm']!)}${fmt(times['infer js']!)}${fmt(times['infer wasm']!)}`,
  );
}
