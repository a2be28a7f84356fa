// The TensorFlow.js Layers oracle: a gradc model file (issue-8 layer contract) becomes the
// equivalent tf.sequential model (tfjs-layers 4.22 on tfjs-core's cpu backend, f32), loaded
// with gradc's flat parameters; it returns inference outputs, gradc's mean loss, and the
// gradient of that loss w.r.t. every weight (gradc's layout, zeros for non-trainable
// tensors) and w.r.t. the inputs, in inference and in training mode.
//
// TF.js 4.22 semantics that gradc must reproduce (read in node_modules/@tensorflow/*/dist):
//
// - Weight order. `layer.getWeights()` is the layer's trainable weights, then its
//   non-trainable ones, each in `addWeight` order: dense/conv kernel, bias; batchNormalization
//   gamma, beta, moving_mean, moving_variance (gamma absent when scale: false, beta when
//   center: false); layerNormalization gamma, beta. gradc's flat array concatenates these
//   per layer. `model.getWeights()` is NOT that order: it is every layer's trainable weights,
//   then every layer's non-trainable ones (Container.weights), so the moving statistics, and
//   all weights of a frozen layer, move to the end. `toModelWeights` / `fromModelWeights`
//   permute between the two by variable identity.
// - Layouts: conv2d kernel [kh, kw, in, filters], conv1d [k, in, filters], dense [in, units];
//   activations channels-last; flatten is row-major over [h, w, c].
// - Window geometry (conv_util.computeConv2DInfo), with effective kernel
//   k' = (k − 1)·dilation + 1 per axis:
//     valid: out = ceil((in − k' + 1) / stride), no padding;
//     same:  out = ceil(in / stride), total = max(0, (out − 1)·stride + k' − in),
//            before = floor(total / 2), after = total − before
//   (so an even kernel, or stride 2 on an even input, pads one more at the bottom / right).
//   Pooling uses the same rules with dilation 1. 1-D layers run as 2-D with height 1.
// - averagePooling with same padding divides by the number of in-bounds taps only (padding
//   is never counted); maxPooling ignores padding. The max-pool gradient goes to the FIRST
//   maximal tap in row-major window order (`pixel > maxValue` in maxPoolPositions).
//   TF.js's cpu AvgPoolGrad does NOT match its own forward: it divides by the full window
//   area everywhere, so TF.js's gradient of a same-padded average pool is too small wherever
//   a window overlaps the padding. For gradients this oracle computes such a layer as
//   zero-pad + valid average + per-output rescale (the true derivative of TF.js's forward)
//   and checks that form's forward against the layer's.
// - conv with dilation > 1 and stride > 1 at once is rejected by tf.conv2d ("Either strides
//   or dilations must be 1"). tfjs-core has no conv gradient for dilation > 1 ("dilation rates
//   greater than 1 are not yet supported in gradients"): for gradients this oracle runs such
//   a layer as a stride-1 convolution with the zero-dilated kernel (exactly the same sums,
//   differentiable with pad/reshape/slice); its forward is checked against the real layer.
// - Activations: relu' (0) = 0; relu6 = min(6, relu(x)); hardSigmoid = clip(0.2·x + 0.5, 0, 1)
//   (clipByValue passes the gradient on the closed interval); mish = x·tanh(softplus(x));
//   swish = x·sigmoid(x); selu with α = 1.6732632423543772, scale 1.0507009873554805; elu only
//   with α = 1 (the ELU layer and K.elu throw otherwise); softmax over the last axis.
//   `gelu` is the erf form x·Φ(x) in both (TF.js's erf: Abramowitz & Stegun 7.1.26, error
//   1.5e-7); the tanh form is TF.js's `gelu_new`, gradc's `geluNew`.
//   leakyRelu is not an activation name in tfjs-layers: the oracle appends a LeakyReLU layer
//   with gradc's alpha (that layer's own default is 0.3; tf.leakyRelu's is 0.2).
// - batchNormalization (axis −1): y = (x − mean)·rsqrt(var + ε)·gamma + beta. Inference: the
//   moving statistics. Training (`apply(x, {training: true})`): tf.moments over every axis but
//   the last, over the batch: mean, and the BIASED variance mean((x − mean)²); then
//   moving ← moving − (moving − batch)·(1 − momentum) for both, the biased variance included
//   (no n/(n−1) correction), written during the forward pass. TF.js 4.22 cannot train with
//   center: false or scale: false (its training branch reads this.gamma / this.beta
//   unconditionally); the oracle refuses that case with a clear error.
// - layerNormalization (axis −1 only): per position, mean and biased variance over the last
//   axis, then the same formula; gamma and beta have the last axis's size.
//   TF.js cannot differentiate layerNormalization with center: false or scale: false (the
//   batchNorm gradient throws a TypeError on the missing offset / scale); for gradients the
//   oracle then writes the formula with tf.moments and checks that form's forward.
// - dropout: identity at inference; in training x·mask / (1 − rate) with mask = [u ≥ rate]
//   (tf.dropout: floor(u + keep) / keep). TF.js draws its own masks, so in training mode the
//   oracle needs gradc's masks (`dropoutMasks`) and applies the same formula with them.
// - Losses are gradc's (compiler/frontend/losses.ts) computed here with tf ops, batch mean
//   of the per-sample loss: softmax + categoricalCrossEntropy and sigmoid +
//   binaryCrossEntropy from the logits (the activation is split off into its own layer),
//   other activations with probabilities clipped to [1e-7, 1 − 1e-7].
//
// Use (test code; inputs and targets row-major over the batch, parameters in gradc's layout):
//   const oracle = await createTfjsOracle(modelJson);
//   const y = oracle.forward(params, inputs, count);
//   const g = oracle.gradient(params, inputs, targets, count, { mode: 'training', dropoutMasks });
//   // g.loss, g.grad (zeros for non-trainable), g.inputGrad, g.params (moving stats updated)
//   oracle.dispose();

