// Trains examples/names-gru.model.json on the first-names split and, on the same split, the
// baseline: logistic regression on character-bigram counts (one sigmoid unit over the
// bigram features, the same runtime, Adam and loss). Reports held-out accuracy for both.
//   npx tsx examples/names/train.ts            the full run (the README's numbers)
// The test suite runs a short slice of it (test/train/names.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adam,
  evaluate,
  initParams,
  train,
  type Dataset,
  type GeneratedModule,
} from '@gradc/runtime';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { BIGRAMS, encodeBigrams, encodeSequences, loadNames, type Name } from './data.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const MODEL_FILE = path.join(HERE, '..', 'names-gru.model.json');

export interface NamesRun {
  readonly epochs: number;
  /** Epochs of the baseline (default 60: one sigmoid unit converges long before, so the
   * comparison is against a fully trained baseline). */
  readonly baselineEpochs?: number;
  /** Use only the first `limit` training names (all held-out names are always scored). */
  readonly limit?: number;
  readonly seed?: number;
}

export interface NamesResult {
  readonly trainCount: number;
  readonly testCount: number;
  readonly dropped: number;
  readonly gruAccuracy: number;
  readonly baselineAccuracy: number;
  /** Share of the majority class in the held-out names. */
  readonly majority: number;
  readonly gruMs: number;
  readonly baselineMs: number;
}

async function compiled(json: ModelInput, source: string): Promise<GeneratedModule> {
  // `auto` puts the bigram model (a dense layer) on WebAssembly: instantiate it first.
  const mod = evaluateCompiled(await compileModel(json, { format: 'js', source }));
  await mod.init?.();
  return mod;
}

function fit(
  mod: GeneratedModule,
  data: Dataset,
  test: Dataset,
  epochs: number,
  lr: number,
  seed: number,
): { accuracy: number; ms: number } {
  const params = initParams(mod.model, { seed });
  const t0 = performance.now();
  train(mod, params, data, {
    epochs,
    batchSize: 32,
    optimizer: adam({ lr }),
    seed,
    diagnostics: false,
  });
  const ms = performance.now() - t0;
  return { accuracy: evaluate(mod, params, test).accuracy!, ms };
}

export async function trainNames(run: NamesRun): Promise<NamesResult> {
  const seed = run.seed ?? 1;
  const split = loadNames(seed);
  const trainNames: readonly Name[] = run.limit ? split.train.slice(0, run.limit) : split.train;
  const gru = await compiled(
    JSON.parse(fs.readFileSync(MODEL_FILE, 'utf8')) as ModelInput,
    'names-gru.model.json',
  );
  const logistic = await compiled(
    {
      name: 'names-bigram-logistic',
      input: BIGRAMS,
      layers: [{ type: 'dense', units: 1, activation: 'sigmoid' }],
      loss: 'binaryCrossEntropy',
    } as ModelInput,
    'names-bigram-logistic.model.json',
  );
  const g = fit(
    gru,
    encodeSequences(trainNames),
    encodeSequences(split.test),
    run.epochs,
    0.005,
    seed,
  );
  const b = fit(
    logistic,
    encodeBigrams(trainNames),
    encodeBigrams(split.test),
    run.baselineEpochs ?? 60,
    0.01,
    seed,
  );
  const females = split.test.filter((n) => n.female === 1).length;
  return {
    trainCount: trainNames.length,
    testCount: split.test.length,
    dropped: split.dropped,
    gruAccuracy: g.accuracy,
    baselineAccuracy: b.accuracy,
    majority: Math.max(females, split.test.length - females) / split.test.length,
    gruMs: g.ms,
    baselineMs: b.ms,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const epochs = Number(process.env.NAMES_EPOCHS ?? 15);
  const r = await trainNames({ epochs });
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(
    `names: ${r.trainCount} training / ${r.testCount} held-out names (${r.dropped} on both lists dropped), ${epochs} epochs`,
  );
  console.log(
    `  GRU (names-gru.model.json)        ${pct(r.gruAccuracy)}  (${(r.gruMs / 1000).toFixed(1)} s)`,
  );
  console.log(
    `  bigram logistic regression        ${pct(r.baselineAccuracy)}  (${(r.baselineMs / 1000).toFixed(1)} s)`,
  );
  console.log(`  majority class                    ${pct(r.majority)}`);
}
