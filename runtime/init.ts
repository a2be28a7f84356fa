// Parameter initialization and buffer allocation for a generated module's `model`.
//
// Each tensor says how it starts (`ParamInfo.init`, chosen by its layer record, so compiler
// and runtime cannot disagree): zeros (biases, beta, moving means), ones (gamma, moving
// variances) or a TF.js variance-scaling initializer, with fan-in/fan-out from ParamInfo (for
// convolutions they include the window, as in TF):
//   glorotUniform / glorotNormal   scale 1 / ((fanIn + fanOut) / 2)
//   heUniform / heNormal           scale 2 / fanIn
//   leCunUniform / leCunNormal     scale 1 / fanIn
// Uniform draws lie in ±sqrt(3·scale); normal ones are TF.js's truncated normal: std
// sqrt(scale), redrawn beyond two standard deviations. Modules compiled before layers named
// their initializer (`init: 'kernel'` or none) pick by the activation, untruncated: He normal
// for the ReLU family, LeCun normal for SELU, Glorot uniform for everything else. Recurrent
// kernels start `orthogonal` and an LSTM bias may start `unitForgetBias`. A scheme passed to
// initParams overrides every kernel.

import { Rng } from './random.ts';
import type { FloatArray, ModelInfo, ParamInfo } from './types.ts';

export type InitScheme = 'glorot' | 'he' | 'lecun';

export interface InitOptions {
  /** Seed of the PRNG; the same seed gives the same parameters bit-for-bit. */
  readonly seed: number;
  /** Use one scheme for every kernel instead of each tensor's own initializer. */
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

/**
 * A zeroed array for `module`'s entry points: from its `alloc` (its own memory, no copies on
 * the hot path) when it has one, a plain typed array otherwise.
 */
export function allocFor(
  module: { readonly model: Pick<ModelInfo, 'precision'>; alloc?(length: number): FloatArray },
  length: number,
): FloatArray {
  return module.alloc ? module.alloc(length) : allocArray(module.model, length);
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
    // A lookup table, not a kernel: a forced kernel scheme leaves it alone.
    else if (kind === 'randomUniform')
      for (let i = p.offset; i < p.offset + p.size; i++) params[i] = rng.range(-0.05, 0.05);
    else if (kind === 'unitForgetBias') {
      // An LSTM bias [i f c o]: the forget quarter starts at 1 (Jozefowicz et al. 2015).
      const q = p.size / 4;
      params.fill(1, p.offset + q, p.offset + 2 * q);
    } else if (options.scheme || kind === 'kernel') {
      const scheme = options.scheme ?? defaultScheme(p.activation);
      fillVarianceScaling(params, p, LEGACY[scheme], rng, false);
    } else if (kind === 'orthogonal') fillOrthogonal(params, p, rng);
    else fillVarianceScaling(params, p, kind, rng);
  }
  return params;
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

type VarianceScaling = Exclude<
  ParamInfo['init'],
  'kernel' | 'zeros' | 'ones' | 'randomUniform' | 'orthogonal' | 'unitForgetBias' | undefined
>;

/** What an `InitScheme` draws: the same variance scaling, but normals are not truncated. */
const LEGACY: Readonly<Record<InitScheme, VarianceScaling>> = {
  glorot: 'glorotUniform',
  he: 'heNormal',
  lecun: 'leCunNormal',
};

/** TF.js's VarianceScaling (the fans are clamped to ≥ 1, as there); `truncate` redraws
 * normals beyond two standard deviations, as TF.js's truncatedNormal. */
function fillVarianceScaling(
  params: FloatArray,
  p: ParamInfo,
  kind: VarianceScaling,
  rng: Rng,
  truncate = true,
): void {
  // variance = scale = c / d, written so that glorotUniform's limit is sqrt(6 / (fanIn +
  // fanOut)) to the last bit, as gradc drew it before initializers had names.
  const glorot = kind.startsWith('glorot');
  const d = glorot ? Math.max(2, p.fanIn + p.fanOut) : Math.max(1, p.fanIn);
  const c = glorot || kind.startsWith('he') ? 2 : 1;
  const end = p.offset + p.size;
  if (kind.endsWith('Uniform')) {
    const limit = Math.sqrt((3 * c) / d);
    for (let i = p.offset; i < end; i++) params[i] = rng.range(-limit, limit);
    return;
  }
  const std = Math.sqrt(c / d);
  if (!truncate) {
    for (let i = p.offset; i < end; i++) params[i] = rng.normal(0, std);
    return;
  }
  for (let i = p.offset; i < end; i++) {
    let z = rng.normal(0, 1);
    while (Math.abs(z) > 2) z = rng.normal(0, 1);
    params[i] = z * std;
  }
}
