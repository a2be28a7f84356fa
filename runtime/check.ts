// Verifying a module's analytic gradient against numeric derivatives of its own `loss`.
//
// Two tests, both from the numerical-AD literature:
//  - checkGradient: per-parameter central differences, L(p + h·e_i) − L(p − h·e_i) over
//    the step actually taken, with h = eps · max(1, |p_i|) so large weights get a step
//    that is not lost to rounding;
//  - dotProductTest: the vector–Jacobian identity ∇L·v = d/dh L(p + h·v) for random unit
//    directions v, which touches every parameter at once with only two loss evaluations.
// Error measure: |a − b| / max(1e-8, |a| + |b|), with pairs whose |a| + |b| is
// below `absFloor` counted as 0: there the numeric derivative is rounding noise. By default
// the numeric derivative is Richardson-extrapolated from steps h and h/2 and the gap between
// the two is treated as its uncertainty (see checkGradient).
//
// Parameters are perturbed in place and restored exactly (the original value is written
// back), so callers may pass their live parameter array.

import { allocGrad, allocWork } from './init.ts';
import { paramName } from './naming.ts';
import { Rng } from './random.ts';
import type { FloatArray, GeneratedModule, ModelInfo } from './types.ts';

export interface CheckOptions {
  /** Relative step: h = eps · max(1, |p|). Default 1e-4 (f64) / 1e-2 (f32) with Richardson, else 1e-6 / 1e-3. */
  readonly eps?: number;
  /** Combine steps h and h/2 by Richardson extrapolation (O(h⁴) error, 4 loss calls per parameter). Default true. */
  readonly richardson?: boolean;
  /** `ok` when every relative error is at most this. Default 1e-6 (f64) / 2e-2 (f32). */
  readonly tolerance?: number;
  /** Pairs with |analytic| + |numeric| below this count as exact. Default 1e-9 (f64) / 1e-4 (f32). */
  readonly absFloor?: number;
  /** Check at most this many parameters, sampled per tensor (every tensor gets at least one). */
  readonly maxParams?: number;
  /** Seed for sampling parameters / drawing directions. Default 0. */
  readonly seed?: number;
}

export interface GradientMismatch {
  /** Flat index into the parameter array. */
  readonly index: number;
  /** Tensor name and multi-index, e.g. `dense0.kernel[3,1]`. */
  readonly name: string;
  readonly analytic: number;
  readonly numeric: number;
  readonly relError: number;
}

export interface TensorCheck {
  readonly name: string;
  readonly maxRelError: number;
  /** How many of its entries were checked. */
  readonly checked: number;
}

export interface GradientCheckReport {
  readonly maxRelError: number;
  /** The entry with the largest relative error (undefined only when nothing was checked). */
  readonly worst: GradientMismatch | undefined;
  readonly perTensor: readonly TensorCheck[];
  /** Number of parameters compared. */
  readonly checked: number;
  /** Parameters whose first difference crossed a kink and agreed at a 100× smaller step. */
  readonly kinks?: number;
  /** Relative difference between the loss `gradient()` returns and `loss()`. */
  readonly lossError: number;
  readonly tolerance: number;
  /** maxRelError ≤ tolerance and lossError ≤ tolerance. */
  readonly ok: boolean;
}

interface Resolved {
  eps: number;
  richardson: boolean;
  tolerance: number;
  absFloor: number;
  seed: number;
}

function resolve(model: ModelInfo, o: CheckOptions): Resolved {
  const f32 = model.precision === 'f32';
  const richardson = o.richardson ?? true;
  return {
    eps: o.eps ?? (richardson ? (f32 ? 1e-2 : 1e-4) : f32 ? 1e-3 : 1e-6),
    richardson,
    tolerance: o.tolerance ?? (f32 ? 2e-2 : 1e-6),
    absFloor: o.absFloor ?? (f32 ? 1e-4 : 1e-9),
    seed: o.seed ?? 0,
  };
}

/**
 * Relative error |a − b| / max(1e-8, |a| + |b|), 0 when |a| + |b| < absFloor;
 * `slack` (the numeric estimate's own uncertainty) is subtracted from |a − b| first.
 */
export function relativeError(a: number, b: number, absFloor = 0, slack = 0): number {
  const scale = Math.abs(a) + Math.abs(b);
  if (scale < absFloor) return 0;
  const err = Math.max(0, Math.abs(a - b) - slack) / Math.max(1e-8, scale);
  // NaN would compare false against every tolerance and slip through as "ok".
  return Number.isNaN(err) ? Infinity : err;
}

