// 4-16-16-3: relu, relu, softmax + categorical cross-entropy (fused: dz = p − t).

import type { Baseline } from './types.ts';

const I = 4;
const H1 = 16;
const H2 = 16;
const O = 3;
const W0 = 0;
const B0 = W0 + I * H1;
const W1 = B0 + H1;
const B1 = W1 + H1 * H2;
const W2 = B1 + H2;
const B2 = W2 + H2 * O;
const P = B2 + O;

export function createIrisBaseline(): Baseline {
  const a1 = new Float64Array(H1);
  const a2 = new Float64Array(H2);
  const z = new Float64Array(O);
  const prob = new Float64Array(O);
  // log Σ exp(z) of the last forward; a typed array, not a captured \`let\`, so storing a double never boxes it.
  const lse = new Float64Array(1);
  const d1 = new Float64Array(H1);
  const d2 = new Float64Array(H2);
  const acc = new Float64Array(P);
  // Loss sum of the current call; accumulate() adds to it instead of returning a double, which V8
  // would box (16 bytes) whenever the call is not inlined.
  const total = new Float64Array(1);
  const lastLoss = new Float64Array(1);

  // Forward for one sample; leaves activations in a1/a2, logits in z, softmax in prob, log Σ exp(z) in lse.
  function run(p: Float64Array, x: Float64Array, xOff: number): void {
    for (let j = 0; j < H1; j++) a1[j] = p[B0 + j];
    for (let i = 0; i < I; i++) {
      const xi = x[xOff + i];
      const row = W0 + i * H1;
      for (let j = 0; j < H1; j++) a1[j] += xi * p[row + j];
    }
    for (let j = 0; j < H1; j++) if (a1[j] < 0) a1[j] = 0;
    for (let j = 0; j < H2; j++) a2[j] = p[B1 + j];
    for (let i = 0; i < H1; i++) {
      const ai = a1[i];
      const row = W1 + i * H2;
      for (let j = 0; j < H2; j++) a2[j] += ai * p[row + j];
    }
    for (let j = 0; j < H2; j++) if (a2[j] < 0) a2[j] = 0;
    for (let k = 0; k < O; k++) z[k] = p[B2 + k];
    for (let i = 0; i < H2; i++) {
      const ai = a2[i];
      const row = W2 + i * O;
      for (let k = 0; k < O; k++) z[k] += ai * p[row + k];
    }
    // Stable softmax: subtract the max logit.
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

  // −Σ t·log p with log p = z − log Σ exp(z): finite even when a probability underflows.
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
    // prob is reused for dLoss/dz = p − t: the probabilities are not needed after this.
    for (let k = 0; k < O; k++) prob[k] -= t[tOff + k];
    for (let k = 0; k < O; k++) g[B2 + k] += prob[k];
    for (let i = 0; i < H2; i++) {
      const ai = a2[i];
      const row = W2 + i * O;
      let s = 0;
      for (let k = 0; k < O; k++) {
        g[row + k] += ai * prob[k];
        s += p[row + k] * prob[k];
      }
      d2[i] = ai > 0 ? s : 0;
    }
    for (let j = 0; j < H2; j++) g[B1 + j] += d2[j];
    for (let i = 0; i < H1; i++) {
      const ai = a1[i];
      const row = W1 + i * H2;
      let s = 0;
      for (let j = 0; j < H2; j++) {
        g[row + j] += ai * d2[j];
        s += p[row + j] * d2[j];
      }
      d1[i] = ai > 0 ? s : 0;
    }
    for (let j = 0; j < H1; j++) g[B0 + j] += d1[j];
    for (let i = 0; i < I; i++) {
      const xi = x[xOff + i];
      const row = W0 + i * H1;
      for (let j = 0; j < H1; j++) g[row + j] += xi * d1[j];
    }
  }

  return {
    lastLoss,
    name: 'iris',
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
