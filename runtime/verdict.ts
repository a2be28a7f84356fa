// One judgement per training run, as data: the CLI's verdict line, its exit code and the
// report's "at a glance" are views over this, and library users get the same reading.
//
// Progress is measured against the loss at initialization (History.initial, measured before
// the first update), not against the first epoch's mean: a run whose first epoch already
// blew the loss up to 1e16 must not count "fell to 15.8" as learning. In order:
//   diverged      the loss became NaN/∞, or ended above its value at initialization;
//   didNotLearn   the best training loss is within 5 % of the loss at initialization;
//   chanceLevel   (classification) accuracy of the kept weights within two binomial standard
//                 deviations of chance, max(majority-class share, 1/classes); (regression)
//                 loss of the kept weights ≥ 95 % of a constant prediction's (R² ≤ 0.05);
//   overfitting   validation loss rose >10 % above its minimum, ≥ 3 epochs after it;
//   stillImproving the last fifth of the run still brought ≥ 5 % of the total drop;
//   converged     otherwise.
// The thresholds are heuristics; `reasons` states the figures each decision rests on.
// Advice is structured (`Advice`), so each front end names its own flags or options.

import { formatNumber, formatPercent } from './format.ts';
import type { History } from './train.ts';
import type { LayerInfo } from './types.ts';

export type Verdict =
  'converged' | 'stillImproving' | 'overfitting' | 'diverged' | 'didNotLearn' | 'chanceLevel';

export type Tone = 'good' | 'warn' | 'bad';

export const VERDICT_TONE: Readonly<Record<Verdict, Tone>> = {
  converged: 'good',
  stillImproving: 'warn',
  overfitting: 'warn',
  diverged: 'bad',
  didNotLearn: 'bad',
  chanceLevel: 'bad',
};

export const VERDICT_TITLE: Readonly<Record<Verdict, string>> = {
  converged: 'converged',
  stillImproving: 'still improving',
  overfitting: 'overfitting',
  diverged: 'diverged',
  didNotLearn: 'did not learn',
  chanceLevel: 'stuck at chance level',
};

export type Advice =
  | { readonly kind: 'lowerLr'; readonly lr: number }
  | { readonly kind: 'raiseLr'; readonly lr: number }
  | { readonly kind: 'clipNorm'; readonly value: number }
  | { readonly kind: 'optimizer'; readonly name: string }
  | { readonly kind: 'moreEpochs'; readonly epochs: number }
  | { readonly kind: 'patience'; readonly epochs: number }
  | { readonly kind: 'weightDecay'; readonly value: number }
  | { readonly kind: 'restoreBest' }
  | { readonly kind: 'classWeights' }
  | {
      readonly kind: 'activation';
      /** The layers to change, e.g. ['dense0', 'dense1']. */
      readonly layers: readonly string[];
      readonly from: string;
      readonly to: string;
    }
  | { readonly kind: 'checkData' };

export interface VerdictContext {
  /**
   * Classification: class count, and the share of the most frequent class and the row count
   * of the set the accuracy is judged on (validation if there is one, else training).
   */
  readonly classes?: {
    readonly count: number;
    readonly majority: number;
    readonly rows: number;
    /** Class weights were already applied. */
    readonly weighted?: boolean;
  };
  readonly layers?: readonly LayerInfo[];
  readonly optimizer?: {
    readonly name: string;
    readonly lr: number;
    /** The optimizer's default learning rate, to tell "far too small" from a choice. */
    readonly defaultLr?: number;
    readonly clipNorm?: number;
    readonly weightDecay?: number;
  };
  /** Early-stopping patience in use, if any. */
  readonly patience?: number;
  /**
   * Regression: the loss of always predicting a constant (the training targets' mean for
   * mse) on the judged set. A model no better than that is at chance level too.
   */
  readonly baseline?: { readonly loss: number; readonly what: string };
}

export interface TrainingVerdict {
  readonly verdict: Verdict;
  readonly tone: Tone;
  /** `diverged`, `still improving`, ... */
  readonly title: string;
  /** Best epoch by the monitored value (0-based; −1 if none was finite). */
  readonly bestEpoch: number;
  /** Epoch whose weights the run ended with (History.keptEpoch). */
  readonly keptEpoch: number;
  /** The figures behind the verdict, most important first. */
  readonly reasons: readonly string[];
  readonly advice: readonly Advice[];
}

const SATURATING = new Set(['sigmoid', 'tanh', 'softsign', 'softplus']);

function argmin(values: readonly number[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && (best < 0 || v < values[best]!)) best = i;
  });
  return best;
}