import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { loadTf, type Tf } from '../../bench/peers/tfjs-loader.ts';
import {
  padBefore,
  parseModel,
  size,
  type Activation,
  type Layer,
  type Model,
  type ModelJson,
} from './model.ts';

type Tfl = typeof import('@tensorflow/tfjs-layers');
/** tfjs-layers' abstract Layer base (its factories' common return type). */
type TfLayer = ReturnType<Tfl['layers']['conv3dTranspose']>;
type LayerVariable = TfLayer['weights'][number];

export type Mode = 'inference' | 'training';

export interface GradientOptions {
  readonly mode: Mode;
  /** Per dropout layer (by gradc layer index): a 0/1 keep mask of `count × layer size`. */
  readonly dropoutMasks?: ReadonlyMap<number, Float64Array>;
}

export interface OracleGradient {
  readonly loss: number;
  /** Row-major `count × outputSize` outputs of the same pass. */
  readonly outputs: Float64Array;
  /** d(mean loss)/d(params) in gradc's layout; zeros for non-trainable tensors. */
  readonly grad: Float64Array;
  /** d(mean loss)/d(inputs), row-major `count × inputSize` (count × a sample's own gradient in
   * inference mode, where samples do not interact). */
  readonly inputGrad: Float64Array;
  /** The parameters after the pass: in training mode with updated moving statistics. */
  readonly params: Float64Array;
}

export interface TfjsOracle {
  readonly model: Model;
  readonly tf: Tf;
  /** The tf.sequential model; its weights hold whatever was loaded last. */
  readonly tfModel: ReturnType<Tfl['sequential']>;
  /** Inference outputs, row-major `count × outputSize`. */
  forward(params: Float64Array, inputs: Float64Array, count: number): Float64Array;
  /** Inference mean loss. */
  loss(params: Float64Array, inputs: Float64Array, targets: Float64Array, count: number): number;
  gradient(
    params: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
    opts: GradientOptions,
  ): OracleGradient;
  /** gradc's flat array → tensors in `tfModel.getWeights()` order (caller disposes them). */
  toModelWeights(flat: Float64Array): Tensor[];
  /** `tfModel.getWeights()`-ordered tensors → gradc's flat array. */
  fromModelWeights(weights: readonly Tensor[]): Float64Array;
  dispose(): void;
}

