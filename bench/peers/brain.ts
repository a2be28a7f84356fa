// brain.js 2.0 beta NeuralNetwork. It cannot express the benchmark models exactly: one
// activation for every layer, no softmax, and it descends ½·Σ(y−t)² one sample at a time
// (online SGD, no batch mean). So it runs the nearest model it can (same sizes, weights and
// data) and is verified against the reference for exactly that variant; its figures are
// labelled as such. Momentum is set to 0 after construction (the constructor rejects 0).

import { errorText, type ImplFactory, type Prepared, type Semantics } from '../impl.ts';
import { LEAKY_ALPHA, layout, outputSize, type Activation, type BenchCase } from '../models.ts';

type Brain = typeof import('brain.js');

function variant(c: BenchCase): Semantics & { brainActivation: 'sigmoid' | 'leaky-relu' } {
  // Sigmoid for the net whose output is a sigmoid. For the relu nets, leaky relu (same cost):
  // with plain relu the output layer is relu too, and a dead output unit makes the gradient
  // of a sample exactly zero, which would make the check against the reference vacuous.
  const sigmoid = c.spec.layers[c.spec.layers.length - 1].activation === 'sigmoid';
  const activation: Activation = sigmoid ? 'sigmoid' : 'leakyRelu';
  return {
    brainActivation: sigmoid ? 'sigmoid' : 'leaky-relu',
    spec: {
      ...c.spec,
      layers: c.spec.layers.map((l) => ({ units: l.units, activation })),
      loss: 'halfSumSquares',
    },
    update: 'online',
    note: `${sigmoid ? 'sigmoid' : `leaky relu (α ${LEAKY_ALPHA})`} on every layer, ½Σ(y−t)² loss, online SGD (one update per sample)`,
  };
}

export const brainImpl: ImplFactory = {
  name: 'brain.js',
  packageName: 'brain.js',
  async prepare(c, data, lr) {
    if (c.spec.conv !== undefined)
      return { unavailable: 'brain.js NeuralNetwork has no convolutional layers' };
    let brain: Brain;
    try {
      brain = await import('brain.js');
    } catch (e) {
      return { unavailable: `brain.js failed to load: ${errorText(e)}` };
    }
    const sem = variant(c);
    const { layers } = layout(c.spec);
    const I = c.spec.inputSize;
    const O = outputSize(c.spec);
    const net = new brain.NeuralNetwork({
      inputSize: I,
      hiddenLayers: c.spec.layers.slice(0, -1).map((l) => l.units),
      outputSize: O,
      activation: sem.brainActivation,
      leakyReluAlpha: LEAKY_ALPHA,
      learningRate: lr,
    });
    net.initialize();
    net.trainOpts.momentum = 0;
    const datums = Array.from({ length: c.batch }, (_, s) => ({
      input: Float32Array.from(data.inputs.subarray(s * I, (s + 1) * I)),
      output: Float32Array.from(data.targets.subarray(s * O, (s + 1) * O)),
    }));
    // brain.js stores weights[layer][node][input] (layer 0 is the input layer): the transpose of gradc's kernel.
    const prepared: Prepared = {
      precision: 'f32',
      semantics: sem,
      load(p) {
        layers.forEach((l, i) => {
          for (let j = 0; j < l.units; j++) {
            const row = net.weights[i + 1][j];
            for (let k = 0; k < l.inputs; k++) row[k] = p[l.kernel + k * l.units + j];
            net.biases[i + 1][j] = p[l.bias + j];
          }
        });
      },
      infer() {
        for (const d of datums) net.runInput(d.input);
      },
      readOutputs(out) {
        datums.forEach((d, s) => out.set(net.runInput(d.input), s * O));
      },
      trainStep() {
        for (const d of datums) net.trainPattern(d);
      },
      readParams(out) {
        layers.forEach((l, i) => {
          for (let j = 0; j < l.units; j++) {
            const row = net.weights[i + 1][j];
            for (let k = 0; k < l.inputs; k++) out[l.kernel + k * l.units + j] = row[k];
            out[l.bias + j] = net.biases[i + 1][j];
          }
        });
      },
      dispose() {},
    };
    return prepared;
  },
};
