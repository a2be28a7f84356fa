// The part of the model-file format the oracles understand (the issue-8 layer contract:
// TF.js Layers factory names, camelCase options, TF.js 4.22 defaults), normalized once, with
// shape inference and gradc's flat parameter layout (layers in order, each layer's tensors in
// TF.js `getWeights()` order). Shared by the TF.js oracle and the plain-JS reference, so the
// two cannot disagree about defaults or offsets without a test noticing (the TF.js model's
// own weight list is checked against this layout when it is built).

export type ActivationJson =
  string | { readonly name: string; readonly alpha?: number } | { readonly expr: string };

export type LossJson = string | { readonly name: string; readonly delta?: number };

export interface LayerJson {
  readonly type: string;
  readonly name?: string;
  readonly trainable?: boolean;
  readonly [option: string]: unknown;
}

export interface ModelJson {
  readonly name?: string;
  readonly input: number | readonly number[];
  readonly layers: readonly LayerJson[];
  readonly loss: LossJson;
  readonly precision?: 'f32' | 'f64';
  readonly [field: string]: unknown;
}

export interface Activation {
  readonly name: string;
  /** leakyRelu's slope (default 0.2, as gradc and tf.leakyRelu) or elu's alpha (default 1). */
  readonly alpha?: number;
}

export type Padding = 'valid' | 'same';

interface Common {
  readonly name: string;
  readonly trainable: boolean;
  /** Shape of one sample going in and coming out (no batch axis). */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
}

export type Layer = Common &
  (
    | {
        readonly type: 'dense';
        readonly units: number;
        readonly useBias: boolean;
        readonly activation: Activation;
      }
    | {
        readonly type: 'conv1d' | 'conv2d';
        readonly filters: number;
        /** One entry per spatial axis (1 for conv1d, 2 for conv2d). */
        readonly kernelSize: readonly number[];
        readonly strides: readonly number[];
        readonly dilationRate: readonly number[];
        readonly padding: Padding;
        readonly useBias: boolean;
        readonly activation: Activation;
      }
    | {
        readonly type: 'maxPooling1d' | 'maxPooling2d' | 'averagePooling1d' | 'averagePooling2d';
        readonly poolSize: readonly number[];
        readonly strides: readonly number[];
        readonly padding: Padding;
      }
    | {
        readonly type:
          | 'globalAveragePooling1d'
          | 'globalAveragePooling2d'
          | 'globalMaxPooling1d'
          | 'globalMaxPooling2d'
          | 'flatten';
      }
    | { readonly type: 'reshape'; readonly targetShape: readonly number[] }
    | { readonly type: 'activation'; readonly activation: Activation }
    | {
        readonly type: 'batchNormalization';
        readonly momentum: number;
        readonly epsilon: number;
        readonly center: boolean;
        readonly scale: boolean;
      }
    | {
        readonly type: 'layerNormalization';
        readonly epsilon: number;
        readonly center: boolean;
        readonly scale: boolean;
      }
    | { readonly type: 'dropout'; readonly rate: number }
  );

export type WeightName = 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance';

export interface ParamTensor {
  /** `<layer>.<weight>`, e.g. `conv2d0.kernel`. */
  readonly name: string;
  readonly layer: number;
  readonly weight: WeightName;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** false for batchNormalization's moving statistics and for every tensor of a frozen layer. */
  readonly trainable: boolean;
  /** The moving statistics: updated by training-mode batchNormalization, never by gradients. */
  readonly movingStat: boolean;
}

export interface Loss {
  readonly name: 'mse' | 'mae' | 'huber' | 'binaryCrossEntropy' | 'categoricalCrossEntropy';
  readonly delta: number;
}

export interface Model {
  readonly inputShape: readonly number[];
  readonly inputSize: number;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  readonly layers: readonly Layer[];
  readonly params: readonly ParamTensor[];
  readonly paramCount: number;
  readonly loss: Loss;
  /** The last layer's activation, if it has one (gradc fuses softmax / sigmoid with CE / BCE). */
  readonly lastActivation: string | undefined;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function fail(path: string, what: string): never {
  throw new Error(`oracle model: ${path}: ${what}`);
}

const LOSSES = ['mse', 'mae', 'huber', 'binaryCrossEntropy', 'categoricalCrossEntropy'] as const;

function tuple(v: unknown, n: number, fallback: number, path: string): number[] {
  const raw = v === undefined ? fallback : v;
  const arr = typeof raw === 'number' ? Array.from({ length: n }, () => raw) : raw;
  if (
    !Array.isArray(arr) ||
    arr.length !== n ||
    !arr.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)
  )
    fail(path, `expected a positive integer or ${n} of them`);
  return arr as number[];
}

