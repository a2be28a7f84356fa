// The runtime's verdict on real (small) training runs, one per verdict, and its edge rules
// on hand-written histories. Advice is checked to be specific to the model.
import { describe, expect, it } from 'vitest';
import { initParams } from '../../runtime/init.ts';
import { adam, sgd } from '../../runtime/optimizers.ts';
import { train, type EpochStats, type History } from '../../runtime/train.ts';
import { adviceText, judgeTraining, type VerdictContext } from '../../runtime/verdict.ts';
import { formatNumber, formatPercent } from '../../runtime/format.ts';
import { Rng } from '../../runtime/random.ts';
import type { Dataset } from '../../runtime/data.ts';
import {
  blobs,
  classifierModule,
  deepSigmoidModule,
  regressionModule,
  sineData,
  xorData,
} from './fixtures/models.ts';

function ctx(
  module: ReturnType<typeof classifierModule>,
  lr: number,
  data?: Dataset,
): VerdictContext {
  const m = module.model;
  let classes: VerdictContext['classes'];
  if (data !== undefined) {
    const counts = new Array<number>(m.outputSize).fill(0);
    for (let r = 0; r < data.count; r++)
      for (let j = 0; j < m.outputSize; j++)
        if (data.targets[r * m.outputSize + j] === 1) counts[j]!++;
    classes = { count: m.outputSize, majority: Math.max(...counts) / data.count, rows: data.count };
  }
  return {
    layers: m.layers,
    optimizer: { name: 'sgd', lr, defaultLr: 0.01 },
    ...(classes !== undefined ? { classes } : {}),
  };
}

describe('judgeTraining on real runs', () => {
  it('a good run converges; a huge learning rate diverges; a tiny one did not learn', () => {
    const module = classifierModule();
    const data = blobs(240);
    const run = (lr: number, epochs: number) => {
      const params = initParams(module.model, { seed: 1 });
      const h = train(module, params, data, {
        epochs,
        batchSize: 16,
        optimizer: sgd({ lr }),
        seed: 1,
        onWarning: () => {},
      });
      return judgeTraining(h, ctx(module, lr, data));
    };
    const good = run(0.1, 60);
    expect(good.verdict, good.reasons.join('; ')).toBe('converged');
    expect(good.tone).toBe('good');
    expect(good.advice).toEqual([]);

    const diverged = run(500, 20);
    expect(diverged.verdict, diverged.reasons.join('; ')).toBe('diverged');
    expect(diverged.tone).toBe('bad');
    expect(diverged.advice).toContainEqual({ kind: 'lowerLr', lr: 50 });
    expect(diverged.advice).toContainEqual({ kind: 'clipNorm', value: 1 });

    const stuck = run(1e-7, 10);
    expect(stuck.verdict, stuck.reasons.join('; ')).toBe('didNotLearn');
    expect(stuck.reasons[0]).toMatch(/barely moved from its value at initialization/);
    // Far below sgd's default: raise it to the default.
    expect(stuck.advice).toContainEqual({ kind: 'raiseLr', lr: 0.01 });
  });

  it('labels unrelated to the inputs: chance level, with class weights for unbalanced ones', () => {
    const module = classifierModule();
    const data = blobs(300);
    const rng = new Rng(5);
    const width = module.model.outputSize;
    // 80 % of the rows in class 0, the rest spread: no input tells them apart.
    const targets = new Float64Array(data.count * width);
    for (let r = 0; r < data.count; r++) {
      const c = rng.uniform() < 0.8 ? 0 : 1 + rng.int(width - 1);
      targets[r * width + c] = 1;
    }
    const shuffled: Dataset = { ...data, targets };
    const val: Dataset = {
      inputs: shuffled.inputs.slice(0, 100 * module.model.inputSize),
      targets: targets.slice(0, 100 * width),
      count: 100,
    };
    const trainSet: Dataset = {
      inputs: shuffled.inputs.slice(100 * module.model.inputSize),
      targets: targets.slice(100 * width),
      count: 200,
    };
    const params = initParams(module.model, { seed: 2 });
    const h = train(module, params, trainSet, {
      epochs: 40,
      batchSize: 16,
      optimizer: adam({ lr: 0.01 }),
      validationData: val,
      restoreBestWeights: true,
      seed: 1,
    });
    const v = judgeTraining(h, ctx(module, 0.01, val));
    expect(v.verdict, v.reasons.join('; ')).toBe('chanceLevel');
    expect(v.reasons[0]).toMatch(/within noise .* of chance, .*\(the most frequent class\)/);
    expect(v.advice).toContainEqual({ kind: 'classWeights' });
  });

  it('vanishing gradients in a deep sigmoid stack: did not learn, advice names its layers', () => {
    const module = deepSigmoidModule(12);
    const params = initParams(module.model, { seed: 1 });
    const h = train(module, params, xorData, {
      epochs: 10,
      batchSize: 4,
      optimizer: sgd({ lr: 0.1 }),
      onWarning: () => {},
    });
    const v = judgeTraining(h, {
      layers: module.model.layers,
      optimizer: { name: 'sgd', lr: 0.1 },
    });
    expect(v.verdict, v.reasons.join('; ')).toBe('didNotLearn');
    const acts = v.advice.filter((a) => a.kind === 'activation');
    expect(acts.length).toBeGreaterThan(0);
    for (const a of acts) {
      expect(a).toMatchObject({ from: 'sigmoid', to: 'relu' });
    }
  });
});

