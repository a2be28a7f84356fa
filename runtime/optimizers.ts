// First-order optimizers with allocation-free `step(params, grad)`.
//
// Update rules follow PyTorch's `torch.optim` (defaults included) so results can be compared
// against it; Keras differs in a few places, noted per optimizer. Per-parameter state is
// allocated lazily on the first step (the optimizer does not know the model size before),
// then reused: later steps allocate nothing. State is kept in f64 even for f32 parameters so
// moment estimates do not lose precision.
//
// Order inside one step (PyTorch order when `clip_grad_norm_` precedes `optimizer.step()`):
//   1. clip `grad` in place to `clipNorm` (global L2 norm), if set;
//   2. lr ← schedule(iterations, epoch), if a schedule is set;
//   3. coupled L2 weight decay: g ← g + weightDecay · p (not written back into `grad`);
//   4. the optimizer's own update.

import { clipInto } from './clip.ts';
import type { LrSchedule } from './schedules.ts';
import type { FloatArray } from './types.ts';

export interface Optimizer {
  readonly name: string;
  /** Learning rate of the next step; overwritten before each step when `schedule` is set. */
  lr: number;
  /** Consulted before every step with (iterations, epoch); clear it to fix `lr` by hand. */
  schedule: LrSchedule | undefined;
  /** Current 0-based epoch, set by `train` for epoch-based schedules. */
  epoch: number;
  /** Steps taken so far (PyTorch's `step` counter; Adam's t is iterations + 1 during a step). */
  readonly iterations: number;
  /** Clip the gradient's global L2 norm to this before each step (modifies `grad` in place). */
  clipNorm: number | undefined;
  /** Global L2 norm of the last gradient passed to `step`, before clipping. */
  readonly lastGradNorm: number;
  /** Applies one update to `params` in place. May rescale `grad` in place (clipping). */
  step(params: FloatArray, grad: FloatArray): void;
  /** Forgets all state (moments, step count); the next step starts fresh. */
  reset(): void;
  /** Lets the update run as a module's vector kernel (`GeneratedModule.sgd`) where this
   * optimizer's math is exactly that kernel's (plain SGD without weight decay); `train`
   * passes the module's, or undefined for the JS loop. */
  useVectorSgd?(
    kernel: ((params: FloatArray, grad: FloatArray, lr: number) => void) | undefined,
  ): void;
  /** A copy of the state a later run needs to continue exactly (see optimizer-state.ts). */
  saveState?(): OptimizerState;
  /** Puts back a state from `saveState` of the same optimizer kind; throws if it does not fit. */
  loadState?(state: OptimizerState): void;
}

/** Step count, learning rate and per-parameter buffers (moments) of an optimizer. */
export interface OptimizerState {
  readonly optimizer: string;
  readonly iterations: number;
  readonly epoch: number;
  readonly lr: number;
  /** Named per-parameter buffers (`m`, `v`, `momentum`, ...), absent until the first step. */
  readonly slots: Readonly<Record<string, Float64Array>>;
}

export interface CommonOptions {
  /** A fixed learning rate or a schedule. */
  readonly lr?: number | LrSchedule;
  /** Coupled L2 penalty coefficient (PyTorch `weight_decay`): g ← g + weightDecay · p. Default 0. */
  readonly weightDecay?: number;
  /** Global-norm gradient clipping threshold; unset means no clipping. */
  readonly clipNorm?: number;
}

// Slots of BaseOptimizer.scalars.
const LR = 0;
const LAST_NORM = 1;
const CLIP = 2;