function checkShapes(
  module: GeneratedModule,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
): void {
  const m = module.model;
  if (params.length !== m.paramCount) {
    throw new RangeError(
      `params has ${params.length} entries, model ${m.name} needs ${m.paramCount}`,
    );
  }
  if (input.length !== m.inputSize) {
    throw new RangeError(`input has ${input.length} entries, model ${m.name} needs ${m.inputSize}`);
  }
  if (target.length !== m.outputSize) {
    throw new RangeError(
      `target has ${target.length} entries, model ${m.name} needs ${m.outputSize}`,
    );
  }
}

/** 1 for every parameter of a frozen layer (`trainable: false`). */
function frozenMask(model: ModelInfo): Uint8Array {
  const mask = new Uint8Array(model.paramCount);
  for (const p of model.params)
    if (p.trainable === false) mask.fill(1, p.offset, p.offset + p.size);
  return mask;
}

/** Which flat indices to check: all, or a seeded per-tensor sample of about `maxParams`. */
function chooseIndices(model: ModelInfo, maxParams: number | undefined, rng: Rng): Int32Array {
  const total = model.paramCount;
  if (maxParams === undefined || maxParams >= total) {
    const all = new Int32Array(total);
    for (let i = 0; i < total; i++) all[i] = i;
    return all;
  }
  const picked: number[] = [];
  for (const p of model.params) {
    const k = Math.min(p.size, Math.max(1, Math.round((maxParams * p.size) / total)));
    const local = new Int32Array(p.size);
    for (let i = 0; i < p.size; i++) local[i] = i;
    // Partial Fisher–Yates: the first k slots become a uniform sample without replacement.
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(p.size - i);
      const t = local[i];
      local[i] = local[j];
      local[j] = t;
    }
    for (let i = 0; i < k; i++) picked.push(p.offset + local[i]);
  }
  picked.sort((a, b) => a - b);
  return Int32Array.from(picked);
}

/**
 * (L(p + h·e_i) − L(p − h·e_i)) / (stored p⁺ − stored p⁻): dividing by the step actually
 * stored makes f32 rounding of p ± h harmless. Restores p_i exactly.
 */
function central(objective: Objective, params: FloatArray, i: number, h: number): number {
  const original = params[i];
  params[i] = original + h;
  const plus = params[i];
  const lPlus = objective.loss(params);
  params[i] = original - h;
  const minus = params[i];
  const lMinus = objective.loss(params);
  params[i] = original;
  return (lPlus - lMinus) / (plus - minus);
}

/**
 * What the checks differentiate: a loss of the parameters and the gradient the module
 * claims for it. Inference checks use `loss` and `gradient` of one sample; the training
 * check a whole batch through `gradientBatch` with a fixed seed.
 */
interface Objective {
  loss(params: FloatArray): number;
  /** Writes the gradient into `grad`, returns the loss it belongs to. */
  gradient(params: FloatArray, grad: FloatArray): number;
  /** The loss as the module computes it on its own (`loss()`), to compare with gradient's. */
  plainLoss(params: FloatArray): number;
}

function sampleObjective(
  module: GeneratedModule,
  input: FloatArray,
  target: FloatArray,
  work: FloatArray,
): Objective {
  return {
    loss: (p) => module.loss(p, input, target, work),
    gradient: (p, grad) => module.gradient(p, input, target, grad, work),
    plainLoss: (p) => module.loss(p, input, target, work),
  };
}

/** A batch in training mode: dropout masks from `seed`, batch statistics over `count`. */
export interface TrainingBatch {
  readonly inputs: FloatArray;
  readonly targets: FloatArray;
  readonly count: number;
  /** Keys the dropout masks: the same mask for every evaluation (default 0). */
  readonly seed?: number;
}

/**
 * The training-mode batch loss as gradientBatch returns it, on a copy of the parameters
 * (the step writes new moving statistics into the array it is given).
 */
function trainingObjective(module: GeneratedModule, b: TrainingBatch): Objective {
  const m = module.model;
  if (!module.gradientBatch) throw new TypeError(`model ${m.name} has no gradientBatch`);
  const step = module.gradientBatch.bind(module);
  const copy = allocGrad(m);
  const scratch = allocGrad(m);
  const work = allocWork(m);
  const seed = b.seed ?? 0;
  const run = (p: FloatArray, grad: FloatArray) => {
    copy.set(p);
    return step(copy, b.inputs, b.targets, b.count, grad, work, seed);
  };
  return {
    loss: (p) => run(p, scratch),
    gradient: run,
    plainLoss: (p) => run(p, scratch),
  };
}

