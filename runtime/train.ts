// The training loop: epochs of shuffled mini-batches, a validation pass, early stopping,
// gradient diagnostics and callbacks.
//
// Memory: every buffer (row copies, gradient accumulator, shuffled index order, validation
// copy, best-weights copy) is allocated before the first step; a step (batch-runner.ts) —
// copy rows, gradient, accumulate, diagnostics, optimizer update, `onBatchEnd` with a reused
// info object — allocates nothing once V8 has optimized it, typically within the first epoch
// or two (test/runtime/alloc.test.ts measures it). Per epoch, the history record, the
// per-layer norm array and any warnings are allocated.

import { BatchRunner, CORRECT, ABS_ERROR, LOSS_SUM, SEEN, type BatchInfo } from './batch-runner.ts';
import { selectRows, validateDataset, type Dataset } from './data.ts';
import { GradientMonitor, type DiagnosticsOptions, type TrainingWarning } from './diagnostics.ts';
import { allocArray } from './init.ts';
import { Evaluator } from './metrics.ts';
import { sgd, type Optimizer } from './optimizers.ts';
import { Rng } from './random.ts';
import type { FloatArray, GeneratedModule } from './types.ts';

export type { BatchInfo } from './batch-runner.ts';

export type MetricName = 'accuracy' | 'mae';
export type Monitor = 'loss' | 'valLoss' | 'accuracy' | 'valAccuracy' | 'mae' | 'valMae';

export interface EarlyStoppingOptions {
  /** Default 'valLoss' when there is validation data, else 'loss'. Accuracies are maximized. */
  readonly monitor?: Monitor;
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** An improvement must beat the best value by more than this (Keras `min_delta`). Default 0. */
  readonly minDelta?: number;
  /** Put back the parameters of the best epoch when training ends. Default false. */
  readonly restoreBestWeights?: boolean;
}

export interface EpochStats {
  /** 0-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's samples, each computed before its batch's update (as Keras reports it). */
  readonly loss: number;
  readonly valLoss?: number;
  readonly accuracy?: number;
  readonly valAccuracy?: number;
  readonly mae?: number;
  readonly valMae?: number;
  /** Per layer (model.layers order): mean over batches of the layer's gradient L2 norm. */
  readonly gradNorms: readonly number[];
  /** Learning rate at the end of the epoch. */
  readonly lr: number;
  /** Wall time of the epoch (training steps and the validation pass), in milliseconds. */
  readonly ms: number;
}

/** Loss and metrics of the parameters as they were passed in, before the first update. */
export interface InitialStats {
  readonly loss: number;
  readonly accuracy: number;
  readonly mae: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly valMae?: number;
}

export type StopReason = 'completed' | 'earlyStopping' | 'callback' | 'nonFinite';

export interface History {
  readonly epochs: EpochStats[];
  readonly stoppedEarly: boolean;
  readonly stopReason: StopReason;
  /** Epoch with the best monitored value (see EarlyStoppingOptions.monitor), −1 if none was finite. */
  readonly bestEpoch: number;
  readonly monitor: Monitor;
  readonly warnings: TrainingWarning[];
  /**
   * Measured on the training (and validation) data before the first update: the reference a
   * verdict judges progress against (the first epoch's mean already includes its updates).
   */
  readonly initial: InitialStats;
  /** Epoch whose parameters `params` holds at the end (the best one when they were restored). */
  readonly keptEpoch: number;
}

export interface TrainOptions {
  readonly epochs: number;
  /** Default 32 (capped at the number of training samples). */
  readonly batchSize?: number;
  /** Default sgd({ lr: 0.01 }). Set a schedule or clipNorm on the optimizer. */
  readonly optimizer?: Optimizer;
  /** Reshuffle the training order every epoch. Default true. */
  readonly shuffle?: boolean;
  /** Seeds the validation split, the shuffles and the dropout masks (each step passes the
   * module a seed derived from it). Default 0. */
  readonly seed?: number;
  /** Hold out this fraction (the last rows after a seeded shuffle) for validation. */
  readonly validationSplit?: number;
  /** Explicit validation data (takes precedence over validationSplit). */
  readonly validationData?: Dataset;
  /** Metrics besides loss. Default ['accuracy'] for classification losses/outputs, else ['mae']. */
  readonly metrics?: readonly MetricName[];
  readonly earlyStopping?: EarlyStoppingOptions;
  /**
   * Put back the parameters of the best epoch (by the monitored value, see
   * EarlyStoppingOptions.monitor) when training ends, with or without early stopping —
   * Keras's `restore_best_weights`. Default false.
   */
  readonly restoreBestWeights?: boolean;
  /**
   * Weight of each row of `data` in the loss and the gradient (e.g. class weights for
   * unbalanced labels). Uses the per-sample gradient path instead of `gradientBatch`.
   */
  readonly sampleWeights?: ArrayLike<number>;
  /** Thresholds for gradient warnings, or false to record norms without warning. */
  readonly diagnostics?: DiagnosticsOptions | false;
  /** Receives each warning; default console.warn (each layer/kind once). */
  readonly onWarning?: (w: TrainingWarning) => void;
  readonly onBatchEnd?: (info: BatchInfo) => void;
  /** Called after every epoch (also the last); return false to stop training after it. */
  readonly onEpochEnd?: (stats: EpochStats, params: FloatArray) => boolean | void;
  /** Stop as soon as a batch loss is NaN/Infinity (Keras TerminateOnNaN). Default true. */
  readonly terminateOnNaN?: boolean;
  /** Use the module's `gradientBatch` when it has one. Default true. */
  readonly useGradientBatch?: boolean;
}

