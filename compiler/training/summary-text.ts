// The texts the final line and the report's headline share, so both print the same figures
// the same way.
import { formatNumber } from '@gradc/runtime';
import type { TrainResult } from '../cli/train.ts';
import { formatMetric, metricLabel, type SetFigures } from './evaluation.ts';

/** `loss 0.0339 acc 96.7%` for one set. */
export function figureText(f: SetFigures): string {
  return [
    `loss ${formatNumber(f.loss)}`,
    ...f.metrics.map(([id, x]) => `${metricLabel(id)} ${formatMetric(id, x)}`),
  ].join(' ');
}

/** `weights of epoch 84 (best validation loss)`. */
export function keptText(r: Pick<TrainResult, 'history' | 'valCount'>): string {
  const h = r.history;
  if (h.keptEpoch < 0) return 'no epoch finished';
  const best = r.valCount > 0 && h.monitor === 'valLoss' && h.keptEpoch === h.bestEpoch;
  return `weights of epoch ${h.keptEpoch + 1} (${best ? 'best validation loss' : 'last'})`;
}
