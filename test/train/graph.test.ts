// The functional-graph examples trained on Iris with the same command as iris.model.json
// (200 epochs, batch 16, Adam lr 0.01, seed 1, a stratified 20% validation split): the
// residual MLP (two skip connections with add) and the two-input model (concatenate), whose
// inputs `sepal` and `petal` take the columns named sepal_… and petal_… (gradc train's
// column prefixes).
import path from 'node:path';
import { expect, it } from 'vitest';
import { DATA, EXAMPLES, quietTrain, tempDir } from './helpers.ts';

const train = (model: string) =>
  quietTrain({
    model: path.join(EXAMPLES, model),
    data: path.join(DATA, 'iris.csv'),
    label: 'species',
    epochs: 200,
    batch: 16,
    lr: 0.01,
    seed: 1,
    val: 0.2,
    out: path.join(tempDir(), `${model}.bin`),
  });

it('the residual MLP reaches ≥ 95% accuracy on the held-out Iris split', async () => {
  const r = await train('residual-mlp.model.json');
  expect(r.valCount).toBe(30);
  console.log(`residual-mlp: validation accuracy ${(100 * r.val!.accuracy).toFixed(1)}%`);
  expect(r.val!.accuracy).toBeGreaterThanOrEqual(0.95);
  expect(r.history.warnings).toEqual([]);
});

it('the two-input model packs sepal_… then petal_… columns and reaches ≥ 95%', async () => {
  const r = await train('two-input.model.json');
  expect(r.meta.features).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
  console.log(`two-input: validation accuracy ${(100 * r.val!.accuracy).toFixed(1)}%`);
  expect(r.val!.accuracy).toBeGreaterThanOrEqual(0.95);
  expect(r.history.warnings).toEqual([]);
});
