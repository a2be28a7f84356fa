// Learning-rate schedules: pure functions of (step, epoch) → learning rate.
//
// `step` is the number of optimizer steps already taken (0 before the first update) and
// `epoch` the 0-based epoch; an optimizer calls its schedule once per step. Formulas follow
// Keras (`keras.optimizers.schedules.*`, which count steps) except `stepDecay`, which is
// PyTorch's `StepLR` (counts epochs). Each schedule can count either unit via `by`.
//
// Any `(step, epoch) => number` works as a schedule. The built-in ones also carry `into`,
// which writes the rate into a Float64Array slot instead of returning it: a double returned
// from a call V8 does not inline is boxed (16 bytes per step), and optimizers prefer `into`
// to keep their step allocation-free.

export interface LrSchedule {
  (step: number, epoch: number): number;
  /** Writes the rate for (step, epoch) into out[slot]; optional, allocation-free. */
  into?(step: number, epoch: number, out: Float64Array, slot: number): void;
}

type Into = (step: number, epoch: number, out: Float64Array, slot: number) => void;

function fromInto(into: Into): LrSchedule {
  const scratch = new Float64Array(1);
  const schedule: LrSchedule = (step, epoch) => {
    into(step, epoch, scratch, 0);
    return scratch[0];
  };
  schedule.into = into;
  return schedule;
}
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
  return fromInto((_step, _epoch, out, slot) => {
    out[slot] = lr;
  });
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
  const { initial, every } = o;
  return fromInto((step, epoch, out, slot) => {
    out[slot] = initial * Math.pow(factor, Math.floor(pick(by, step, epoch) / every));
  });
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
  const { initial, decaySteps, decayRate } = o;
  return fromInto((step, epoch, out, slot) => {
    const p = pick(by, step, epoch) / decaySteps;
    out[slot] = initial * Math.pow(decayRate, staircase ? Math.floor(p) : p);
  });
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
  const { initial, decaySteps } = o;
  return fromInto((step, epoch, out, slot) => {
    const t = Math.min(pick(by, step, epoch), decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * t) / decaySteps));
    out[slot] = initial * ((1 - alpha) * cosine + alpha);
  });
}