// Allocation-free in V8 means: no double crosses a call boundary that might not be inlined
// (a double argument or return value of a real call is boxed into a fresh heap number).
// So the learning rate, clipping threshold and last norm live in a Float64Array that
// `update`, the clipping helper and built-in schedules read and write in place; `lr`,
// `clipNorm` and `lastGradNorm` are accessors over it for callers.
abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: string;
  protected readonly scalars = new Float64Array(3);
  schedule: LrSchedule | undefined = undefined;
  epoch = 0;
  iterations = 0;
  protected readonly weightDecay: number;

  constructor(o: CommonOptions, defaultLr: number) {
    const lr = o.lr ?? defaultLr;
    if (typeof lr === 'function') {
      this.schedule = lr;
      this.lr = lr(0, 0);
    } else {
      this.lr = lr;
    }
    this.weightDecay = nonNegative('weightDecay', o.weightDecay ?? 0);
    this.clipNorm = o.clipNorm;
    this.scalars[LAST_NORM] = NaN;
  }

  get lr(): number {
    return this.scalars[LR];
  }
  set lr(value: number) {
    this.scalars[LR] = value;
  }

  get clipNorm(): number | undefined {
    const c = this.scalars[CLIP];
    return c > 0 ? c : undefined;
  }
  set clipNorm(value: number | undefined) {
    if (value !== undefined && !(value > 0)) {
      throw new RangeError(`clipNorm must be positive, got ${value}`);
    }
    this.scalars[CLIP] = value ?? 0; // 0 = no clipping
  }

  get lastGradNorm(): number {
    return this.scalars[LAST_NORM];
  }

  step(params: FloatArray, grad: FloatArray): void {
    if (params.length !== grad.length) {
      throw new RangeError(
        `${this.name}.step: params has ${params.length} entries but grad has ${grad.length}`,
      );
    }
    clipInto(grad, this.scalars, CLIP, LAST_NORM);
    const schedule = this.schedule;
    if (schedule !== undefined) {
      if (schedule.into !== undefined) schedule.into(this.iterations, this.epoch, this.scalars, LR);
      else this.scalars[LR] = schedule(this.iterations, this.epoch);
    }
    this.update(params, grad);
    this.iterations++;
  }

  reset(): void {
    this.iterations = 0;
    this.resetState();
  }

  saveState(): OptimizerState {
    const slots: Record<string, Float64Array> = {};
    for (const [k, v] of Object.entries(this.slots())) if (v !== undefined) slots[k] = v.slice();
    return {
      optimizer: this.name,
      iterations: this.iterations,
      epoch: this.epoch,
      lr: this.lr,
      slots,
    };
  }

  loadState(state: OptimizerState): void {
    if (state.optimizer !== this.name) {
      throw new RangeError(`optimizer state is for ${state.optimizer}, not ${this.name}`);
    }
    if (!Number.isSafeInteger(state.iterations) || state.iterations < 0) {
      throw new RangeError(`optimizer state: bad iteration count ${state.iterations}`);
    }
    const names = Object.keys(this.slots());
    const given = Object.keys(state.slots);
    const unknown = given.find((k) => !names.includes(k));
    if (unknown !== undefined) throw new RangeError(`optimizer state: unknown buffer ${unknown}`);
    if (given.length !== 0 && given.length !== names.length) {
      throw new RangeError(`optimizer state: expected buffers ${names.join(', ')}`);
    }
    const lengths = new Set(given.map((k) => state.slots[k]!.length));
    if (lengths.size > 1) throw new RangeError('optimizer state: buffers of different lengths');
    for (const k of given) {
      if (!state.slots[k]!.every(Number.isFinite))
        throw new RangeError(`optimizer state: buffer ${k} holds a non-finite value`);
    }
    this.iterations = state.iterations;
    this.epoch = state.epoch;
    if (this.schedule === undefined && state.lr > 0) this.lr = state.lr;
    this.setSlots(Object.fromEntries(given.map((k) => [k, state.slots[k]!.slice()])));
  }

  /** The per-parameter buffers by name (undefined before the first step). */
  protected abstract slots(): Record<string, Float64Array | undefined>;
  protected abstract setSlots(slots: Record<string, Float64Array>): void;

  /** Applies the update with learning rate `this.scalars[LR]`. */
  protected abstract update(params: FloatArray, grad: FloatArray): void;
  protected abstract resetState(): void;
}

function nonNegative(name: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`${name} must be a non-negative finite number, got ${v}`);
  }
  return v;
}

