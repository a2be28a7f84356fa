// `gradc train`: compile the model, read and encode the data, split it (seeded), train with
// the runtime, then write the weights, their column description and optionally a report.
import path from 'node:path';
import type { Command } from 'commander';
import {
  adam,
  adamw,
  cosineDecay,
  Evaluator,
  initParams,
  momentum,
  rmsprop,
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
  type Metrics,
  type Optimizer,
  type TrainingWarning,
} from '../../runtime/index.ts';
import { compileBytes } from '../index.ts';
import { GradcError } from '../format/errors.ts';
import { MAX_DATA_BYTES, readTable, rowError } from '../training/data.ts';
import {
  applyNormalization,
  encodeTable,
  fitNormalization,
  planColumns,
  type ColumnPlan,
} from '../training/encode.ts';
import { metaPath, metaText, modelHash } from '../training/meta.ts';
import { checkOutputs, readModelFile, writeFiles } from '../io/files.ts';
import { quote } from '../format/errors.ts';
import { importCompiled } from './load.ts';
import { createProgress } from '../training/progress.ts';
import { writeReport } from '../training/report/index.ts';

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
  readonly out: string;
  readonly report?: string;
  readonly patience?: number;
  readonly normalize: boolean;
  /** Decay the learning rate along a half cosine to 0 over the whole run. */
  readonly cosine?: boolean;
  /** Bound on the data file (default MAX_DATA_BYTES). */
  readonly maxDataBytes?: number;
  /** Print no final line. */
  readonly quiet?: boolean;
}

export interface TrainIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  readonly tty: boolean;
  /** Lines mode: print every this many epochs. */
  readonly every?: number;
}

export interface TrainResult {
  readonly module: GeneratedModule;
  readonly params: FloatArray;
  readonly history: History;
  readonly meta: ColumnPlan;
  readonly train: Metrics;
  readonly val: Metrics | undefined;
  readonly trainCount: number;
  readonly valCount: number;
  /** Time spent in the training loop. */
  readonly trainMs: number;
  readonly metric: 'accuracy' | 'mae';
}

function baseOptimizer(name: OptimizerName, lr: number | undefined): Optimizer {
  const o = lr === undefined ? {} : { lr };
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
): Optimizer {
  const opt = baseOptimizer(name, lr);
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
  checkOutputs(
    [
      { file: cfg.model, option: '<model>' },
      { file: cfg.data, option: '--data' },
    ],
    [
      { file: cfg.out, option: '--out' },
      { file: metaPath(cfg.out), option: '--out (its .meta.json)' },
      ...(cfg.report !== undefined ? [{ file: cfg.report, option: '--report' }] : []),
    ],
  );
  const compiled = await compileBytes(readModelFile(cfg.model), cfg.model, 'js');
  const module = await importCompiled(compiled);
  const { model } = module;

  const table = readTable(cfg.data, cfg.maxDataBytes);
  const planned = planColumns(table, model, cfg);
  const encoded = encodeTable(table, planned, model.outputSize);
  const count = encoded.count;
  const classOf =
    planned.classes !== undefined
      ? classIndices(encoded.targets!, count, model.outputSize)
      : undefined;
  const [trainRows, valRows] = splitRows(count, cfg.val, cfg.seed, classOf);
  if (trainRows.length === 0) throw new GradcError(cfg.data, '--data', 'no data rows to train on');
  const meta: ColumnPlan = cfg.normalize
    ? { ...planned, normalize: fitNormalization(encoded.inputs, model.inputSize, trainRows) }
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
  const metric = meta.classes !== undefined ? 'accuracy' : 'mae';

  const params = initParams(model, { seed: cfg.seed });
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
      optimizer: makeOptimizer(
        cfg.optimizer,
        cfg.lr,
        cfg.cosine
          ? cfg.epochs * Math.ceil(trainData.count / Math.min(cfg.batch, trainData.count))
          : undefined,
      ),
      seed: cfg.seed,
      metrics: [metric],
      ...(valData !== undefined ? { validationData: valData } : {}),
      ...(cfg.patience !== undefined
        ? { earlyStopping: { patience: cfg.patience, restoreBestWeights: true } }
        : {}),
      diagnostics: DIAGNOSTICS,
      onWarning: warn,
      onEpochEnd: (s) => progress.epoch(s),
    });
  } finally {
    progress.stop();
  }
  const trainMs = performance.now() - t0;

  const evaluator = new Evaluator(module);
  const result: TrainResult = {
    module,
    params,
    history,
    meta,
    train: { ...evaluator.run(params, trainData) },
    val: valData !== undefined ? { ...evaluator.run(params, valData) } : undefined,
    trainCount: trainData.count,
    valCount: valData?.count ?? 0,
    trainMs,
    metric,
  };
  if (history.stopReason === 'nonFinite') {
    if (cfg.report !== undefined) writeReportSafely(cfg, result);
    throw new GradcError(
      cfg.data,
      `epoch ${history.epochs.length}`,
      'the loss became NaN or infinite; no weights written (lower --lr, see the warnings)',
    );
  }
  // The weights first, with their metadata as one unit (metadata renamed last, naming the
  // weights by hash); anything optional comes after and can never cost them.
  const bytes = weightsBytes(cfg.out, module, params);
  writeFiles([
    { file: cfg.out, option: '--out', data: bytes },
    {
      file: metaPath(cfg.out),
      option: '--out',
      data: metaText({ ...meta, modelHash: modelHash(compiled.c.spec) }, bytes),
    },
  ]);
  if (cfg.report !== undefined) writeReportSafely(cfg, result, cfg.out);
  if (!cfg.quiet) io.out(`${finalLine(cfg, result)}\n`);
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

