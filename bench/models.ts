// Model specifications, the flat parameter layout shared with gradc, and seeded data.
// Everything here is deterministic so every implementation sees identical numbers.

export type Activation = 'linear' | 'tanh' | 'sigmoid' | 'relu' | 'leakyRelu' | 'softmax';

/** brain.js's fixed leaky-relu slope; only brain.js's variant of the relu nets uses leakyRelu. */
export const LEAKY_ALPHA = 0.01;
/**
 * `mse` and `categoricalCrossEntropy` follow gradc (Keras definitions for one sample).
 * `halfSumSquares` (½·Σ(y−t)²) is what brain.js descends, used only to check it.
 */
export type Loss = 'mse' | 'categoricalCrossEntropy' | 'halfSumSquares';

export interface LayerSpec {
  readonly units: number;
  readonly activation: Activation;
}

/** One stage of a convolutional front end (TF.js layer semantics, channels-last). */
export type ConvStage =
  | { readonly type: 'conv2d'; readonly filters: number; readonly kernelSize: 3 }
  | { readonly type: 'maxPooling2d'; readonly poolSize: 2 };

export interface ConvFrontEnd {
  /** [height, width, channels] of one input sample. */
  readonly inputShape: readonly [number, number, number];
  /** conv2d stages are 3×3, same padding, stride 1, relu; pools 2×2 stride 2; then flatten. */
  readonly stages: readonly ConvStage[];
}

export interface NetSpec {
  readonly name: string;
  readonly inputSize: number;
  /** The dense layers (after the convolutional front end, if any). */
  readonly layers: readonly LayerSpec[];
  readonly loss: Loss;
  /** Convolutional stages before the dense layers; absent for MLPs. */
  readonly conv?: ConvFrontEnd;
}

export interface ConvOffsets {
  readonly kernel: number;
  readonly bias: number;
  /** [3, 3, in, filters], TF.js's kernel layout. */
  readonly shape: readonly [number, number, number, number];
}

/** Shape after each conv stage, and the conv layers' parameter offsets (they come first). */
function convLayout(conv: ConvFrontEnd): {
  readonly convs: ConvOffsets[];
  readonly flat: number;
  readonly paramCount: number;
} {
  let [h, w, c] = conv.inputShape;
  let offset = 0;
  const convs: ConvOffsets[] = [];
  for (const st of conv.stages) {
    if (st.type === 'conv2d') {
      const shape = [st.kernelSize, st.kernelSize, c, st.filters] as const;
      const n = shape[0] * shape[1] * c * st.filters;
      convs.push({ kernel: offset, bias: offset + n, shape });
      offset += n + st.filters;
      c = st.filters;
    } else {
      h = Math.floor(h / st.poolSize);
      w = Math.floor(w / st.poolSize);
    }
  }
  return { convs, flat: h * w * c, paramCount: offset };
}

export interface DenseOffsets {
  readonly inputs: number;
  readonly units: number;
  readonly kernel: number;
  readonly bias: number;
  readonly activation: Activation;
}

export function layout(spec: NetSpec): {
  readonly layers: DenseOffsets[];
  readonly convs: ConvOffsets[];
  readonly paramCount: number;
} {
  const layers: DenseOffsets[] = [];
  const front = spec.conv === undefined ? undefined : convLayout(spec.conv);
  let offset = front?.paramCount ?? 0;
  let inputs = front?.flat ?? spec.inputSize;
  for (const l of spec.layers) {
    layers.push({
      inputs,
      units: l.units,
      kernel: offset,
      bias: offset + inputs * l.units,
      activation: l.activation,
    });
    offset += inputs * l.units + l.units;
    inputs = l.units;
  }
  return { layers, convs: front?.convs ?? [], paramCount: offset };
}

export function outputSize(spec: NetSpec): number {
  return spec.layers[spec.layers.length - 1].units;
}

export const XOR: NetSpec = {
  name: 'xor',
  inputSize: 2,
  layers: [
    { units: 8, activation: 'tanh' },
    { units: 1, activation: 'sigmoid' },
  ],
  loss: 'mse',
};

export const IRIS: NetSpec = {
  name: 'iris',
  inputSize: 4,
  layers: [
    { units: 16, activation: 'relu' },
    { units: 16, activation: 'relu' },
    { units: 3, activation: 'softmax' },
  ],
  loss: 'categoricalCrossEntropy',
};

export const MNIST: NetSpec = {
  name: 'mnist-mlp',
  inputSize: 784,
  layers: [
    { units: 128, activation: 'relu' },
    { units: 10, activation: 'softmax' },
  ],
  loss: 'categoricalCrossEntropy',
};