function inUnit(name: string, v: number): number {
  if (!(v >= 0 && v < 1)) throw new RangeError(`${name} must be in [0, 1), got ${v}`);
  return v;
}

/** Lazily sized per-parameter state; reallocated only if the parameter count changes. */
function sized(state: Float64Array | undefined, n: number): Float64Array {
  return state !== undefined && state.length === n ? state : new Float64Array(n);
}

// ---------------------------------------------------------------------------------------

class Sgd extends BaseOptimizer {
  readonly name = 'sgd';
  private kernel: ((params: FloatArray, grad: FloatArray, lr: number) => void) | undefined;
  useVectorSgd(
    kernel: ((params: FloatArray, grad: FloatArray, lr: number) => void) | undefined,
  ): void {
    this.kernel = kernel;
  }
  protected update(p: FloatArray, g: FloatArray): void {
    const lr = this.scalars[LR];
    const wd = this.weightDecay;
    // The module's vector pass computes exactly p − lr·g (in f32: lr and each product rounded).
    if (wd === 0 && this.kernel !== undefined) return this.kernel(p, g, lr);
    // p ← p − lr · (g + wd · p)
    for (let i = 0; i < p.length; i++) p[i] -= lr * (g[i] + wd * p[i]);
  }
  protected resetState(): void {}
  protected slots(): Record<string, Float64Array | undefined> {
    return {};
  }
  protected setSlots(): void {}
}

/** Plain stochastic gradient descent: p ← p − lr · (g + weightDecay · p). Default lr 0.01. */
export function sgd(o: CommonOptions = {}): Optimizer {
  return new Sgd(o, 0.01);
}

// ---------------------------------------------------------------------------------------

export interface MomentumOptions extends CommonOptions {
  /** PyTorch `momentum` μ; default 0.9. */
  readonly momentum?: number;
  /** Nesterov accelerated gradient in PyTorch's formulation. */
  readonly nesterov?: boolean;
}

class Momentum extends BaseOptimizer {
  readonly name: string;
  private readonly mu: number;
  private readonly nesterov: boolean;
  private buf: Float64Array | undefined;

  constructor(o: MomentumOptions) {
    super(o, 0.01);
    this.mu = inUnit('momentum', o.momentum ?? 0.9);
    this.nesterov = o.nesterov ?? false;
    this.name = this.nesterov ? 'nesterov' : 'momentum';
  }

  protected update(p: FloatArray, g: FloatArray): void {
    const lr = this.scalars[LR];
    const buf = (this.buf = sized(this.buf, p.length));
    const { mu, weightDecay: wd, nesterov } = this;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      const b = mu * buf[i] + gi;
      buf[i] = b;
      p[i] -= lr * (nesterov ? gi + mu * b : b);
    }
  }

  protected resetState(): void {
    this.buf?.fill(0);
  }
  protected slots(): Record<string, Float64Array | undefined> {
    return { momentum: this.buf };
  }
  protected setSlots(s: Record<string, Float64Array>): void {
    this.buf = s.momentum;
  }
}

/**
 * SGD with momentum, PyTorch convention (dampening 0): b ← μ·b + g; p ← p − lr·b, or with
 * Nesterov p ← p − lr·(g + μ·b). Keras writes v ← μ·v − lr·g; p ← p + v, which is the same
 * trajectory while lr is constant (it differs when lr changes: Keras keeps the old lr in v).
 * Default lr 0.01, μ 0.9.
 */
export function momentum(o: MomentumOptions = {}): Optimizer {
  return new Momentum(o);
}

// ---------------------------------------------------------------------------------------

export interface AdamOptions extends CommonOptions {
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Added to √v̂, PyTorch placement (Keras adds it to √v without correction); default 1e-8. */
  readonly eps?: number;
  /**
   * Apply `weightDecay` decoupled from the gradient (AdamW, Loshchilov & Hutter):
   * p ← p · (1 − lr · weightDecay) before the Adam update, as PyTorch's AdamW does.
   * When false (default) `weightDecay` is the coupled L2 term like every other optimizer.
   */
  readonly decoupled?: boolean;
}

