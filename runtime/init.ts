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
    else if (kind === 'glorotUniform') fillKernel(params, p, options.scheme ?? 'glorot', rng);
    else fillKernel(params, p, options.scheme ?? defaultScheme(p.activation), rng);
  }
  return params;
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
