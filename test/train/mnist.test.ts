// MNIST 784-128-10 on the `mnist` package's real digits: 8,000 to train, 2,000 to test.
// Three epochs of Adam with a cosine-decayed learning rate (0.003 → 0) reach 93.6%; the
// README records the wall time. The module is the checked-in generated/mnist-mlp.ts.
import { expect, it } from 'vitest';
import { loadMnist } from '../../examples/data/mnist.ts';
import * as mnist from '../../generated/mnist-mlp.ts';
import { adam, cosineDecay, evaluate, initParams, train } from '../../runtime/index.ts';

const EPOCHS = 3;
const BATCH = 32;

it('MNIST reaches ≥ 93% test accuracy', { timeout: 600_000 }, async () => {
  // The checked-in module (backend auto) runs its batched entry points on WebAssembly.
  await mnist.init();
  const { train: trainSet, test } = loadMnist({ train: 8000, test: 2000, seed: 1 });
  const params = initParams(mnist.model, { seed: 1 });
  const steps = EPOCHS * Math.ceil(trainSet.count / BATCH);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const h = train(mnist, params, trainSet, {
    epochs: EPOCHS,
    batchSize: BATCH,
    optimizer: adam({ lr: cosineDecay({ initial: 0.003, decaySteps: steps }) }),
    seed: 1,
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0).user / 1e6;
  const acc = evaluate(mnist, params, test).accuracy;
  console.log(
    `mnist: test accuracy ${(100 * acc).toFixed(2)}% after ${EPOCHS} epochs; wall ${wall.toFixed(1)} s, cpu ${cpu.toFixed(1)} s`,
  );
  expect(h.warnings).toEqual([]);
  expect(acc).toBeGreaterThanOrEqual(0.93);
});
