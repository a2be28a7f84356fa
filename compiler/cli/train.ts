// `gradc train`: compile the model, read and encode the data, split it (seeded), train with
// the runtime, then write the weights, their column description and optionally a report.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  adam,
  adamw,
  cosineDecay,
  initParams,
  judgeTraining,
  momentum,
  rmsprop,
  encodeOptimizerState,
  encodeWeights,
  encodeWeightsJson,
  Rng,
  selectRows,
  sgd,
  train,
  type Dataset,
  type DiagnosticsOptions,
  type FloatArray,
  type GeneratedModule,
  type History,
  type ModelInfo,
  type Optimizer,
  type TrainingVerdict,
  type TrainingWarning,
} from '@gradc/runtime';
import { compileBytes } from '../index.ts';
import { GradcError, quote } from '../format/errors.ts';
import type { ModelSpec } from '../format/model.ts';
import { formatNumber } from '@gradc/runtime';
import { MAX_DATA_BYTES, readTable, rowError } from '../training/data.ts';
import {
  applyNormalization,
  encodeTable,
  fitNormalization,
  planColumns,
  type ColumnPlan,
} from '../training/encode.ts';
import {
  checkBinding,
  metaPath,
  metaText,
  modelHash,
  readMeta,
  type DataMeta,
} from '../training/meta.ts';
import {
  decodeWeightsFile,
  readOptimizerFile,
  readWeightsBytes,
} from '../training/weights-file.ts';
import { checkOutputs, readModelFile, writeFiles, type OutputFile } from '../io/files.ts';
import { importCompiled } from './load.ts';
import { createProgress } from '../training/progress.ts';
import { shellQuote, writeReport } from '../training/report/index.ts';
import {
  evaluateSet,
  parseMetrics,
  type MetricId,
  type SetFigures,
} from '../training/evaluation.ts';
import { parseClassWeights, rowWeights, type ClassWeightsSpec } from '../training/class-weights.ts';
import { adviceLine, EXIT_CODES, paint, verdictLine } from '../training/verdict-view.ts';
import { describeRun } from '../training/run-context.ts';
import { figureText, keptText } from '../training/summary-text.ts';
import { Exit } from './exit.ts';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The runtime's defaults, spelled out so the report can draw them as reference lines. */
export const DIAGNOSTICS: Required<DiagnosticsOptions> = {
  vanishingThreshold: 1e-7,
  vanishingEpochs: 5,
  explodingThreshold: 1e4,
  explodingEpochs: 1,
};

export interface TrainConfig {
  readonly model: string;
  readonly data: string;
  readonly label?: string;
  readonly targets?: readonly string[];
  readonly features?: readonly string[];
  readonly epochs: number;
  readonly batch: number;
  readonly optimizer: OptimizerName;
  /** Default: the optimizer's own (PyTorch's) default. */
  readonly lr?: number;
  readonly seed: number;
  readonly val: number;
  /** Weights file; without it the run is a dry run (nothing written but the report). */
  readonly out?: string;
  readonly report?: string;
  readonly patience?: number;
  readonly normalize: boolean;
  /** Decay the learning rate along a half cosine to 0 over the whole run. */
  readonly cosine?: boolean;
  readonly weightDecay?: number;
  readonly clipNorm?: number;
  /** Start from these weights (and their optimizer state, when saved with --save-optimizer). */
  readonly resume?: string;
  /** `--metrics` as given (checked against the task once the columns are known). */
  readonly metrics?: string;
  readonly classWeights?: ClassWeightsSpec;
  /** Save the last epoch's weights instead of the best validation epoch's. */
  readonly keepLast?: boolean;
  /** Write the weights even when the run diverged, did not learn or is at chance level. */
  readonly saveAnyway?: boolean;
  /** Also write the optimizer state next to the weights, for --resume. */
  readonly saveOptimizer?: boolean;
  /** The command line that reproduces the run (shown in the report). */
  readonly command?: string;
  /** Bound on the data file (default MAX_DATA_BYTES). */
  readonly maxDataBytes?: number;
  /** Print no verdict, advice or summary line (warnings and errors still go to stderr). */
  readonly quiet?: boolean;
}

export interface TrainIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  readonly tty: boolean;
  /** Lines mode: print every this many epochs. */
  readonly every?: number;
  /** Colour the verdict and warning lines (ANSI). */
  readonly color?: boolean;
}