export const MNIST_CNN: NetSpec = {
  name: 'mnist-cnn',
  inputSize: 28 * 28,
  conv: {
    inputShape: [28, 28, 1],
    stages: [
      { type: 'conv2d', filters: 8, kernelSize: 3 },
      { type: 'maxPooling2d', poolSize: 2 },
      { type: 'conv2d', filters: 16, kernelSize: 3 },
      { type: 'maxPooling2d', poolSize: 2 },
    ],
  },
  layers: [{ units: 10, activation: 'softmax' }],
  loss: 'categoricalCrossEntropy',
};

/** The spec as a gradc model file (issue-8 layer names), e.g. for the TF.js Layers peers. */
export function modelFile(spec: NetSpec): {
  name: string;
  input: number | number[];
  layers: { type: string; [option: string]: unknown }[];
  loss: Loss;
} {
  const front = (spec.conv?.stages ?? []).map((st) =>
    st.type === 'conv2d'
      ? {
          type: 'conv2d',
          filters: st.filters,
          kernelSize: st.kernelSize,
          padding: 'same',
          activation: 'relu',
        }
      : { type: 'maxPooling2d', poolSize: st.poolSize },
  );
  return {
    name: spec.name,
    input: spec.conv === undefined ? spec.inputSize : [...spec.conv.inputShape],
    layers: [
      ...front,
      ...(spec.conv === undefined ? [] : [{ type: 'flatten' }]),
      ...spec.layers.map((l) => ({ type: 'dense', units: l.units, activation: l.activation })),
    ],
    loss: spec.loss,
  };
}

export function describe(spec: NetSpec): string {
  if (spec.conv !== undefined) {
    const stages = spec.conv.stages.map((st) =>
      st.type === 'conv2d' ? `c${st.filters}` : `p${st.poolSize}`,
    );
    return [spec.conv.inputShape.join('×'), ...stages, ...spec.layers.map((l) => l.units)].join(
      '-',
    );
  }
  return [spec.inputSize, ...spec.layers.map((l) => l.units)].join('-');
}

/** mulberry32: tiny, seedable, good enough for benchmark data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CaseData {
  /** Initial parameters in gradc's flat layout; every value is exactly representable in f32. */
  readonly params: Float64Array;
  /** Row-major `batch × inputSize`. */
  readonly inputs: Float64Array;
  /** Row-major `batch × outputSize`. */
  readonly targets: Float64Array;
}

// Values are rounded to f32 so that f32 peers load exactly the weights the f64 code uses;
// any difference in results then comes from arithmetic, not from the inputs.
export function makeData(spec: NetSpec, batch: number, seed: number): CaseData {
  const rand = rng(seed);
  const { layers, convs, paramCount } = layout(spec);
  const params = new Float64Array(paramCount);
  for (const c of convs) {
    // TF.js's glorotUniform for a conv kernel: fans include the receptive field.
    const [kh, kw, cin, filters] = c.shape;
    const limit = Math.sqrt(6 / (kh * kw * (cin + filters)));
    for (let i = 0; i < c.bias - c.kernel; i++)
      params[c.kernel + i] = Math.fround((rand() * 2 - 1) * limit);
    for (let j = 0; j < filters; j++) params[c.bias + j] = Math.fround((rand() * 2 - 1) * 0.1);
  }
  for (const l of layers) {
    // Glorot-uniform kernels and small non-zero biases, so bias gradients are exercised too.
    const limit = Math.sqrt(6 / (l.inputs + l.units));
    for (let i = 0; i < l.inputs * l.units; i++)
      params[l.kernel + i] = Math.fround((rand() * 2 - 1) * limit);
    for (let j = 0; j < l.units; j++) params[l.bias + j] = Math.fround((rand() * 2 - 1) * 0.1);
  }
  const inputs = new Float64Array(batch * spec.inputSize);
  for (let i = 0; i < inputs.length; i++) inputs[i] = Math.fround(rand() * 2 - 1);
  const out = outputSize(spec);
  const targets = new Float64Array(batch * out);
  for (let s = 0; s < batch; s++) {
    if (spec.loss === 'categoricalCrossEntropy') targets[s * out + Math.floor(rand() * out)] = 1;
    else for (let k = 0; k < out; k++) targets[s * out + k] = Math.fround(rand());
  }
  return { params, inputs, targets };
}

export interface BenchCase {
  /** `xor-b1`, ... */
  readonly id: string;
  readonly spec: NetSpec;
  readonly batch: number;
  /** Basename of the gradc module in `generated/`. */
  readonly generated: string;
}

export const CASES: readonly BenchCase[] = [
  { id: 'xor-b1', spec: XOR, batch: 1, generated: 'xor' },
  { id: 'xor-b4', spec: XOR, batch: 4, generated: 'xor' },
  { id: 'iris-b1', spec: IRIS, batch: 1, generated: 'iris' },
  { id: 'iris-b16', spec: IRIS, batch: 16, generated: 'iris' },
  { id: 'mnist-b32', spec: MNIST, batch: 32, generated: 'mnist-mlp' },
  { id: 'mnist-cnn-b32', spec: MNIST_CNN, batch: 32, generated: 'mnist-cnn' },
];
