// Trains examples/ink-lstm.model.json on the MNIST ink series (examples/ink/series.ts) and
// reports held-out RMSE against the persistence forecast.
//   npm run example:ink        the full run (the README's numbers)
// The test suite runs a short slice (test/train/ink.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adam, initParams, predict, train } from '@gradc/runtime';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { loadInk, persistence, rmse } from './series.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODEL_FILE = path.join(HERE, '..', 'ink-lstm.model.json');

export interface InkResult {
  readonly trainCount: number;
  readonly testCount: number;
  readonly lstmRmse: number;
  readonly persistenceRmse: number;
  readonly ms: number;
}

export async function trainInk(o: {
  epochs: number;
  trainDigits: number;
  testDigits: number;
}): Promise<InkResult> {
  const mod = evaluateCompiled(
    await compileModel(JSON.parse(fs.readFileSync(MODEL_FILE, 'utf8')) as ModelInput, {
      format: 'js',
      source: 'ink-lstm.model.json',
    }),
  );
  await mod.init?.();
  const { train: data, test } = loadInk(o.trainDigits, o.testDigits);
  const params = initParams(mod.model, { seed: 1 });
  const t0 = performance.now();
  train(mod, params, data, {
    epochs: o.epochs,
    batchSize: 32,
    optimizer: adam({ lr: 0.003 }),
    seed: 1,
    diagnostics: false,
  });
  const ms = performance.now() - t0;
  const out = predict(mod, params, test.inputs, test.count);
  return {
    trainCount: data.count,
    testCount: test.count,
    lstmRmse: rmse(test, (r) => out[r]!),
    persistenceRmse: rmse(test, persistence(test)),
    ms,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const r = await trainInk({ epochs: 10, trainDigits: 4000, testDigits: 1000 });
  console.log(
    `ink: ${r.trainCount} training / ${r.testCount} held-out windows, 10 epochs (${(r.ms / 1000).toFixed(1)} s)`,
  );
  console.log(`  LSTM (ink-lstm.model.json)  RMSE ${r.lstmRmse.toFixed(4)}`);
  console.log(`  persistence                 RMSE ${r.persistenceRmse.toFixed(4)}`);
}
