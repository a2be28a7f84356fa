// A trained model ready to use: a compiled module, its weights, and the column description
// that `gradc train` writes beside the weights (`<weights>.meta.json`: feature columns, their
// normalization, class names or target columns). `predict` applies the normalization exactly
// as `gradc predict` does, so the two give identical outputs for the same rows.
import { allocArray, allocWork } from './init.ts';
import type { FloatArray, GeneratedModule, ModelInfo } from './types.ts';
import { layoutHash, WeightsError } from './weights.ts';

export const BUNDLE_META_FORMAT = 'gradc-train-meta';

/** The `.meta.json` that `gradc train` writes beside the weights (version 2). */
export interface BundleMeta {
  readonly format: typeof BUNDLE_META_FORMAT;
  readonly version: 2;
  /** The weights file this was written with (size and SHA-256, hex), checked by loadBundle. */
  readonly weights?: { readonly bytes: number; readonly sha256: string };
  readonly model: string;
  /** Layout hash of the model (16 hex digits), as in the weights header. */
  readonly layoutHash: string;
  readonly features: readonly string[];
  /** Standardization of each feature (mean, standard deviation), or null: raw features. */
  readonly normalize: { readonly mean: readonly number[]; readonly std: readonly number[] } | null;
  readonly label?: string;
  /** Classification: class names in output order. */
  readonly classes?: readonly string[];
  /** Regression: target columns in output order. */
  readonly targets?: readonly string[];
}

export interface Predictor {
  readonly model: ModelInfo;
  readonly meta: BundleMeta;
  /**
   * Outputs for one row of raw (unnormalized) features, in `meta.features` order: class
   * probabilities (one sigmoid output: the probability of `classes[1]`) or target values.
   * Allocation-free when `out` is given.
   */
  predict(features: ArrayLike<number>, out?: FloatArray): FloatArray;
  /** Classification only: the most probable class name for one row. */
  predictClass(features: ArrayLike<number>): string;
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');
const isNumbers = (v: unknown, n: number): v is number[] =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Checks a parsed `.meta.json` against `model`; throws a WeightsError naming `file`. */
export function parseBundleMeta(json: unknown, model: ModelInfo, file = 'meta'): BundleMeta {
  const bad = (what: string) => new WeightsError('badJson', `${file}: ${what}`);
  const m = json as Partial<BundleMeta> | null;
  if (m === null || typeof m !== 'object' || m.format !== BUNDLE_META_FORMAT || m.version !== 2)
    throw bad(`not a ${BUNDLE_META_FORMAT} version 2 file (train again with this gradc)`);
  if (!isStrings(m.features) || m.features.length !== model.inputSize)
    throw bad(`features must be ${model.inputSize} column names`);
  const n = m.features.length;
  if (
    m.normalize !== null &&
    !(
      typeof m.normalize === 'object' &&
      isNumbers(m.normalize?.mean, n) &&
      isNumbers(m.normalize?.std, n) &&
      m.normalize.std.every((s) => s !== 0)
    )
  )
    throw bad('normalize must be null or { mean, std } with one nonzero std per feature');
  const width = model.outputSize;
  if (m.classes !== undefined) {
    if (!isStrings(m.classes) || m.classes.length !== (width === 1 ? 2 : width))
      throw bad(`classes must be ${width === 1 ? 2 : width} names`);
  } else if (!isStrings(m.targets) || m.targets.length !== width) {
    throw bad(`give classes or ${width} target names`);
  }
  if (m.layoutHash !== layoutHash(model).toString(16).padStart(16, '0'))
    throw new WeightsError(
      'wrongLayout',
      `${file}: was written for a different model than ${model.name}`,
    );
  return m as BundleMeta;
}

export function createPredictor(
  module: GeneratedModule,
  params: FloatArray,
  meta: BundleMeta,
): Predictor {
  const model = module.model;
  if (params.length !== model.paramCount)
    throw new RangeError(
      `params has ${params.length} entries, model ${model.name} needs ${model.paramCount}`,
    );
  const checked = parseBundleMeta(meta, model);
  const x = allocArray(model, model.inputSize);
  const work = allocWork(model);
  const norm = checked.normalize;
  const y = allocArray(model, model.outputSize);
  const predict = (features: ArrayLike<number>, out?: FloatArray): FloatArray => {
    if (features.length !== model.inputSize)
      throw new RangeError(`expected ${model.inputSize} features, got ${features.length}`);
    const target = out ?? allocArray(model, model.outputSize);
    if (target.length < model.outputSize)
      throw new RangeError(`out has ${target.length} entries, need ${model.outputSize}`);
    // (x - mean) / std in doubles, then stored (rounded for f32): as gradc predict does.
    for (let i = 0; i < model.inputSize; i++)
      x[i] = norm === null ? features[i]! : (features[i]! - norm.mean[i]!) / norm.std[i]!;
    module.forward(params, x, target, work);
    return target;
  };
  const classes = checked.classes;
  return {
    model,
    meta: checked,
    predict,
    predictClass(features) {
      if (classes === undefined) throw new TypeError(`model ${model.name} is a regression model`);
      predict(features, y);
      if (y.length === 1) return classes[y[0]! >= 0.5 ? 1 : 0]!;
      let k = 0;
      for (let j = 1; j < y.length; j++) if (y[j]! > y[k]!) k = j;
      return classes[k]!;
    },
  };
}
