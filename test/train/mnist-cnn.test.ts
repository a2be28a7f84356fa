// The CNN example (conv 8 3×3 same relu → max pool 2 → conv 16 3×3 same relu → max pool 2 →
// flatten → dense 10 softmax) on the `mnist` package's real digits: the same 8,000 / 2,000
// split as the MLP. Adam with a cosine-decayed learning rate; the wall time is printed (the
// README and the issue notes record it). The module is the checked-in generated/mnist-cnn.ts.
import { expect, it } from 'vitest';
import { loadMnist } from '../../examples/data/mnist.ts';
import * as cnn from '../../generated/mnist-cnn.ts';
import { adam, cosineDecay, evaluate, initParams, train } from '../../runtime/index.ts';

const EPOCHS = Number(process.env.GRADC_CNN_EPOCHS ?? 8);
const BATCH = 32;

it('the MNIST CNN reaches ≥ 97.5% test accuracy', { timeout: 900_000 }, async () => {
  // The checked-in module (backend auto) runs its batched entry points on WebAssembly.
  await cnn.init();
  const { train: trainSet, test } = loadMnist({ train: 8000, test: 2000, seed: 1 });
  const params = initParams(cnn.model, { seed: 1 });
  const steps = EPOCHS * Math.ceil(trainSet.count / BATCH);
  const t0 = performance.now();
  const h = train(cnn, params, trainSet, {
    epochs: EPOCHS,
    batchSize: BATCH,
    optimizer: adam({ lr: cosineDecay({ initial: 0.005, decaySteps: steps }) }),
    seed: 1,
  });
  const wall = (performance.now() - t0) / 1000;
  const acc = evaluate(cnn, params, test).accuracy;
  console.log(
    `mnist-cnn: test accuracy ${(100 * acc).toFixed(2)}% after ${EPOCHS} epochs; wall ${wall.toFixed(1)} s`,
  );
  expect(h.warnings).toEqual([]);
  expect(acc).toBeGreaterThanOrEqual(0.975);
});
