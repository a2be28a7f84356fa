// 784-128-10: relu hidden, softmax + categorical cross-entropy (fused: dz = p − t).
// Loops run over the kernel's contiguous rows (x·W with W [inputs, units] row-major), the
// order a careful engineer picks; no register blocking, which is the compiler's job to beat.

import type { Baseline } from './types.ts';

const I = 784;
const H = 128;
const O = 10;
const W0 = 0;
const B0 = W0 + I * H;
const W1 = B0 + H;
const B1 = W1 + H * O;
const P = B1 + O;

export function createMnistBaseline(): Baseline {
  const a = new Float64Array(H);
  const z = new Float64Array(O);
  const prob = new Float64Array(O);
  const dh = new Float64Array(H);
  // log Σ exp(z) of the last forward; a typed array, not a captured `let`, so storing a double never boxes it.
  const lse = new Float64Array(1);
  const acc = new Float64Array(P);
  // Loss sum of the current call; accumulate() adds to it instead of returning a double, which V8
  // would box (16 bytes) whenever the call is not inlined.
  const total = new Float64Array(1);
  const lastLoss = new Float64Array(1);

  function run(p: Float64Array, x: Float64Array, xOff: number): void {
    for (let j = 0; j < H; j++) a[j] = p[B0 + j];
    for (let i = 0; i < I; i++) {
      const xi = x[xOff + i];
      const row = W0 + i * H;
      for (let j = 0; j < H; j++) a[j] += xi * p[row + j];
    }
    for (let j = 0; j < H; j++) if (a[j] < 0) a[j] = 0;
    for (let k = 0; k < O; k++) z[k] = p[B1 + k];
    for (let j = 0; j < H; j++) {
      const aj = a[j];
      const row = W1 + j * O;
      for (let k = 0; k < O; k++) z[k] += aj * p[row + k];
    }
    let m = z[0];
    for (let k = 1; k < O; k++) if (z[k] > m) m = z[k];
    let sum = 0;
    for (let k = 0; k < O; k++) {
      const e = Math.exp(z[k] - m);
      prob[k] = e;
      sum += e;
    }
    for (let k = 0; k < O; k++) prob[k] /= sum;
    lse[0] = m + Math.log(sum);
  }

  function crossEntropy(t: Float64Array, tOff: number): number {
    let l = 0;
    for (let k = 0; k < O; k++) l += t[tOff + k] * (lse[0] - z[k]);
    return l;
  }

  function accumulate(
    p: Float64Array,
    x: Float64Array,
    xOff: number,
    t: Float64Array,
    tOff: number,
    g: Float64Array,
  ): void {
    run(p, x, xOff);
    total[0] += crossEntropy(t, tOff);
    // prob is reused for dLoss/dz = p − t.
    for (let k = 0; k < O; k++) prob[k] -= t[tOff + k];
    for (let k = 0; k < O; k++) g[B1 + k] += prob[k];
    for (let j = 0; j < H; j++) {
      const aj = a[j];
      const row = W1 + j * O;
      let s = 0;
      for (let k = 0; k < O; k++) {
        g[row + k] += aj * prob[k];
        s += p[row + k] * prob[k];
      }
      dh[j] = aj > 0 ? s : 0;
    }
    for (let j = 0; j < H; j++) g[B0 + j] += dh[j];
    for (let i = 0; i < I; i++) {
      const xi = x[xOff + i];
      const row = W0 + i * H;
      for (let j = 0; j < H; j++) g[row + j] += xi * dh[j];
    }
  }

  return {
    lastLoss,
    name: 'mnist-mlp',
    inputSize: I,
    outputSize: O,
    paramCount: P,
    forward(p, x, xOff, out, outOff) {
      run(p, x, xOff);
      for (let k = 0; k < O; k++) out[outOff + k] = prob[k];
    },
    loss(p, x, xOff, t, tOff) {
      run(p, x, xOff);
      return crossEntropy(t, tOff);
    },
    gradient(p, x, xOff, t, tOff, grad) {
      grad.fill(0);
      total[0] = 0;
      accumulate(p, x, xOff, t, tOff, grad);
      return total[0];
    },
    forwardBatch(p, inputs, outputs, count) {
      for (let s = 0; s < count; s++) {
        run(p, inputs, s * I);
        for (let k = 0; k < O; k++) outputs[s * O + k] = prob[k];
      }
    },
    trainStep(p, inputs, targets, count, lr) {
      acc.fill(0);
      total[0] = 0;
      for (let s = 0; s < count; s++) accumulate(p, inputs, s * I, targets, s * O, acc);
      // The batch mean is folded into the step size.
      const step = lr / count;
      for (let k = 0; k < P; k++) p[k] -= step * acc[k];
      lastLoss[0] = total[0] / count;
    },
  };
}
