// TensorFlow.js (tfjs-core with the cpu or wasm backend): explicit ops, variables and
// tf.train.sgd, so gradients come from TF.js's own autodiff. Same layout as gradc (kernel
// [inputs, units], y = x·W + b), so weights load unchanged, in f32. Convolutional rows use
// TF.js Layers instead (tfjs-layers.ts).

import type { Scalar, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import { errorText, type ImplFactory, type Prepared } from '../impl.ts';
import { LEAKY_ALPHA, layout, outputSize, type Activation } from '../models.ts';
import { loadTf, type Tf } from './tfjs-loader.ts';
import { prepareTfjsCnn } from './tfjs-layers.ts';

function act(tf: Tf, a: Activation, z: Tensor2D): Tensor2D {
  switch (a) {
    case 'linear':
      return z;
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'relu':
      return tf.relu(z);
    case 'leakyRelu':
      return tf.leakyRelu(z, LEAKY_ALPHA);
    case 'softmax':
      return tf.softmax(z);
  }
}

export function tfjsImpl(backend: 'cpu' | 'wasm'): ImplFactory {
  return {
    name: `tfjs-${backend}`,
    packageName:
      backend === 'cpu' ? '@tensorflow/tfjs-backend-cpu' : '@tensorflow/tfjs-backend-wasm',
    async prepare(c, data, lr) {
      let tf: Tf;
      try {
        tf = await loadTf();
        if (!(await tf.setBackend(backend)))
          return { unavailable: `TF.js backend "${backend}" failed to initialize` };
      } catch (e) {
        return { unavailable: `TF.js failed to load: ${errorText(e)}` };
      }
      if (c.spec.conv !== undefined) return prepareTfjsCnn(tf, backend, c, data, lr);
      const { layers } = layout(c.spec);
      const B = c.batch;
      const O = outputSize(c.spec);
      const vars: { w: Variable; b: Variable }[] = layers.map((l) => ({
        w: tf.variable(tf.zeros([l.inputs, l.units])),
        b: tf.variable(tf.zeros([l.units])),
      }));
      const varList = vars.flatMap((v) => [v.w, v.b]);
      const x = tf.tensor2d(Float32Array.from(data.inputs), [B, c.spec.inputSize]);
      const t = tf.tensor2d(Float32Array.from(data.targets), [B, O]);
      const optimizer = tf.train.sgd(lr);

      // Logits of the last layer and its activation kept apart, so softmax + CCE can use logSoftmax.
      const logits = (): Tensor2D => {
        let h: Tensor2D = x;
        layers.forEach((l, i) => {
          const z = tf.add(tf.matMul(h, vars[i].w), vars[i].b) as Tensor2D;
          h = i === layers.length - 1 ? z : act(tf, l.activation, z);
        });
        return h;
      };
      const last = layers[layers.length - 1].activation;
      const forward = (): Tensor2D => act(tf, last, logits());
      // Batch-mean of gradc's per-sample loss.
      // Full reductions, so the result is a scalar (TF.js types it as a generic Tensor).
      const loss = (): Scalar =>
        c.spec.loss === 'categoricalCrossEntropy'
          ? (tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(logits())), 1))) as Scalar)
          : (tf.mean(tf.square(tf.sub(forward(), t))) as Scalar);

      const readOut = (): Float32Array | Int32Array | Uint8Array => {
        const y = tf.tidy(forward);
        const values = y.dataSync();
        y.dispose();
        return values;
      };
      const prepared: Prepared = {
        precision: 'f32',
        activate: async () => {
          await tf.setBackend(backend);
        },
        load(params) {
          layers.forEach((l, i) => {
            tf.tidy(() => {
              vars[i].w.assign(
                tf.tensor2d(Float32Array.from(params.subarray(l.kernel, l.bias)), [
                  l.inputs,
                  l.units,
                ]),
              );
              vars[i].b.assign(
                tf.tensor1d(Float32Array.from(params.subarray(l.bias, l.bias + l.units))),
              );
            });
          });
        },
        infer: () => void readOut(),
        readOutputs: (out) => out.set(readOut()),
        trainStep: () => optimizer.minimize(loss, false, varList),
        readParams(out) {
          layers.forEach((l, i) => {
            out.set(vars[i].w.dataSync(), l.kernel);
            out.set(vars[i].b.dataSync(), l.bias);
          });
        },
        dispose() {
          tf.dispose([...varList, x, t]);
          optimizer.dispose();
        },
      };
      return prepared;
    },
  };
}