export interface TrainResult {
  readonly module: GeneratedModule;
  readonly params: FloatArray;
  readonly history: History;
  readonly meta: ColumnPlan;
  /** Figures of the kept weights (the ones written). */
  readonly train: SetFigures;
  readonly val: SetFigures | undefined;
  readonly metrics: readonly MetricId[];
  readonly trainCount: number;
  readonly valCount: number;
  /** Time spent in the training loop. */
  readonly trainMs: number;
  /** The metric of the progress lines and the per-epoch curves. */
  readonly metric: 'accuracy' | 'mae';
  readonly verdict: TrainingVerdict;
  /** 0, or the failed verdict's code (EXIT_CODES). */
  readonly exitCode: number;
  /** Whether the weights (and their .meta.json) were written. */
  readonly wrote: boolean;
  /** Optimizer steps taken before this run (from --resume's optimizer state). */
  readonly startIterations: number;
}

function baseOptimizer(
  name: OptimizerName,
  lr: number | undefined,
  extra: { weightDecay?: number; clipNorm?: number } = {},
): Optimizer {
  const o = { ...(lr === undefined ? {} : { lr }), ...extra };
  switch (name) {
    case 'sgd':
      return sgd(o);
    case 'momentum':
      return momentum(o);
    case 'adam':
      return adam(o);
    case 'adamw':
      return adamw(o);
    case 'rmsprop':
      return rmsprop(o);
  }
}

/**
 * The optimizer, optionally with a cosine decay of its learning rate to 0 over `steps`
 * optimizer steps: the final weights then sit in a minimum instead of jittering around it.
 */
export function makeOptimizer(
  name: OptimizerName,
  lr: number | undefined,
  cosineSteps?: number,
  extra: { weightDecay?: number; clipNorm?: number } = {},
): Optimizer {
  const opt = baseOptimizer(name, lr, extra);
  if (cosineSteps !== undefined)
    opt.schedule = cosineDecay({ initial: opt.lr, decaySteps: cosineSteps });
  return opt;
}

/**
 * Seeded split: the first rows of a shuffled order train, the rest validate. With `classOf`
 * (classification) the split is stratified — each class gives the same fraction — so a
 * small set like Iris does not get a validation set skewed towards one class by chance.
 */
export function splitRows(
  count: number,
  val: number,
  seed: number,
  classOf?: Int32Array,
): [Int32Array, Int32Array] {
  const rng = new Rng(seed);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  rng.shuffle(order);
  if (classOf === undefined) {
    const valCount = Math.floor(count * val);
    return [order.subarray(0, count - valCount), order.subarray(count - valCount)];
  }
  const groups = new Map<number, number[]>();
  for (const i of order) {
    const c = classOf[i]!;
    const g = groups.get(c);
    if (g === undefined) groups.set(c, [i]);
    else g.push(i);
  }
  const trainRows: number[] = [];
  const valRows: number[] = [];
  for (const c of [...groups.keys()].sort((a, b) => a - b)) {
    const g = groups.get(c)!;
    const k = Math.round(g.length * val);
    // Element by element: spreading a class of 125k+ rows into push() overflows the stack.
    for (let j = 0; j < g.length; j++) (j < g.length - k ? trainRows : valRows).push(g[j]!);
  }
  return [Int32Array.from(trainRows), Int32Array.from(valRows)];
}

/** Class index of each row from one-hot (or 0/1 single-output) targets. */
function classIndices(targets: Float64Array, count: number, width: number): Int32Array {
  const out = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    if (width === 1) out[r] = targets[r]! >= 0.5 ? 1 : 0;
    else for (let j = 0; j < width; j++) if (targets[r * width + j] === 1) out[r] = j;
  }
  return out;
}

/** The weights file's bytes: JSON for a `.json` name (any case), binary otherwise. */
function weightsBytes(file: string, module: GeneratedModule, params: FloatArray): Uint8Array {
  return /\.json$/i.test(file)
    ? Buffer.from(encodeWeightsJson(module.model, params), 'utf8')
    : encodeWeights(module.model, params);
}

