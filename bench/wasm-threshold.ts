// `npm run bench:wasm`: where the WebAssembly backend starts to pay, measured to set the cost
// rule (MIN_MACS in compiler/backends/wasm/plan.ts) and to check that `auto` is never slower
// than JS. The same model compiled for both backends (wasm with the cost rule off), f32 and
// f64, training step (gradientBatch + SGD) and inference (forwardBatch), all series of one
// model interleaved in one process; medians and the js ÷ wasm ratio (> 1: wasm faster).
//
//   npm run bench:wasm                  the sweep (a few minutes)
//   npm run bench:wasm -- --quick       short smoke run
//   npm run bench:wasm -- --auto        also the examples compiled with `auto` against `js`
//   npm run bench:wasm -- --auto --no-sweep   only those

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { MIN_MACS, wasmRefusal } from '../compiler/backends/wasm/plan.ts';
import { importCompiled } from '../compiler/cli/load.ts';
import { validateModel } from '../compiler/format/parse.ts';
import type { ModelSpec } from '../compiler/format/model.ts';
import { compileSpec } from '../compiler/pipeline.ts';
import type { FloatArray, GeneratedModule } from '../runtime/types.ts';
import { rng } from './models.ts';
import { measureInterleaved, type Series, type TimingOptions } from './timing.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    auto: { type: 'boolean', default: false },
    'no-sweep': { type: 'boolean', default: false },
  },
});

const TIMING: TimingOptions = args.quick
  ? { warmupMs: 200, budgetMs: 300, minRounds: 5, maxRounds: 60, blockMs: 1 }
  : { warmupMs: 500, budgetMs: 2500, minRounds: 21, maxRounds: 400, blockMs: 2 };

interface Row {
  readonly label: string;
  readonly model: Record<string, unknown>;
  readonly batch: number;
}

const dense = (sizes: readonly number[], hidden = 'relu') => ({
  name: `mlp-${sizes.join('-')}`,
  input: sizes[0],
  layers: sizes.slice(1).map((units, i) => ({
    type: 'dense',
    units,
    activation: i === sizes.length - 2 ? 'softmax' : hidden,
  })),
  loss: 'categoricalCrossEntropy',
});