/** Judges a finished run. Pure: reads `h` and `ctx`, returns a new object. */
export function judgeTraining(h: History, ctx: VerdictContext = {}): TrainingVerdict {
  const e = h.epochs;
  const n = e.length;
  const init = h.initial.loss;
  const losses = e.map((s) => s.loss);
  const last = losses[n - 1] ?? NaN;
  const hasVal = e.some((s) => s.valLoss !== undefined);
  const val = e.map((s) => s.valLoss ?? NaN);
  const reasons: string[] = [];
  const advice: Advice[] = [];
  const opt = ctx.optimizer;
  const kept = h.keptEpoch;
  const restored = kept >= 0 && kept < n - 1;
  const result = (verdict: Verdict): TrainingVerdict => {
    if (h.stopReason === 'earlyStopping') {
      const p = ctx.patience !== undefined ? ` (patience ${ctx.patience})` : '';
      reasons.push(`stopped early after epoch ${n}${p}`);
    }
    // One reason per kind of gradient warning, naming its layers.
    for (const kind of ['nonFinite', 'exploding', 'vanishing'] as const) {
      const ws = h.warnings.filter((w) => w.kind === kind);
      if (ws.length === 0) continue;
      const layers = ws.map((w) => {
        const layer = ctx.layers?.[w.layerIndex];
        return layer !== undefined ? `${w.layer} (${layer.activation})` : w.layer;
      });
      // Loops, not Math.min(...): a long run can warn in every one of 100,000 epochs.
      let first = Infinity;
      for (const w of ws) first = Math.min(first, w.epoch + 1);
      const what = kind === 'nonFinite' ? 'non-finite' : kind;
      reasons.push(`${what} gradients in ${layers.join(', ')} from epoch ${first}`);
    }
    return {
      verdict,
      tone: VERDICT_TONE[verdict],
      title: VERDICT_TITLE[verdict],
      bestEpoch: h.bestEpoch,
      keptEpoch: kept,
      reasons,
      advice: dedupe(advice),
    };
  };
  const lowerLr = () => {
    if (opt !== undefined) advice.push({ kind: 'lowerLr', lr: opt.lr / 10 });
    if (opt !== undefined && opt.clipNorm === undefined)
      advice.push({ kind: 'clipNorm', value: 1 });
    if (opt !== undefined && (opt.name === 'sgd' || opt.name === 'momentum'))
      advice.push({ kind: 'optimizer', name: 'adam' });
  };

  const vanishing = h.warnings.filter((w) => w.kind === 'vanishing');
  /**
   * A change of activation for the hidden layers whose gradient vanished — warned about, or
   * shrinking more than 100× from the output layer to the first one in the last epoch —
   * grouped by their current activation (saturating ones → relu, dead relus → elu).
   */
  const activationAdvice = () => {
    const layers = ctx.layers ?? [];
    const norms = e[n - 1]?.gradNorms ?? [];
    const hidden = layers.slice(0, -1);
    const shrinking =
      norms.length === layers.length &&
      layers.length > 2 &&
      norms[0]! < norms[norms.length - 1]! / 100;
    const flagged = new Set(vanishing.map((w) => w.layerIndex));
    const pick = (want: (act: string) => boolean) =>
      hidden
        .filter((l, i) => want(l.activation) && (flagged.has(i) || shrinking))
        .map((l) => l.name);
    const saturating = pick((a) => SATURATING.has(a));
    for (const from of new Set(
      hidden.filter((l) => saturating.includes(l.name)).map((l) => l.activation),
    )) {
      const names = hidden.filter((l) => l.activation === from && saturating.includes(l.name));
      advice.push({ kind: 'activation', layers: names.map((l) => l.name), from, to: 'relu' });
    }
    const dead = hidden.filter((l, i) => l.activation === 'relu' && flagged.has(i));
    if (dead.length > 0)
      advice.push({ kind: 'activation', layers: dead.map((l) => l.name), from: 'relu', to: 'elu' });
    if (shrinking && saturating.length > 0)
      reasons.push(
        `the gradient shrinks from ${formatNumber(norms[norms.length - 1]!)} at the output layer to ${formatNumber(norms[0]!)} at the first`,
      );
  };

  /** Why the kept weights are no better than chance, or undefined. */
  const atChance = (): string | undefined => {
    if (n === 0) return undefined;
    const keptStats = e[kept >= 0 ? kept : n - 1]!;
    const which = hasVal ? 'validation' : 'training';
    const c = ctx.classes;
    const acc = hasVal ? keptStats.valAccuracy : keptStats.accuracy;
    if (c !== undefined && c.count >= 2 && acc !== undefined && c.rows > 0) {
      const level = Math.max(c.majority, 1 / c.count);
      const noise = 2 * Math.sqrt((level * (1 - level)) / c.rows);
      if (!(acc <= level + noise)) return undefined;
      const what = c.majority > 1 / c.count + 1e-9 ? 'the most frequent class' : `1/${c.count}`;
      return `${which} accuracy ${formatPercent(acc)} is within noise (±${formatPercent(noise)}) of chance, ${formatPercent(level)} (${what})`;
    }
    const b = ctx.baseline;
    const loss = hasVal ? keptStats.valLoss : keptStats.loss;
    if (c === undefined && b !== undefined && loss !== undefined && b.loss > 0) {
      if (!(loss >= 0.95 * b.loss)) return undefined;
      return `${which} loss ${formatNumber(loss)} is within 5% of ${b.what} (${formatNumber(b.loss)})`;
    }
    return undefined;
  };

  // --- diverged ----------------------------------------------------------------------------
  if (n === 0) {
    reasons.push('no epoch finished');
    return result('diverged');
  }
  const badEpoch = e.findIndex(
    (s) => !Number.isFinite(s.loss) || (s.valLoss !== undefined && !Number.isFinite(s.valLoss)),
  );
  if (!Number.isFinite(init) || badEpoch >= 0 || h.stopReason === 'nonFinite') {
    if (!Number.isFinite(init)) {
      reasons.push(`the loss at initialization is already ${formatNumber(init)}`);
      advice.push({ kind: 'checkData' });
    } else {
      const at = badEpoch >= 0 ? badEpoch : n - 1;
      const s = e[at]!;
      const bad = Number.isFinite(s.loss) ? (s.valLoss ?? NaN) : s.loss;
      reasons.push(
        `the loss became ${formatNumber(bad)} in epoch ${at + 1} (${formatNumber(init)} at initialization)`,
      );
      lowerLr();
    }
    const chanceNote = atChance();
    if (chanceNote !== undefined) reasons.push(chanceNote);
    return result('diverged');
  }
  if (last > init * 1.1) {
    const peak = losses.reduce((p, v, i) => (v > losses[p]! ? i : p), 0);
    reasons.push(
      `training loss ended at ${formatNumber(last)}, above its value at initialization (${formatNumber(init)})`,
    );
    if (losses[peak]! > 10 * init && peak !== n - 1)
      reasons.push(`it peaked at ${formatNumber(losses[peak]!)} in epoch ${peak + 1}`);
    const chanceNote = atChance();
    if (chanceNote !== undefined) reasons.push(chanceNote);
    lowerLr();
    return result('diverged');
  }

  // --- did not learn -------------------------------------------------------------------------
  let best = Infinity;
  for (const l of losses) best = Math.min(best, l); // NaN propagates, as with Math.min(...)
  const moved = init > 0 ? (init - best) / init : 1;
  if (init > 1e-12 && moved < 0.05) {
    reasons.push(
      `training loss barely moved from its value at initialization: ${formatNumber(init)} → best ${formatNumber(best)} (${formatPercent(moved)})`,
    );
    activationAdvice();
    if (opt !== undefined) {
      const ref = opt.defaultLr ?? 1e-3;
      advice.push({ kind: 'raiseLr', lr: opt.lr < ref / 10 ? ref : opt.lr * 10 });
    }
    if (vanishing.length === 0) advice.push({ kind: 'checkData' });
    return result('didNotLearn');
  }

  /** The last fifth of the run still brought ≥ 5 % of the loss's drop since initialization. */
  const stillFalling = (): boolean => {
    const tail = Math.max(1, Math.floor(n / 5));
    const before = losses[n - 1 - tail] ?? init;
    return (before - last) / (init - last) >= 0.05;
  };

  // --- chance level ----------------------------------------------------------------------------
  const c = ctx.classes;
  const chance = atChance();
  if (chance !== undefined && c === undefined) {
    reasons.push(chance);
    activationAdvice();
    advice.push({ kind: 'moreEpochs', epochs: (stillFalling() ? 4 : 2) * n });
    if (!stillFalling()) advice.push({ kind: 'checkData' });
    return result('chanceLevel');
  }
  if (chance !== undefined && c !== undefined) {
    const keptStats = e[kept >= 0 ? kept : n - 1]!;
    const acc = (hasVal ? keptStats.valAccuracy : keptStats.accuracy) ?? NaN;
    const level = Math.max(c.majority, 1 / c.count);
    const noise = 2 * Math.sqrt((level * (1 - level)) / c.rows);
    reasons.push(chance);
    activationAdvice();
    if (c.majority > 1 / c.count + 0.1 && !c.weighted) advice.push({ kind: 'classWeights' });
    const trainAcc = keptStats.accuracy;
    if (stillFalling()) {
      reasons.push('the training loss is still falling: it has not had time to learn');
      advice.push({ kind: 'moreEpochs', epochs: 4 * n });
      if (opt !== undefined && opt.lr < (opt.defaultLr ?? 1e-3) * 2)
        advice.push({ kind: 'raiseLr', lr: opt.lr * 10 });
      return result('chanceLevel');
    }
    if (hasVal && trainAcc !== undefined && trainAcc > acc + 2 * noise) {
      reasons.push(`training accuracy ${formatPercent(trainAcc)}: it memorizes the training rows`);
      if (!(opt?.weightDecay !== undefined && opt.weightDecay > 0))
        advice.push({ kind: 'weightDecay', value: 1e-4 });
    } else {
      advice.push({ kind: 'moreEpochs', epochs: 2 * n });
    }
    advice.push({ kind: 'checkData' });
    return result('chanceLevel');
  }

  // --- overfitting -------------------------------------------------------------------------
  const bv = argmin(val);
  const lastVal = val[n - 1]!;
  if (hasVal && bv >= 0 && n - 1 - bv >= 3 && lastVal > val[bv]! * 1.1) {
    reasons.push(
      `validation loss was lowest in epoch ${bv + 1} (${formatNumber(val[bv]!)}) and rose to ${formatNumber(lastVal)} by epoch ${n}`,
    );
    if (restored) reasons.push(`the weights of epoch ${kept + 1} were kept`);
    else advice.push({ kind: 'restoreBest' });
    if (ctx.patience === undefined)
      advice.push({ kind: 'patience', epochs: Math.max(10, Math.round(n / 10)) });
    if (!(opt?.weightDecay !== undefined && opt.weightDecay > 0))
      advice.push({ kind: 'weightDecay', value: 1e-4 });
    return { ...result('overfitting'), bestEpoch: bv };
  }

  // --- still improving / converged -------------------------------------------------------------
  const tail = Math.max(1, Math.floor(n / 5));
  const drop = init - last;
  const before = losses[n - 1 - tail] ?? init;
  const recent = (before - last) / drop;
  const valStart = h.initial.valLoss ?? NaN;
  const valBefore = val[n - 1 - tail] ?? valStart;
  const valRecent = hasVal ? (valBefore - lastVal) / (valStart - val[bv]!) : 0;
  if (recent >= 0.05 || (bv >= n - tail && valRecent >= 0.05)) {
    const part = recent >= 0.05 ? recent : valRecent;
    reasons.push(
      `${recent >= 0.05 ? 'training' : 'validation'} loss fell by ${formatPercent(part)} of its total drop in the last ${tail} epoch${tail === 1 ? '' : 's'}`,
    );
    advice.push({ kind: 'moreEpochs', epochs: 2 * n });
    return result('stillImproving');
  }
  reasons.push(
    `training loss fell from ${formatNumber(init)} at initialization to ${formatNumber(last)} and levelled off`,
  );
  if (hasVal && bv >= 0)
    reasons.push(
      `validation loss ${formatNumber(lastVal)} (best ${formatNumber(val[bv]!)} in epoch ${bv + 1})`,
    );
  return result('converged');
}