interface Built {
  /** The layer's own TF.js layer (absent for an activation layer whose activation was split off). */
  readonly main?: TfLayer;
  /** An extra activation layer (leakyRelu, or a softmax / sigmoid split off for the loss). */
  readonly extra?: TfLayer;
  /** Activation identifier given to `main` (for the dilated-conv path). */
  readonly activationId?: string;
}

const WEIGHT_NAMES: Record<string, string> = {
  kernel: 'kernel',
  bias: 'bias',
  gamma: 'gamma',
  beta: 'beta',
  moving_mean: 'movingMean',
  moving_variance: 'movingVariance',
};

function unsupported(what: string): never {
  throw new Error(`TF.js oracle: ${what}`);
}

/** TF.js identifier for a gradc activation, plus a separate layer when TF.js has no such name. */
function tfActivation(tfl: Tfl, a: Activation, split: boolean): { id: string; extra?: TfLayer } {
  if (split)
    return { id: 'linear', extra: tfl.layers.activation({ activation: a.name as 'softmax' }) };
  switch (a.name) {
    case 'leakyRelu':
      return { id: 'linear', extra: tfl.layers.leakyReLU({ alpha: a.alpha ?? 0.2 }) };
    case 'elu':
      if (a.alpha !== undefined && a.alpha !== 1)
        unsupported(`elu with alpha ${a.alpha}: TF.js 4.22 implements only alpha 1`);
      return { id: 'elu' };
    case 'geluNew':
      return { id: 'gelu_new' };
    case 'linear':
    case 'relu':
    case 'relu6':
    case 'sigmoid':
    case 'hardSigmoid':
    case 'tanh':
    case 'softplus':
    case 'softsign':
    case 'selu':
    case 'swish':
    case 'mish':
    case 'gelu':
    case 'softmax':
      return { id: a.name };
    default:
      return unsupported(`no TF.js activation for ${JSON.stringify(a.name)}`);
  }
}

function buildLayer(tfl: Tfl, l: Layer, first: boolean, split: boolean): Built {
  // `inputShape` goes to the first layer; the ActivationIdentifier casts are checked by the
  // mapping in tfActivation (TF.js's type lists the same names).
  const base = { trainable: l.trainable, ...(first ? { inputShape: [...l.inShape] } : {}) };
  type Id = 'linear';
  switch (l.type) {
    case 'dense': {
      const { id, extra } = tfActivation(tfl, l.activation, split);
      return {
        main: tfl.layers.dense({
          ...base,
          units: l.units,
          useBias: l.useBias,
          activation: id as Id,
        }),
        extra,
        activationId: id,
      };
    }
    case 'conv1d':
    case 'conv2d': {
      const { id, extra } = tfActivation(tfl, l.activation, split);
      const two = l.type === 'conv2d';
      const args = {
        ...base,
        filters: l.filters,
        kernelSize: two ? [...l.kernelSize] : l.kernelSize[0],
        strides: two ? [...l.strides] : l.strides[0],
        dilationRate: two ? ([...l.dilationRate] as [number, number]) : l.dilationRate[0],
        padding: l.padding,
        useBias: l.useBias,
        activation: id as Id,
      };
      return {
        main: two ? tfl.layers.conv2d(args) : tfl.layers.conv1d(args),
        extra,
        activationId: id,
      };
    }
    case 'maxPooling1d':
      return {
        main: tfl.layers.maxPooling1d({
          ...base,
          poolSize: l.poolSize[0],
          strides: l.strides[0],
          padding: l.padding,
        }),
      };
    case 'averagePooling1d':
      return {
        main: tfl.layers.averagePooling1d({
          ...base,
          poolSize: l.poolSize[0],
          strides: l.strides[0],
          padding: l.padding,
        }),
      };
    case 'maxPooling2d':
      return {
        main: tfl.layers.maxPooling2d({
          ...base,
          poolSize: [...l.poolSize] as [number, number],
          strides: [...l.strides] as [number, number],
          padding: l.padding,
        }),
      };
    case 'averagePooling2d':
      return {
        main: tfl.layers.averagePooling2d({
          ...base,
          poolSize: [...l.poolSize] as [number, number],
          strides: [...l.strides] as [number, number],
          padding: l.padding,
        }),
      };
    case 'globalAveragePooling1d':
      return { main: tfl.layers.globalAveragePooling1d(base) };
    case 'globalAveragePooling2d':
      return { main: tfl.layers.globalAveragePooling2d(base) };
    case 'globalMaxPooling1d':
      return { main: tfl.layers.globalMaxPooling1d(base) };
    case 'globalMaxPooling2d':
      return { main: tfl.layers.globalMaxPooling2d(base) };
    case 'flatten':
      return { main: tfl.layers.flatten(base) };
    case 'reshape':
      return { main: tfl.layers.reshape({ ...base, targetShape: [...l.targetShape] }) };
    case 'activation': {
      const { id, extra } = tfActivation(tfl, l.activation, split);
      if (extra !== undefined)
        return first
          ? { main: tfl.layers.activation({ ...base, activation: 'linear' }), extra }
          : { extra };
      return { main: tfl.layers.activation({ ...base, activation: id as Id }) };
    }
    case 'batchNormalization':
      return {
        main: tfl.layers.batchNormalization({
          ...base,
          momentum: l.momentum,
          epsilon: l.epsilon,
          center: l.center,
          scale: l.scale,
        }),
      };
    case 'layerNormalization':
      return {
        main: tfl.layers.layerNormalization({
          ...base,
          epsilon: l.epsilon,
          center: l.center,
          scale: l.scale,
        }),
      };
    case 'dropout':
      return { main: tfl.layers.dropout({ ...base, rate: l.rate }) };
  }
}

