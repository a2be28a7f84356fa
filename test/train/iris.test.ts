// Iris 4-16-16-3 with the exact command: 200 epochs, batch 16, Adam lr 0.01, seed 1,
// a stratified 20% validation split (30 flowers never trained on).
import path from 'node:path';
import { expect, it } from 'vitest';
import { DATA, EXAMPLES, quietTrain, tempDir } from './helpers.ts';

it('Iris reaches ≥ 95% accuracy on the held-out split', async () => {
  const r = await quietTrain({
    model: path.join(EXAMPLES, 'iris.model.json'),
    data: path.join(DATA, 'iris.csv'),
    label: 'species',
    epochs: 200,
    batch: 16,
    lr: 0.01,
    seed: 1,
    val: 0.2,
    out: path.join(tempDir(), 'iris.bin'),
  });
  expect(r.valCount).toBe(30);
  expect(r.meta.classes).toEqual(['setosa', 'versicolor', 'virginica']);
  console.log(
    `iris: validation accuracy ${(100 * r.val!.accuracy).toFixed(1)}% in ${(r.trainMs / 1000).toFixed(2)} s`,
  );
  expect(r.val!.accuracy).toBeGreaterThanOrEqual(0.95);
  expect(r.history.warnings).toEqual([]);
});
