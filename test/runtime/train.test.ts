import { describe, expect, it } from 'vitest';
import { initParams } from '../../runtime/init.ts';
import { evaluate } from '../../runtime/metrics.ts';
import { adam, momentum, sgd } from '../../runtime/optimizers.ts';
import { stepDecay } from '../../runtime/schedules.ts';
import { train, type BatchInfo } from '../../runtime/train.ts';
import {
  blobs,
  classifierModule,
  regressionModule,
  sineData,
  xorData,
  xorModule,
} from './fixtures/models.ts';

describe('train', () => {
  it('trains XOR with plain SGD to a loss below 0.01', () => {
    const module = xorModule();
    const params = initParams(module.model, { seed: 1 });
    const history = train(module, params, xorData, {
      epochs: 1000,
      batchSize: 4,
      optimizer: sgd({ lr: 0.5 }),
      seed: 1,
    });
    const final = evaluate(module, params, xorData);
    expect(final.loss).toBeLessThan(0.01);
    expect(final.accuracy).toBe(1);
    expect(history.epochs).toHaveLength(1000);
    expect(history.epochs[999].loss).toBeLessThan(0.01);
    expect(history.epochs[999].accuracy).toBe(1);
    expect(history.stoppedEarly).toBe(false);
    expect(history.stopReason).toBe('completed');
    expect(history.warnings).toEqual([]);
  });

  it('trains XOR in f32 too', () => {
    const module = xorModule('f32');
    const params = initParams(module.model, { seed: 1 });
    train(module, params, xorData, { epochs: 1000, batchSize: 4, optimizer: sgd({ lr: 0.5 }) });
    expect(evaluate(module, params, xorData).loss).toBeLessThan(0.01);
  });

  it('is deterministic for a seed (shuffles, split, results)', () => {
    const run = (seed: number) => {
      const module = classifierModule();
      const params = initParams(module.model, { seed: 1 });
      const history = train(module, params, blobs(120), {
        epochs: 5,
        batchSize: 8,
        optimizer: adam({ lr: 0.01 }),
        validationSplit: 0.25,
        seed,
      });
      // Epoch wall times are the only thing a seed does not fix.
      const epochs = history.epochs.map((e) => ({ ...e, ms: 0 }));
      return { history: { ...history, epochs }, params: Array.from(params) };
    };
    const a = run(1);
    const b = run(1);
    expect(b.params).toEqual(a.params);
    expect(b.history).toEqual(a.history);
    expect(run(2).params).not.toEqual(a.params);
  });

  it('averages per-sample gradients over each batch (one step of batch 4 = mean of four)', () => {
    const module = xorModule();
    const params = initParams(module.model, { seed: 3 });
    const expected = Float64Array.from(params);
    // Hand-rolled reference: full-batch mean gradient, one SGD step.
    const g = new Float64Array(module.model.paramCount);
    const mean = new Float64Array(module.model.paramCount);
    const work = new Float64Array(module.model.workSize);
    for (let s = 0; s < 4; s++) {
      module.gradient(
        expected,
        xorData.inputs.subarray(2 * s, 2 * s + 2),
        xorData.targets.subarray(s, s + 1),
        g,
        work,
      );
      for (let i = 0; i < g.length; i++) mean[i] += g[i] / 4;
    }
    for (let i = 0; i < g.length; i++) expected[i] -= 0.1 * mean[i];
    train(module, params, xorData, {
      epochs: 1,
      batchSize: 4,
      optimizer: sgd({ lr: 0.1 }),
      shuffle: false,
    });
    for (let i = 0; i < g.length; i++) expect(params[i]).toBeCloseTo(expected[i], 14);
  });

  it('uses gradientBatch when the module has one, with the same result', () => {
    const data = blobs(90);
    const run = (batched: boolean) => {
      const module = classifierModule('f64', batched);
      const params = initParams(module.model, { seed: 2 });
      const history = train(module, params, data, {
        epochs: 3,
        batchSize: 16,
        optimizer: momentum({ lr: 0.05 }),
        seed: 4,
      });
      return { params, history };
    };
    const plain = run(false);
    const batched = run(true);
    for (let i = 0; i < plain.params.length; i++)
      expect(batched.params[i]).toBeCloseTo(plain.params[i], 12);
    expect(batched.history.epochs[2].loss).toBeCloseTo(plain.history.epochs[2].loss, 12);
    expect(batched.history.epochs[2].accuracy).toBe(plain.history.epochs[2].accuracy);

    // And it is really called.
    const module = classifierModule('f64', true);
    let calls = 0;
    const inner = module.gradientBatch!;
    module.gradientBatch = (...args) => {
      calls++;
      return inner(...args);
    };
    train(module, initParams(module.model, { seed: 2 }), data, { epochs: 1, batchSize: 16 });
    expect(calls).toBe(Math.ceil(90 / 16));
  });

  it('calls onBatchEnd per batch with a reused info object; last batch is partial', () => {
    const module = regressionModule();
    const params = initParams(module.model, { seed: 1 });
    const sizes: number[] = [];
    const infos = new Set<BatchInfo>();
    train(module, params, sineData(10), {
      epochs: 2,
      batchSize: 4,
      onBatchEnd: (info) => {
        sizes.push(info.size);
        infos.add(info);
        expect(Number.isFinite(info.loss)).toBe(true);
      },
    });
    expect(sizes).toEqual([4, 4, 2, 4, 4, 2]);
    expect(infos.size).toBe(1);
  });

  it('holds out the last fraction after a seeded shuffle for validation', () => {
    const module = classifierModule();
    const params = initParams(module.model, { seed: 1 });
    let seen = 0;
    const history = train(module, params, blobs(100), {
      epochs: 1,
      batchSize: 7,
      validationSplit: 0.2,
      onBatchEnd: (info) => (seen += info.size),
    });
    expect(seen).toBe(80);
    const e = history.epochs[0];
    expect(e.valLoss).toBeGreaterThan(0);
    expect(e.valAccuracy).toBeGreaterThanOrEqual(0);
    expect(history.monitor).toBe('valLoss');
  });

  it('accepts explicit validation data', () => {
    const module = classifierModule();
    const params = initParams(module.model, { seed: 1 });
    const val = blobs(30, 99);
    const history = train(module, params, blobs(60), {
      epochs: 2,
      optimizer: adam({ lr: 0.01 }),
      validationData: val,
    });
    expect(history.epochs[1].valLoss).toBeCloseTo(evaluate(module, params, val).loss, 12);
  });

  it('reports accuracy for classifiers and mae for regression', () => {
    const c = classifierModule();
    const hc = train(c, initParams(c.model, { seed: 1 }), blobs(30), { epochs: 1 });
    expect(hc.epochs[0].accuracy).toBeDefined();
    expect(hc.epochs[0].mae).toBeUndefined();
    const r = regressionModule();
    const hr = train(r, initParams(r.model, { seed: 1 }), sineData(30), { epochs: 1 });
    expect(hr.epochs[0].mae).toBeGreaterThan(0);
    expect(hr.epochs[0].accuracy).toBeUndefined();
  });

  it('records per-layer gradient norms and the learning rate each epoch', () => {
    const module = xorModule();
    const params = initParams(module.model, { seed: 1 });
    const history = train(module, params, xorData, {
      epochs: 25,
      batchSize: 4,
      optimizer: sgd({ lr: stepDecay({ initial: 1, every: 10, factor: 0.5 }) }),
    });
    expect(history.epochs[0].gradNorms).toHaveLength(2);
    expect(history.epochs[0].gradNorms.every((n) => n > 0 && Number.isFinite(n))).toBe(true);
    expect(history.epochs.map((e) => e.lr).filter((_, i) => i % 10 === 0)).toEqual([1, 0.5, 0.25]);
  });

  it('clips through the optimizer', () => {
    const module = regressionModule();
    const params = initParams(module.model, { seed: 1 });
    const history = train(module, params, sineData(50), {
      epochs: 10,
      batchSize: 50,
      optimizer: sgd({ lr: 1, clipNorm: 0.5 }),
    });
    // lr 1 without clipping diverges to Infinity (see diagnostics.test.ts); clipped it stays finite.
    expect(history.stopReason).toBe('completed');
    expect(history.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
  });

  it('stops when onEpochEnd returns false', () => {
    const module = xorModule();
    const history = train(module, initParams(module.model, { seed: 1 }), xorData, {
      epochs: 100,
      onEpochEnd: (stats) => stats.epoch < 4,
    });
    expect(history.epochs).toHaveLength(5);
    expect(history.stoppedEarly).toBe(true);
    expect(history.stopReason).toBe('callback');
  });

  it('stops on a non-finite loss (TerminateOnNaN)', () => {
    const module = regressionModule();
    const history = train(module, initParams(module.model, { seed: 1 }), sineData(200), {
      epochs: 50,
      batchSize: 200,
      optimizer: sgd({ lr: 3 }),
      onWarning: () => {},
    });
    expect(history.stopReason).toBe('nonFinite');
    expect(history.epochs.length).toBeLessThan(50);
    expect(Number.isFinite(history.epochs.at(-1)!.loss)).toBe(false);
  });

  it('rejects bad arguments', () => {
    const module = xorModule();
    const params = initParams(module.model, { seed: 1 });
    expect(() => train(module, params, xorData, { epochs: 0 })).toThrow(/epochs/);
    expect(() => train(module, params, xorData, { epochs: 1, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => train(module, params.subarray(1), xorData, { epochs: 1 })).toThrow(
      /params has 32/,
    );
    expect(() => train(module, params, { ...xorData, count: 5 }, { epochs: 1 })).toThrow(
      /inputs has 8 entries, expected count × inputSize = 5 × 2/,
    );
    expect(() => train(module, params, xorData, { epochs: 1, validationSplit: 1 })).toThrow(
      /validationSplit/,
    );
    expect(() =>
      train(module, params, xorData, {
        epochs: 1,
        earlyStopping: { monitor: 'valLoss', patience: 1 },
      }),
    ).toThrow(/valLoss without validation/);
  });
});

describe('early stopping', () => {
  it('stops after `patience` epochs without an improvement larger than minDelta', () => {
    const module = xorModule();
    const history = train(module, initParams(module.model, { seed: 1 }), xorData, {
      epochs: 100,
      batchSize: 4,
      optimizer: sgd({ lr: 1e-9 }),
      earlyStopping: { monitor: 'loss', patience: 3, minDelta: 1e-3 },
    });
    // Epoch 0 sets the best; epochs 1, 2, 3 do not improve by 1e-3 → stop after epoch 3.
    expect(history.epochs).toHaveLength(4);
    expect(history.stoppedEarly).toBe(true);
    expect(history.stopReason).toBe('earlyStopping');
    expect(history.bestEpoch).toBe(0);
  });

  it('restores the best weights', () => {
    const module = xorModule();
    const params = initParams(module.model, { seed: 1 });
    let snapshot: number[] = [];
    const history = train(module, params, xorData, {
      epochs: 1000,
      batchSize: 4,
      optimizer: sgd({ lr: 0.5 }),
      earlyStopping: { monitor: 'loss', patience: 3, restoreBestWeights: true },
      onEpochEnd: (stats, p) => {
        if (stats.epoch === 150) {
          snapshot = Array.from(p);
          p.fill(0); // ruin the model: later epochs are far worse
        }
      },
    });
    expect(history.bestEpoch).toBe(150);
    expect(history.epochs).toHaveLength(154);
    expect(history.stopReason).toBe('earlyStopping');
    expect(Array.from(params)).toEqual(snapshot);
    expect(history.epochs[151].loss).toBeGreaterThan(history.epochs[150].loss);
  });

  it('maximizes accuracies', () => {
    const module = classifierModule();
    const history = train(module, initParams(module.model, { seed: 1 }), blobs(60), {
      epochs: 40,
      optimizer: adam({ lr: 0.02 }),
      validationSplit: 0.25,
      earlyStopping: { monitor: 'valAccuracy', patience: 2 },
    });
    const best = history.epochs[history.bestEpoch].valAccuracy!;
    expect(Math.max(...history.epochs.map((e) => e.valAccuracy!))).toBe(best);
    expect(history.stoppedEarly).toBe(true);
  });
});