function dedupe(advice: Advice[]): Advice[] {
  const seen = new Set<string>();
  return advice.filter((a) => {
    const key = JSON.stringify(a);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Advice in the runtime's own terms (option names of `train` and the optimizers). */
export function adviceText(a: Advice): string {
  switch (a.kind) {
    case 'lowerLr':
      return `lower the learning rate (optimizer lr ${formatNumber(a.lr)})`;
    case 'raiseLr':
      return `raise the learning rate (optimizer lr ${formatNumber(a.lr)})`;
    case 'clipNorm':
      return `clip the gradient norm (optimizer clipNorm ${formatNumber(a.value)})`;
    case 'optimizer':
      return `use the ${a.name} optimizer`;
    case 'moreEpochs':
      return `train longer (epochs ${a.epochs})`;
    case 'patience':
      return `stop early (earlyStopping patience ${a.epochs})`;
    case 'weightDecay':
      return `regularize (optimizer weightDecay ${formatNumber(a.value)})`;
    case 'restoreBest':
      return 'keep the best epoch (restoreBestWeights: true)';
    case 'classWeights':
      return 'weight the classes (sampleWeights inversely proportional to class frequency)';
    case 'activation':
      return `${a.layers.length === 1 ? 'layer' : 'layers'} ${a.layers.join(', ')} use${a.layers.length === 1 ? 's' : ''} ${a.from}: try ${a.to}`;
    case 'checkData':
      return 'check that the features carry information about the target';
  }
}
