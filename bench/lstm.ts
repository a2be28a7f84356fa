// The recurrent benchmark (issue 11): LSTM over 20 steps × 8 features, 32 units, then dense 1
// sigmoid, binary cross-entropy, batch 16; and the names GRU (12 steps × 27, 32 units, dense 1
// sigmoid, batch 32). One training step (batch-mean gradient and a plain SGD update) and one
// batch of inference, gradc (f64 and f32 in the cost rule's form, looped over time; the LSTM
// also forced unrolled, side by side) against TF.js Layers on its cpu and wasm backends (the
// tf.sequential model a TF.js user writes, optimizer.minimize), all from the same weights and
// data. TF.js has only the GRU's `resetAfter: false`, so the GRU rows compare that form (the
// TF.js default) like for like, beside a gradc row for the example's own `resetAfter: true`.
// Timed interleaved (bench/timing.ts); medians.
//   npm run bench:lstm           prints the tables and writes bench/lstm-results.json
// brain.js is not a row: its recurrent nets (brain.recurrent.LSTMTimeStep) have no sigmoid
// classifier head and no cross-entropy loss, so they cannot express these models.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { evaluateCompiled } from '../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../compiler/index.ts';
import { loadTf } from './peers/tfjs-loader.ts';
import { rng } from './models.ts';
import { measureInterleaved, type Series } from './timing.ts';

const LR = 0.01;
const UNITS = 32;

export const LSTM_MODEL: Model = {
  name: 'bench-lstm',
  input: [20, 8],
  layers: [
    { type: 'lstm', units: UNITS },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
  loss: 'binaryCrossEntropy',
};

/** examples/names-gru.model.json in TF.js's only GRU form (`resetAfter: false`). */
export const GRU_MODEL: Model = {
  name: 'bench-gru',
  input: [12, 27],
  layers: [
    { type: 'gru', units: UNITS, resetAfter: false },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
  loss: 'binaryCrossEntropy',
};

interface Model {
  readonly name: string;
  readonly input: readonly number[];
  readonly layers: readonly Record<string, unknown>[];
  readonly loss: string;
}

interface Case {
  readonly label: string;
  readonly model: Model;
  readonly batch: number;
  /** The same recurrent layer for TF.js (weights set from gradc's flat array after). */
  readonly tfLayer: 'lstm' | 'gru';
  /** Extra gradc-only rows: a name and the model it compiles. */
  readonly extra: readonly { readonly name: string; readonly model: Model }[];
}

const withLayer = (m: Model, patch: Record<string, unknown>): Model => {
  const [cell, head] = m.layers;
  return { ...m, layers: [{ ...cell!, ...patch }, head!] };
};

const CASES: readonly Case[] = [
  {
    label: 'LSTM 20×8 → 32 units → dense 1 sigmoid, BCE, batch 16',
    model: LSTM_MODEL,
    batch: 16,
    tfLayer: 'lstm',
    extra: [{ name: 'gradc f64 unrolled', model: withLayer(LSTM_MODEL, { unroll: true }) }],
  },
  {
    label: 'names GRU 12×27 → 32 units (resetAfter false) → dense 1 sigmoid, BCE, batch 32',
    model: GRU_MODEL,
    batch: 32,
    tfLayer: 'gru',
    extra: [
      {
        name: 'gradc f64 resetAfter true',
        model: withLayer(GRU_MODEL, { resetAfter: true }),
      },
    ],
  },
];

interface Data {
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
}

async function paramsFor(model: Model, seed: number): Promise<Float64Array> {
  const compiled = await compileModel(model as unknown as ModelInput, {
    format: 'js',
    source: `${model.name}.model.json`,
  });
  const r = rng(seed);
  const n = evaluateCompiled(compiled).model.paramCount;
  return Float64Array.from({ length: n }, () => Math.fround((r() - 0.5) * 0.3));
}

async function gradcSeries(
  name: string,
  model: Model,
  precision: 'f64' | 'f32',
  batch: number,
  params0: Float64Array,
  data: Data,
): Promise<{ train: Series; infer: Series; compileMs: number; codeBytes: number }> {
  const t0 = performance.now();
  const compiled = await compileModel({ ...model, precision } as unknown as ModelInput, {
    format: 'js',
    source: `${model.name}.model.json`,
  });
  const compileMs = performance.now() - t0;
  const mod = evaluateCompiled(compiled);
  await mod.init?.();
  const F = precision === 'f32' ? Float32Array : Float64Array;
  const params = F.from(params0);
  const x = F.from(data.inputs);
  const t = F.from(data.targets);
  const grad = new F(mod.model.paramCount);
  const work = new F(mod.model.workSize);
  const out = new F(batch);
  const reset = () => params.set(params0);
  return {
    compileMs,
    codeBytes: compiled.code.length,
    train: {
      key: `${name} train`,
      reset,
      run: () => {
        grad.fill(0);
        mod.gradientBatch!(params, x, t, batch, grad, work);
        for (let i = 0; i < params.length; i++) params[i] = params[i]! - LR * grad[i]!;
      },
    },
    infer: {
      key: `${name} infer`,
      run: () => mod.forwardBatch!(params, x, out, batch, work),
    },
  };
}

async function tfjsSeries(
  backend: 'cpu' | 'wasm',
  c: Case,
  params0: Float64Array,
  data: Data,
): Promise<{ train: Series; infer: Series }> {
  const tf = await loadTf();
  await tf.setBackend(backend);
  const tfl = await import('@tensorflow/tfjs-layers');
  const [steps, features] = c.model.input as [number, number];
  const model = tfl.sequential();
  // Weights are set below; zeros avoid TF.js's orthogonal initializer, which needs tensor
  // methods this tfjs-core bundle does not install.
  const cell = {
    units: UNITS,
    inputShape: [steps, features],
    kernelInitializer: 'zeros' as const,
    recurrentInitializer: 'zeros' as const,
  };
  model.add(c.tfLayer === 'lstm' ? tfl.layers.lstm(cell) : tfl.layers.gru(cell));
  model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid' }));
  const shapes = model.weights.map((w) => w.shape as number[]);
  const load = () => {
    let at = 0;
    const ws = shapes.map((s) => {
      const n = s.reduce((a, b) => a * b, 1);
      const w = tf.tensor(Float32Array.from(params0.subarray(at, at + n)), s);
      at += n;
      return w;
    });
    if (at !== params0.length)
      throw new Error(`${c.label}: TF.js has ${at} weights, gradc ${params0.length}`);
    model.setWeights(ws);
    tf.dispose(ws);
  };
  load();
  const x = tf.tensor3d(Float32Array.from(data.inputs), [c.batch, steps, features]);
  const t = tf.tensor2d(Float32Array.from(data.targets), [c.batch, 1]);
  const optimizer = tf.train.sgd(LR);
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const eps = 1e-7;
  // gradc's binaryCrossEntropy on sigmoid outputs, batch mean.
  const loss = (): Scalar =>
    tf.tidy(() => {
      const y = tf.clipByValue(model.apply(x) as Tensor, eps, 1 - eps);
      const l = tf.add(tf.mul(t, tf.log(y)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, y))));
      return tf.neg(tf.mean(l)) as Scalar;
    });
  const activate = async () => {
    await tf.setBackend(backend);
  };
  return {
    train: {
      key: `TF.js ${backend} train`,
      activate,
      reset: load,
      run: () => optimizer.minimize(loss, false, vars),
    },
    infer: {
      key: `TF.js ${backend} infer`,
      activate,
      run: () => {
        const y = model.predict(x) as Tensor;
        y.dataSync();
        y.dispose();
      },
    },
  };
}

