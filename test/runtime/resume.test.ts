// Optimizer state (saved for --resume), best weights without early stopping, class weights
// and the loss at initialization in the history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initParams } from '../../runtime/init.ts';
import { evaluate } from '../../runtime/metrics.ts';
import { adam, momentum, rmsprop, sgd, type Optimizer } from '../../runtime/optimizers.ts';
import { decodeOptimizerState, encodeOptimizerState } from '../../runtime/optimizer-state.ts';
import { loadOptimizerState, saveOptimizerState } from '../../runtime/weights-fs.ts';
import { train } from '../../runtime/train.ts';
import { blobs, classifierModule, sineData, regressionModule } from './fixtures/models.ts';

describe('optimizer state', () => {
  const module = classifierModule();
  const data = blobs(120);
  for (const make of [() => adam({ lr: 0.01 }), () => momentum(), () => rmsprop(), () => sgd()]) {
    it(`${make().name}: a run split in two with saved state equals one run`, () => {
      const steps = (opt: Optimizer, p: Float64Array, from: number, to: number) => {
        const g = new Float64Array(p.length);
        for (let s = from; s < to; s++) {
          for (let i = 0; i < g.length; i++) g[i] = Math.sin(i + s) * 0.1 + p[i]! * 0.01;
          opt.step(p, g);
        }
      };
      const a = initParams(module.model, { seed: 3 }) as Float64Array;
      const b = a.slice();
      const one = make();
      steps(one, a, 0, 20);
      const first = make();
      steps(first, b, 0, 10);
      const text = encodeOptimizerState(module.model, first.saveState!());
      const second = make();
      second.loadState!(decodeOptimizerState(text, module.model));
      expect(second.iterations).toBe(10);
      steps(second, b, 10, 20);
      expect(Array.from(b)).toEqual(Array.from(a));
    });
  }

  it('refuses state for another optimizer, layout or a damaged file', () => {
    const opt = adam();
    const p = initParams(module.model, { seed: 1 });
    opt.step(p, new Float64Array(p.length).fill(0.1));
    const text = encodeOptimizerState(module.model, opt.saveState!());
    expect(() => sgd().loadState!(decodeOptimizerState(text, module.model))).toThrow(
      /optimizer state is for adam, not sgd/,
    );
    expect(() => decodeOptimizerState(text, regressionModule().model)).toThrow(
      /different parameter layout/,
    );
    expect(() => decodeOptimizerState(text.replace('"v":[', '"v":[1,'), module.model)).toThrow(
      /buffer "v" must hold/,
    );
    expect(() => decodeOptimizerState('{', module.model)).toThrow(/does not parse/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-optstate-'));
    try {
      const file = path.join(dir, 'w.bin.optimizer.json');
      saveOptimizerState(file, module.model, opt.saveState!());
      expect(loadOptimizerState(file, module.model).iterations).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('train: initial loss, best weights, sample weights', () => {
  it('records the loss before the first update and restores the best epoch', () => {
    const module = classifierModule();
    const data = blobs(200);
    const val = blobs(60, 11);
    const params = initParams(module.model, { seed: 1 });
    const before = evaluate(module, params, data);
    const h = train(module, params, data, {
      epochs: 40,
      batchSize: 16,
      optimizer: adam({ lr: 0.05 }),
      validationData: val,
      restoreBestWeights: true,
      seed: 1,
    });
    expect(h.initial.loss).toBe(before.loss);
    expect(h.initial.valLoss).toBe(
      evaluate(module, initParams(module.model, { seed: 1 }), val).loss,
    );
    expect(h.keptEpoch).toBe(h.bestEpoch);
    const best = h.epochs[h.bestEpoch]!;
    const now = evaluate(module, params, val);
    expect(now.loss).toBe(best.valLoss);
    expect(now.accuracy).toBe(best.valAccuracy);
    for (const e of h.epochs) expect(e.ms).toBeGreaterThanOrEqual(0);
  });

  it('sample weights scale each row: weight 2 on every row doubles the loss', () => {
    const module = regressionModule();
    const data = sineData(64);
    const run = (w: number | undefined) => {
      const p = initParams(module.model, { seed: 1 });
      return train(module, p, data, {
        epochs: 1,
        batchSize: 64,
        optimizer: sgd({ lr: 0 + 1e-12 }),
        shuffle: false,
        ...(w !== undefined ? { sampleWeights: new Array<number>(64).fill(w) } : {}),
      }).epochs[0]!.loss;
    };
    expect(run(2)).toBeCloseTo(2 * run(undefined), 12);
    expect(() =>
      train(module, initParams(module.model, { seed: 1 }), data, {
        epochs: 1,
        sampleWeights: [1, 2],
      }),
    ).toThrow(/sampleWeights has 2 entries/);
  });
});
