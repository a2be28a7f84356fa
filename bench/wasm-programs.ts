// Whole per-sample programs on WebAssembly (backends/wasm/whole.ts, `"backend": "wasm"`)
// against the JS backend, for the examples the layer plan does not take: gradientBatch and
// forwardBatch at batch 32, both modules compiled from the same model, interleaved in one
// process, medians of 15 rounds. Ratio = JS time ÷ wasm time (> 1: wasm is faster).
//   npx tsx bench/wasm-programs.ts
import fs from 'node:fs';
import { evaluateCompiled } from '../compiler/cli/load.ts';
import { validateModel } from '../compiler/format/parse.ts';
import { compileSpec } from '../compiler/pipeline.ts';
import type { GeneratedModule } from '../runtime/types.ts';

type Batched = Required<GeneratedModule>;
const MODELS = ['names-gru', 'ink-lstm', 'residual-mlp', 'two-input'];
const N = 32;

async function load(file: string, precision: 'f32' | 'f64', backend: 'js' | 'wasm') {
  const spec = await validateModel(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  const c = compileSpec({ ...spec, precision, backend }, { format: 'js', source: file });
  const m = evaluateCompiled(c) as Batched;
  await m.init();
  return m;
}

function inputsFor(m: Batched) {
  const M = m.model;
  const p = m.alloc(M.paramCount);
  const x = m.alloc(N * M.inputSize);
  const t = m.alloc(N * M.outputSize);
  const o = m.alloc(N * M.outputSize);
  const g = m.alloc(M.paramCount);
  for (let i = 0; i < p.length; i++) p[i] = Math.sin(i) * 0.1;
  for (let i = 0; i < x.length; i++) x[i] = ((i * 37) % 11) / 11;
  for (let i = 0; i < t.length; i++) t[i] = i % M.outputSize === 0 ? 1 : 0;
  const work = new (M.precision === 'f32' ? Float32Array : Float64Array)(M.workSize);
  return { p, x, t, o, g, work };
}

const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

console.log(
  '| model | precision | train JS µs | train wasm µs | JS ÷ wasm | infer JS µs | infer wasm µs | JS ÷ wasm |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const name of MODELS) {
  for (const precision of ['f64', 'f32'] as const) {
    const file = `examples/${name}.model.json`;
    const mods = [await load(file, precision, 'js'), await load(file, precision, 'wasm')];
    const d = mods.map(inputsFor);
    const train = (k: number) =>
      mods[k]!.gradientBatch(d[k]!.p, d[k]!.x, d[k]!.t, N, d[k]!.g, d[k]!.work);
    const infer = (k: number) => mods[k]!.forwardBatch(d[k]!.p, d[k]!.x, d[k]!.o, N, d[k]!.work);
    const row: string[] = [name, precision];
    for (const f of [train, infer]) {
      const times: [number[], number[]] = [[], []];
      for (let r = 0; r < 15; r++)
        for (const k of r % 2 ? [0, 1] : [1, 0]) {
          const t0 = performance.now();
          let it = 0;
          while (performance.now() - t0 < 50) {
            f(k);
            it++;
          }
          times[k as 0 | 1].push(((performance.now() - t0) / it) * 1000);
        }
      const [js, wasm] = [med(times[0]), med(times[1])];
      row.push(js.toFixed(1), wasm.toFixed(1), `${(js / wasm).toFixed(2)}×`);
    }
    console.log(`| ${row.join(' | ')} |`);
  }
}
