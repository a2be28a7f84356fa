// A plain f64 forward pass of a whole model over a batch, layer by layer, with the loss of
// each sample as gradc defines it (compiler/frontend/losses.ts). Forward only: its gradients
// are taken by central differences. Deliberately naive (allocates freely, no reuse) so that
// it is easy to read against the TF.js formulas listed in ../tfjs-layers.ts.

import { size, type Layer, type Model } from '../model.ts';
import { activate } from './activations.ts';
import { conv2d, pool2d, type Window2d } from './window.ts';

export type Mode = 'inference' | 'training';

export interface RunOptions {
  readonly mode: Mode;
  /** Per dropout layer (by layer index): a 0/1 keep mask of `count × layer size` values. */
  readonly dropoutMasks?: ReadonlyMap<number, Float64Array>;
}

export interface RunResult {
  /** Row-major `count × outputSize`, after the last activation. */
  readonly outputs: Float64Array;
  /** Per-sample losses and their mean. */
  readonly losses: Float64Array;
  readonly loss: number;
  /** `params` with the moving statistics updated (training mode), otherwise a copy. */
  readonly params: Float64Array;
}

/** 1-D layers as 2-D with height 1; `spatial` and `k` etc. are per spatial axis. */
function geometry(
  inShape: readonly number[],
  outShape: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  padding: 'valid' | 'same',
): Window2d {
  const two = inShape.length === 3;
  return {
    h: two ? inShape[0] : 1,
    w: two ? inShape[1] : inShape[0],
    c: inShape[inShape.length - 1],
    kh: two ? k[0] : 1,
    kw: two ? k[1] : k[0],
    sh: two ? s[0] : 1,
    sw: two ? s[1] : s[0],
    dh: two ? d[0] : 1,
    dw: two ? d[1] : d[0],
    padding,
    oh: two ? outShape[0] : 1,
    ow: two ? outShape[1] : outShape[0],
  };
}

function tensor(
  model: Model,
  params: Float64Array,
  li: number,
  weight: string,
): Float64Array | undefined {
  const t = model.params.find((p) => p.layer === li && p.weight === weight);
  return t === undefined ? undefined : params.subarray(t.offset, t.offset + t.size);
}

function perSample(
  x: Float64Array,
  count: number,
  inSize: number,
  outSize: number,
  f: (sample: Float64Array) => Float64Array,
): Float64Array {
  const y = new Float64Array(count * outSize);
  for (let s = 0; s < count; s++) y.set(f(x.subarray(s * inSize, (s + 1) * inSize)), s * outSize);
  return y;
}

