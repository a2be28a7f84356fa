// 28×28×1 → conv2d 8 3×3 same relu → maxPooling2d 2 → conv2d 16 3×3 same relu →
// maxPooling2d 2 → flatten → dense 10 softmax, categorical cross-entropy (fused: dz = p − t).
//
// A plain direct convolution, one sample at a time, channels-last (HWC) as TF.js: for each
// output pixel and kernel tap, the innermost loop runs over the contiguous filters of the
// kernel [kh, kw, in, filters]. Same padding of a 3×3 stride-1 kernel is one pixel on every
// side; taps that fall outside the image are skipped. Max pooling records the winning input
// index for the backward pass. No im2col, no register blocking, no batching of weights: the
// loops a competent engineer writes by hand, with every buffer allocated once.
//
// Parameters in gradc's / TF.js's flat layout: conv0 kernel [3,3,1,8], bias [8]; conv1
// kernel [3,3,8,16], bias [16]; dense kernel [784,10], bias [10].

import type { Baseline } from './types.ts';

const H0 = 28; // input height and width
const C0 = 1;
const F1 = 8; // conv0 filters
const H1 = 14; // after the first pool
const F2 = 16; // conv1 filters
const H2 = 7; // after the second pool
const K = 3;
const FLAT = H2 * H2 * F2; // 784
const O = 10;

export const CNN_INPUT = H0 * H0 * C0;
export const CNN_OUTPUT = O;

const W1 = 0;
const B1 = W1 + K * K * C0 * F1;
const W2 = B1 + F1;
const B2 = W2 + K * K * F1 * F2;
const W3 = B2 + F2;
const B3 = W3 + FLAT * O;
const P = B3 + O;

/** Tensor offsets in the flat array, for initializers and tests. */
export const CNN_LAYOUT = {
  conv0: { kernel: W1, bias: B1, shape: [K, K, C0, F1] },
  conv1: { kernel: W2, bias: B2, shape: [K, K, F1, F2] },
  dense: { kernel: W3, bias: B3, shape: [FLAT, O] },
  paramCount: P,
} as const;

export interface CnnBaseline extends Baseline {
  /** Writes the batch-mean gradient into `grad` and returns the mean loss. */
  gradientBatch(
    p: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
    grad: Float64Array,
  ): number;
}

/**
 * out[y, x, f] = bias[f] + Σ in[y+ky−1, x+kx−1, c]·k[ky, kx, c, f], then relu; `size` is the
 * height and width of input and output.
 */
function convSameRelu(
  input: Float64Array,
  inOff: number,
  size: number,
  cin: number,
  p: Float64Array,
  w: number,
  b: number,
  cout: number,
  out: Float64Array,
): void {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * cout;
      for (let f = 0; f < cout; f++) out[o + f] = p[b + f];
      for (let ky = 0; ky < K; ky++) {
        const iy = y + ky - 1;
        if (iy < 0 || iy >= size) continue;
        for (let kx = 0; kx < K; kx++) {
          const ix = x + kx - 1;
          if (ix < 0 || ix >= size) continue;
          const i = inOff + (iy * size + ix) * cin;
          const k = w + (ky * K + kx) * cin * cout;
          for (let c = 0; c < cin; c++) {
            const v = input[i + c];
            const row = k + c * cout;
            for (let f = 0; f < cout; f++) out[o + f] += v * p[row + f];
          }
        }
      }
      for (let f = 0; f < cout; f++) if (out[o + f] < 0) out[o + f] = 0;
    }
  }
}

/** 2×2 stride-2 max pooling of a `size`×`size`×`ch` map; `arg` gets the winning input index. */
function maxPool2(
  input: Float64Array,
  size: number,
  ch: number,
  out: Float64Array,
  arg: Int32Array,
): void {
  const half = size >> 1;
  for (let y = 0; y < half; y++) {
    for (let x = 0; x < half; x++) {
      const o = (y * half + x) * ch;
      const i00 = (2 * y * size + 2 * x) * ch;
      const i01 = i00 + ch;
      const i10 = i00 + size * ch;
      const i11 = i10 + ch;
      for (let c = 0; c < ch; c++) {
        let best = i00 + c;
        if (input[i01 + c] > input[best]) best = i01 + c;
        if (input[i10 + c] > input[best]) best = i10 + c;
        if (input[i11 + c] > input[best]) best = i11 + c;
        out[o + c] = input[best];
        arg[o + c] = best;
      }
    }
  }
}

/**
 * Backward of convSameRelu for one sample: `dOut` holds dLoss/d(relu output) and is turned
 * into dLoss/d(pre-activation) in place; kernel and bias gradients are added to `g`, and
 * dLoss/dinput is written to `dIn` unless it is null (the first layer needs none).
 */
