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
// for the ReLU family, LeCun normal for SELU, Glorot uniform for everything else. A scheme
// passed to initParams overrides every kernel.

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
    else if (options.scheme) fillLegacy(params, p, options.scheme, rng);
    else if (kind === 'kernel') fillLegacy(params, p, defaultScheme(p.activation), rng);
    else fillVarianceScaling(params, p, kind, rng);
  }
  return params;
}

/** The untruncated schemes of `InitScheme`. */
function fillLegacy(params: FloatArray, p: ParamInfo, scheme: InitScheme, rng: Rng): void {
  const end = p.offset + p.size;
  if (scheme === 'glorot') {
    const limit = Math.sqrt(6 / (p.fanIn + p.fanOut));
    for (let i = p.offset; i < end; i++) params[i] = rng.range(-limit, limit);
  } else {
    const std = Math.sqrt((scheme === 'he' ? 2 : 1) / p.fanIn);
    for (let i = p.offset; i < end; i++) params[i] = rng.normal(0, std);
  }
}

type VarianceScaling = Exclude<
  ParamInfo['init'],
  'kernel' | 'zeros' | 'ones' | 'randomUniform' | undefined
>;

/** TF.js's VarianceScaling (the fans are clamped to ≥ 1, as there). */
function fillVarianceScaling(
  params: FloatArray,
  p: ParamInfo,
  kind: VarianceScaling,
  rng: Rng,
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
  for (let i = p.offset; i < end; i++) {
    let z = rng.normal(0, 1);
    while (Math.abs(z) > 2) z = rng.normal(0, 1);
    params[i] = z * std;
  }
}
