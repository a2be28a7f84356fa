// Plain-language reading of a training history, shown at the top of the report: did the
// loss settle, is validation diverging from training, did any layer's gradient vanish or
// explode. Heuristics, stated as such in the page; the curves below are the evidence.
import type { History } from '@gradc/runtime';

export type Tone = 'good' | 'warn' | 'bad';

export interface Finding {
  readonly tone: Tone;
  readonly text: string;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

export function readHistory(
  h: History,
  thresholds: { vanishing: number; exploding: number },
): Finding[] {
  const out: Finding[] = [];
  const losses = h.epochs.map((e) => e.loss);
  const n = losses.length;
  if (n === 0) return [{ tone: 'bad', text: 'no epoch finished' }];
  const first = losses[0]!;
  const last = losses[n - 1]!;
  if (!losses.every(Number.isFinite)) {
    out.push({ tone: 'bad', text: 'the training loss became NaN or infinite: training diverged' });
  } else {
    // Change over the last fifth of the run, relative to the whole drop.
    const tail = Math.max(1, Math.floor(n / 5));
    const before = losses[n - 1 - tail] ?? first;
    const drop = first - last;
    const recent = before - last;
    if (drop <= 0) {
      out.push({
        tone: 'bad',
        text: `training loss did not fall (${first.toPrecision(3)} → ${last.toPrecision(3)})`,
      });
    } else if (n < 5 || recent / drop < 0.05) {
      out.push({
        tone: 'good',
        text: `training loss fell from ${first.toPrecision(3)} to ${last.toPrecision(3)} and has levelled off`,
      });
    } else {
      out.push({
        tone: 'warn',
        text: `training loss fell from ${first.toPrecision(3)} to ${last.toPrecision(3)}, ${pct(recent / drop)} of that in the last ${tail} epochs: still improving, more epochs may help`,
      });
    }
  }
  const val = h.epochs.map((e) => e.valLoss ?? NaN);
  const diverged = !losses.every(Number.isFinite);
  if (!diverged && val.some(Number.isFinite)) {
    let best = 0;
    val.forEach((v, i) => {
      if (v < val[best]!) best = i;
    });
    const lastVal = val[n - 1]!;
    const minVal = val[best]!;
    if (
      h.stopReason !== 'earlyStopping' &&
      best < n - 1 &&
      lastVal > minVal * 1.1 &&
      n - 1 - best >= 3
    ) {
      out.push({
        tone: 'warn',
        text: `validation loss was lowest at epoch ${best + 1} (${minVal.toPrecision(3)}) and rose to ${lastVal.toPrecision(3)}: overfitting; try --patience`,
      });
    } else {
      out.push({
        tone: 'good',
        text: `validation loss ${lastVal.toPrecision(3)} (best ${minVal.toPrecision(3)} at epoch ${best + 1})`,
      });
    }
  }
  if (h.stopReason === 'earlyStopping') {
    out.push({
      tone: 'good',
      text: `stopped early after epoch ${n}; weights of epoch ${h.bestEpoch + 1} kept`,
    });
  }
  if (h.warnings.length === 0) {
    out.push({
      tone: 'good',
      text: `gradients healthy: every layer's norm stayed between the vanishing (${thresholds.vanishing.toExponential(0)}) and exploding (${thresholds.exploding.toExponential(0)}) thresholds`,
    });
  } else {
    const kinds = [...new Set(h.warnings.map((w) => `${w.kind} in ${w.layer}`))];
    out.push({ tone: 'bad', text: `gradient problems: ${kinds.join(', ')} (details below)` });
  }
  return out;
}