/** Loads, trains and writes everything `cfg` asks for. Throws GradcError on user errors. */
export async function runTrain(cfg: TrainConfig, io: TrainIo): Promise<TrainResult> {
  // Every file this run may write, against every file it reads and against each other,
  // before any work: a bad name costs nothing and overwrites nothing.
  const inputs = [
    { file: cfg.model, option: '<model>' },
    { file: cfg.data, option: '--data' },
    ...(cfg.resume !== undefined
      ? [
          { file: cfg.resume, option: '--resume' },
          { file: metaPath(cfg.resume), option: '--resume (its .meta.json)' },
          { file: optimizerPath(cfg.resume), option: '--resume (its .optimizer.json)' },
        ]
      : []),
  ];
  const outputs = [
    ...(cfg.out !== undefined
      ? [
          { file: cfg.out, option: '--out' },
          { file: metaPath(cfg.out), option: '--out (its .meta.json)' },
          ...(cfg.saveOptimizer === true
            ? [{ file: optimizerPath(cfg.out), option: '--save-optimizer' }]
            : []),
        ]
      : []),
    ...(cfg.report !== undefined ? [{ file: cfg.report, option: '--report' }] : []),
  ];
  checkOutputs(inputs, outputs);
  const compiled = await compileBytes(readModelFile(cfg.model), cfg.model, 'js');
  const module = await importCompiled(compiled);
  const { model } = module;

  const table = readTable(cfg.data, cfg.maxDataBytes);
  const planned = planColumns(table, model, cfg);
  const encoded = encodeTable(table, planned, model.outputSize);
  const count = encoded.count;
  const classification = planned.classes !== undefined;
  const metrics = parseMetrics(cfg.metrics, classification, planned.classes?.length ?? 0);
  const classOf = classification
    ? classIndices(encoded.targets!, count, model.outputSize)
    : undefined;
  if (cfg.classWeights !== undefined && classOf === undefined)
    throw new GradcError('--class-weights', 'balanced', 'class weights need a --label');
  const [trainRows, valRows] = splitRows(count, cfg.val, cfg.seed, classOf);
  if (trainRows.length === 0) throw new GradcError(cfg.data, '--data', 'no data rows to train on');
  // Resumed weights keep the feature scaling they were trained with; their metadata (when
  // there is one) must be bound to these weights and this model, as predict requires.
  const resumed =
    cfg.resume !== undefined ? readResume(cfg.resume, compiled.c.spec, model) : undefined;
  if (
    resumed?.meta !== undefined &&
    resumed.meta.features.join('\0') !== planned.features.join('\0')
  ) {
    throw new GradcError(
      metaPath(cfg.resume!),
      '--resume',
      'the weights were trained on other feature columns',
    );
  }
  const meta: ColumnPlan = cfg.normalize
    ? {
        ...planned,
        normalize:
          resumed?.meta?.normalize ?? fitNormalization(encoded.inputs, model.inputSize, trainRows),
      }
    : planned;
  applyNormalization(encoded.inputs, meta, (r, f) =>
    rowError(
      table,
      r,
      `column ${quote(f)}: the value cannot be standardized (it overflows the float range); rescale the column or use --no-normalize`,
    ),
  );
  // encodeTable returns targets whenever the columns exist, and planColumns checked they do.
  const all: Dataset = { inputs: encoded.inputs, targets: encoded.targets!, count };
  const trainData = selectRows(all, trainRows, model.inputSize, model.outputSize);
  const valData =
    valRows.length > 0 ? selectRows(all, valRows, model.inputSize, model.outputSize) : undefined;
  const metric = classification ? 'accuracy' : 'mae';
  const sampleWeights =
    cfg.classWeights !== undefined && classOf !== undefined
      ? rowWeights(
          cfg.classWeights,
          Int32Array.from(trainRows, (r) => classOf[r]!),
          meta.classes!,
        )
      : undefined;

  const params = cfg.resume !== undefined ? resumed!.params : initParams(model, { seed: cfg.seed });
  const extra = {
    ...(cfg.weightDecay !== undefined ? { weightDecay: cfg.weightDecay } : {}),
    ...(cfg.clipNorm !== undefined ? { clipNorm: cfg.clipNorm } : {}),
  };
  const optimizerState =
    cfg.resume !== undefined && fs.existsSync(optimizerPath(cfg.resume))
      ? readOptimizerFile(optimizerPath(cfg.resume), '--resume', model)
      : undefined;
  const startIterations = optimizerState?.iterations ?? 0;
  const steps = cfg.epochs * Math.ceil(trainData.count / Math.min(cfg.batch, trainData.count));
  const optimizer = makeOptimizer(
    cfg.optimizer,
    cfg.lr,
    cfg.cosine ? startIterations + steps : undefined,
    extra,
  );
  if (optimizerState !== undefined) {
    try {
      optimizer.loadState!(optimizerState);
    } catch (e) {
      throw new GradcError(optimizerPath(cfg.resume!), '--resume', (e as Error).message);
    }
  }
  const progress = createProgress({
    epochs: cfg.epochs,
    metric,
    tty: io.tty,
    every: io.every ?? Math.max(1, Math.round(cfg.epochs / 10)),
    out: io.out,
  });
  const warn = (w: TrainingWarning) =>
    io.err(`gradc: warning: epoch ${w.epoch + 1}: ${w.message}\n`);
  const t0 = performance.now();
  let history: History;
  try {
    history = train(module, params, trainData, {
      epochs: cfg.epochs,
      batchSize: cfg.batch,
      optimizer,
      seed: cfg.seed,
      metrics: [metric],
      ...(valData !== undefined ? { validationData: valData } : {}),
      ...(cfg.patience !== undefined
        ? { earlyStopping: { patience: cfg.patience, restoreBestWeights: !cfg.keepLast } }
        : {}),
      restoreBestWeights: valData !== undefined && !cfg.keepLast,
      ...(sampleWeights !== undefined ? { sampleWeights } : {}),
      diagnostics: DIAGNOSTICS,
      onWarning: warn,
      onEpochEnd: (s) => progress.epoch(s),
    });
  } finally {
    progress.stop();
  }
  const trainMs = performance.now() - t0;

  const judged = valData ?? trainData;
  const verdict = judgeTraining(
    history,
    describeRun(
      model,
      cfg,
      optimizer,
      trainData,
      judged,
      classOf !== undefined,
      sampleWeights !== undefined,
    ),
  );
  const exitCode = EXIT_CODES[verdict.verdict];
  const wrote = cfg.out !== undefined && (exitCode === 0 || cfg.saveAnyway === true);
  const result: TrainResult = {
    module,
    params,
    history,
    meta,
    train: evaluateSet(module, params, trainData, metrics, classification),
    val:
      valData !== undefined
        ? evaluateSet(module, params, valData, metrics, classification)
        : undefined,
    metrics,
    trainCount: trainData.count,
    valCount: valData?.count ?? 0,
    trainMs,
    metric,
    verdict,
    exitCode,
    wrote,
    startIterations,
  };
  if (wrote) {
    // The weights first, with their metadata as one group (metadata renamed last, naming the
    // weights by hash; the optimizer state between them); the report comes after and can
    // never cost them.
    const bytes = weightsBytes(cfg.out!, module, params);
    const group: OutputFile[] = [{ file: cfg.out!, option: '--out', data: bytes }];
    if (cfg.saveOptimizer === true)
      group.push({
        file: optimizerPath(cfg.out!),
        option: '--save-optimizer',
        data: encodeOptimizerState(model, optimizer.saveState!()),
      });
    group.push({
      file: metaPath(cfg.out!),
      option: '--out',
      data: metaText({ ...meta, modelHash: modelHash(compiled.c.spec) }, bytes),
    });
    writeFiles(group);
  }
  if (cfg.report !== undefined) writeReportSafely(cfg, result, wrote ? cfg.out : undefined);
  if (!cfg.quiet) {
    io.out(`${verdictLine(verdict, io.color === true)}\n`);
    const advice = adviceLine(verdict, cfg.keepLast === true);
    if (advice !== undefined) io.out(`${advice}\n`);
    io.out(`${finalLine(cfg, result)}\n`);
  }
  if (exitCode !== 0) {
    const why = wrote
      ? 'weights written anyway (--save-anyway)'
      : 'no weights written (--save-anyway writes them)';
    io.err(
      `${paint(`gradc: warning: training ${verdict.title}; ${why}; exit code ${exitCode}`, 'bad', io.color === true)}\n`,
    );
  }
  return result;
}

