// The recurrent benchmark (issue 11): LSTM over 20 steps × 8 features, 32 units, then dense 1
// sigmoid, binary cross-entropy, batch 16. One training step (batch-mean gradient and a plain
// SGD update) and one batch of inference, gradc (f64 and f32 in the cost rule's form, looped
// over time; f64 forced unrolled, side by side) against TF.js Layers on its cpu
// and wasm backends (the tf.sequential model a TF.js user writes, optimizer.minimize), all
// from the same weights and data. Timed interleaved (bench/timing.ts); medians.
//   npm run bench:lstm           prints the table and writes bench/lstm-results.json
// brain.js is not a row: its recurrent nets (brain.recurrent.LSTMTimeStep) have no sigmoid
// classifier head and no cross-entropy loss, so they cannot express this model.
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

const STEPS = 20;
const FEATURES = 8;
const UNITS = 32;
const BATCH = 16;
const LR = 0.01;

export const LSTM_MODEL = {
  name: 'bench-lstm',
  input: [STEPS, FEATURES],
  layers: [
    { type: 'lstm', units: UNITS },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
  loss: 'binaryCrossEntropy',
};

/** The model with its LSTM forced to one time form (TF.js's `unroll`). */
function withUnroll(unroll: boolean) {
  const [cell, head] = LSTM_MODEL.layers;
  return { ...LSTM_MODEL, layers: [{ ...cell, unroll }, head] };
}

async function gradcSeries(
  precision: 'f64' | 'f32',
  params0: Float64Array,
  inputs: Float64Array,
  targets: Float64Array,
  unroll?: boolean,
): Promise<{ train: Series; infer: Series; compileMs: number; codeBytes: number }> {
  const t0 = performance.now();
  const model = unroll === undefined ? LSTM_MODEL : withUnroll(unroll);
  const compiled = await compileModel({ ...model, precision } as unknown as ModelInput, {
    format: 'js',
    source: 'bench-lstm.model.json',
  });
  const compileMs = performance.now() - t0;
  const mod = evaluateCompiled(compiled);
  const F = precision === 'f32' ? Float32Array : Float64Array;
  const params = F.from(params0);
  const x = F.from(inputs);
  const t = F.from(targets);
  const grad = new F(mod.model.paramCount);
  const work = new F(mod.model.workSize);
  const out = new F(BATCH);
  const reset = () => params.set(params0);
  const name = `gradc ${precision}${unroll === true ? ' unrolled' : ''}`;
  return {
    compileMs,
    codeBytes: compiled.code.length,
    train: {
      key: `${name} train`,
      reset,
      run: () => {
        grad.fill(0);
        mod.gradientBatch!(params, x, t, BATCH, grad, work);
        for (let i = 0; i < params.length; i++) params[i] = params[i]! - LR * grad[i]!;
      },
    },
    infer: {
      key: `${name} infer`,
      run: () => mod.forwardBatch!(params, x, out, BATCH, work),
    },
  };
}

async function tfjsSeries(
  backend: 'cpu' | 'wasm',
  params0: Float64Array,
  inputs: Float64Array,
  targets: Float64Array,
): Promise<{ train: Series; infer: Series }> {
  const tf = await loadTf();
  await tf.setBackend(backend);
  const tfl = await import('@tensorflow/tfjs-layers');
  const model = tfl.sequential();
  // Weights are set below; zeros avoid TF.js's orthogonal initializer, which needs tensor
  // methods this tfjs-core bundle does not install.
  model.add(
    tfl.layers.lstm({
      units: UNITS,
      inputShape: [STEPS, FEATURES],
      kernelInitializer: 'zeros',
      recurrentInitializer: 'zeros',
    }),
  );
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
    model.setWeights(ws);
    tf.dispose(ws);
  };
  load();
  const x = tf.tensor3d(Float32Array.from(inputs), [BATCH, STEPS, FEATURES]);
  const t = tf.tensor2d(Float32Array.from(targets), [BATCH, 1]);
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

async function main(): Promise<void> {
  // The machine is shared: the load is part of what a run measured.
  const loadAtStart = os.loadavg();
  const r = rng(11);
  const gradcF64 = await compileModel(LSTM_MODEL as unknown as ModelInput, {
    format: 'js',
    source: 'bench-lstm.model.json',
  });
  const paramCount = evaluateCompiled(gradcF64).model.paramCount;
  const params0 = Float64Array.from({ length: paramCount }, () => Math.fround((r() - 0.5) * 0.3));
  const inputs = Float64Array.from({ length: BATCH * STEPS * FEATURES }, () => Math.fround(r()));
  const targets = Float64Array.from({ length: BATCH }, () => (r() < 0.5 ? 0 : 1));
  const f64 = await gradcSeries('f64', params0, inputs, targets);
  const f32 = await gradcSeries('f32', params0, inputs, targets);
  // The same model unrolled over time, side by side with the cost rule's choice (a loop).
  const unrolled = await gradcSeries('f64', params0, inputs, targets, true);
  const cpu = await tfjsSeries('cpu', params0, inputs, targets);
  const wasm = await tfjsSeries('wasm', params0, inputs, targets);
  const options = { warmupMs: 1500, budgetMs: 8000, minRounds: 5, maxRounds: 40, blockMs: 200 };
  const all = [f64, f32, unrolled, cpu, wasm];
  const train = await measureInterleaved(
    all.map((s) => s.train),
    options,
  );
  const infer = await measureInterleaved(
    all.map((s) => s.infer),
    options,
  );
  const ms = (us: number) => (us / 1000).toFixed(2);
  const rows: Record<string, { trainMs: number; inferMs: number }> = {};
  for (const name of ['gradc f64', 'gradc f32', 'gradc f64 unrolled', 'TF.js cpu', 'TF.js wasm']) {
    rows[name] = {
      trainMs: train.get(`${name} train`)!.medianUs / 1000,
      inferMs: infer.get(`${name} infer`)!.medianUs / 1000,
    };
  }
  console.log(
    `LSTM ${STEPS}×${FEATURES} → ${UNITS} units → dense 1 sigmoid, BCE, batch ${BATCH} (median ms)`,
  );
  console.log('implementation   train step   inference');
  for (const [name, v] of Object.entries(rows))
    console.log(
      `${name.padEnd(16)} ${ms(v.trainMs * 1000).padStart(10)}   ${ms(v.inferMs * 1000).padStart(9)}`,
    );
  const g = rows['gradc f64']!;
  console.log(
    `gradc f64: training ${(rows['TF.js cpu']!.trainMs / g.trainMs).toFixed(1)}× TF.js cpu, ${(rows['TF.js wasm']!.trainMs / g.trainMs).toFixed(1)}× TF.js wasm; inference ${(rows['TF.js wasm']!.inferMs / g.inferMs).toFixed(1)}× TF.js wasm`,
  );
  console.log(
    `gradc compile ${f64.compileMs.toFixed(0)} ms, ${(f64.codeBytes / 1e6).toFixed(2)} MB of JavaScript (unrolled: ${unrolled.compileMs.toFixed(0)} ms, ${(unrolled.codeBytes / 1e6).toFixed(1)} MB)`,
  );
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  console.log(
    `load average (1 / 5 / 15 min): ${load(loadAtStart)} at the start, ${load(os.loadavg())} at the end`,
  );
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lstm-results.json');
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        model: LSTM_MODEL,
        batch: BATCH,
        medianMs: rows,
        codeBytes: { looped: f64.codeBytes, unrolled: unrolled.codeBytes },
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