function activation(v: unknown, path: string): Activation {
  if (v === undefined) return { name: 'linear' };
  if (typeof v === 'string') return { name: v };
  if (typeof v === 'object' && v !== null && 'name' in v && typeof v.name === 'string') {
    const alpha = 'alpha' in v && typeof v.alpha === 'number' ? v.alpha : undefined;
    return { name: v.name, alpha };
  }
  return fail(path, 'custom expression activations are not supported by the oracles');
}

function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

/** TF.js's output length of a window op along one axis (conv_util.computeOutputShape). */
export function outLength(
  n: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): number {
  const effective = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(n / stride) : Math.ceil((n - effective + 1) / stride);
}

/** Zeros added before the first element along one axis: floor(total / 2), the rest after. */
export function padBefore(
  n: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): number {
  if (padding === 'valid') return 0;
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(n / stride);
  return Math.floor(Math.max(0, (out - 1) * stride + effective - n) / 2);
}

function buildLayer(
  json: LayerJson,
  index: number,
  inShape: readonly number[],
  counters: Map<string, number>,
): Layer {
  const path = `$.layers[${index}]`;
  const count = counters.get(json.type) ?? 0;
  counters.set(json.type, count + 1);
  const common = {
    name: json.name ?? `${json.type}${count}`,
    trainable: bool(json.trainable, true),
    inShape,
  };
  const rank = inShape.length;
  const padding = (json.padding ?? 'valid') as Padding;
  if (padding !== 'valid' && padding !== 'same') fail(`${path}.padding`, 'valid or same');
  switch (json.type) {
    case 'dense': {
      const units = num(json.units, NaN);
      if (!Number.isInteger(units) || units < 1) fail(`${path}.units`, 'a positive integer');
      return {
        ...common,
        type: 'dense',
        units,
        useBias: bool(json.useBias, true),
        activation: activation(json.activation, `${path}.activation`),
        outShape: [...inShape.slice(0, -1), units],
      };
    }
    case 'conv1d':
    case 'conv2d': {
      const dims = json.type === 'conv1d' ? 1 : 2;
      if (rank !== dims + 1) fail(path, `${json.type} needs an input of rank ${dims + 1}`);
      const kernelSize = tuple(json.kernelSize, dims, NaN, `${path}.kernelSize`);
      const strides = tuple(json.strides, dims, 1, `${path}.strides`);
      const dilationRate = tuple(json.dilationRate, dims, 1, `${path}.dilationRate`);
      const filters = num(json.filters, NaN);
      if (!Number.isInteger(filters) || filters < 1) fail(`${path}.filters`, 'a positive integer');
      const spatial = kernelSize.map((k, a) =>
        outLength(inShape[a], k, strides[a], dilationRate[a], padding),
      );
      if (spatial.some((n) => n < 1)) fail(path, 'the kernel is larger than its padded input');
      return {
        ...common,
        type: json.type,
        filters,
        kernelSize,
        strides,
        dilationRate,
        padding,
        useBias: bool(json.useBias, true),
        activation: activation(json.activation, `${path}.activation`),
        outShape: [...spatial, filters],
      };
    }
    case 'maxPooling1d':
    case 'maxPooling2d':
    case 'averagePooling1d':
    case 'averagePooling2d': {
      const dims = json.type.endsWith('1d') ? 1 : 2;
      if (rank !== dims + 1) fail(path, `${json.type} needs an input of rank ${dims + 1}`);
      const poolSize = tuple(json.poolSize, dims, 2, `${path}.poolSize`);
      const strides =
        json.strides === undefined ? poolSize : tuple(json.strides, dims, 1, `${path}.strides`);
      const spatial = poolSize.map((k, a) => outLength(inShape[a], k, strides[a], 1, padding));
      if (spatial.some((n) => n < 1)) fail(path, 'the pool leaves nothing');
      return {
        ...common,
        type: json.type,
        poolSize,
        strides,
        padding,
        outShape: [...spatial, inShape[rank - 1]],
      };
    }
    case 'globalAveragePooling1d':
    case 'globalMaxPooling1d':
    case 'globalAveragePooling2d':
    case 'globalMaxPooling2d': {
      const dims = json.type.endsWith('1d') ? 1 : 2;
      if (rank !== dims + 1) fail(path, `${json.type} needs an input of rank ${dims + 1}`);
      return { ...common, type: json.type, outShape: [inShape[rank - 1]] };
    }
    case 'flatten':
      if (rank < 2) fail(path, 'flatten of a vector');
      return { ...common, type: 'flatten', outShape: [size(inShape)] };
    case 'reshape': {
      const targetShape = json.targetShape;
      if (!Array.isArray(targetShape) || size(targetShape as number[]) !== size(inShape))
        fail(`${path}.targetShape`, 'must hold as many elements as the input');
      return {
        ...common,
        type: 'reshape',
        targetShape: targetShape as number[],
        outShape: targetShape as number[],
      };
    }
    case 'activation':
      return {
        ...common,
        type: 'activation',
        activation: activation(json.activation, `${path}.activation`),
        outShape: inShape,
      };
    case 'batchNormalization':
      return {
        ...common,
        type: 'batchNormalization',
        momentum: num(json.momentum, 0.99),
        epsilon: num(json.epsilon, 1e-3),
        center: bool(json.center, true),
        scale: bool(json.scale, true),
        outShape: inShape,
      };
    case 'layerNormalization':
      return {
        ...common,
        type: 'layerNormalization',
        epsilon: num(json.epsilon, 1e-3),
        center: bool(json.center, true),
        scale: bool(json.scale, true),
        outShape: inShape,
      };
    case 'dropout': {
      const rate = num(json.rate, NaN);
      if (!(rate >= 0 && rate < 1)) fail(`${path}.rate`, 'must be in [0, 1)');
      return { ...common, type: 'dropout', rate, outShape: inShape };
    }
    default:
      return fail(`${path}.type`, `unknown layer type ${JSON.stringify(json.type)}`);
  }
}