const CLASSIFICATION_LOSSES = new Set(['binaryCrossEntropy', 'categoricalCrossEntropy']);
const CLASSIFICATION_OUTPUTS = new Set(['sigmoid', 'softmax']);

function defaultMetrics(module: GeneratedModule): MetricName[] {
  const m = module.model;
  const last = m.layers[m.layers.length - 1];
  const classify =
    CLASSIFICATION_LOSSES.has(m.loss) ||
    (last !== undefined && CLASSIFICATION_OUTPUTS.has(last.activation));
  return classify ? ['accuracy'] : ['mae'];
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Trains `params` in place and returns the history. The gradient of a batch is the mean of
 * the per-sample gradients (or the module's `gradientBatch`).
 */
export function train(
  module: GeneratedModule,
  params: FloatArray,
  data: Dataset,
  options: TrainOptions,
): History {
  // Without pauses the generator runs to its end in one step.
  const r = trainSteps(module, params, data, options, false).next();
  if (!r.done) throw new Error('internal: training paused without pauses');
  return r.value;
}

/**
 * The training loop as a generator, so that `trainAsync` can hand control back to the event
 * loop between batches. With `pauses` false it never yields.
 */
export function* trainSteps(
  module: GeneratedModule,
  callerParams: FloatArray,
  data: Dataset,
  options: TrainOptions,
  pauses: boolean,
): Generator<void, History, void> {
  const model = module.model;
  if (callerParams.length !== model.paramCount) {
    throw new RangeError(
      `params has ${callerParams.length} entries, model ${model.name} needs ${model.paramCount}`,
    );
  }
  // The entry points run without copies on arrays in the module's own memory (a module with
  // alloc): train a copy there, written back at every epoch end and at the end.
  const params = module.alloc ? module.alloc(callerParams.length) : callerParams;
  if (params !== callerParams) params.set(callerParams);
  validateDataset(model, data);
  const epochs = positiveInt('epochs', options.epochs);
  const optimizer = options.optimizer ?? sgd({ lr: 0.01 });
  const rng = new Rng(options.seed ?? 0);
  const { inputSize, outputSize } = model;

  // --- split ---------------------------------------------------------------------------
  const order = new Int32Array(data.count);
  for (let i = 0; i < data.count; i++) order[i] = i;
  let trainCount = data.count;
  let valData: Dataset | undefined = options.validationData;
  if (valData !== undefined) {
    validateDataset(model, valData, 'validationData');
  } else if (options.validationSplit !== undefined && options.validationSplit > 0) {
    const split = options.validationSplit;
    if (!(split < 1)) throw new RangeError(`validationSplit must be in [0, 1), got ${split}`);
    rng.shuffle(order);
    const valCount = Math.floor(data.count * split);
    trainCount = data.count - valCount;
    if (valCount > 0) valData = selectRows(data, order.subarray(trainCount), inputSize, outputSize);
  }
  if (trainCount < 1) throw new RangeError('no training samples left after the validation split');
  const trainOrder = order.subarray(0, trainCount);
  const batchSize = Math.min(positiveInt('batchSize', options.batchSize ?? 32), trainCount);

  // --- buffers (everything the step needs, allocated once) -------------------------------
  let sampleWeights: Float64Array | undefined;
  if (options.sampleWeights !== undefined) {
    if (options.sampleWeights.length !== data.count) {
      throw new RangeError(
        `sampleWeights has ${options.sampleWeights.length} entries, data has ${data.count} rows`,
      );
    }
    sampleWeights = Float64Array.from(options.sampleWeights);
    if (!sampleWeights.every((w) => w >= 0 && Number.isFinite(w))) {
      throw new RangeError('sampleWeights must be non-negative finite numbers');
    }
  }
  const batched =
    (options.useGradientBatch ?? true) &&
    sampleWeights === undefined &&
    typeof module.gradientBatch === 'function';
  const metrics = options.metrics ?? defaultMetrics(module);
  const wantAccuracy = metrics.includes('accuracy');
  const wantMae = metrics.includes('mae');
  const evaluator = new Evaluator(module);
  const monitor = new GradientMonitor(
    model,
    options.diagnostics === false ? {} : options.diagnostics,
    options.onWarning,
    options.diagnostics !== false,
  );
  const runner = new BatchRunner(module, data, optimizer, monitor, {
    batchSize,
    batched,
    wantAccuracy,
    wantMae,
    terminateOnNaN: options.terminateOnNaN ?? true,
    onBatchEnd: options.onBatchEnd,
    sampleWeights,
    seed: options.seed ?? 0,
  });
  const totals = runner.totals;
  const shuffle = options.shuffle ?? true;

  // --- early stopping / best epoch ---------------------------------------------------------
  const es = options.earlyStopping;
  const monitorName: Monitor = es?.monitor ?? (valData !== undefined ? 'valLoss' : 'loss');
  if (monitorName.startsWith('val') && valData === undefined) {
    throw new RangeError(`cannot monitor ${monitorName} without validation data`);
  }
  const maximize = monitorName === 'accuracy' || monitorName === 'valAccuracy';
  const minDelta = Math.abs(es?.minDelta ?? 0);
  const patience = es !== undefined ? Math.max(0, es.patience) : Infinity;
  const bestParams =
    es?.restoreBestWeights || options.restoreBestWeights
      ? allocArray(model, params.length)
      : undefined;
  let best = maximize ? -Infinity : Infinity;
  let bestEpoch = -1;
  let wait = 0;

  const history: EpochStats[] = [];
  let stopReason: StopReason = 'completed';

  const trainData =
    trainCount === data.count ? data : selectRows(data, trainOrder, inputSize, outputSize);
  const start = evaluator.run(params, trainData);
  const initialTrain = { loss: start.loss, accuracy: start.accuracy, mae: start.mae };
  const startVal = valData !== undefined ? evaluator.run(params, valData) : undefined;
  const initial: InitialStats = {
    ...initialTrain,
    ...(startVal !== undefined
      ? { valLoss: startVal.loss, valAccuracy: startVal.accuracy, valMae: startVal.mae }
      : {}),
  };

  for (let epoch = 0; epoch < epochs && stopReason === 'completed'; epoch++) {
    const t0 = performance.now();
    optimizer.epoch = epoch;
    if (shuffle) rng.shuffle(trainOrder);
    runner.resetEpoch();
    // Only small integers live in this loop, so it allocates nothing even before V8 optimizes it.
    for (let start = 0, batch = 0; start < trainCount; start += batchSize, batch++) {
      if (
        !runner.run(
          params,
          trainOrder,
          start,
          Math.min(batchSize, trainCount - start),
          epoch,
          batch,
        )
      ) {
        stopReason = 'nonFinite';
        break;
      }
      if (pauses) yield;
    }

    // --- end of epoch -----------------------------------------------------------------------
    const seen = totals[SEEN];
    const val = valData !== undefined ? evaluator.run(params, valData) : undefined;
    const stats: EpochStats = {
      epoch,
      loss: totals[LOSS_SUM] / seen,
      ...(val !== undefined ? { valLoss: val.loss } : {}),
      ...(wantAccuracy ? { accuracy: totals[CORRECT] / seen } : {}),
      ...(wantAccuracy && val !== undefined ? { valAccuracy: val.accuracy } : {}),
      ...(wantMae ? { mae: totals[ABS_ERROR] / (seen * outputSize) } : {}),
      ...(wantMae && val !== undefined ? { valMae: val.mae } : {}),
      gradNorms: monitor.endEpoch(epoch),
      lr: optimizer.lr,
      ms: performance.now() - t0,
    };
    history.push(stats);

    const value = stats[monitorName];
    const improved =
      value !== undefined &&
      Number.isFinite(value) &&
      (bestEpoch < 0 || (maximize ? value > best + minDelta : value < best - minDelta));
    if (improved) {
      best = value;
      bestEpoch = epoch;
      wait = 0;
      bestParams?.set(params);
    } else if (stopReason === 'completed') {
      wait++;
      if (wait >= patience) stopReason = 'earlyStopping';
    }
    // Called for every recorded epoch, including the one that stops training.
    if (params !== callerParams) callerParams.set(params);
    if (options.onEpochEnd?.(stats, callerParams) === false && stopReason === 'completed') {
      stopReason = 'callback';
    }
  }

  let keptEpoch = history.length - 1;
  if (bestParams !== undefined && bestEpoch >= 0 && bestEpoch !== history.length - 1) {
    params.set(bestParams);
    keptEpoch = bestEpoch;
  }
  if (params !== callerParams) callerParams.set(params);
  return {
    epochs: history,
    stoppedEarly: stopReason !== 'completed',
    stopReason,
    bestEpoch,
    monitor: monitorName,
    warnings: monitor.warnings,
    initial,
    keptEpoch,
  };
}