/** The report, with any failure (even a bug in it) as one line that says what was kept. */
function writeReportSafely(cfg: TrainConfig, result: TrainResult, weights?: string): void {
  const kept = weights !== undefined ? `; the weights were written to ${weights}` : '';
  try {
    writeReport(cfg.report!, cfg, result, DIAGNOSTICS);
  } catch (e) {
    const detail =
      e instanceof GradcError ? e.detail : `the report failed (${(e as Error).message})`;
    throw new GradcError(cfg.report!, '--report', `${detail}${kept}`);
  }
}

/** Where --save-optimizer puts the optimizer state of a weights file. */
export function optimizerPath(weights: string): string {
  return `${weights}.optimizer.json`;
}

interface Resumed {
  readonly params: FloatArray;
  readonly meta: DataMeta | undefined;
}

/** --resume's weights, and their metadata when it exists (then bound like predict's pair). */
function readResume(file: string, spec: ModelSpec, model: ModelInfo): Resumed {
  const bytes = readWeightsBytes(file, '--resume', model);
  const meta = fs.existsSync(metaPath(file)) ? readMeta(file, '--resume') : undefined;
  const params = decodeWeightsFile(file, '--resume', bytes, model);
  if (meta !== undefined) checkBinding(meta, metaPath(file), spec, model, bytes);
  return { params, meta };
}