/** Runs one layer on the batch; returns its output before and after its activation. */
function runLayer(
  model: Model,
  params: Float64Array,
  li: number,
  l: Layer,
  x: Float64Array,
  count: number,
  opts: RunOptions,
): { z: Float64Array; y: Float64Array } {
  const inSize = size(l.inShape);
  const outSize = size(l.outShape);
  const channels = l.inShape[l.inShape.length - 1];
  const same = (y: Float64Array) => ({ z: y, y });
  const withActivation = (z: Float64Array, a: Parameters<typeof activate>[0]) => {
    const y = z.slice();
    activate(a, y, l.outShape[l.outShape.length - 1]);
    return { z, y };
  };
  switch (l.type) {
    case 'dense': {
      const w = tensor(model, params, li, 'kernel')!;
      const b = tensor(model, params, li, 'bias');
      const rows = (count * inSize) / channels;
      const z = new Float64Array(rows * l.units);
      for (let r = 0; r < rows; r++)
        for (let u = 0; u < l.units; u++) {
          let s = b === undefined ? 0 : b[u];
          for (let i = 0; i < channels; i++) s += x[r * channels + i] * w[i * l.units + u];
          z[r * l.units + u] = s;
        }
      return withActivation(z, l.activation);
    }
    case 'conv1d':
    case 'conv2d': {
      const g = geometry(l.inShape, l.outShape, l.kernelSize, l.strides, l.dilationRate, l.padding);
      const w = tensor(model, params, li, 'kernel')!;
      const b = tensor(model, params, li, 'bias');
      const z = perSample(x, count, inSize, outSize, (xs) => conv2d(g, xs, w, b, l.filters));
      return withActivation(z, l.activation);
    }
    case 'maxPooling1d':
    case 'maxPooling2d':
    case 'averagePooling1d':
    case 'averagePooling2d': {
      const g = geometry(l.inShape, l.outShape, l.poolSize, l.strides, [1, 1], l.padding);
      const kind = l.type.startsWith('max') ? 'max' : 'average';
      return same(perSample(x, count, inSize, outSize, (xs) => pool2d(g, xs, kind)));
    }
    case 'globalAveragePooling1d':
    case 'globalAveragePooling2d':
    case 'globalMaxPooling1d':
    case 'globalMaxPooling2d': {
      const max = l.type.startsWith('globalMax');
      const pixels = inSize / channels;
      return same(
        perSample(x, count, inSize, channels, (xs) => {
          const out = new Float64Array(channels);
          for (let c = 0; c < channels; c++) {
            let acc = max ? -Infinity : 0;
            for (let p = 0; p < pixels; p++)
              acc = max ? Math.max(acc, xs[p * channels + c]) : acc + xs[p * channels + c];
            out[c] = max ? acc : acc / pixels;
          }
          return out;
        }),
      );
    }
    case 'flatten':
    case 'reshape':
      return same(x.slice());
    case 'activation':
      return withActivation(x.slice(), l.activation);
    case 'batchNormalization': {
      const gamma = tensor(model, params, li, 'gamma');
      const beta = tensor(model, params, li, 'beta');
      const mm = tensor(model, params, li, 'movingMean')!;
      const mv = tensor(model, params, li, 'movingVariance')!;
      const rows = (count * inSize) / channels;
      let mean = mm;
      let variance = mv;
      if (opts.mode === 'training') {
        // Statistics over every axis but the channels, over the whole batch; biased variance.
        mean = new Float64Array(channels);
        variance = new Float64Array(channels);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < channels; c++) mean[c] += x[r * channels + c] / rows;
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < channels; c++)
            variance[c] += (x[r * channels + c] - mean[c]) ** 2 / rows;
        // TF.js: moving ← moving − (moving − batch)·(1 − momentum), written into `params`.
        for (let c = 0; c < channels; c++) {
          mm[c] = mm[c] - (mm[c] - mean[c]) * (1 - l.momentum);
          mv[c] = mv[c] - (mv[c] - variance[c]) * (1 - l.momentum);
        }
      }
      const y = new Float64Array(x.length);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < channels; c++) {
          const n = (x[r * channels + c] - mean[c]) / Math.sqrt(variance[c] + l.epsilon);
          y[r * channels + c] =
            n * (gamma === undefined ? 1 : gamma[c]) + (beta === undefined ? 0 : beta[c]);
        }
      return same(y);
    }
    case 'layerNormalization': {
      const gamma = tensor(model, params, li, 'gamma');
      const beta = tensor(model, params, li, 'beta');
      const rows = (count * inSize) / channels;
      const y = new Float64Array(x.length);
      for (let r = 0; r < rows; r++) {
        let mean = 0;
        for (let c = 0; c < channels; c++) mean += x[r * channels + c] / channels;
        let variance = 0;
        for (let c = 0; c < channels; c++) variance += (x[r * channels + c] - mean) ** 2 / channels;
        for (let c = 0; c < channels; c++) {
          const n = (x[r * channels + c] - mean) / Math.sqrt(variance + l.epsilon);
          y[r * channels + c] =
            n * (gamma === undefined ? 1 : gamma[c]) + (beta === undefined ? 0 : beta[c]);
        }
      }
      return same(y);
    }
    case 'dropout': {
      if (opts.mode === 'inference' || l.rate === 0) return same(x.slice());
      const mask = opts.dropoutMasks?.get(li);
      if (mask === undefined)
        throw new Error(`reference: dropout layer ${li} needs a mask in training mode`);
      return same(x.map((v, i) => (v * mask[i]) / (1 - l.rate)));
    }
  }
}