function finalLine(cfg: TrainConfig, r: TrainResult): string {
  const name = r.metric === 'accuracy' ? 'acc' : 'mae';
  const fmt = (m: Metrics) =>
    r.metric === 'accuracy' ? `${(100 * m.accuracy).toFixed(1)}%` : m.mae.toPrecision(4);
  const h = r.history;
  const stop =
    h.stopReason === 'earlyStopping' ? ` (early stop, best epoch ${h.bestEpoch + 1})` : '';
  const parts = [
    `trained ${h.epochs.length} epochs${stop} in ${(r.trainMs / 1000).toFixed(2)} s`,
    `train loss ${r.train.loss.toFixed(4)} ${name} ${fmt(r.train)}`,
    r.val !== undefined
      ? `val loss ${r.val.loss.toFixed(4)} ${name} ${fmt(r.val)}`
      : 'no validation rows',
    `weights → ${cfg.out} (+ ${path.basename(metaPath(cfg.out))})`,
  ];
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
  out: string;
  report?: string;
  patience?: string;
  normalize: boolean;
  schedule: string;
  every?: string;
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
    out: o.out,
    ...(o.report !== undefined ? { report: o.report } : {}),
    ...(o.patience !== undefined ? { patience: int('--patience', o.patience, 1) } : {}),
    normalize: o.normalize,
    cosine: schedule(o.schedule),
    maxDataBytes: int('--max-data-bytes', o.maxDataBytes, 1),
    ...(o.quiet ? { quiet: true } : {}),
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
    .option('--no-normalize', 'feed raw features (default: standardize with the training rows)')
    .option('--every <n>', 'without a terminal, print a line every n epochs (default: epochs/10)')
    .requiredOption(
      '--out <file>',
      'weights file (.bin, or .json for JSON); its column description goes to <file>.meta.json',
    )
    .option('--report <file>', 'write an HTML report with the training curves')
    .option('--max-data-bytes <n>', 'refuse larger data files', String(MAX_DATA_BYTES))
    .option('--quiet', 'print no summary line at the end')
    .action(async (model: string, o: RawOptions) => {
      const cfg = parseTrainOptions(model, o);
      await runTrain(cfg, {
        out,
        err: (s) => void process.stderr.write(s),
        tty: process.stderr.isTTY === true,
        ...(o.every !== undefined ? { every: int('--every', o.every, 1) } : {}),
      });
    });
}
