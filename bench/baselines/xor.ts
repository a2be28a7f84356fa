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
  // Loss sum of the current call; accumulate() adds to it instead of returning a double, which V8
  // would box (16 bytes) whenever the call is not inlined.
  const total = new Float64Array(1);
  const lastLoss = new Float64Array(1);

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

  // Adds dLoss/dparams into g, so a batch accumulates without a second pass.
  function accumulate(
    p: Float64Array,
    x: Float64Array,
    xOff: number,
    t: number,
    g: Float64Array,
  ): void {
    const y = run(p, x, xOff);
    const d = y - t;
    const dz = 2 * d * y * (1 - y);
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
    total[0] += d * d;
  }

  return {
    lastLoss,
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
      total[0] = 0;
      accumulate(p, x, xOff, t[tOff], grad);
      return total[0];
    },
    forwardBatch(p, inputs, outputs, count) {
      for (let s = 0; s < count; s++) outputs[s] = run(p, inputs, s * I);
    },
    trainStep(p, inputs, targets, count, lr) {
      acc.fill(0);
      total[0] = 0;
      for (let s = 0; s < count; s++) accumulate(p, inputs, s * I, targets[s], acc);
      // The batch mean is folded into the step size.
      const step = lr / count;
      for (let k = 0; k < P; k++) p[k] -= step * acc[k];
      lastLoss[0] = total[0] / count;
    },
  };
}
