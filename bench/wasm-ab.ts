// Old vs new WebAssembly backend on one model, side by side in one process: the training step
// (gradientBatch + the module's sgd) and inference, interleaved rounds, medians. The old
// compiler is another checkout's sources (e.g. `git archive main compiler runtime | tar -x -C
// /tmp/gradc-old`, with node_modules linked in), imported beside this one's.
//
//   npx tsx bench/wasm-ab.ts [--old DIR] [--model examples/mnist-mlp.model.json]
//                            [--precision f32] [--batch 32] [--rounds 41]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FloatArray, GeneratedModule } from '../runtime/types.ts';
import { measureInterleaved, type Series } from './timing.ts';

const { values: args } = parseArgs({
  options: {
    old: { type: 'string', default: '/tmp/gradc-old' },
    model: { type: 'string', default: 'examples/mnist-mlp.model.json' },
    precision: { type: 'string', default: 'f32' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '41' },
  },
});

type Compile = (input: unknown, options: Record<string, unknown>) => Promise<unknown>;
type Import = (compiled: unknown) => Promise<unknown>;

async function compilerAt(dir: string): Promise<{ compile: Compile; load: Import }> {
  const index = (await import(pathToFileURL(path.join(dir, 'compiler/index.ts')).href)) as {
    compileModel: Compile;
  };
  const load = (await import(pathToFileURL(path.join(dir, 'compiler/cli/load.ts')).href)) as {
    importCompiled: Import;
  };
  return { compile: index.compileModel, load: load.importCompiled };
}

const json = JSON.parse(readFileSync(args.model, 'utf8')) as Record<string, unknown>;
const precision = args.precision as 'f32' | 'f64';
const B = Number(args.batch);

interface Step {
  readonly name: string;
  readonly train: () => void;
  readonly infer: () => void;
  readonly reset: () => void;
  readonly grad: () => FloatArray;
  readonly loss: () => number;
}

async function prepare(name: string, dir: string): Promise<Step> {
  const { compile, load } = await compilerAt(dir);
  const compiled = await compile(
    { ...json, precision },
    { format: 'js', source: path.basename(args.model), backend: 'wasm' },
  );
  const mod = (await load(compiled)) as GeneratedModule & {
    alloc: (n: number) => FloatArray;
    sgd: (p: FloatArray, g: FloatArray, lr: number) => void;
  };
  const info = mod.model;
  const I = info.inputSize;
  const O = info.outputSize;
  const P = info.paramCount;
  const params = mod.alloc(P);
  const initial = new Float64Array(P);
  for (let i = 0; i < P; i++) initial[i] = Math.fround(Math.sin(i * 1.7) * 0.05);
  const grad = mod.alloc(P);
  const work = mod.alloc(info.workSize);
  const inputs = mod.alloc(B * I);
  const targets = mod.alloc(B * O);
  const outputs = mod.alloc(B * O);
  for (let i = 0; i < B * I; i++) inputs[i] = Math.fround(Math.abs(Math.cos(i * 0.37)));
  for (let s = 0; s < B; s++) targets[s * O + (s % O)] = 1;
  const sink = new Float64Array(1);
  const gb = mod.gradientBatch!;
  const fb = mod.forwardBatch!;
  return {
    name,
    train: () => {
      sink[0] = gb(params, inputs, targets, B, grad, work);
      mod.sgd(params, grad, 0.05);
    },
    infer: () => fb(params, inputs, outputs, B, work),
    reset: () => params.set(initial),
    grad: () => {
      params.set(initial);
      sink[0] = gb(params, inputs, targets, B, grad, work);
      return grad.slice();
    },
    loss: () => sink[0]!,
  };
}

const steps = [await prepare('old', args.old), await prepare('new', process.cwd())];
// The two must agree (bit for bit when the summation order is unchanged).
const [ga, gbNew] = steps.map((s) => s.grad());
let maxDiff = 0;
let maxAbs = 0;
for (let i = 0; i < ga!.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(ga![i]! - gbNew![i]!));
  maxAbs = Math.max(maxAbs, Math.abs(ga![i]!));
}
console.log(
  `gradients: max |old − new| ${maxDiff.toExponential(2)} (max |old| ${maxAbs.toExponential(2)})${maxDiff === 0 ? ', identical' : ''}`,
);
const rounds = Number(args.rounds);
const series: Series[] = steps.flatMap((s) => [
  { key: `${s.name} train`, reset: s.reset, run: s.train },
  { key: `${s.name} infer`, reset: s.reset, run: s.infer },
]);
const stats = await measureInterleaved(series, {
  warmupMs: 500,
  budgetMs: 0,
  minRounds: rounds,
  maxRounds: rounds,
  blockMs: 3,
});
for (const op of ['train', 'infer']) {
  const o = stats.get(`old ${op}`)!;
  const n = stats.get(`new ${op}`)!;
  console.log(
    `${op.padEnd(6)} old ${o.medianUs.toFixed(1).padStart(7)} µs [${o.p25Us.toFixed(0)}–${o.p75Us.toFixed(0)}]` +
      `  new ${n.medianUs.toFixed(1).padStart(7)} µs [${n.p25Us.toFixed(0)}–${n.p75Us.toFixed(0)}]` +
      `  old/new ${(o.medianUs / n.medianUs).toFixed(3)}× (${rounds} rounds, ${precision}, batch ${B})`,
  );
}
