// The TensorFlow.js oracle for functional graphs: a gradc model file with named inputs,
// `inputs` on layers and several outputs becomes the equivalent `tf.model` (tf.input per
// model input, each layer applied to the symbolic tensors it names), with gradc's weights
// loaded layer by layer (gradc's per-layer order is TF.js's `getWeights()` order). It gives
// the packed outputs, the mean over the batch of Σ weight × loss, its gradient in gradc's
// flat layout and the gradient by the packed inputs.
//
// Supported here: dense, subtract (which TF.js 4.22 lacks, composed as below), the merge layers, embedding, flatten; losses mse,
// binaryCrossEntropy and categoricalCrossEntropy written from probabilities (gradc's
// log-sigmoid / log-softmax rewrite is the same function, exactly).
import type { Tensor } from '@tensorflow/tfjs-core';
import type { ParamInfo } from '@gradc/runtime';
import { loadTf, type Tf } from '../../bench/peers/tfjs-loader.ts';

type Tfl = typeof import('@tensorflow/tfjs-layers');
type SymbolicTensor = ReturnType<Tfl['input']>;

export interface GraphJson {
  readonly input: number | readonly number[] | Readonly<Record<string, number | readonly number[]>>;
  readonly layers: readonly Readonly<Record<string, unknown>>[];
  readonly loss?: string;
  readonly outputs?: readonly { layer: string; loss: string; weight?: number }[];
}

export interface GraphOracle {
  /** Packed outputs, count × outputSize. */
  forward(params: Float64Array, inputs: Float64Array, count: number): Float64Array;
  gradient(
    params: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
  ): { loss: number; grad: Float64Array; inputGrad: Float64Array };
  dispose(): void;
}

interface Slot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly size: number;
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const asShape = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v] : [...v]);

function inputSlots(json: GraphJson): Slot[] {
  if (typeof json.input === 'number' || Array.isArray(json.input)) {
    const shape = asShape(json.input as number | readonly number[]);
    return [{ name: 'input', shape, size: sizeOf(shape) }];
  }
  return Object.entries(json.input as Record<string, number | readonly number[]>).map(
    ([name, v]) => ({ name, shape: asShape(v), size: sizeOf(asShape(v)) }),
  );
}

/** Layer options in TF.js's spelling; gradc's names are TF.js's, minus `type` and `inputs`. */
function tfLayer(tfl: Tfl, l: Readonly<Record<string, unknown>>, name: string) {
  const { type, inputs: _inputs, ...rest } = l;
  const opts = { ...rest, name } as Record<string, unknown>;
  const f = (
    tfl.layers as unknown as Record<string, (o: unknown) => ReturnType<Tfl['layers']['dense']>>
  )[type as string];
  if (!f) throw new Error(`graph oracle: no TF.js layer ${String(type)}`);
  return f(opts);
}

function lossOf(tf: Tf, name: string, y: Tensor, t: Tensor, count: number): Tensor {
  const flat = (v: Tensor) => tf.reshape(v, [count, -1]);
  switch (name) {
    case 'mse':
      return tf.mean(tf.mean(flat(tf.square(tf.sub(y, t))), 1));
    case 'binaryCrossEntropy':
      return tf.neg(
        tf.mean(
          tf.mean(
            flat(tf.add(tf.mul(t, tf.log(y)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, y))))),
            1,
          ),
        ),
      );
    case 'categoricalCrossEntropy':
      return tf.neg(tf.mean(tf.sum(flat(tf.mul(t, tf.log(y))), 1)));
    default:
      throw new Error(`graph oracle: no loss ${name}`);
  }
}

