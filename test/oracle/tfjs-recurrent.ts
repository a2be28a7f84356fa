// The TensorFlow.js Layers oracle for sequence models: a gradc model file made of recurrent
// layers (simpleRNN, gru with resetAfter false, lstm), their wrappers (bidirectional,
// timeDistributed) and dense layers becomes a tf.sequential model (tfjs-layers 4.22, cpu
// backend, f32) with gradc's flat parameters; it returns outputs, the mean mse loss, and its
// gradient w.r.t. every weight (gradc's layout) and w.r.t. the inputs.
//
// The layout is read from the compiled module's `model.params` (offsets, shapes) and matched
// to `getWeights()` of each TF.js layer in order: a recurrent layer's kernel,
// recurrent_kernel, bias; a bidirectional's forward layer's then its backward layer's; a
// timeDistributed's inner layer's. A shape mismatch is an error, not a silent reshape.
//
// TF.js 4.22 has no GRU resetAfter (its getConfig says resetAfter: false): such models are
// refused here; the test checks them against a reference written in plain JS instead.
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { loadTf, type Tf } from '../../bench/peers/tfjs-loader.ts';

type Tfl = typeof import('@tensorflow/tfjs-layers');
/** tfjs-layers' abstract Layer base (what conv3dTranspose is typed to return). */
type TfLayer = ReturnType<Tfl['layers']['conv3dTranspose']>;

export interface SeqLayerJson {
  readonly type: string;
  readonly [option: string]: unknown;
}

export interface FlatParam {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

export interface SeqOracleResult {
  readonly outputs: Float64Array;
  readonly loss: number;
  readonly grad: Float64Array;
  readonly inputGrad: Float64Array;
}

export interface SeqOracle {
  run(
    params: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
  ): SeqOracleResult;
  dispose(): void;
}

/** TF.js layer arguments for one gradc layer object (gradc's option names are TF.js's). */
function tfLayer(tfl: Tfl, l: SeqLayerJson, inputShape?: readonly number[]): TfLayer {
  const {
    type,
    layer,
    name: _name,
    ...opts
  } = l as SeqLayerJson & {
    layer?: SeqLayerJson;
    name?: string;
  };
  const base: Record<string, unknown> = { ...opts };
  if (inputShape) base.inputShape = [...inputShape];
  // The factories take loosely typed config objects; the options come from a test table.
  // Weights are overwritten before every run; TF.js's orthogonal initializer also needs
  // tensor methods this bundle of tfjs-core does not install (rMat.flatten).
  if (type === 'lstm' || type === 'gru' || type === 'simpleRNN')
    Object.assign(base, { kernelInitializer: 'zeros', recurrentInitializer: 'zeros' });
  const args = base as never;
  switch (type) {
    case 'lstm':
      return tfl.layers.lstm(args);
    case 'gru':
      if (l.resetAfter === true) throw new Error('TF.js oracle: TF.js 4.22 has no GRU resetAfter');
      return tfl.layers.gru(args);
    case 'simpleRNN':
      return tfl.layers.simpleRNN(args);
    case 'dense':
      return tfl.layers.dense(args);
    case 'bidirectional': {
      // The wrapped layer gets no inputShape of its own; the wrapper does.
      const inner = tfLayer(tfl, layer!) as never;
      return tfl.layers.bidirectional({ ...(base as object), layer: inner } as never);
    }
    case 'timeDistributed': {
      const inner = tfLayer(tfl, layer!) as never;
      return tfl.layers.timeDistributed({ ...(base as object), layer: inner } as never);
    }
    default:
      throw new Error(`TF.js oracle: no sequence layer ${type}`);
  }
}

function batchOf(tf: Tf, flat: Float64Array, count: number, shape: readonly number[]): Tensor {
  return tf.tensor(Float32Array.from(flat), [count, ...shape]);
}

let counter = 0;

/** `params`: the compiled module's `model.params`, in offset order. */
export async function createSeqOracle(
  inputShape: readonly number[],
  layers: readonly SeqLayerJson[],
  params: readonly FlatParam[],
  outputShape: readonly number[],
): Promise<SeqOracle> {
  const tf = await loadTf();
  await tf.setBackend('cpu');
  const tfl: Tfl = await import('@tensorflow/tfjs-layers');
  const model = tfl.sequential();
  layers.forEach((l, i) => model.add(tfLayer(tfl, l, i === 0 ? inputShape : undefined)));
  const weights = model.layers.flatMap((l) => l.weights);
  if (weights.length !== params.length)
    throw new Error(`TF.js oracle: TF.js has ${weights.length} weights, gradc ${params.length}`);
  weights.forEach((w, i) => {
    if (w.shape.join(',') !== params[i]!.shape.join(','))
      throw new Error(
        `TF.js oracle: ${params[i]!.name} is [${params[i]!.shape.join(', ')}] in gradc, ${w.originalName} [${w.shape.join(', ')}] in TF.js`,
      );
  });
  const variable = (i: number): Variable => weights[i]!.read() as Variable;
  return {
    run(flat, inputs, targets, count) {
      tf.tidy(() =>
        params.forEach((p, i) =>
          weights[i]!.write(
            tf.tensor(Float32Array.from(flat.subarray(p.offset, p.offset + p.size)), [...p.shape]),
          ),
        ),
      );
      const x0 = batchOf(tf, inputs, count, inputShape);
      const x = tf.variable(x0, true, `gradcSeqOracleInput${counter++}`);
      x0.dispose();
      const t = batchOf(tf, targets, count, outputShape);
      let y: Tensor | undefined;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const out = model.apply(x) as Tensor;
          y = tf.keep(out);
          return tf.mean(tf.square(tf.sub(out, t))) as Scalar;
        }, [x, ...params.map((_, i) => variable(i))]);
        const grad = new Float64Array(flat.length);
        params.forEach((p, i) => {
          const g = grads[variable(i).name];
          if (g) grad.set(g.dataSync(), p.offset);
        });
        const gx = grads[x.name];
        const result: SeqOracleResult = {
          outputs: Float64Array.from(y!.dataSync()),
          loss: value.dataSync()[0]!,
          grad,
          inputGrad: gx ? Float64Array.from(gx.dataSync()) : new Float64Array(inputs.length),
        };
        tf.dispose([value, ...Object.values(grads).filter((g): g is Tensor => g !== null)]);
        return result;
      } finally {
        tf.dispose([x, t]);
        if (y) tf.dispose(y);
      }
    },
    dispose() {
      model.dispose();
    },
  };
}
