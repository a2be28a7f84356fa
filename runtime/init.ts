// Parameter initialization and buffer allocation for a generated module's `model`.
//
// Each tensor says how it starts (`ParamInfo.init`, from its layer record): zeros (biases,
// beta, moving means), ones (gamma, moving variances) or a variance-scaling kernel scheme
// (fan-in/fan-out from ParamInfo; for convolutions they include the window, as in TF):
//   glorot: uniform in ±sqrt(6 / (fanIn + fanOut))   — Keras `glorot_uniform` (untruncated)
//   he:     normal, std = sqrt(2 / fanIn)             — He et al. 2015, Keras `he_normal`
//                                                        but untruncated (PyTorch `kaiming_normal_`)
//   lecun:  normal, std = sqrt(1 / fanIn)             — LeCun normal, what SELU's
//                                                        self-normalization assumes (untruncated)
// Layers ask for glorot (TF.js's glorotUniform default); modules compiled before layers said
// so (`init: 'kernel'` or none) pick by the activation: He for the ReLU family, LeCun for
// SELU, Glorot for everything else. A scheme passed to initParams overrides both.

import { Rng } from './random.ts';
import type { FloatArray, ModelInfo, ParamInfo } from './types.ts';

export type InitScheme = 'glorot' | 'he' | 'lecun';

export interface InitOptions {
  /** Seed of the PRNG; the same seed gives the same parameters bit-for-bit. */
  readonly seed: number;
  /** Use one scheme for every kernel instead of choosing by activation. */
  readonly scheme?: InitScheme;
}

const HE_ACTIVATIONS = new Set(['relu', 'leakyRelu', 'elu', 'relu6', 'mish']);

/** The scheme `initParams` uses for a parameter tensor when none is forced. */
export function defaultScheme(activation: string): InitScheme {
  if (HE_ACTIVATIONS.has(activation)) return 'he';
  if (activation === 'selu') return 'lecun';
  return 'glorot';
}

/** A zeroed array of the model's precision. */
export function allocArray(model: Pick<ModelInfo, 'precision'>, length: number): FloatArray {
  return model.precision === 'f32' ? new Float32Array(length) : new Float64Array(length);
}

/** Zeroed parameters of the right precision and length (see `initParams` for random ones). */
export function allocParams(model: ModelInfo): FloatArray {
  return allocArray(model, model.paramCount);
}

/** A gradient buffer for `gradient()`. */
export function allocGrad(model: ModelInfo): FloatArray {
  return allocArray(model, model.paramCount);
}

/** The scratch `work` array every entry point needs. */
export function allocWork(model: ModelInfo): FloatArray {
  return allocArray(model, model.workSize);
}

/** An output buffer for `forward()`. */
export function allocOutput(model: ModelInfo): FloatArray {
  return allocArray(model, model.outputSize);
}

/**
 * Fresh random parameters. Tensors are filled in `model.params` order from one stream,
 * so the result depends only on the seed, the scheme(s) and the layout.
 */
export function initParams(model: ModelInfo, options: InitOptions): FloatArray {
  const params = allocParams(model);
  const rng = new Rng(options.seed);
  const ordered = [...model.params].sort((a, b) => a.offset - b.offset);
  for (const p of ordered) {
    if (p.offset < 0 || p.offset + p.size > model.paramCount) {
      throw new RangeError(
        `parameter ${p.name} [${p.offset}, ${p.offset + p.size}) lies outside paramCount ${model.paramCount}`,
      );
    }
    const kind = p.init ?? (p.role === 'kernel' ? 'kernel' : 'zeros');
    if (kind === 'zeros') continue; // already zero
    if (kind === 'ones') params.fill(1, p.offset, p.offset + p.size);
    else if (kind === 'glorotUniform') fillKernel(params, p, options.scheme ?? 'glorot', rng);
    else if (kind === 'glorotNormal' && !options.scheme) fillGlorotNormal(params, p, rng);
    else if (kind === 'orthogonal' && !options.scheme) fillOrthogonal(params, p, rng);
    else if (kind === 'unitForgetBias') {
      // An LSTM bias [i f c o]: the forget quarter starts at 1 (Jozefowicz et al. 2015).
      const q = p.size / 4;
      params.fill(1, p.offset + q, p.offset + 2 * q);
    } else fillKernel(params, p, options.scheme ?? defaultScheme(p.activation), rng);
  }
  return params;
}

/** TF's glorotNormal: a normal truncated at 2 std, std = sqrt(2 / (fanIn + fanOut)) / 0.8796
 * (the truncation's correction, as TF.js's VarianceScaling). */
function fillGlorotNormal(params: FloatArray, p: ParamInfo, rng: Rng): void {
  const std = Math.sqrt(2 / (p.fanIn + p.fanOut)) / 0.87962566103423978;
  for (let i = p.offset; i < p.offset + p.size; i++) {
    let x = rng.normal(0, 1);
    while (Math.abs(x) > 2) x = rng.normal(0, 1);
    params[i] = x * std;
  }
}

/**
 * TF's orthogonal initializer: the Q of a QR factorization of a normal matrix (signs fixed so
 * R's diagonal is positive), rows × cols = [leading axes, last axis], transposed when wide,
 * so the rows (or columns) are orthonormal. Modified Gram–Schmidt: fine at these sizes.
 */
function fillOrthogonal(params: FloatArray, p: ParamInfo, rng: Rng): void {
  const cols = p.shape[p.shape.length - 1]!;
  const rows = p.size / cols;
  const tall = Math.max(rows, cols);
  const narrow = Math.min(rows, cols);
  // q holds `narrow` vectors of length `tall`.
  const q = Array.from({ length: narrow }, () =>
    Float64Array.from({ length: tall }, () => rng.normal(0, 1)),
  );
  for (let j = 0; j < narrow; j++) {
    const v = q[j]!;
    for (let i = 0; i < j; i++) {
      const w = q[i]!;
      let d = 0;
      for (let k = 0; k < tall; k++) d += v[k]! * w[k]!;
      for (let k = 0; k < tall; k++) v[k] = v[k]! - d * w[k]!;
    }
    let norm = 0;
    for (let k = 0; k < tall; k++) norm += v[k]! * v[k]!;
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < tall; k++) v[k] = v[k]! / norm;
  }
  // Tall: column j of the [rows, cols] matrix is q[j]; wide: row j is q[j].
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      params[p.offset + r * cols + c] = rows >= cols ? q[c]![r]! : q[r]![c]!;
}

function fillKernel(params: FloatArray, p: ParamInfo, scheme: InitScheme, rng: Rng): void {
  const end = p.offset + p.size;
  if (scheme === 'glorot') {
    const limit = Math.sqrt(6 / (p.fanIn + p.fanOut));
    for (let i = p.offset; i < end; i++) params[i] = rng.range(-limit, limit);
  } else {
    const std = Math.sqrt((scheme === 'he' ? 2 : 1) / p.fanIn);
    for (let i = p.offset; i < end; i++) params[i] = rng.normal(0, std);
  }
}