/** The kernel with (rate − 1) zeros between taps along each spatial axis (the first axes). */
function dilateKernel(tf: Tf, kernel: Tensor, rates: readonly number[]): Tensor {
  let k = kernel;
  rates.forEach((rate, axis) => {
    if (rate === 1) return;
    const shape = k.shape;
    const n = shape[axis];
    const expanded = tf.reshape(k, [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)]);
    const pads = expanded.shape.map((_, i): [number, number] =>
      i === axis + 1 ? [0, rate - 1] : [0, 0],
    );
    const spread = tf.reshape(tf.pad(expanded, pads), [
      ...shape.slice(0, axis),
      n * rate,
      ...shape.slice(axis + 1),
    ]);
    const begin = shape.map(() => 0);
    const sizes = shape.map((d, i) => (i === axis ? (n - 1) * rate + 1 : d));
    k = tf.slice(spread, begin, sizes);
  });
  return k;
}

/**
 * averagePooling with same padding, differentiable correctly: zero-pad explicitly, average
 * over full windows (valid), then rescale each output by area / in-bounds taps. Its forward
 * equals TF.js's; TF.js's own AvgPoolGrad divides by the full window area at the borders.
 */
function averagePoolSame(
  tf: Tf,
  x: Tensor,
  inShape: readonly number[],
  outShape: readonly number[],
  poolSize: readonly number[],
  strides: readonly number[],
): Tensor {
  const two = inShape.length === 3;
  const [h, w, c] = two ? inShape : [1, inShape[0], inShape[1]];
  const [oh, ow] = two ? outShape : [1, outShape[0]];
  const [kh, kw] = two ? poolSize : [1, poolSize[0]];
  const [sh, sw] = two ? strides : [1, strides[0]];
  const top = padBefore(h, kh, sh, 1, 'same');
  const left = padBefore(w, kw, sw, 1, 'same');
  const bottom = Math.max(0, (oh - 1) * sh + kh - h) - top;
  const right = Math.max(0, (ow - 1) * sw + kw - w) - left;
  const x4 = tf.reshape(x, [-1, h, w, c]) as Parameters<Tf['avgPool']>[0];
  const padded = tf.pad(x4, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
  const pooled = tf.avgPool(padded as Parameters<Tf['avgPool']>[0], [kh, kw], [sh, sw], 'valid');
  const scale = new Float32Array(oh * ow);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      const rows = Math.min(h, oy * sh - top + kh) - Math.max(0, oy * sh - top);
      const cols = Math.min(w, ox * sw - left + kw) - Math.max(0, ox * sw - left);
      scale[oy * ow + ox] = (kh * kw) / (rows * cols);
    }
  const out = tf.mul(pooled, tf.tensor(scale, [1, oh, ow, 1]));
  return tf.reshape(out, [-1, ...outShape]);
}