function convSameReluBackward(
  input: Float64Array,
  inOff: number,
  size: number,
  cin: number,
  p: Float64Array,
  w: number,
  b: number,
  cout: number,
  out: Float64Array,
  dOut: Float64Array,
  g: Float64Array,
  dIn: Float64Array | null,
): void {
  if (dIn !== null) dIn.fill(0, 0, size * size * cin);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * cout;
      for (let f = 0; f < cout; f++) {
        // relu'(z) is 0 where the output was clamped to 0 (relu'(0) = 0, as TF.js).
        if (out[o + f] <= 0) dOut[o + f] = 0;
        g[b + f] += dOut[o + f];
      }
      for (let ky = 0; ky < K; ky++) {
        const iy = y + ky - 1;
        if (iy < 0 || iy >= size) continue;
        for (let kx = 0; kx < K; kx++) {
          const ix = x + kx - 1;
          if (ix < 0 || ix >= size) continue;
          const i = (iy * size + ix) * cin;
          const k = w + (ky * K + kx) * cin * cout;
          for (let c = 0; c < cin; c++) {
            const v = input[inOff + i + c];
            const row = k + c * cout;
            let s = 0;
            for (let f = 0; f < cout; f++) {
              const d = dOut[o + f];
              g[row + f] += v * d;
              s += p[row + f] * d;
            }
            if (dIn !== null) dIn[i + c] += s;
          }
        }
      }
    }
  }
}

export function createMnistCnnBaseline(): CnnBaseline {
  const a1 = new Float64Array(H0 * H0 * F1); // conv0 output (after relu)
  const m1 = new Float64Array(H1 * H1 * F1); // pool0 output
  const arg1 = new Int32Array(H1 * H1 * F1);
  const a2 = new Float64Array(H1 * H1 * F2);
  const m2 = new Float64Array(FLAT);
  const arg2 = new Int32Array(FLAT);
  const z = new Float64Array(O);
  const prob = new Float64Array(O);
  const dm2 = new Float64Array(FLAT);
  const da2 = new Float64Array(H1 * H1 * F2);
  const dm1 = new Float64Array(H1 * H1 * F1);
  const da1 = new Float64Array(H0 * H0 * F1);
  // Scalars in typed arrays: a double returned from or stored by a non-inlined call is boxed.
  const lse = new Float64Array(1);
  const total = new Float64Array(1);
  const acc = new Float64Array(P);
  const lastLoss = new Float64Array(1);

  function run(p: Float64Array, x: Float64Array, xOff: number): void {
    convSameRelu(x, xOff, H0, C0, p, W1, B1, F1, a1);
    maxPool2(a1, H0, F1, m1, arg1);
    convSameRelu(m1, 0, H1, F1, p, W2, B2, F2, a2);
    maxPool2(a2, H1, F2, m2, arg2);
    for (let k = 0; k < O; k++) z[k] = p[B3 + k];
    for (let i = 0; i < FLAT; i++) {
      const v = m2[i];
      const row = W3 + i * O;
      for (let k = 0; k < O; k++) z[k] += v * p[row + k];
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
    // dLoss/dz = p·Σt − t (Σt = 1 for one-hot targets).
    let tsum = 0;
    for (let k = 0; k < O; k++) tsum += t[tOff + k];
    for (let k = 0; k < O; k++) prob[k] = prob[k] * tsum - t[tOff + k];
    for (let k = 0; k < O; k++) g[B3 + k] += prob[k];
    for (let i = 0; i < FLAT; i++) {
      const v = m2[i];
      const row = W3 + i * O;
      let s = 0;
      for (let k = 0; k < O; k++) {
        g[row + k] += v * prob[k];
        s += p[row + k] * prob[k];
      }
      dm2[i] = s;
    }
    da2.fill(0);
    for (let i = 0; i < FLAT; i++) da2[arg2[i]] += dm2[i];
    convSameReluBackward(m1, 0, H1, F1, p, W2, B2, F2, a2, da2, g, dm1);
    da1.fill(0);
    for (let i = 0; i < dm1.length; i++) da1[arg1[i]] += dm1[i];
    convSameReluBackward(x, xOff, H0, C0, p, W1, B1, F1, a1, da1, g, null);
  }

  function gradientBatch(
    p: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
    grad: Float64Array,
  ): number {
    grad.fill(0);
    total[0] = 0;
    for (let s = 0; s < count; s++) accumulate(p, inputs, s * CNN_INPUT, targets, s * O, grad);
    const scale = 1 / count;
    for (let k = 0; k < P; k++) grad[k] *= scale;
    return total[0] / count;
  }

  return {
    lastLoss,
    name: 'mnist-cnn',
    inputSize: CNN_INPUT,
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
    gradientBatch,
    forwardBatch(p, inputs, outputs, count) {
      for (let s = 0; s < count; s++) {
        run(p, inputs, s * CNN_INPUT);
        for (let k = 0; k < O; k++) outputs[s * O + k] = prob[k];
      }
    },
    trainStep(p, inputs, targets, count, lr) {
      acc.fill(0);
      total[0] = 0;
      for (let s = 0; s < count; s++) accumulate(p, inputs, s * CNN_INPUT, targets, s * O, acc);
      const step = lr / count;
      for (let k = 0; k < P; k++) p[k] -= step * acc[k];
      lastLoss[0] = total[0] / count;
    },
  };
}
