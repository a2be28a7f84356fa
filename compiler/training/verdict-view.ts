// The CLI's view of a run's verdict (runtime/verdict.ts): the coloured verdict line, advice
// in terms of `gradc train` flags and the model file, and the documented exit codes.
import {
  formatNumber,
  type Advice,
  type Tone,
  type TrainingVerdict,
  type Verdict,
} from '@gradc/runtime';

/**
 * Exit codes of `gradc train` (README "Training"): 0 for a run that learned (converged,
 * still improving, overfitting), 2 for bad input, and one code per failed run.
 */
export const EXIT_CODES: Readonly<Record<Verdict, number>> = {
  converged: 0,
  stillImproving: 0,
  overfitting: 0,
  diverged: 3,
  didNotLearn: 4,
  chanceLevel: 5,
};

const ANSI: Record<Tone, string> = { good: '\x1b[32m', warn: '\x1b[33m', bad: '\x1b[31m' };

export function paint(text: string, tone: Tone, color: boolean): string {
  return color ? `${ANSI[tone]}${text}\x1b[0m` : text;
}

/** Advice as something to type: a flag with a value, or an edit of the model file. */
export function cliAdvice(a: Advice, keepLast: boolean): string {
  switch (a.kind) {
    case 'lowerLr':
    case 'raiseLr':
      return `--lr ${formatNumber(a.lr)}`;
    case 'clipNorm':
      return `--clip-norm ${formatNumber(a.value)}`;
    case 'optimizer':
      return `--optimizer ${a.name}`;
    case 'moreEpochs':
      return `--epochs ${a.epochs}`;
    case 'patience':
      return `--patience ${a.epochs}`;
    case 'weightDecay':
      return `--weight-decay ${formatNumber(a.value)}`;
    case 'restoreBest':
      return keepLast
        ? 'drop --keep-last to keep the best validation epoch'
        : 'hold out rows with --val to keep the best epoch';
    case 'classWeights':
      return '--class-weights balanced';
    case 'activation':
      return `${a.layers.length === 1 ? 'layer' : 'layers'} ${a.layers.join(', ')} ${a.layers.length === 1 ? 'is' : 'are'} ${a.from}: set "activation": "${a.to}" on ${a.layers.length === 1 ? 'it' : 'them'} in the model file`;
    case 'checkData':
      return 'check that the feature columns (--features) carry information about the target';
  }
}

/** `verdict: diverged — reason; reason` (coloured by tone when `color`). */
export function verdictLine(v: TrainingVerdict, color: boolean): string {
  const main = `verdict: ${v.title}${v.reasons.length > 0 ? ` — ${v.reasons.join('; ')}` : ''}`;
  return paint(main, v.tone, color);
}

export function adviceLine(v: TrainingVerdict, keepLast: boolean): string | undefined {
  if (v.advice.length === 0) return undefined;
  return `try: ${v.advice.map((a) => cliAdvice(a, keepLast)).join(' · ')}`;
}