function finalLine(cfg: TrainConfig, r: TrainResult): string {
  const h = r.history;
  const stop =
    h.stopReason === 'earlyStopping' ? ` (early stop, best epoch ${h.bestEpoch + 1})` : '';
  const parts = [
    `trained ${h.epochs.length} epochs${stop} in ${formatNumber(r.trainMs / 1000, 3)} s`,
    `train ${figureText(r.train)}`,
    r.val !== undefined ? `val ${figureText(r.val)}` : 'no validation rows',
  ];
  const kept = keptText(r);
  if (r.wrote) {
    parts.push(`${kept} → ${cfg.out} (+ ${path.basename(metaPath(cfg.out!))})`);
  } else if (cfg.out === undefined) {
    parts.push(`${kept}; dry run, nothing written (--out FILE saves them)`);
  } else {
    parts.push(`${kept}; not written`);
  }
  if (cfg.report !== undefined) parts.push(`report → ${cfg.report}`);
  return parts.join(' · ');
}

// ---------------------------------------------------------------------------------------
// Options

function int(option: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    throw new GradcError(option, v, `must be an integer ≥ ${min}`);
  }
  return n;
}

function num(option: string, v: string, ok: (x: number) => boolean, what: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw new GradcError(option, v, `must be ${what}`);
  return n;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim());
}

interface RawOptions {
  data: string;
  label?: string;
  target?: string;
  features?: string;
  epochs: string;
  batch: string;
  optimizer: string;
  lr?: string;
  seed: string;
  val: string;
  out?: string;
  report?: string;
  patience?: string;
  normalize: boolean;
  schedule: string;
  every?: string;
  weightDecay?: string;
  clipNorm?: string;
  resume?: string;
  metrics?: string;
  classWeights?: string;
  keepLast?: boolean;
  saveAnyway?: boolean;
  saveOptimizer?: boolean;
  maxDataBytes: string;
  quiet?: boolean;
}

function schedule(v: string): boolean {
  if (v !== 'constant' && v !== 'cosine') {
    throw new GradcError('--schedule', v, 'expected constant or cosine');
  }
  return v === 'cosine';
}

export function parseTrainOptions(model: string, o: RawOptions): TrainConfig {
  if (!(OPTIMIZERS as readonly string[]).includes(o.optimizer)) {
    throw new GradcError(
      '--optimizer',
      o.optimizer,
      `unknown optimizer; expected one of ${OPTIMIZERS.join(', ')}`,
    );
  }
  const targets = list(o.target);
  const features = list(o.features);
  return {
    model,
    data: o.data,
    ...(o.label !== undefined ? { label: o.label } : {}),
    ...(targets !== undefined ? { targets } : {}),
    ...(features !== undefined ? { features } : {}),
    epochs: int('--epochs', o.epochs, 1),
    batch: int('--batch', o.batch, 1),
    optimizer: o.optimizer as OptimizerName,
    ...(o.lr !== undefined ? { lr: num('--lr', o.lr, (x) => x > 0, 'a positive number') } : {}),
    seed: int('--seed', o.seed, 0),
    val: num('--val', o.val, (x) => x >= 0 && x < 1, 'a fraction in [0, 1)'),
    ...(o.out !== undefined ? { out: o.out } : {}),
    ...(o.report !== undefined ? { report: o.report } : {}),
    ...(o.patience !== undefined ? { patience: int('--patience', o.patience, 1) } : {}),
    normalize: o.normalize,
    cosine: schedule(o.schedule),
    ...(o.weightDecay !== undefined
      ? {
          weightDecay: num('--weight-decay', o.weightDecay, (x) => x >= 0, 'a number ≥ 0'),
        }
      : {}),
    ...(o.clipNorm !== undefined
      ? { clipNorm: num('--clip-norm', o.clipNorm, (x) => x > 0, 'a positive number') }
      : {}),
    ...(o.resume !== undefined ? { resume: o.resume } : {}),
    ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
    ...(o.classWeights !== undefined ? { classWeights: parseClassWeights(o.classWeights) } : {}),
    ...(o.keepLast === true ? { keepLast: true } : {}),
    ...(o.saveAnyway === true ? { saveAnyway: true } : {}),
    ...(o.saveOptimizer === true ? { saveOptimizer: true } : {}),
    maxDataBytes: int('--max-data-bytes', o.maxDataBytes, 1),
    ...(o.quiet === true ? { quiet: true } : {}),
  };
}