/** gradc's per-sample loss, batch mean, on `y` (after the activation) / `z` (logits). */
function meanLoss(tf: Tf, model: Model, y: Tensor, z: Tensor, t: Tensor, count: number): Tensor {
  const flat = (v: Tensor) => tf.reshape(v, [count, -1]);
  const eps = 1e-7;
  const clip = (v: Tensor) => tf.clipByValue(v, eps, 1 - eps);
  const perSampleMean = (v: Tensor) => tf.mean(tf.mean(flat(v), 1));
  switch (model.loss.name) {
    case 'mse':
      return perSampleMean(tf.square(tf.sub(y, t)));
    case 'mae':
      return perSampleMean(tf.abs(tf.sub(y, t)));
    case 'huber': {
      // 0.5·q² + δ·(|e| − q) with q = min(|e|, δ): gradc's select form without a comparison,
      // which TF.js cannot differentiate through (no gradient for Greater).
      const d = model.loss.delta;
      const a = tf.abs(tf.sub(y, t));
      const q = tf.minimum(a, d);
      return perSampleMean(tf.add(tf.mul(0.5, tf.square(q)), tf.mul(d, tf.sub(a, q))));
    }
    case 'binaryCrossEntropy':
      if (model.lastActivation === 'sigmoid')
        return perSampleMean(
          tf.add(tf.sub(tf.relu(z), tf.mul(z, t)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))),
        );
      return tf.neg(
        perSampleMean(
          tf.add(tf.mul(t, tf.log(clip(y))), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, clip(y))))),
        ),
      );
    case 'categoricalCrossEntropy': {
      const logp = model.lastActivation === 'softmax' ? tf.logSoftmax(z) : tf.log(clip(y));
      return tf.neg(tf.mean(tf.sum(flat(tf.mul(t, logp)), 1)));
    }
  }
}

/** tf.tidy for a function that returns plain JS values (tidy's type admits only tensors). */
function tidyValue<T>(tf: Tf, f: () => T): T {
  let out: { value: T } | undefined;
  tf.tidy(() => {
    out = { value: f() };
  });
  if (out === undefined) throw new Error('unreachable: tf.tidy runs its function');
  return out.value;
}

// Variables are registered by name in TF.js's global engine: one counter for all oracles.
let inputCounter = 0;