/** The layer's tensors in TF.js `getWeights()` order, without offsets. */
function weightsOf(l: Layer): { weight: WeightName; shape: number[]; movingStat: boolean }[] {
  const channels = l.inShape[l.inShape.length - 1];
  const w = (weight: WeightName, shape: number[], movingStat = false) => ({
    weight,
    shape,
    movingStat,
  });
  switch (l.type) {
    case 'dense':
      return [w('kernel', [channels, l.units]), ...(l.useBias ? [w('bias', [l.units])] : [])];
    case 'conv1d':
    case 'conv2d':
      return [
        w('kernel', [...l.kernelSize, channels, l.filters]),
        ...(l.useBias ? [w('bias', [l.filters])] : []),
      ];
    case 'batchNormalization':
      return [
        ...(l.scale ? [w('gamma', [channels])] : []),
        ...(l.center ? [w('beta', [channels])] : []),
        w('movingMean', [channels], true),
        w('movingVariance', [channels], true),
      ];
    case 'layerNormalization':
      return [
        ...(l.scale ? [w('gamma', [channels])] : []),
        ...(l.center ? [w('beta', [channels])] : []),
      ];
    default:
      return [];
  }
}

export function parseModel(json: ModelJson): Model {
  const inputShape = typeof json.input === 'number' ? [json.input] : [...json.input];
  const counters = new Map<string, number>();
  const layers: Layer[] = [];
  let shape: readonly number[] = inputShape;
  json.layers.forEach((lj, i) => {
    const l = buildLayer(lj, i, shape, counters);
    layers.push(l);
    shape = l.outShape;
  });
  const params: ParamTensor[] = [];
  let offset = 0;
  layers.forEach((l, li) => {
    for (const t of weightsOf(l)) {
      const n = size(t.shape);
      params.push({
        name: `${l.name}.${t.weight}`,
        layer: li,
        weight: t.weight,
        shape: t.shape,
        offset,
        size: n,
        trainable: l.trainable && !t.movingStat,
        movingStat: t.movingStat,
      });
      offset += n;
    }
  });
  const lossName = typeof json.loss === 'string' ? json.loss : json.loss.name;
  if (!(LOSSES as readonly string[]).includes(lossName))
    fail('$.loss', `the oracles support ${LOSSES.join(', ')} (got ${JSON.stringify(lossName)})`);
  const delta = typeof json.loss === 'object' ? (json.loss.delta ?? 1) : 1;
  const last = layers[layers.length - 1];
  return {
    inputShape,
    inputSize: size(inputShape),
    outputShape: shape,
    outputSize: size(shape),
    layers,
    params,
    paramCount: offset,
    loss: { name: lossName as Loss['name'], delta },
    lastActivation: last !== undefined && 'activation' in last ? last.activation.name : undefined,
  };
}

/** Initial values as TF.js would draw them in kind: seeded uniform kernels, and for
 * normalization gamma / movingVariance near 1, beta / movingMean near 0. Kept away from 0 so
 * every gradient entry is exercised; rounded to f32 so both oracles see identical numbers. */
export function sampleParams(model: Model, rand: () => number): Float64Array {
  const p = new Float64Array(model.paramCount);
  for (const t of model.params) {
    const fanIn = t.shape.length > 1 ? size(t.shape.slice(0, -1)) : 1;
    for (let i = 0; i < t.size; i++) {
      const u = rand() * 2 - 1;
      let v: number;
      if (t.weight === 'kernel') v = (u * Math.sqrt(3)) / Math.sqrt(fanIn);
      else if (t.weight === 'gamma') v = 1 + 0.3 * u;
      else if (t.weight === 'movingVariance') v = 1 + 0.5 * u;
      else v = 0.2 * u;
      p[t.offset + i] = Math.fround(v);
    }
  }
  return p;
}