export function registerTrain(program: Command, out: (s: string) => void): void {
  program
    .command('train')
    .description('train a model on a CSV or JSON data file and save its weights')
    .argument('<model>', 'model file (JSON)')
    .requiredOption('--data <file>', 'CSV with a header line, or a JSON array of records')
    .option('--label <column>', 'class column, one-hot encoded (classification)')
    .option('--target <columns>', 'comma-separated numeric target columns (regression)')
    .option('--features <columns>', 'comma-separated input columns (default: all other columns)')
    .option('--epochs <n>', 'epochs', '100')
    .option('--batch <n>', 'mini-batch size', '32')
    .option('--optimizer <name>', OPTIMIZERS.join(' | '), 'adam')
    .option('--lr <x>', "learning rate (default: the optimizer's default)")
    .option(
      '--schedule <name>',
      'learning rate: constant, or cosine decay to 0 over the run',
      'constant',
    )
    .option('--seed <n>', 'seed of the split, the initialization and the shuffles', '1')
    .option('--val <fraction>', 'fraction of the rows held out for validation', '0.2')
    .option(
      '--patience <n>',
      'stop after n epochs without a better validation loss, keep the best weights',
    )
    .option('--weight-decay <x>', 'L2 weight decay (decoupled for adamw; default 0, adamw 0.01)')
    .option('--clip-norm <x>', "clip each step's gradient to this global L2 norm")
    .option(
      '--metrics <list>',
      'comma-separated: accuracy, topK (e.g. top3) for --label; mae, rmse, r2 for --target',
    )
    .option(
      '--class-weights <w>',
      'balanced (each class counts equally), or class=weight pairs such as setosa=1,virginica=2',
    )
    .option(
      '--keep-last',
      "save the last epoch's weights (default with --val: the best validation epoch's)",
    )
    .option('--resume <weights>', 'start from these weights (and their saved optimizer state)')
    .option('--save-optimizer', 'also write the optimizer state to <out>.optimizer.json')
    .option(
      '--save-anyway',
      'write the weights even when the run diverged, did not learn or stayed at chance (exit 3/4/5)',
    )
    .option('--no-normalize', 'feed raw features (default: standardize with the training rows)')
    .option('--every <n>', 'without a terminal, print a line every n epochs (default: epochs/10)')
    .option(
      '--out <file>',
      'weights file (.bin, or .json for JSON); its column description goes to <file>.meta.json (without it: a dry run)',
    )
    .option('--report <file>', 'write an HTML report with the training curves')
    .option('--max-data-bytes <n>', 'refuse larger data files', String(MAX_DATA_BYTES))
    .option('--quiet', 'print no verdict and summary lines at the end')
    .addHelpText(
      'after',
      '\nExit codes: 0 the run learned (converged, still improving or overfitting), 2 bad input,\n3 diverged, 4 did not learn, 5 stuck at chance level.',
    )
    .action(async (model: string, o: RawOptions) => {
      const cfg = {
        ...parseTrainOptions(model, o),
        command: ['gradc', ...process.argv.slice(2)].map(shellQuote).join(' '),
      };
      const r = await runTrain(cfg, {
        out,
        err: (s) => void process.stderr.write(s),
        tty: process.stderr.isTTY === true,
        color: useColor(process.stdout),
        ...(o.every !== undefined ? { every: int('--every', o.every, 1) } : {}),
      });
      if (r.exitCode !== 0) throw new Exit(r.exitCode);
    });
}

/** ANSI colour on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0') return true;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}