export async function createGraphOracle(
  json: GraphJson,
  params: readonly ParamInfo[],
): Promise<GraphOracle> {
  const tf = await loadTf();
  await tf.setBackend('cpu');
  const tfl: Tfl = await import('@tensorflow/tfjs-layers');
  const ins = inputSlots(json);
  const sym = new Map<string, SymbolicTensor>();
  const tfInputs = ins.map((x) => {
    const s = tfl.input({ shape: [...x.shape], name: `${x.name}_in` });
    sym.set(x.name, s);
    return s;
  });
  const counters = new Map<string, number>();
  const layerByName = new Map<string, ReturnType<typeof tfLayer>>();
  let prev = ins[0]!.name;
  const names: string[] = [];
  for (const l of json.layers) {
    const type = l.type as string;
    const c = counters.get(type) ?? 0;
    counters.set(type, c + 1);
    const name = (l.name as string | undefined) ?? `${type}${c}`;
    const sources = (l.inputs as string[] | undefined) ?? [prev];
    // TF.js 4.22 has no Subtract layer (Keras has): a − b is written add(a, rescaling(−1)(b)).
    const sub = type === 'subtract';
    const layer = sub
      ? (tfl.layers.add({ name }) as unknown as ReturnType<typeof tfLayer>)
      : tfLayer(tfl, l, name);
    const args = sources.map((s) => sym.get(s)!);
    if (sub)
      args[1] = tfl.layers
        .rescaling({ scale: -1, name: `${name}_neg` })
        .apply(args[1]!) as SymbolicTensor;
    const out = layer.apply(args.length === 1 ? args[0]! : args) as SymbolicTensor;
    sym.set(name, out);
    layerByName.set(name, layer);
    names.push(name);
    prev = name;
  }
  const outs = json.outputs ?? [{ layer: names[names.length - 1]!, loss: json.loss! }];
  const idInputs = json.layers
    .filter((l) => l.type === 'embedding')
    .flatMap((l) => (l.inputs as string[] | undefined) ?? [ins[0]!.name]);
  const tfModel = tfl.model({ inputs: tfInputs, outputs: outs.map((o) => sym.get(o.layer)!) });
  const outSizes = outs.map((o) => sizeOf(sym.get(o.layer)!.shape.slice(1) as number[]));
  const inputSize = ins.reduce((a, x) => a + x.size, 0);
  const outputSize = outSizes.reduce((a, b) => a + b, 0);

  // gradc's params of each layer, in order, are that TF.js layer's weights.
  const byLayer = new Map<string, ParamInfo[]>();
  for (const p of params) {
    const layer = p.name.slice(0, p.name.lastIndexOf('.'));
    byLayer.set(layer, [...(byLayer.get(layer) ?? []), p]);
  }
  const setParams = (flat: Float64Array): void => {
    for (const [layer, ps] of byLayer) {
      const l = layerByName.get(layer)!;
      if (l.getWeights().length !== ps.length)
        throw new Error(`graph oracle: ${layer} has ${l.getWeights().length} TF.js weights`);
      l.setWeights(
        ps.map((p) =>
          tf.tensor(Float32Array.from(flat.subarray(p.offset, p.offset + p.size)), [...p.shape]),
        ),
      );
    }
  };
  /** The packed rows split into one tensor per model input. */
  const split = (inputs: Float64Array, count: number): Tensor[] =>
    ins.map((x, i) => {
      const off = ins.slice(0, i).reduce((a, y) => a + y.size, 0);
      const part = new Float32Array(count * x.size);
      for (let s = 0; s < count; s++)
        for (let k = 0; k < x.size; k++) part[s * x.size + k] = inputs[s * inputSize + off + k]!;
      return tf.tensor(part, [count, ...x.shape]);
    });
  const asList = (y: Tensor | Tensor[]): Tensor[] => (Array.isArray(y) ? y : [y]);
  const pack = (ys: readonly Float32Array[], count: number, sizes: readonly number[]) => {
    const width = sizes.reduce((a, b) => a + b, 0);
    const out = new Float64Array(count * width);
    let off = 0;
    ys.forEach((y, j) => {
      for (let s = 0; s < count; s++)
        for (let k = 0; k < sizes[j]!; k++) out[s * width + off + k] = y[s * sizes[j]! + k]!;
      off += sizes[j]!;
    });
    return out;
  };

  return {
    forward(flat, inputs, count) {
      setParams(flat);
      const xs = split(inputs, count);
      const ys = asList(tfModel.apply(xs) as Tensor | Tensor[]);
      const out = pack(
        ys.map((y) => y.dataSync() as Float32Array),
        count,
        outSizes,
      );
      tf.dispose([...xs, ...ys]);
      return out;
    },
    gradient(flat, inputs, targets, count) {
      setParams(flat);
      const xs = split(inputs, count);
      const ts = outs.map((o, j) => {
        const off = outSizes.slice(0, j).reduce((a, b) => a + b, 0);
        const part = new Float32Array(count * outSizes[j]!);
        for (let s = 0; s < count; s++)
          for (let k = 0; k < outSizes[j]!; k++)
            part[s * outSizes[j]! + k] = targets[s * outputSize + off + k]!;
        return tf.tensor(part, [count, outSizes[j]!]);
      });
      const total = (...xsIn: Tensor[]): Tensor => {
        const ys = asList(tfModel.apply(xsIn) as Tensor | Tensor[]);
        return ys
          .map((y, j) =>
            tf.mul(
              outs[j]!.weight ?? 1,
              lossOf(tf, outs[j]!.loss, tf.reshape(y, [count, -1]), ts[j]!, count),
            ),
          )
          .reduce((a, b) => tf.add(a, b));
      };
      const vars = params.map((p) => {
        const layer = layerByName.get(p.name.slice(0, p.name.lastIndexOf('.')))!;
        const ws = layer.trainableWeights;
        const idx = byLayer.get(p.name.slice(0, p.name.lastIndexOf('.')))!.indexOf(p);
        return ws[idx]!.read();
      });
      const { value, grads } = tf.variableGrads(() => total(...xs) as never);
      const grad = new Float64Array(params.reduce((a, p) => Math.max(a, p.offset + p.size), 0));
      params.forEach((p, i) => {
        const g = grads[(vars[i] as unknown as { name: string }).name];
        if (g) grad.set(g.dataSync(), p.offset);
      });
      // Inputs that feed an embedding hold ids: TF.js has no gradient by them (zeros here).
      const live = ins.map((x) => !idInputs.includes(x.name));
      const gLive = live.some((b) => b)
        ? tf.grads((...a: Tensor[]) => {
            let j = 0;
            return total(...xs.map((x, i) => (live[i] ? a[j++]! : x))) as never;
          })(xs.filter((_, i) => live[i]))
        : [];
      let j = 0;
      const gx = xs.map((x, i) => (live[i] ? gLive[j++]! : tf.zerosLike(x)));
      const inputGrad = pack(
        gx.map((g) => g.dataSync() as Float32Array),
        count,
        ins.map((x) => x.size),
      );
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads), ...gx, ...xs, ...ts]);
      return { loss, grad, inputGrad };
    },
    dispose() {
      tfModel.dispose();
    },
  };
}