/**
 * Compares `module.gradient` with central differences of `module.loss` for one sample.
 * See the file comment for the step and error definitions.
 */
export function checkGradient(
  module: GeneratedModule,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
  options: CheckOptions = {},
): GradientCheckReport {
  checkShapes(module, params, input, target);
  const work = allocWork(module.model);
  return compareGradient(
    module.model,
    sampleObjective(module, input, target, work),
    params,
    options,
  );
}

/**
 * The training-mode gradient (dropout with its mask held fixed by the seed, batch
 * statistics over the batch) against central differences of the training-mode batch loss:
 * what `gradientBatch` returns for the same batch and seed. `params` is left as it was (the
 * moving statistics are updated on copies).
 */
export function checkTrainingGradient(
  module: GeneratedModule,
  params: FloatArray,
  batch: TrainingBatch,
  options: CheckOptions = {},
): GradientCheckReport {
  return compareGradient(module.model, trainingObjective(module, batch), params, options);
}

function compareGradient(
  model: ModelInfo,
  objective: Objective,
  params: FloatArray,
  options: CheckOptions,
): GradientCheckReport {
  const o = resolve(model, options);
  const grad = allocGrad(model);
  const gradLoss = objective.gradient(params, grad);
  const plainLoss = objective.plainLoss(params);
  const lossError = relativeError(gradLoss, plainLoss, 0);

  const indices = chooseIndices(model, options.maxParams, new Rng(o.seed));
  const frozen = frozenMask(model);
  // f32 modules store every intermediate in single precision.
  const unitRoundoff = model.precision === 'f32' ? 2 ** -24 : 2 ** -53;
  const tensorMax = new Map<string, { max: number; checked: number }>();
  for (const p of model.params) tensorMax.set(p.name, { max: 0, checked: 0 });

  let worst: GradientMismatch | undefined;
  let maxRelError = 0;
  let kinks = 0;
  let tensor = 0;
  const ordered = [...model.params].sort((a, b) => a.offset - b.offset);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    const h = o.eps * Math.max(1, Math.abs(params[i]));
    let numeric: number;
    let slack = 0;
    if (frozen[i]) {
      // A frozen layer's gradient is zero by definition, whatever the loss does.
      numeric = 0;
    } else if (o.richardson) {
      // Richardson extrapolation cancels the h² error term of central differences:
      // (4·D(h/2) − D(h)) / 3 is accurate to O(h⁴), so a larger h (less rounding) can be used.
      const half = central(objective, params, i, h / 2);
      const full = central(objective, params, i, h);
      numeric = (4 * half - full) / 3;
      // |D(h/2) − D(h)| says how unconverged the differences are: ~1e-12 relative on smooth
      // f64 losses, but large when the step crosses a kink (relu) or drowns in f32 rounding.
      // Disagreement within it is not evidence of a wrong gradient, so it is not counted.
      slack = Math.abs(half - full);
    } else {
      numeric = central(objective, params, i, h);
    }
    const analytic = grad[i];
    // Rounding: each loss carries an error of about ε·|L|, and the differences divide by h,
    // so the numeric derivative is uncertain by a few ε·|L|/h whatever the step. Tiny
    // gradients of a large loss are below that, and a mismatch there says nothing.
    if (!frozen[i]) slack += (4 * unitRoundoff * Math.abs(plainLoss)) / h;
    let err = relativeError(analytic, numeric, o.absFloor, slack);
    if (err > o.tolerance && !frozen[i] && o.richardson) {
      // A step that crosses a kink (a relu unit near 0, a tie in a max-pooling window) gives
      // a wrong difference at that step and a right one at a much smaller step; a wrong
      // gradient is wrong at every step. So a miss is measured again at h/100, and counted
      // as a kink when that agrees (the report says how many).
      const hs = h / 100;
      const half = central(objective, params, i, hs / 2);
      const full = central(objective, params, i, hs);
      const retry = (4 * half - full) / 3;
      const retrySlack = Math.abs(half - full) + (4 * unitRoundoff * Math.abs(plainLoss)) / hs;
      const retryErr = relativeError(analytic, retry, o.absFloor, retrySlack);
      if (retryErr <= o.tolerance) {
        kinks++;
        numeric = retry;
        err = retryErr;
      }
    }

    while (tensor < ordered.length - 1 && i >= ordered[tensor].offset + ordered[tensor].size)
      tensor++;
    const entry = ordered.length > 0 ? tensorMax.get(ordered[tensor].name) : undefined;
    if (entry !== undefined) {
      entry.checked++;
      if (err > entry.max) entry.max = err;
    }
    if (worst === undefined || err > maxRelError) {
      maxRelError = err;
      worst = { index: i, name: paramName(model, i), analytic, numeric, relError: err };
    }
  }

  const perTensor: TensorCheck[] = model.params.map((p) => {
    const e = tensorMax.get(p.name);
    return { name: p.name, maxRelError: e?.max ?? 0, checked: e?.checked ?? 0 };
  });
  return {
    maxRelError,
    worst,
    perTensor,
    checked: indices.length,
    kinks,
    lossError,
    tolerance: o.tolerance,
    ok: maxRelError <= o.tolerance && lossError <= o.tolerance,
  };
}

