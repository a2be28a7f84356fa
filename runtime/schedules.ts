// Learning-rate schedules: pure functions of (step, epoch) → learning rate.
//
// `step` is the number of optimizer steps already taken (0 before the first update) and
// `epoch` the 0-based epoch; an optimizer calls its schedule once per step. Formulas follow
// Keras (`keras.optimizers.schedules.*`, which count steps) except `stepDecay`, which is
// PyTorch's `StepLR` (counts epochs). Each schedule can count either unit via `by`.
// Schedules are plain closures over numbers, so calling one allocates nothing.

export type LrSchedule = (step: number, epoch: number) => number;
export type ScheduleUnit = 'step' | 'epoch';

function pick(by: ScheduleUnit, step: number, epoch: number): number {
  return by === 'epoch' ? epoch : step;
}

function positive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  }
}

/** lr(t) = lr. */
export function constant(lr: number): LrSchedule {
  positive('lr', lr);
  return () => lr;
}

export interface StepDecayOptions {
  readonly initial: number;
  /** Multiply by `factor` every `every` units (PyTorch `step_size`). */
  readonly every: number;
  /** PyTorch `gamma`; default 0.1. */
  readonly factor?: number;
  /** Default 'epoch' (as PyTorch's StepLR is stepped once per epoch). */
  readonly by?: ScheduleUnit;
}

/** lr(t) = initial · factor^⌊t / every⌋ — PyTorch StepLR. */
export function stepDecay(o: StepDecayOptions): LrSchedule {
  positive('initial', o.initial);
  positive('every', o.every);
  const factor = o.factor ?? 0.1;
  const by = o.by ?? 'epoch';
  return (step, epoch) => o.initial * Math.pow(factor, Math.floor(pick(by, step, epoch) / o.every));
}

export interface ExponentialDecayOptions {
  readonly initial: number;
  /** Keras `decay_steps`. */
  readonly decaySteps: number;
  /** Keras `decay_rate`: the factor after each `decaySteps`. */
  readonly decayRate: number;
  /** Keras `staircase`: use ⌊t / decaySteps⌋ instead of t / decaySteps. */
  readonly staircase?: boolean;
  /** Default 'step' (as Keras). */
  readonly by?: ScheduleUnit;
}

/** lr(t) = initial · decayRate^(t / decaySteps), floored exponent if staircase — Keras ExponentialDecay. */
export function exponentialDecay(o: ExponentialDecayOptions): LrSchedule {
  positive('initial', o.initial);
  positive('decaySteps', o.decaySteps);
  positive('decayRate', o.decayRate);
  const by = o.by ?? 'step';
  const staircase = o.staircase ?? false;
  return (step, epoch) => {
    const p = pick(by, step, epoch) / o.decaySteps;
    return o.initial * Math.pow(o.decayRate, staircase ? Math.floor(p) : p);
  };
}

export interface CosineDecayOptions {
  readonly initial: number;
  /** Keras `decay_steps`: length of the half cosine; the rate stays at the floor afterwards. */
  readonly decaySteps: number;
  /** Keras `alpha`: floor as a fraction of `initial`; default 0. */
  readonly alpha?: number;
  /** Default 'step' (as Keras). */
  readonly by?: ScheduleUnit;
}

/**
 * lr(t) = initial · ((1 − alpha) · ½(1 + cos(π · min(t, decaySteps) / decaySteps)) + alpha)
 * — Keras CosineDecay without warm-up (PyTorch CosineAnnealingLR with eta_min = alpha·initial
 * gives the same curve for t ≤ T_max).
 */
export function cosineDecay(o: CosineDecayOptions): LrSchedule {
  positive('initial', o.initial);
  positive('decaySteps', o.decaySteps);
  const alpha = o.alpha ?? 0;
  const by = o.by ?? 'step';
  return (step, epoch) => {
    const t = Math.min(pick(by, step, epoch), o.decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * t) / o.decaySteps));
    return o.initial * ((1 - alpha) * cosine + alpha);
  };
}
