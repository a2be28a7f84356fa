// The regression example: 1-32-32-1 tanh on y = sin(x) + N(0, 0.1²) (examples/data/sine.csv).
// Stated error (README): validation MSE ≤ 0.011 against the noisy targets, whose floor is
// the noise variance 0.01, and RMSE ≤ 0.04 against the noise-free sin(x) on [−3, 3].
import path from 'node:path';
import { expect, it } from 'vitest';
import { runPredict } from '../../compiler/cli/predict.ts';
import { DATA, EXAMPLES, quietTrain, tempDir, write } from './helpers.ts';

it('sine regression reaches its stated error', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'sine.bin');
  const r = await quietTrain({
    model: path.join(EXAMPLES, 'sine.model.json'),
    data: path.join(DATA, 'sine.csv'),
    targets: ['y'],
    epochs: 100,
    batch: 16,
    lr: 0.01,
    cosine: true,
    // The cosine decay ends in a minimum; the best epoch by the noisy validation loss
    // (σ = 0.1) is an earlier, rougher fit (RMSE 0.042 against sin(x) instead of 0.025).
    keepLast: true,
    out,
  });
  expect(r.val!.loss).toBeLessThanOrEqual(0.011);

  const xs = Array.from({ length: 121 }, (_, i) => -3 + i * 0.05);
  const grid = write(dir, 'grid.csv', `x\n${xs.map((x) => x.toFixed(3)).join('\n')}\n`);
  const p = await runPredict({
    model: path.join(EXAMPLES, 'sine.model.json'),
    weights: out,
    data: grid,
  });
  const ys = p.csv.trim().split('\n').slice(1).map(Number);
  expect(ys).toHaveLength(xs.length);
  const rmse = Math.sqrt(ys.reduce((s, y, i) => s + (y - Math.sin(xs[i]!)) ** 2, 0) / ys.length);
  console.log(
    `sine: val MSE ${r.val!.loss.toFixed(4)}, RMSE vs sin(x) ${rmse.toFixed(4)}, ${(r.trainMs / 1000).toFixed(1)} s`,
  );
  expect(rmse).toBeLessThanOrEqual(0.04);
});
