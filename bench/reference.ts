// A generic, deliberately simple f64 MLP used only as an oracle: it checks the hand-written
// baselines and the variants some peers can express (brain.js). It allocates freely.
// Convolutional specs go to reference-cnn.ts.

import { LEAKY_ALPHA, layout, outputSize, type Activation, type NetSpec } from './models.ts';
import { cnnForward, cnnGradient } from './reference-cnn.ts';

function activate(a: Activation, z: Float64Array): Float64Array {
  if (a === 'softmax') {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((p, v) => p + v, 0);
    return e.map((v) => v / s);
  }
  return z.map((v) => {
    switch (a) {
      case 'linear':
        return v;
      case 'tanh':
        return Math.tanh(v);
      case 'sigmoid':
        return 1 / (1 + Math.exp(-v));
      case 'relu':
        return v > 0 ? v : 0;
      case 'leakyRelu':
        return v > 0 ? v : LEAKY_ALPHA * v;
    }
  });
}

/** dy/dz from the activation's output y (relu'(0) = 0, as in TF.js and gradc). */
function derivative(a: Activation, y: number): number {
  switch (a) {
    case 'linear':
      return 1;
    case 'tanh':
      return 1 - y * y;
    case 'sigmoid':
      return y * (1 - y);
    case 'relu':
      return y > 0 ? 1 : 0;
    case 'leakyRelu':
      return y > 0 ? 1 : LEAKY_ALPHA;
    case 'softmax':
      throw new Error('softmax is only supported fused with categoricalCrossEntropy');
  }
}

function forwardAll(spec: NetSpec, p: Float64Array, x: Float64Array): Float64Array[] {
  const acts = [x];
  for (const l of layout(spec).layers) {
    const prev = acts[acts.length - 1];
    const z = new Float64Array(l.units);
    for (let j = 0; j < l.units; j++) {
      let s = p[l.bias + j];
      for (let i = 0; i < l.inputs; i++) s += prev[i] * p[l.kernel + i * l.units + j];
      z[j] = s;
    }
    acts.push(activate(l.activation, z));
  }
  return acts;
}

export function refForward(spec: NetSpec, p: Float64Array, x: Float64Array): Float64Array {
  if (spec.conv !== undefined) return cnnForward(spec, p, x);
  const acts = forwardAll(spec, p, x);
  return acts[acts.length - 1];
}

function lossOf(spec: NetSpec, y: Float64Array, t: Float64Array): number {
  let s = 0;
  for (let k = 0; k < y.length; k++) {
    if (spec.loss === 'categoricalCrossEntropy') s -= t[k] * Math.log(y[k]);
    else s += (y[k] - t[k]) ** 2;
  }
  if (spec.loss === 'mse') return s / y.length;
  return spec.loss === 'halfSumSquares' ? s / 2 : s;
}

/** Returns [loss, dLoss/dparams] for one sample. */
export function refGradient(
  spec: NetSpec,
  p: Float64Array,
  x: Float64Array,
  t: Float64Array,
): [number, Float64Array] {
  if (spec.conv !== undefined) return cnnGradient(spec, p, x, t);
  const { layers, paramCount } = layout(spec);
  const acts = forwardAll(spec, p, x);
  const y = acts[acts.length - 1];
  const grad = new Float64Array(paramCount);
  const last = layers[layers.length - 1];
  // dz of the last layer
  let dz = new Float64Array(y.length);
  if (last.activation === 'softmax') {
    if (spec.loss !== 'categoricalCrossEntropy')
      throw new Error('softmax needs categoricalCrossEntropy');
    const tsum = t.reduce((a, v) => a + v, 0);
    for (let k = 0; k < y.length; k++) dz[k] = y[k] * tsum - t[k];
  } else {
    for (let k = 0; k < y.length; k++) {
      let dy: number;
      if (spec.loss === 'mse') dy = (2 * (y[k] - t[k])) / y.length;
      else if (spec.loss === 'halfSumSquares') dy = y[k] - t[k];
      else dy = -t[k] / y[k];
      dz[k] = dy * derivative(last.activation, y[k]);
    }
  }
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li];
    const input = acts[li];
    for (let j = 0; j < l.units; j++) {
      grad[l.bias + j] = dz[j];
      for (let i = 0; i < l.inputs; i++) grad[l.kernel + i * l.units + j] = input[i] * dz[j];
    }
    if (li === 0) break;
    const below = layers[li - 1];
    const next = new Float64Array(l.inputs);
    for (let i = 0; i < l.inputs; i++) {
      let s = 0;
      for (let j = 0; j < l.units; j++) s += p[l.kernel + i * l.units + j] * dz[j];
      next[i] = s * derivative(below.activation, input[i]);
    }
    dz = next;
  }
  return [lossOf(spec, y, t), grad];
}

function sample(a: Float64Array, s: number, size: number): Float64Array {
  return a.slice(s * size, (s + 1) * size);
}

/** Mean loss and mean gradient over a row-major batch. */
export function refBatchGradient(
  spec: NetSpec,
  p: Float64Array,
  xs: Float64Array,
  ts: Float64Array,
  count: number,
): [number, Float64Array] {
  const mean = new Float64Array(p.length);
  let loss = 0;
  for (let s = 0; s < count; s++) {
    const [l, g] = refGradient(
      spec,
      p,
      sample(xs, s, spec.inputSize),
      sample(ts, s, outputSize(spec)),
    );
    loss += l / count;
    for (let k = 0; k < g.length; k++) mean[k] += g[k] / count;
  }
  return [loss, mean];
}

/** Parameters after one SGD step: `mean` = one step on the batch mean, `online` = one step per sample. */
export function refSgdStep(
  spec: NetSpec,
  p0: Float64Array,
  xs: Float64Array,
  ts: Float64Array,
  count: number,
  lr: number,
  update: 'mean' | 'online',
): Float64Array {
  const p = p0.slice();
  if (update === 'mean') {
    const [, g] = refBatchGradient(spec, p, xs, ts, count);
    for (let k = 0; k < p.length; k++) p[k] -= lr * g[k];
    return p;
  }
  for (let s = 0; s < count; s++) {
    const [, g] = refGradient(
      spec,
      p,
      sample(xs, s, spec.inputSize),
      sample(ts, s, outputSize(spec)),
    );
    for (let k = 0; k < p.length; k++) p[k] -= lr * g[k];
  }
  return p;
}