interface CaseResult {
  readonly model: Model;
  readonly batch: number;
  readonly medianMs: Record<string, { trainMs: number; inferMs: number }>;
  readonly codeBytes: Record<string, number>;
}

async function runCase(c: Case, seed: number): Promise<CaseResult> {
  const r = rng(seed);
  const [steps, features] = c.model.input as [number, number];
  const data: Data = {
    inputs: Float64Array.from({ length: c.batch * steps * features }, () => Math.fround(r())),
    targets: Float64Array.from({ length: c.batch }, () => (r() < 0.5 ? 0 : 1)),
  };
  const params0 = await paramsFor(c.model, seed + 1);
  const series = [
    await gradcSeries('gradc f64', c.model, 'f64', c.batch, params0, data),
    await gradcSeries('gradc f32', c.model, 'f32', c.batch, params0, data),
  ];
  const names = ['gradc f64', 'gradc f32'];
  for (const e of c.extra) {
    // Same seed: the unrolled LSTM (same layout) gets the same weights.
    const p = await paramsFor(e.model, seed + 1);
    series.push(await gradcSeries(e.name, e.model, 'f64', c.batch, p, data));
    names.push(e.name);
  }
  const peers = [
    await tfjsSeries('cpu', c, params0, data),
    await tfjsSeries('wasm', c, params0, data),
  ];
  names.push('TF.js cpu', 'TF.js wasm');
  const all = [...series, ...peers];
  const options = { warmupMs: 1500, budgetMs: 8000, minRounds: 5, maxRounds: 40, blockMs: 200 };
  const train = await measureInterleaved(
    all.map((s) => s.train),
    options,
  );
  const infer = await measureInterleaved(
    all.map((s) => s.infer),
    options,
  );
  const rows: Record<string, { trainMs: number; inferMs: number }> = {};
  for (const name of names)
    rows[name] = {
      trainMs: train.get(`${name} train`)!.medianUs / 1000,
      inferMs: infer.get(`${name} infer`)!.medianUs / 1000,
    };
  const ms = (x: number) => x.toFixed(2);
  console.log(`${c.label} (median ms)`);
  console.log('implementation              train step   inference');
  for (const [name, v] of Object.entries(rows))
    console.log(`${name.padEnd(27)} ${ms(v.trainMs).padStart(10)}   ${ms(v.inferMs).padStart(9)}`);
  const g = rows['gradc f64']!;
  console.log(
    `gradc f64: training ${(rows['TF.js cpu']!.trainMs / g.trainMs).toFixed(1)}× TF.js cpu, ${(rows['TF.js wasm']!.trainMs / g.trainMs).toFixed(1)}× TF.js wasm; inference ${(rows['TF.js wasm']!.inferMs / g.inferMs).toFixed(1)}× TF.js wasm`,
  );
  const codeBytes: Record<string, number> = {};
  series.forEach((s, i) => (codeBytes[names[i]!] = s.codeBytes));
  console.log(
    `gradc compile ${series[0]!.compileMs.toFixed(0)} ms, ${(series[0]!.codeBytes / 1e6).toFixed(2)} MB of JavaScript\n`,
  );
  return { model: c.model, batch: c.batch, medianMs: rows, codeBytes };
}

async function main(): Promise<void> {
  // The machine is shared: the load is part of what a run measured.
  const loadAtStart = os.loadavg();
  const results: CaseResult[] = [];
  for (const [i, c] of CASES.entries()) results.push(await runCase(c, 11 + 10 * i));
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  console.log(
    `load average (1 / 5 / 15 min): ${load(loadAtStart)} at the start, ${load(os.loadavg())} at the end`,
  );
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lstm-results.json');
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        cases: results,
        loadAverage: { start: loadAtStart, end: os.loadavg() },
        node: process.version,
      },
      null,
      2,
    ) + '\n',
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