export interface DotProductOptions {
  /** Number of random directions. Default 4. */
  readonly directions?: number;
  /** Step along the unit direction. Default 1e-6 (f64) / 1e-2 (f32). */
  readonly eps?: number;
  /** Default as in CheckOptions. */
  readonly tolerance?: number;
  readonly absFloor?: number;
  readonly seed?: number;
}

export interface DotProductTrial {
  /** ∇L · v. */
  readonly analytic: number;
  /** (L(p + h·v) − L(p − h·v)) / 2h. */
  readonly numeric: number;
  readonly relError: number;
}

export interface DotProductReport {
  readonly trials: readonly DotProductTrial[];
  readonly maxRelError: number;
  readonly tolerance: number;
  readonly ok: boolean;
}

/**
 * The VJP (dot-product) test: for random unit directions v compare ∇L·v with a central
 * difference of L along v. With f32 parameters the perturbation that was actually stored is
 * used in place of v, so rounding of p ± h·v does not show up as a gradient error.
 */
export function dotProductTest(
  module: GeneratedModule,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
  options: DotProductOptions = {},
): DotProductReport {
  checkShapes(module, params, input, target);
  const work = allocWork(module.model);
  return dotProduct(module.model, sampleObjective(module, input, target, work), params, options);
}

/** The dot-product test of the training-mode batch loss (see checkTrainingGradient). */
export function trainingDotProductTest(
  module: GeneratedModule,
  params: FloatArray,
  batch: TrainingBatch,
  options: DotProductOptions = {},
): DotProductReport {
  return dotProduct(module.model, trainingObjective(module, batch), params, options);
}

function dotProduct(
  model: ModelInfo,
  objective: Objective,
  params: FloatArray,
  options: DotProductOptions,
): DotProductReport {
  const f32 = model.precision === 'f32';
  const unitRoundoff = f32 ? 2 ** -24 : 2 ** -53;
  const base = resolve(model, options);
  const h = options.eps ?? (f32 ? 1e-2 : 1e-6);
  const directions = options.directions ?? 4;
  const rng = new Rng(base.seed);
  const n = params.length;
  const grad = allocGrad(model);
  objective.gradient(params, grad);
  const original = Float64Array.from(params);
  const frozen = frozenMask(model);
  const v = new Float64Array(n);
  const plus = new Float64Array(n);

  const trials: DotProductTrial[] = [];
  let maxRelError = 0;
  // With every parameter frozen there is no direction to test (and v / |v| would be 0 / 0).
  const anyTrainable = frozen.some((f) => f === 0);
  for (let d = 0; d < (anyTrainable ? directions : 0); d++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      // Frozen parameters are not directions the gradient describes.
      v[i] = frozen[i] ? 0 : rng.normal();
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) params[i] = original[i] + (h * v[i]) / norm;
    plus.set(params);
    const lPlus = objective.loss(params);
    let analytic = 0;
    for (let i = 0; i < n; i++) params[i] = original[i] - (h * v[i]) / norm;
    for (let i = 0; i < n; i++) analytic += grad[i] * (plus[i] - params[i]);
    const lMinus = objective.loss(params);
    params.set(original);
    // Both sides are per unit of the stored step (plus − minus), i.e. per 2h.
    analytic /= 2 * h;
    const numeric = (lPlus - lMinus) / (2 * h);
    // The two losses carry rounding errors of about ε·|L| each: see checkGradient.
    const noise = (4 * unitRoundoff * Math.max(Math.abs(lPlus), Math.abs(lMinus))) / h;
    const relError = relativeError(analytic, numeric, base.absFloor, noise);
    trials.push({ analytic, numeric, relError });
    if (relError > maxRelError) maxRelError = relError;
  }
  return { trials, maxRelError, tolerance: base.tolerance, ok: maxRelError <= base.tolerance };
}
