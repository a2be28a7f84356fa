// batchNormalization and dropout beyond the TF.js oracle (test/oracle/gradc-layers.test.ts)
// and test/training-mode.test.ts: the parameter layout with non-trainable moving statistics,
// their initialization, that only the training step's own update moves them (the optimizer's
// weight decay and momentum never do), that weights files keep them, that `gradc check`
// passes on such a model and that `gradc train` trains it without notes.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTrain } from '../compiler/cli/train.ts';
import { DATA, tempDir, write } from './train/helpers.ts';
import { compileModel, type ModelInput } from '../compiler/index.ts';
import { runCheck } from '../compiler/cli/check.ts';
import { importCompiled } from '../compiler/cli/load.ts';
import { lcg } from '../compiler/cli/samples.ts';
import {
  adam,
  decodeWeights,
  encodeWeights,
  initParams,
  momentum,
  train,
  type GeneratedModule,
} from '../runtime/index.ts';

const bnModel = {
  input: 6,
  layers: [
    { type: 'dense', units: 5, activation: 'tanh' },
    { type: 'batchNormalization', momentum: 0.9 },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
  loss: 'categoricalCrossEntropy',
} as const satisfies ModelInput;

describe('batchNormalization and dropout', () => {
  it('lay out gamma, beta, movingMean, movingVariance with the moving statistics frozen', async () => {
    const mod = await importCompiled(await compileModel(bnModel, { format: 'js' }));
    const bn = mod.model.params.filter((p) => p.layer === 1);
    expect(bn.map((p) => [p.name, p.shape, p.trainable, p.init])).toEqual([
      ['batchNormalization0.gamma', [5], true, 'ones'],
      ['batchNormalization0.beta', [5], true, 'zeros'],
      ['batchNormalization0.movingMean', [5], false, 'zeros'],
      ['batchNormalization0.movingVariance', [5], false, 'ones'],
    ]);
    const params = initParams(mod.model, { seed: 1 });
    for (const p of bn) {
      const v = params.subarray(p.offset, p.offset + p.size);
      expect([...v]).toEqual(new Array(5).fill(p.init === 'ones' ? 1 : 0));
    }
    expect(mod.model.params.some((p) => p.layer === 2)).toBe(false);
  });

  it.each([
    [
      'sgd with momentum and weight decay',
      () => momentum({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 }),
    ],
    ['adamw', () => adam({ lr: 0.05, weightDecay: 0.1, decoupled: true })],
  ])(
    'training with %s moves gamma and beta; the moving statistics only by the step itself',
    async (_n, opt) => {
      const real = await importCompiled(await compileModel(bnModel, { format: 'js' }));
      const m = real.model;
      const stat = (w: string) => m.params.find((p) => p.name === `batchNormalization0.${w}`)!;
      const moving = [stat('movingMean'), stat('movingVariance')];
      const read = (params: ArrayLike<number>) =>
        moving.flatMap((p) => Array.from({ length: p.size }, (_, i) => params[p.offset + i]!));
      // What the last gradient / gradientBatch call wrote into the moving statistics.
      let written: number[] = [];
      // The array train() steps (a copy in the module's memory, written back per epoch).
      let live: ArrayLike<number> = [];
      const mod: GeneratedModule = {
        ...real,
        gradient: (params, ...rest) => {
          const loss = real.gradient(params, ...rest);
          written = read(params);
          live = params;
          return loss;
        },
        gradientBatch: (params, ...rest) => {
          const loss = real.gradientBatch!(params, ...rest);
          written = read(params);
          live = params;
          return loss;
        },
      };
      const params = initParams(m, { seed: 3 });
      const rnd = lcg(5);
      // Non-trivial moving statistics, as loaded from a TF.js model.
      for (const p of moving) for (let i = 0; i < p.size; i++) params[p.offset + i] = 0.5 + rnd();
      const before = Float64Array.from(params);
      const count = 16;
      const inputs = Float64Array.from({ length: count * 6 }, () => rnd() * 2 - 1);
      const targets = new Float64Array(count * 3);
      for (let s = 0; s < count; s++) targets[s * 3 + (s % 3)] = 1;
      let steps = 0;
      for (const batched of [true, false]) {
        train(
          mod,
          params,
          { inputs, targets, count },
          {
            epochs: 3,
            batchSize: 4,
            optimizer: opt(),
            useGradientBatch: batched,
            diagnostics: false,
            // After the optimizer's step: the statistics are what the entry point wrote.
            onBatchEnd: () => {
              steps++;
              expect(read(live)).toEqual(written);
            },
          },
        );
      }
      expect(steps).toBe(24);
      expect(read(params)).not.toEqual(read(before));
      for (const w of ['gamma', 'beta']) {
        const p = stat(w);
        const moved = params
          .subarray(p.offset, p.offset + p.size)
          .some((v, i) => v !== before[p.offset + i]);
        expect(moved, w).toBe(true);
      }
    },
  );

  it('weights files keep the non-trainable tensors', async () => {
    const mod = await importCompiled(await compileModel(bnModel, { format: 'js' }));
    const params = initParams(mod.model, { seed: 4 });
    params.forEach((_, i) => (params[i] = Math.fround(Math.sin(i + 1))));
    const back = decodeWeights(encodeWeights(mod.model, params), mod.model);
    expect([...back]).toEqual([...params]);
  });

  it('gradc check passes (f64 and f32)', async () => {
    for (const precision of ['f64', 'f32'] as const) {
      const compiled = await compileModel(
        { ...bnModel, precision, inputGradient: true },
        { format: 'js' },
      );
      const check = await runCheck(compiled, { samples: 2, seed: 7, maxParams: 200 });
      expect(check.ok, check.lines.join('\n')).toBe(true);
    }
  });

  it('gradc check passes on a wide f32 model (4-sample blocks, biases the mean cancels)', async () => {
    const wide = {
      input: 6,
      precision: 'f32',
      layers: [
        { type: 'dense', units: 70, activation: 'tanh' },
        { type: 'batchNormalization' },
        { type: 'dropout', rate: 0.3 },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
      loss: 'categoricalCrossEntropy',
    } as const satisfies ModelInput;
    const compiled = await compileModel(wide, { format: 'js' });
    expect(compiled.code).toMatch(/function gradientBatch_p1_block\(/);
    const check = await runCheck(compiled, { samples: 3, seed: 1, maxParams: 300 });
    expect(check.ok, check.lines.join('\n')).toBe(true);
  });
});

describe('gradc train on a model with batchNormalization and dropout', () => {
  it('trains them in training mode, without notes', async () => {
    const dir = tempDir();
    const model = write(dir, 'bn.model.json', JSON.stringify({ ...bnModel, input: 4 }));
    const err: string[] = [];
    await runTrain(
      {
        model,
        data: path.join(DATA, 'iris.csv'),
        label: 'species',
        out: path.join(dir, 'bn.weights'),
        epochs: 5,
        batch: 16,
        optimizer: 'adam',
        seed: 1,
        val: 0.2,
        normalize: true,
      },
      { out: () => {}, err: (s) => void err.push(s), tty: false },
    );
    const notes = err
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('gradc: note:'));
    expect(notes).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'bn.weights'))).toBe(true);
  });
});
