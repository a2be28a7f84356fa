// The figures of the weights a run kept, on the training and the validation rows: the loss,
// the chosen --metrics (accuracy, top-k, MAE, RMSE, R²), and for the report a confusion
// matrix with per-class precision/recall (classification) or the residuals (regression).
// Computed once here; the final line and the report only format these numbers.
import {
  Evaluator,
  formatNumber,
  formatPercent,
  predict,
  type Dataset,
  type FloatArray,
  type GeneratedModule,
} from '@gradc/runtime';
import { GradcError } from '../format/errors.ts';

export type MetricId = 'accuracy' | 'mae' | 'rmse' | 'r2' | `top${number}`;

export interface SetFigures {
  readonly rows: number;
  readonly loss: number;
  /** Top-1 accuracy and mean absolute error, whatever metrics were chosen (the runtime's Metrics). */
  readonly accuracy: number;
  readonly mae: number;
  /** In the order of the chosen metrics. */
  readonly metrics: readonly (readonly [MetricId, number])[];
  /** confusion[actual][predicted] counts (classification). */
  readonly confusion?: readonly (readonly number[])[];
  /** First output: predictions and targets per row (regression). */
  readonly residuals?: {
    readonly predicted: readonly number[];
    readonly actual: readonly number[];
  };
}

/** `accuracy,top3` / `mae,rmse,r2`, checked against the task. */
export function parseMetrics(
  v: string | undefined,
  classification: boolean,
  classes: number,
): MetricId[] {
  if (v === undefined) return classification ? ['accuracy'] : ['mae'];
  const out: MetricId[] = [];
  for (const raw of v.split(',').map((s) => s.trim().toLowerCase())) {
    const top = /^top-?(\d+)$/.exec(raw);
    if (top !== null) {
      const k = Number(top[1]);
      if (!classification)
        throw new GradcError('--metrics', raw, 'top-k accuracy needs a --label (classification)');
      if (!(k >= 1 && k <= classes))
        throw new GradcError('--metrics', raw, `k must be between 1 and the ${classes} classes`);
      out.push(`top${k}`);
    } else if (raw === 'accuracy') {
      if (!classification)
        throw new GradcError('--metrics', raw, 'accuracy needs a --label (classification)');
      out.push('accuracy');
    } else if (raw === 'mae' || raw === 'rmse' || raw === 'r2') {
      if (classification)
        throw new GradcError('--metrics', raw, `${raw} needs --target columns (regression)`);
      out.push(raw);
    } else {
      throw new GradcError(
        '--metrics',
        raw,
        'unknown metric; expected accuracy, topK (e.g. top3), mae, rmse or r2',
      );
    }
  }
  if (out.length === 0) throw new GradcError('--metrics', v, 'name at least one metric');
  return [...new Set(out)];
}

function classOf(a: FloatArray, row: number, width: number): number {
  const s = row * width;
  if (width === 1) return a[s]! >= 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < width; j++) if (a[s + j]! > a[s + best]!) best = j;
  return best;
}

/** Rank of the target class among the outputs (0 = the top one). */
function rankOf(out: FloatArray, row: number, width: number, cls: number): number {
  const s = row * width;
  if (width === 1) return (out[s]! >= 0.5 ? 1 : 0) === cls ? 0 : 1;
  let rank = 0;
  for (let j = 0; j < width; j++) if (out[s + j]! > out[s + cls]!) rank++;
  return rank;
}

export function evaluateSet(
  module: GeneratedModule,
  params: FloatArray,
  data: Dataset,
  metrics: readonly MetricId[],
  classification: boolean,
): SetFigures {
  const m = module.model;
  const width = m.outputSize;
  const { loss, accuracy, mae } = new Evaluator(module).run(params, data);
  const out = predict(module, params, data.inputs, data.count);
  const n = data.count;
  const t = data.targets;
  const values: [MetricId, number][] = [];
  for (const id of metrics) {
    if (id === 'accuracy' || id.startsWith('top')) {
      const k = id === 'accuracy' ? 1 : Number(id.slice(3));
      let hit = 0;
      // Top-1 compares argmaxes exactly as the runtime's per-epoch accuracy does (ties too).
      for (let r = 0; r < n; r++) {
        const c = classOf(t, r, width);
        if (k === 1 ? classOf(out, r, width) === c : rankOf(out, r, width, c) < k) hit++;
      }
      values.push([id, n > 0 ? hit / n : NaN]);
    } else if (id === 'mae' || id === 'rmse') {
      let sum = 0;
      for (let i = 0; i < n * width; i++) {
        const d = out[i]! - t[i]!;
        sum += id === 'mae' ? Math.abs(d) : d * d;
      }
      const mean = sum / (n * width);
      values.push([id, id === 'mae' ? mean : Math.sqrt(mean)]);
    } else {
      // R² per output, averaged (scikit-learn's 'uniform_average').
      let r2 = 0;
      for (let j = 0; j < width; j++) {
        let mean = 0;
        for (let r = 0; r < n; r++) mean += t[r * width + j]!;
        mean /= n;
        let res = 0;
        let tot = 0;
        for (let r = 0; r < n; r++) {
          res += (t[r * width + j]! - out[r * width + j]!) ** 2;
          tot += (t[r * width + j]! - mean) ** 2;
        }
        r2 += tot > 0 ? 1 - res / tot : NaN;
      }
      values.push([id, r2 / width]);
    }
  }
  const base = { rows: n, loss, accuracy, mae, metrics: values };
  if (classification) {
    const k = width === 1 ? 2 : width;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (let r = 0; r < n; r++) confusion[classOf(t, r, width)]![classOf(out, r, width)]!++;
    return { ...base, confusion };
  }
  const predicted: number[] = [];
  const actual: number[] = [];
  for (let r = 0; r < n; r++) {
    predicted.push(out[r * width]!);
    actual.push(t[r * width]!);
  }
  return { ...base, residuals: { predicted, actual } };
}

/** Per-class precision and recall from a confusion matrix (NaN where undefined). */
export function precisionRecall(
  confusion: readonly (readonly number[])[],
): { precision: number; recall: number; support: number }[] {
  return confusion.map((row, c) => {
    const tp = row[c]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + r[c]!, 0);
    return {
      precision: predicted > 0 ? tp / predicted : NaN,
      recall: support > 0 ? tp / support : NaN,
      support,
    };
  });
}

export function metricLabel(id: MetricId): string {
  if (id === 'accuracy') return 'acc';
  if (id.startsWith('top')) return `top-${id.slice(3)}`;
  return id === 'r2' ? 'R²' : id.toUpperCase() === 'MAE' ? 'mae' : id;
}

/** Accuracy-like figures as percentages, the rest with significant digits. */
export function formatMetric(id: MetricId, x: number): string {
  return id === 'accuracy' || id.startsWith('top') ? formatPercent(x) : formatNumber(x);
}
