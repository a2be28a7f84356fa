// TensorFlow.js Layers for the convolutional rows: the tf.sequential model a TF.js user
// writes (conv2d / maxPooling2d / flatten / dense, channels-last), weights loaded with
// setWeights in TF.js's own layout (the same as gradc's flat array for these all-trainable
// models), a training step by optimizer.minimize on the batch-mean loss, f32. A backend that
// lacks a kernel the gradient needs is reported as inference only, with the missing kernels.

import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { Prepared } from '../impl.ts';
import { layout, outputSize, type BenchCase, type CaseData } from '../models.ts';
import type { Tf } from './tfjs-loader.ts';

type Tfl = typeof import('@tensorflow/tfjs-layers');

/** Kernels the backward pass of conv2d → relu → maxPool needs. */
const GRADIENT_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad'];

export async function prepareTfjsCnn(
  tf: Tf,
  backend: 'cpu' | 'wasm',
  c: BenchCase,
  data: CaseData,
  lr: number,
): Promise<Prepared> {
  const conv = c.spec.conv;
  if (conv === undefined) throw new Error('prepareTfjsCnn needs a convolutional spec');
  const tfl: Tfl = await import('@tensorflow/tfjs-layers');
  const B = c.batch;
  const O = outputSize(c.spec);
  const model = tfl.sequential();
  conv.stages.forEach((st, i) => {
    const first = i === 0 ? { inputShape: [...conv.inputShape] } : {};
    model.add(
      st.type === 'conv2d'
        ? tfl.layers.conv2d({
            ...first,
            filters: st.filters,
            kernelSize: st.kernelSize,
            padding: 'same',
            activation: 'relu',
          })
        : tfl.layers.maxPooling2d({ ...first, poolSize: st.poolSize }),
    );
  });
  model.add(tfl.layers.flatten());
  c.spec.layers.forEach((l, i) => {
    if (l.activation !== 'relu' && l.activation !== 'softmax')
      throw new Error(`TF.js CNN peer: unsupported activation ${l.activation}`);
    // The last layer emits logits; softmax is applied outside so the loss can use logSoftmax.
    const activation = i === c.spec.layers.length - 1 ? 'linear' : l.activation;
    model.add(tfl.layers.dense({ units: l.units, activation }));
  });

  const { layers, convs, paramCount } = layout(c.spec);
  const tensors = [
    ...convs.flatMap((k) => [
      { offset: k.kernel, shape: [...k.shape] },
      { offset: k.bias, shape: [k.shape[3]] },
    ]),
    ...layers.flatMap((l) => [
      { offset: l.kernel, shape: [l.inputs, l.units] },
      { offset: l.bias, shape: [l.units] },
    ]),
  ];
  const got = model.weights.map((w) => w.shape.join('×')).join(' ');
  const want = tensors.map((t) => t.shape.join('×')).join(' ');
  if (got !== want) throw new Error(`TF.js weights [${got}] do not match gradc's layout [${want}]`);

  const x = tf.tensor4d(Float32Array.from(data.inputs), [B, ...conv.inputShape]);
  const t = tf.tensor2d(Float32Array.from(data.targets), [B, O]);
  const optimizer = tf.train.sgd(lr);
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const logits = (): Tensor => model.apply(x) as Tensor;
  // Batch-mean of gradc's per-sample cross-entropy; a full reduction, so a scalar.
  const loss = (): Scalar =>
    tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(logits())), 1))) as Scalar;
  const readOut = (): Float32Array | Int32Array | Uint8Array => {
    const y = tf.tidy(() => tf.softmax(logits()));
    const values = y.dataSync();
    y.dispose();
    return values;
  };
  const missing = GRADIENT_KERNELS.filter((k) => tf.getKernel(k, backend) === undefined);
  return {
    precision: 'f32',
    trainUnavailable:
      missing.length === 0
        ? undefined
        : `TF.js ${backend} ${tf.version_core} registers no ${missing.join(', ')} kernel, so it cannot compute this model's gradient`,
    activate: async () => {
      await tf.setBackend(backend);
    },
    load(params) {
      const ws = tensors.map((w) =>
        tf.tensor(
          Float32Array.from(
            params.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b, 1)),
          ),
          w.shape,
        ),
      );
      model.setWeights(ws);
      tf.dispose(ws);
    },
    infer: () => void readOut(),
    readOutputs: (out) => out.set(readOut()),
    trainStep: () => optimizer.minimize(loss, false, vars),
    readParams(out) {
      if (out.length !== paramCount) throw new Error('parameter count mismatch');
      model.getWeights().forEach((w, i) => out.set(w.dataSync(), tensors[i].offset));
    },
    dispose() {
      tf.dispose([x, t]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
