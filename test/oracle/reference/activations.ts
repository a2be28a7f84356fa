// Scalar activations in f64, written from their textbook definitions (TF.js's where the two
// differ): an independent check of the TF.js oracle, so nothing here calls TF.js.

import type { Activation } from '../model.ts';

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

export function scalar(a: Activation, x: number): number {
  switch (a.name) {
    case 'linear':
      return x;
    case 'relu':
      return Math.max(x, 0);
    case 'relu6':
      return Math.min(Math.max(x, 0), 6);
    case 'leakyRelu':
      return x > 0 ? x : (a.alpha ?? 0.2) * x;
    case 'elu':
      return x > 0 ? x : (a.alpha ?? 1) * Math.expm1(x);
    case 'selu':
      return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
    case 'sigmoid':
      return sigmoid(x);
    case 'hardSigmoid':
      return Math.min(1, Math.max(0, 0.2 * x + 0.5));
    case 'tanh':
      return Math.tanh(x);
    case 'softplus':
      return softplus(x);
    case 'softsign':
      return x / (1 + Math.abs(x));
    case 'swish':
      return x * sigmoid(x);
    case 'mish':
      return x * Math.tanh(softplus(x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'geluNew':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    default:
      throw new Error(`reference: no activation ${JSON.stringify(a.name)}`);
  }
}

/** Applies `a` to `v` in place; softmax normalizes each run of `lastAxis` values. */
export function activate(a: Activation, v: Float64Array, lastAxis: number): void {
  if (a.name !== 'softmax') {
    for (let i = 0; i < v.length; i++) v[i] = scalar(a, v[i]);
    return;
  }
  for (let start = 0; start < v.length; start += lastAxis) {
    let m = -Infinity;
    for (let i = 0; i < lastAxis; i++) m = Math.max(m, v[start + i]);
    let s = 0;
    for (let i = 0; i < lastAxis; i++) s += Math.exp(v[start + i] - m);
    for (let i = 0; i < lastAxis; i++) v[start + i] = Math.exp(v[start + i] - m) / s;
  }
}

/** erf by its Maclaurin series (|x| < 5; beyond, erf = ±1 to 1e-12): slow and plain, so it
 * checks gradc's rational approximation rather than repeating it. */
export function erf(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
