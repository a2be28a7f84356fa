// jax-js on its wasm device: the loss is written with jax-js numpy, the training step is
// jit(valueAndGrad + SGD update), so gradients come from jax-js's autodiff. f32, same layout
// as gradc. jax-js arrays are reference-counted and lazy: every use consumes a reference
// (hence `.ref`), and a step only runs when its result is read, so each timed step reads the
// loss back (a training loop does that anyway).

import { errorText, type ImplFactory, type Prepared } from '../impl.ts';
import { LEAKY_ALPHA, layout, outputSize, type Activation } from '../models.ts';

type Jax = typeof import('@jax-js/jax');
type JArray = InstanceType<Jax['Array']>;

let loading: Promise<Jax> | undefined;

async function loadJax(): Promise<Jax> {
  const jax = await import('@jax-js/jax');
  // Only wasm: plain init() probes WebGPU through `navigator`, which Node does not have.
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm'))
    throw new Error(`jax-js wasm device unavailable (got ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  return jax;
}

export const jaxImpl: ImplFactory = {
  name: 'jax-js',
  packageName: '@jax-js/jax',
  async prepare(c, data, lr) {
    if (c.spec.conv !== undefined)
      return {
        unavailable: 'MLP rows only (the CNN row compares TF.js and the hand-written loop)',
      };
    let jax: Jax;
    try {
      loading ??= loadJax();
      jax = await loading;
    } catch (e) {
      return { unavailable: `jax-js failed to load: ${errorText(e)}` };
    }
    const { numpy: np, nn, jit, valueAndGrad, tree } = jax;
    const { layers } = layout(c.spec);
    const B = c.batch;
    const O = outputSize(c.spec);

    const act = (a: Activation, z: JArray): JArray => {
      switch (a) {
        case 'linear':
          return z;
        case 'tanh':
          return np.tanh(z);
        case 'sigmoid':
          return nn.sigmoid(z);
        case 'relu':
          return nn.relu(z);
        case 'leakyRelu':
          return nn.leakyRelu(z, LEAKY_ALPHA);
        case 'softmax':
          return nn.softmax(z, -1);
      }
    };
    // ps = [W0, b0, W1, b1, ...]; consumes ps and x.
    const logits = (ps: JArray[], x: JArray): JArray => {
      let h = x;
      layers.forEach((l, i) => {
        const z = np.matmul(h, ps[2 * i]).add(ps[2 * i + 1]);
        h = i === layers.length - 1 ? z : act(l.activation, z);
      });
      return h;
    };
    const last = layers[layers.length - 1].activation;
    // Batch-mean of gradc's per-sample loss.
    const lossFn = (ps: JArray[], x: JArray, t: JArray): JArray => {
      const z = logits(ps, x);
      if (c.spec.loss === 'categoricalCrossEntropy')
        return np.sum(t.mul(nn.logSoftmax(z, -1))).mul(-1 / B);
      const d = act(last, z).sub(t);
      return np.mean(d.ref.mul(d));
    };
    const step = jit((ps: JArray[], x: JArray, t: JArray) => {
      const [l, g] = valueAndGrad(lossFn)(tree.ref(ps), x, t);
      const next = ps.map((p, i) => p.sub(g[i].mul(lr)));
      return [l, next] as [JArray, JArray[]];
    });
    const forward = jit((ps: JArray[], x: JArray) => act(last, logits(ps, x)));

    const x = np.array(Float32Array.from(data.inputs)).reshape([B, c.spec.inputSize]);
    const t = np.array(Float32Array.from(data.targets)).reshape([B, O]);
    let params: JArray[] = [];
    const readOut = (): ArrayLike<number> => forward(tree.ref(params), x.ref).dataSync();

    const prepared: Prepared = {
      precision: 'f32',
      load(p) {
        tree.dispose(params);
        params = layers.flatMap((l) => [
          np.array(Float32Array.from(p.subarray(l.kernel, l.bias))).reshape([l.inputs, l.units]),
          np.array(Float32Array.from(p.subarray(l.bias, l.bias + l.units))),
        ]);
      },
      infer: () => void readOut(),
      readOutputs: (out) => out.set(readOut()),
      trainStep() {
        const [l, next] = step(params, x.ref, t.ref);
        params = next;
        l.dataSync();
      },
      readParams(out) {
        layers.forEach((l, i) => {
          out.set(params[2 * i].ref.dataSync(), l.kernel);
          out.set(params[2 * i + 1].ref.dataSync(), l.bias);
        });
      },
      dispose() {
        tree.dispose(params);
        x.dispose();
        t.dispose();
        step.dispose();
        forward.dispose();
      },
    };
    return prepared;
  },
};