export async function createTfjsOracle(json: ModelJson): Promise<TfjsOracle> {
  const model = parseModel(json);
  const tf = await loadTf();
  await tf.setBackend('cpu');
  const tfl: Tfl = await import('@tensorflow/tfjs-layers');
  const fused =
    (model.loss.name === 'categoricalCrossEntropy' && model.lastActivation === 'softmax') ||
    (model.loss.name === 'binaryCrossEntropy' && model.lastActivation === 'sigmoid');
  const built = model.layers.map((l, i) =>
    buildLayer(tfl, l, i === 0, fused && i === model.layers.length - 1),
  );
  const tfModel = tfl.sequential();
  for (const b of built) {
    if (b.main !== undefined) tfModel.add(b.main);
    if (b.extra !== undefined) tfModel.add(b.extra);
  }

  // Each gradc tensor's variable, found by layer and TF.js weight name, and checked for shape.
  const vars: LayerVariable[] = model.params.map((p) => {
    const layer = built[p.layer].main;
    const v = layer?.weights.find(
      (w) => WEIGHT_NAMES[w.originalName.split('/').pop() ?? ''] === p.weight,
    );
    if (v === undefined) unsupported(`TF.js layer for ${p.name} has no weight ${p.weight}`);
    if (v.shape.join(',') !== p.shape.join(','))
      unsupported(
        `${p.name}: TF.js shape [${v.shape.join(', ')}], gradc layout [${p.shape.join(', ')}]`,
      );
    return v;
  });
  const modelOrder = tfModel.weights.map((w) => {
    const i = vars.findIndex((v) => v.id === w.id);
    if (i < 0) unsupported(`TF.js weight ${w.originalName} is not in gradc's layout`);
    return i;
  });
  if (modelOrder.length !== vars.length) unsupported('TF.js has a different number of weights');
  const variable = (i: number): Variable => vars[i].read() as Variable;

  const setParams = (flat: Float64Array): void => {
    tf.tidy(() => {
      model.params.forEach((p, i) => {
        vars[i].write(
          tf.tensor(Float32Array.from(flat.subarray(p.offset, p.offset + p.size)), [...p.shape]),
        );
      });
    });
  };
  const readParams = (): Float64Array => {
    const flat = new Float64Array(model.paramCount);
    model.params.forEach((p, i) => flat.set(variable(i).dataSync(), p.offset));
    return flat;
  };
  const batchOf = (a: Float64Array, count: number, shape: readonly number[]): Tensor =>
    tf.tensor(Float32Array.from(a.subarray(0, count * size(shape))), [count, ...shape]);

  /** Runs the layers one by one (what Sequential.apply does), returning output and logits. */
  const run = (
    x: Tensor,
    training: boolean,
    forGradient: boolean,
    masks?: ReadonlyMap<number, Float64Array>,
    count = 0,
  ): { y: Tensor; z: Tensor } => {
    let h = x;
    let z = x;
    model.layers.forEach((l, li) => {
      const b = built[li];
      if (l.type === 'dropout' && training && l.rate > 0) {
        const mask = masks?.get(li);
        if (mask === undefined)
          unsupported(`dropout layer ${li} in training mode needs gradc's mask (dropoutMasks)`);
        h = tf.div(tf.mul(h, batchOf(mask, count, l.inShape)), 1 - l.rate);
      } else if (
        (l.type === 'conv1d' || l.type === 'conv2d') &&
        forGradient &&
        l.dilationRate.some((d) => d > 1)
      ) {
        const ki = model.params.findIndex((p) => p.layer === li && p.weight === 'kernel');
        const kernel = dilateKernel(tf, variable(ki), l.dilationRate);
        let out =
          l.type === 'conv2d'
            ? tf.conv2d(
                h as Parameters<Tf['conv2d']>[0],
                kernel as Parameters<Tf['conv2d']>[1],
                [...l.strides] as [number, number],
                l.padding,
              )
            : tf.conv1d(
                h as Parameters<Tf['conv1d']>[0],
                kernel as Parameters<Tf['conv1d']>[1],
                l.strides[0],
                l.padding,
              );
        if (l.useBias) out = tf.add(out, variable(ki + 1));
        h = tfl.layers
          .activation({ activation: (b.activationId ?? 'linear') as 'linear' })
          .apply(out) as Tensor;
      } else if (
        (l.type === 'averagePooling1d' || l.type === 'averagePooling2d') &&
        forGradient &&
        l.padding === 'same'
      ) {
        h = averagePoolSame(tf, h, l.inShape, l.outShape, l.poolSize, l.strides);
      } else if (l.type === 'layerNormalization' && forGradient && !(l.center && l.scale)) {
        // TF.js's batchNorm gradient fails without an offset or a scale tensor.
        const { mean, variance } = tf.moments(h, -1, true);
        const gi = model.params.findIndex((p) => p.layer === li && p.weight === 'gamma');
        const bi = model.params.findIndex((p) => p.layer === li && p.weight === 'beta');
        let n = tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, l.epsilon)));
        if (gi >= 0) n = tf.mul(n, variable(gi));
        if (bi >= 0) n = tf.add(n, variable(bi));
        h = n;
      } else if (
        l.type === 'batchNormalization' &&
        forGradient &&
        !training &&
        !(l.center && l.scale)
      ) {
        // The same failure in inference mode: TF.js's formula on the moving statistics.
        const at = (w: string) => model.params.findIndex((p) => p.layer === li && p.weight === w);
        const gi = at('gamma');
        const bi = at('beta');
        let n = tf.mul(
          tf.sub(h, variable(at('movingMean'))),
          tf.rsqrt(tf.add(variable(at('movingVariance')), l.epsilon)),
        );
        if (gi >= 0) n = tf.mul(n, variable(gi));
        if (bi >= 0) n = tf.add(n, variable(bi));
        h = n;
      } else if (b.main !== undefined) {
        if (l.type === 'batchNormalization' && training && !(l.center && l.scale))
          unsupported('TF.js 4.22 batchNormalization cannot train with center or scale false');
        h = b.main.apply(h, { training }) as Tensor;
      }
      z = h;
      if (b.extra !== undefined) h = b.extra.apply(h, { training }) as Tensor;
    });
    return { y: h, z };
  };

  const oracle: TfjsOracle = {
    model,
    tf,
    tfModel,
    forward(params, inputs, count) {
      setParams(params);
      return tidyValue(tf, () =>
        Float64Array.from(run(batchOf(inputs, count, model.inputShape), false, false).y.dataSync()),
      );
    },
    loss(params, inputs, targets, count) {
      setParams(params);
      return tidyValue(tf, () => {
        const { y, z } = run(batchOf(inputs, count, model.inputShape), false, false);
        return meanLoss(
          tf,
          model,
          y,
          z,
          batchOf(targets, count, model.outputShape),
          count,
        ).dataSync()[0];
      });
    },
    gradient(params, inputs, targets, count, opts) {
      setParams(params);
      const training = opts.mode === 'training';
      const x0 = batchOf(inputs, count, model.inputShape);
      const x = tf.variable(x0, true, `gradcOracleInput${inputCounter++}`);
      x0.dispose();
      const t = batchOf(targets, count, model.outputShape);
      const trainable = model.params.flatMap((p, i) => (p.trainable ? [i] : []));
      let outputs: Tensor | undefined;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const { y, z } = run(x, training, true, opts.dropoutMasks, count);
          outputs = tf.keep(y);
          // meanLoss reduces to a scalar; TF.js types reductions as a generic Tensor.
          return meanLoss(tf, model, y, z, t, count) as Scalar;
        }, [x, ...trainable.map(variable)]);
        const grad = new Float64Array(model.paramCount);
        for (const i of trainable) {
          const g = grads[variable(i).name];
          if (g !== undefined && g !== null) grad.set(g.dataSync(), model.params[i].offset);
        }
        const gx = grads[x.name];
        const result: OracleGradient = {
          loss: value.dataSync()[0],
          outputs: Float64Array.from(outputs?.dataSync() ?? []),
          grad,
          inputGrad:
            gx === undefined || gx === null
              ? new Float64Array(count * model.inputSize)
              : Float64Array.from(gx.dataSync()),
          params: readParams(),
        };
        tf.dispose([value, ...Object.values(grads).filter((g): g is Tensor => g !== null)]);
        return result;
      } finally {
        tf.dispose([x, t]);
        if (outputs !== undefined) tf.dispose(outputs);
      }
    },
    toModelWeights(flat) {
      return modelOrder.map((i) => {
        const p = model.params[i];
        return tf.tensor(Float32Array.from(flat.subarray(p.offset, p.offset + p.size)), [
          ...p.shape,
        ]);
      });
    },
    fromModelWeights(weights) {
      if (weights.length !== modelOrder.length)
        unsupported(`expected ${modelOrder.length} weight tensors, got ${weights.length}`);
      const flat = new Float64Array(model.paramCount);
      weights.forEach((w, k) => flat.set(w.dataSync(), model.params[modelOrder[k]].offset));
      return flat;
    },
    dispose() {
      tfModel.dispose();
    },
  };
  return oracle;
}