const example = (name: string) =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../examples/${name}.model.json`, import.meta.url)), 'utf8'),
  ) as Record<string, unknown>;

/** The bench's small rows and 784-128-10, and sizes between them to find the crossover. */
const SWEEP: readonly Row[] = [
  { label: 'xor 2-8-1 b1', model: example('xor'), batch: 1 },
  { label: 'xor 2-8-1 b4', model: example('xor'), batch: 4 },
  { label: 'xor 2-8-1 b32', model: example('xor'), batch: 32 },
  { label: 'iris 4-16-16-3 b1', model: example('iris'), batch: 1 },
  { label: 'iris 4-16-16-3 b16', model: example('iris'), batch: 16 },
  { label: 'sine 1-32-32-1 b1', model: example('sine'), batch: 1 },
  { label: 'sine 1-32-32-1 b32', model: example('sine'), batch: 32 },
  ...[
    [4, 8, 3],
    [8, 8, 3],
    [8, 16, 3],
  ].flatMap((s) =>
    [1, 16].map((batch) => ({ label: `${s.join('-')} b${batch}`, model: dense(s), batch })),
  ),
  ...[
    [16, 32, 4],
    [32, 64, 10],
    [64, 64, 10],
    [64, 128, 10],
    [128, 128, 10],
    [256, 128, 10],
  ].map((s) => ({ label: `${s.join('-')} b32`, model: dense(s), batch: 32 })),
  { label: 'mnist 784-128-10 b32', model: example('mnist-mlp'), batch: 32 },
];

/** The cost rule's measure for a dense stack (a model with a convolution goes to wasm). */
const maxMacs = (s: ModelSpec) =>
  s.layers.every((l) => l.type === 'dense')
    ? String(Math.max(...s.layers.map((l) => l.inputShape[0]! * l.units)))
    : 'conv';

async function module(
  spec: ModelSpec,
  backend: 'js' | 'wasm' | 'auto',
  costRule: boolean,
): Promise<Required<GeneratedModule>> {
  const compiled = compileSpec(
    { ...spec, backend },
    { format: 'js', source: `${spec.name}.model.json`, wasmCostRule: costRule },
  );
  return (await importCompiled(compiled)) as Required<GeneratedModule>;
}

/** Training-step and inference series for one module on seeded data. */
function series(key: string, m: Required<GeneratedModule>, batch: number, seed: number): Series[] {
  const info = m.model;
  const make = (n: number): FloatArray => m.alloc(n);
  const params = make(info.paramCount);
  const initial = make(info.paramCount);
  const grad = make(info.paramCount);
  const inputs = make(batch * info.inputSize);
  const targets = make(batch * info.outputSize);
  const outputs = make(batch * info.outputSize);
  const work = make(info.workSize);
  const r = rng(seed);
  for (let k = 0; k < initial.length; k++) initial[k] = (r() * 2 - 1) * 0.1;
  for (let k = 0; k < inputs.length; k++) inputs[k] = r() * 2 - 1;
  for (let s = 0; s < batch; s++)
    targets[s * info.outputSize + Math.floor(r() * info.outputSize)] = 1;
  const sink = new Float64Array(1);
  const reset = () => params.set(initial);
  return [
    {
      key: `${key} train`,
      reset,
      run: () => {
        sink[0] = m.gradientBatch(params, inputs, targets, batch, grad, work);
        for (let k = 0; k < params.length; k++) params[k] -= 0.01 * grad[k]!;
      },
    },
    { key: `${key} infer`, reset, run: () => m.forwardBatch(params, inputs, outputs, batch, work) },
  ];
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

const fmt = (us: number) => (us < 100 ? us.toFixed(1) : us.toFixed(0));

async function compare(
  label: string,
  json: Record<string, unknown>,
  batch: number,
  a: 'js' | 'auto',
  b: 'wasm' | 'auto',
  costRule: boolean,
): Promise<void> {
  for (const precision of ['f32', 'f64'] as const) {
    const spec = await validateModel({ ...json, precision }, `${label}.model.json`);
    const refusal = wasmRefusal(spec, costRule);
    if (b === 'wasm' && refusal) {
      log(`| ${label} | ${precision} | – | – | – | – | – | – | stays on JS: ${refusal} |`);
      continue;
    }
    const ma = await module(spec, a, costRule);
    const mb = await module(spec, b, costRule);
    const onWasm = String(mb.forwardBatch).includes('wasmKernels');
    const stats = await measureInterleaved(
      [...series(a, ma, batch, 5), ...series(b, mb, batch, 5)],
      TIMING,
    );
    const us = (k: string) => stats.get(k)!.medianUs;
    const t = [us(`${a} train`), us(`${b} train`), us(`${a} infer`), us(`${b} infer`)];
    log(
      `| ${label} | ${precision} | ${maxMacs(spec)} | ${fmt(t[0]!)} | ${fmt(t[1]!)} | ${(t[0]! / t[1]!).toFixed(2)} | ${fmt(t[2]!)} | ${fmt(t[3]!)} | ${(t[2]! / t[3]!).toFixed(2)}${b === 'auto' ? ` (auto → ${onWasm ? 'wasm' : 'js'})` : ''} |`,
    );
  }
}

log(`Node ${process.version}, ${args.quick ? 'quick' : 'full'} timing; MIN_MACS = ${MIN_MACS}`);
log('');
log('js vs wasm (cost rule off), µs per call, ratio = js ÷ wasm');
log('');
log(
  '| model | precision | max MACs/sample | js train | wasm train | ratio | js infer | wasm infer | ratio |',
);
log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
if (!args['no-sweep'])
  for (const row of SWEEP) await compare(row.label, row.model, row.batch, 'js', 'wasm', false);

if (args.auto) {
  log('');
  log('js vs auto (cost rule on) on the examples, µs per call, ratio = js ÷ auto');
  log('');
  log(
    '| model | precision | max MACs/sample | js train | auto train | ratio | js infer | auto infer | ratio |',
  );
  log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  const rows: Row[] = ['xor', 'iris', 'sine', 'mnist-mlp', 'mnist-cnn'].flatMap((name) =>
    [1, 16, 32].map((batch) => ({ label: `${name} b${batch}`, model: example(name), batch })),
  );
  for (const row of rows) await compare(row.label, row.model, row.batch, 'js', 'auto', true);
}
