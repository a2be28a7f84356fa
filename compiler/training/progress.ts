// Training progress: a live bar on a terminal (cli-progress redraws one line in place and
// handles terminal width and cursor hiding), one plain line every N epochs elsewhere (CI
// logs, pipes), where a redrawn bar would print control codes.
import cliProgress from 'cli-progress';
import { formatNumber, formatPercent, type EpochStats } from '@gradc/runtime';

export interface Progress {
  epoch(stats: EpochStats): void;
  /** Ends the bar (the next output starts on a fresh line). */
  stop(): void;
}

export interface ProgressOptions {
  readonly epochs: number;
  /** Classification shows accuracy, regression mean absolute error. */
  readonly metric: 'accuracy' | 'mae';
  /** Draw a bar on `stream` (a TTY); otherwise print lines through `out`. */
  readonly tty: boolean;
  /** Print a line every this many epochs (lines mode); the last epoch always prints. */
  readonly every: number;
  readonly out: (s: string) => void;
  readonly stream?: NodeJS.WritableStream;
}

/** The same formatting as the final line and the report (runtime/format.ts). */
export function fmtLoss(x: number | undefined): string {
  return x === undefined ? '-' : formatNumber(x);
}

export function fmtMetric(metric: 'accuracy' | 'mae', x: number | undefined): string {
  if (x === undefined) return '-';
  return metric === 'accuracy' ? formatPercent(x) : formatNumber(x);
}

/** `loss 0.1234  acc 95.0%  val loss 0.2345  val acc 93.3%` (val parts only when present). */
export function describeEpoch(s: EpochStats, metric: 'accuracy' | 'mae'): string {
  const name = metric === 'accuracy' ? 'acc' : 'mae';
  const train = metric === 'accuracy' ? s.accuracy : s.mae;
  const val = metric === 'accuracy' ? s.valAccuracy : s.valMae;
  let line = `loss ${fmtLoss(s.loss)}  ${name} ${fmtMetric(metric, train)}`;
  if (s.valLoss !== undefined)
    line += `  val loss ${fmtLoss(s.valLoss)}  val ${name} ${fmtMetric(metric, val)}`;
  return line;
}

export function createProgress(o: ProgressOptions): Progress {
  if (!o.tty) {
    const width = String(o.epochs).length;
    return {
      epoch(s) {
        const n = s.epoch + 1;
        if (n % o.every === 0 || n === o.epochs || n === 1) {
          o.out(`epoch ${String(n).padStart(width)}/${o.epochs}  ${describeEpoch(s, o.metric)}\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {value}/{total} {bar} {stats}  {duration_formatted}',
      barsize: 24,
      hideCursor: true,
      stream: o.stream ?? process.stderr,
      // A few redraws a second are enough to read and cost nothing next to training.
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(o.epochs, 0, { stats: '' });
  return {
    epoch(s) {
      bar.update(s.epoch + 1, { stats: describeEpoch(s, o.metric) });
    },
    stop() {
      bar.stop();
    },
  };
}