/** gradc's per-sample loss; `z` is the last layer's output before its activation. */
function sampleLoss(model: Model, y: Float64Array, z: Float64Array, t: Float64Array): number {
  const n = y.length;
  const eps = 1e-7;
  const clip = (p: number) => Math.min(Math.max(p, eps), 1 - eps);
  switch (model.loss.name) {
    case 'mse':
      return y.reduce((a, v, i) => a + (v - t[i]) ** 2, 0) / n;
    case 'mae':
      return y.reduce((a, v, i) => a + Math.abs(v - t[i]), 0) / n;
    case 'huber': {
      const d = model.loss.delta;
      return (
        y.reduce((a, v, i) => {
          const e = Math.abs(v - t[i]);
          return a + (e > d ? d * e - 0.5 * d * d : 0.5 * e * e);
        }, 0) / n
      );
    }
    case 'binaryCrossEntropy':
      if (model.lastActivation === 'sigmoid')
        // From the logits: −[t·log σ(z) + (1 − t)·log(1 − σ(z))] = max(z, 0) − z·t + log(1 + e^−|z|).
        return (
          z.reduce(
            (a, v, i) => a + Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v))),
            0,
          ) / n
        );
      return (
        -y.reduce(
          (a, v, i) => a + t[i] * Math.log(clip(v)) + (1 - t[i]) * Math.log(1 - clip(v)),
          0,
        ) / n
      );
    case 'categoricalCrossEntropy': {
      if (model.lastActivation !== 'softmax')
        return -y.reduce((a, v, i) => a + t[i] * Math.log(clip(v)), 0);
      // −Σ t·log softmax(z), softmax over each run of the last axis.
      const last = model.outputShape[model.outputShape.length - 1];
      let l = 0;
      for (let start = 0; start < n; start += last) {
        let m = -Infinity;
        for (let i = 0; i < last; i++) m = Math.max(m, z[start + i]);
        let s = 0;
        for (let i = 0; i < last; i++) s += Math.exp(z[start + i] - m);
        const lse = m + Math.log(s);
        for (let i = 0; i < last; i++) l -= t[start + i] * (z[start + i] - lse);
      }
      return l;
    }
  }
}

export function referenceRun(
  model: Model,
  params: Float64Array,
  inputs: Float64Array,
  targets: Float64Array | undefined,
  count: number,
  opts: RunOptions = { mode: 'inference' },
): RunResult {
  const p = params.slice();
  let x = inputs.subarray(0, count * model.inputSize) as Float64Array;
  let z = x;
  model.layers.forEach((l, li) => {
    const r = runLayer(model, p, li, l, x, count, opts);
    x = r.y;
    z = r.z;
  });
  const O = model.outputSize;
  const losses = new Float64Array(count);
  if (targets !== undefined)
    for (let s = 0; s < count; s++)
      losses[s] = sampleLoss(
        model,
        x.subarray(s * O, (s + 1) * O),
        z.subarray(s * O, (s + 1) * O),
        targets.subarray(s * O, (s + 1) * O),
      );
  return { outputs: x, losses, loss: losses.reduce((a, b) => a + b, 0) / count, params: p };
}

/**
 * d(mean loss)/d(params) by central differences on the f64 reference, for the listed
 * parameter indices (NaN elsewhere). The moving statistics are read, not differentiated.
 */
export function referenceGradient(
  model: Model,
  params: Float64Array,
  inputs: Float64Array,
  targets: Float64Array,
  count: number,
  opts: RunOptions,
  indices: readonly number[],
  wrt: 'params' | 'inputs' = 'params',
): Float64Array {
  const base = wrt === 'params' ? params.slice() : inputs.slice();
  const out = new Float64Array(base.length).fill(NaN);
  const lossAt = (v: Float64Array) =>
    wrt === 'params'
      ? referenceRun(model, v, inputs, targets, count, opts).loss
      : referenceRun(model, params, v, targets, count, opts).loss;
  for (const k of indices) {
    const v = base[k];
    const h = 1e-5 * Math.max(1, Math.abs(v));
    base[k] = v + h;
    const up = lossAt(base);
    base[k] = v - h;
    const down = lossAt(base);
    base[k] = v;
    out[k] = (up - down) / (2 * h);
  }
  return out;
}