class Adam extends BaseOptimizer {
  readonly name: string;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly decoupled: boolean;
  private m: Float64Array | undefined;
  private v: Float64Array | undefined;

  constructor(o: AdamOptions) {
    super(o, 0.001);
    this.beta1 = inUnit('beta1', o.beta1 ?? 0.9);
    this.beta2 = inUnit('beta2', o.beta2 ?? 0.999);
    this.eps = nonNegative('eps', o.eps ?? 1e-8);
    this.decoupled = o.decoupled ?? false;
    this.name = this.decoupled ? 'adamw' : 'adam';
  }

  protected update(p: FloatArray, g: FloatArray): void {
    const lr = this.scalars[LR];
    const n = p.length;
    const m = (this.m = sized(this.m, n));
    const v = (this.v = sized(this.v, n));
    const { beta1, beta2, eps, weightDecay: wd, decoupled } = this;
    const t = this.iterations + 1;
    const bc1 = 1 - Math.pow(beta1, t);
    const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, t));
    const stepSize = lr / bc1;
    const coupled = decoupled ? 0 : wd;
    const shrink = decoupled ? 1 - lr * wd : 1;
    for (let i = 0; i < n; i++) {
      const pi = p[i] * shrink;
      const gi = g[i] + coupled * pi;
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    }
  }

  protected resetState(): void {
    this.m?.fill(0);
    this.v?.fill(0);
  }
  protected slots(): Record<string, Float64Array | undefined> {
    return { m: this.m, v: this.v };
  }
  protected setSlots(s: Record<string, Float64Array>): void {
    this.m = s.m;
    this.v = s.v;
  }
}

/**
 * Adam (Kingma & Ba), PyTorch formulation, t = 1, 2, ...:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * With `decoupled: true` this is AdamW (see AdamOptions.decoupled). Default lr 1e-3.
 */
export function adam(o: AdamOptions = {}): Optimizer {
  return new Adam(o);
}

/** AdamW: `adam` with decoupled weight decay (PyTorch default weightDecay 0.01). */
export function adamw(o: Omit<AdamOptions, 'decoupled'> = {}): Optimizer {
  return new Adam({ weightDecay: 0.01, ...o, decoupled: true });
}

// ---------------------------------------------------------------------------------------

export interface RmspropOptions extends CommonOptions {
  /** Smoothing constant (PyTorch `alpha`, Keras `rho`); default 0.99 (PyTorch; Keras uses 0.9). */
  readonly alpha?: number;
  /** Added to √v (PyTorch placement); default 1e-8. */
  readonly eps?: number;
}

class Rmsprop extends BaseOptimizer {
  readonly name = 'rmsprop';
  private readonly alpha: number;
  private readonly eps: number;
  private v: Float64Array | undefined;

  constructor(o: RmspropOptions) {
    super(o, 0.01);
    this.alpha = inUnit('alpha', o.alpha ?? 0.99);
    this.eps = nonNegative('eps', o.eps ?? 1e-8);
  }

  protected update(p: FloatArray, g: FloatArray): void {
    const lr = this.scalars[LR];
    const v = (this.v = sized(this.v, p.length));
    const { alpha, eps, weightDecay: wd } = this;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      const vi = alpha * v[i] + (1 - alpha) * gi * gi;
      v[i] = vi;
      p[i] -= (lr * gi) / (Math.sqrt(vi) + eps);
    }
  }

  protected resetState(): void {
    this.v?.fill(0);
  }
  protected slots(): Record<string, Float64Array | undefined> {
    return { v: this.v };
  }
  protected setSlots(s: Record<string, Float64Array>): void {
    this.v = s.v;
  }
}

/**
 * RMSprop, PyTorch formulation (not centered, no momentum):
 *   v ← α·v + (1−α)·g²;  p ← p − lr · g / (√v + eps)
 * Default lr 0.01, α 0.99, eps 1e-8.
 */
export function rmsprop(o: RmspropOptions = {}): Optimizer {
  return new Rmsprop(o);
}
