// Opt-in: can the MNIST CNN reach ≥ 97.5 % test accuracy on the `mnist` package's
// 10,000 digits (8,000 train / 2,000 test, the MLP's split), and how fast? Trained with the
// hand-written baseline (bench/baselines/mnist-cnn.ts), initialized as TF.js does
// (glorotUniform kernels, zero biases), with the runtime's optimizers. Not part of npm test.
//
//   npx tsx bench/cnn-feasibility.ts                       the settings found (the defaults)
//   npx tsx bench/cnn-feasibility.ts --optimizer sgd --lr 0.05 --epochs 4 --batch 32
//
// Measured on the shared 2-core dev machine (Adam, cosine decay to 0 over the run; seed =
// initialization and shuffling; test accuracy on the 2,000 held-out digits; CPU seconds of
// training (the wall time was up to 3× that under other developers' load; "~" rows were timed
// by wall clock on a quiet machine, before CPU time was recorded):
//
//   lr     batch  epochs   seed 1    seed 2    seed 3    CPU s
//   0.003  32     3        96.15     -         -         ~22
//   0.003  32     6        97.25     -         -         ~45
//   0.006  32     4        97.70     96.85     97.15     ~28
//   0.006  32     6        97.75     97.55     97.50     ~48
//   0.004  16     3        97.60     96.75     96.75     ~25
//   0.004  16     4        98.05     96.95     97.35     ~32
//   0.004  32     10       97.95     -         -         ~90
//   0.005  32     8        97.95     97.70     97.90     ~70   ← defaults: ≥ 97.5 on every seed
//
// Shorter runs reach 97.5 % on some seeds only; 8 epochs at lr 0.005 is the shortest setting
// tried that clears it on all three.

import { parseArgs } from 'node:util';
import { loadMnist } from '../examples/data/mnist.ts';
import { adam, cosineDecay, Rng, sgd, type Optimizer } from '../runtime/index.ts';
import { CNN_LAYOUT, createMnistCnnBaseline } from './baselines/mnist-cnn.ts';

const { values: args } = parseArgs({
  options: {
    optimizer: { type: 'string', default: 'adam' },
    lr: { type: 'string', default: '0.005' },
    epochs: { type: 'string', default: '8' },
    batch: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
    schedule: { type: 'string', default: 'cosine' },
    /** Test accuracy after every epoch (slower; the final figure is always printed). */
    'every-epoch': { type: 'boolean', default: false },
  },
});

const epochs = Number(args.epochs);
const batch = Number(args.batch);
const lr = Number(args.lr);
const seed = Number(args.seed);

/** TF.js's glorotUniform: U(±√(6 / (fanIn + fanOut))), receptive field included in both fans. */
function glorot(params: Float64Array, offset: number, shape: readonly number[], rng: Rng): void {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const fanIn = receptive * shape[shape.length - 2];
  const fanOut = receptive * shape[shape.length - 1];
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) params[offset + i] = rng.range(-limit, limit);
}

const split = loadMnist({ train: 8000, test: 2000, seed: 1 });
// loadMnist builds Float64Arrays; the Dataset type also admits Float32Array.
const train = {
  ...split.train,
  inputs: split.train.inputs as Float64Array,
  targets: split.train.targets as Float64Array,
};
const test = {
  ...split.test,
  inputs: split.test.inputs as Float64Array,
  targets: split.test.targets as Float64Array,
};
const net = createMnistCnnBaseline();
const params = new Float64Array(net.paramCount);
const rng = new Rng(seed);
for (const t of [CNN_LAYOUT.conv0, CNN_LAYOUT.conv1, CNN_LAYOUT.dense])
  glorot(params, t.kernel, t.shape, rng);

const stepsPerEpoch = Math.ceil(train.count / batch);
const totalSteps = epochs * stepsPerEpoch;
const rate = args.schedule === 'cosine' ? cosineDecay({ initial: lr, decaySteps: totalSteps }) : lr;
const optimizer: Optimizer = args.optimizer === 'sgd' ? sgd({ lr: rate }) : adam({ lr: rate });

const I = net.inputSize;
const O = net.outputSize;
const xs = new Float64Array(batch * I);
const ts = new Float64Array(batch * O);
const grad = new Float64Array(net.paramCount);
const order = new Int32Array(train.count);
for (let i = 0; i < order.length; i++) order[i] = i;

function accuracy(): number {
  const out = new Float64Array(O);
  let right = 0;
  for (let s = 0; s < test.count; s++) {
    net.forward(params, test.inputs, s * I, out, 0);
    let best = 0;
    for (let k = 1; k < O; k++) if (out[k] > out[best]) best = k;
    if (test.targets[s * O + best] === 1) right++;
  }
  return right / test.count;
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let epoch = 0; epoch < epochs; epoch++) {
  optimizer.epoch = epoch;
  rng.shuffle(order);
  let lossSum = 0;
  for (let start = 0; start < train.count; start += batch) {
    const n = Math.min(batch, train.count - start);
    for (let r = 0; r < n; r++) {
      const s = order[start + r];
      xs.set(train.inputs.subarray(s * I, (s + 1) * I), r * I);
      ts.set(train.targets.subarray(s * O, (s + 1) * O), r * O);
    }
    lossSum += net.gradientBatch(params, xs, ts, n, grad) * n;
    optimizer.step(params, grad);
  }
  const trained = (performance.now() - t0) / 1000;
  const acc = args['every-epoch'] ? `, test accuracy ${(100 * accuracy()).toFixed(2)} %` : '';
  process.stdout.write(
    `epoch ${epoch + 1}/${epochs}: mean loss ${(lossSum / train.count).toFixed(4)}${acc}, ${trained.toFixed(1)} s so far\n`,
  );
}
const wall = (performance.now() - t0) / 1000;
// The machine is shared: CPU time shows how much of the wall time was this process's.
const cpu = process.cpuUsage(cpu0).user / 1e6;
const e0 = performance.now();
const acc = accuracy();
const evalSec = (performance.now() - e0) / 1000;
process.stdout.write(
  `mnist-cnn: ${args.optimizer} lr ${lr} (${args.schedule}), batch ${batch}, ${epochs} epochs, seed ${seed}: ` +
    `test accuracy ${(100 * acc).toFixed(2)} % (2,000 digits); training wall ${wall.toFixed(1)} s ` +
    `(cpu ${cpu.toFixed(1)} s), ` +
    `evaluation ${evalSec.toFixed(1)} s\n`,
);
