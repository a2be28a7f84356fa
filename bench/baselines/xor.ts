// 2-8-1: tanh hidden, sigmoid output, mse (mean over the one output).

import type { Baseline } from './types.ts';

const I = 2;
const H = 8;
const W0 = 0;
const B0 = W0 + I * H;
const W1 = B0 + H;
const B1 = W1 + H;
const P = B1 + 1;

export function createXorBaseline(): Baseline {
  const h = new Float64Array(H);
  const acc = new Float64Array(P);

  // Forward for one sample into `h`; returns the output.
  function run(p: Float64Array, x: Float64Array, xOff: number): number {
    const x0 = x[xOff];
    const x1 = x[xOff + 1];
    let z = p[B1];
    for (let j = 0; j < H; j++) {
      const a = Math.tanh(p[B0 + j] + x0 * p[W0 + j] + x1 * p[W0 + H + j]);
      h[j] = a;
      z += a * p[W1 + j];
    }
    return 1 / (1 + Math.exp(-z));
  }

  // Adds scale·dLoss/dparams into g, so a batch accumulates without a second pass.
  function accumulate(p: Float64Array, x: Float64Array, xOff: number, t: number, g: Float64Array, scale: number): number {
    const y = run(p, x, xOff);
    const d = y - t;
    const dz = scale * 2 * d * y * (1 - y);
    const x0 = x[xOff];
    const x1 = x[xOff + 1];
    g[B1] += dz;
    for (let j = 0; j < H; j++) {
      const a = h[j];
      g[W1 + j] += a * dz;
      const dh = dz * p[W1 + j] * (1 - a * a);
      g[B0 + j] += dh;
      g[W0 + j] += x0 * dh;
      g[W0 + H + j] += x1 * dh;
    }
    return d * d;
  }

  return {
    name: 'xor',
    inputSize: I,
    outputSize: 1,
    paramCount: P,
    forward(p, x, xOff, out, outOff) {
      out[outOff] = run(p, x, xOff);
    },
    loss(p, x, xOff, t, tOff) {
      const d = run(p, x, xOff) - t[tOff];
      return d * d;
    },
    gradient(p, x, xOff, t, tOff, grad) {
      grad.fill(0);
      return accumulate(p, x, xOff, t[tOff], grad, 1);
    },
    forwardBatch(p, inputs, outputs, count) {
      for (let s = 0; s < count; s++) outputs[s] = run(p, inputs, s * I);
    },
    trainStep(p, inputs, targets, count, lr) {
      acc.fill(0);
      const scale = 1 / count;
      let loss = 0;
      for (let s = 0; s < count; s++) loss += accumulate(p, inputs, s * I, targets[s], acc, scale);
      for (let k = 0; k < P; k++) p[k] -= lr * acc[k];
      return loss * scale;
    },
  };
}