function epochs(losses: number[], val?: number[]): EpochStats[] {
  return losses.map((loss, i) => ({
    epoch: i,
    loss,
    ...(val !== undefined ? { valLoss: val[i]! } : {}),
    gradNorms: [1],
    lr: 0.01,
    ms: 1,
  }));
}

function history(losses: number[], init: number, val?: number[], kept?: number): History {
  const e = epochs(losses, val);
  let best = 0;
  const monitored = val ?? losses;
  monitored.forEach((v, i) => {
    if (v < monitored[best]!) best = i;
  });
  return {
    epochs: e,
    stoppedEarly: false,
    stopReason: 'completed',
    bestEpoch: best,
    monitor: val !== undefined ? 'valLoss' : 'loss',
    warnings: [],
    initial: {
      loss: init,
      accuracy: NaN,
      mae: NaN,
      ...(val !== undefined ? { valLoss: init } : {}),
    },
    keptEpoch: kept ?? e.length - 1,
  };
}

describe('judgeTraining rules', () => {
  it('judges against the loss at initialization, not the first epoch', () => {
    // The Iris case of the issue: the first epoch already averaged 3.5e16; "fell to 15.8".
    const h = history([3.5e16, 20, 16, 15.8], 1.1);
    const v = judgeTraining(h);
    expect(v.verdict).toBe('diverged');
    expect(v.reasons[0]).toBe(
      'training loss ended at 15.8, above its value at initialization (1.1)',
    );
    expect(v.reasons[1]).toBe('it peaked at 3.5e+16 in epoch 1');
  });

  it('non-finite loss: diverged, naming the epoch', () => {
    const v = judgeTraining({ ...history([1, 0.5, NaN], 1.2), stopReason: 'nonFinite' });
    expect(v.verdict).toBe('diverged');
    expect(v.reasons[0]).toBe('the loss became NaN in epoch 3 (1.2 at initialization)');
  });

  it('overfitting reports the best epoch and whether it was kept', () => {
    const val = [0.5, 0.3, 0.2, 0.25, 0.3, 0.35, 0.4];
    const losses = [0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02];
    const last = judgeTraining(history(losses, 1, val));
    expect(last.verdict).toBe('overfitting');
    expect(last.bestEpoch).toBe(2);
    expect(last.advice).toContainEqual({ kind: 'restoreBest' });
    const kept = judgeTraining(history(losses, 1, val, 2), { patience: 5 });
    expect(kept.reasons).toContain('the weights of epoch 3 were kept');
    expect(kept.advice).not.toContainEqual({ kind: 'restoreBest' });
    expect(kept.advice.some((a) => a.kind === 'patience')).toBe(false);
  });

  it('still improving vs converged', () => {
    const falling = Array.from({ length: 20 }, (_, i) => 1 - 0.045 * i);
    expect(judgeTraining(history(falling, 1)).verdict).toBe('stillImproving');
    expect(judgeTraining(history(falling, 1)).advice).toEqual([{ kind: 'moreEpochs', epochs: 40 }]);
    const flat = Array.from({ length: 20 }, (_, i) => 0.1 + 0.9 * Math.exp(-i));
    expect(judgeTraining(history(flat, 1)).verdict).toBe('converged');
  });

  it('regression: no better than a constant prediction is chance level', () => {
    const h = history([0.9, 0.5, 0.48, 0.47, 0.47], 1, [0.9, 0.5, 0.49, 0.485, 0.48]);
    const v = judgeTraining(h, { baseline: { loss: 0.49, what: 'always predicting the mean' } });
    expect(v.verdict).toBe('chanceLevel');
    expect(v.reasons[0]).toBe(
      'validation loss 0.48 is within 5% of always predicting the mean (0.49)',
    );
    const fitted = judgeTraining(h, { baseline: { loss: 1, what: 'always predicting the mean' } });
    expect(fitted.verdict).not.toBe('chanceLevel');
  });

  it('advice text uses the runtime option names', () => {
    expect(adviceText({ kind: 'clipNorm', value: 1 })).toBe(
      'clip the gradient norm (optimizer clipNorm 1)',
    );
    expect(adviceText({ kind: 'activation', layers: ['dense0'], from: 'tanh', to: 'relu' })).toBe(
      'layer dense0 uses tanh: try relu',
    );
    expect(
      adviceText({ kind: 'activation', layers: ['dense0', 'dense1'], from: 'sigmoid', to: 'relu' }),
    ).toBe('layers dense0, dense1 use sigmoid: try relu');
  });
});

describe('formatNumber', () => {
  it('prints 4 significant digits without trailing zeros or raw doubles', () => {
    expect(formatNumber(0.0015281234)).toBe('0.001528');
    expect(formatNumber(2.4937069030598077e22)).toBe('2.494e+22');
    expect(formatNumber(0.2)).toBe('0.2');
    expect(formatNumber(15.8)).toBe('15.8');
    expect(formatNumber(10000)).toBe('10000');
    expect(formatNumber(3e-9)).toBe('3e-9');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
    expect(formatPercent(0.96667)).toBe('96.7%');
  });
});

describe('regression verdicts', () => {
  it('a fitted sine converges', () => {
    const module = regressionModule();
    const data = sineData(200);
    const params = initParams(module.model, { seed: 1 });
    const h = train(module, params, data, {
      epochs: 150,
      batchSize: 16,
      optimizer: adam({ lr: 0.01 }),
      seed: 1,
    });
    const v = judgeTraining(h, { layers: module.model.layers });
    expect(['converged', 'stillImproving']).toContain(v.verdict);
    expect(v.tone).not.toBe('bad');
  });
});
