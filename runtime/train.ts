// The training loop: epochs of shuffled mini-batches, a validation pass, early stopping,
// gradient diagnostics and callbacks.
//
// Memory: every buffer (row copies, gradient accumulator, shuffled index order, validation
// copy, best-weights copy) is allocated before the first step; a step — copy rows, gradient,
// accumulate, diagnostics, optimizer update, `onBatchEnd` with a reused info object —
// allocates nothing (test/runtime/alloc.test.ts measures it). Only the per-epoch record in
// the history is allocated, once per epoch.

import { copyRow, selectRows, validateDataset, type Dataset } from './data.ts';
import {
  GradientMonitor,
  type DiagnosticsOptions,
  type TrainingWarning,
} from './diagnostics.ts';
import { allocArray, allocGrad, allocWork } from './init.ts';
import { absErrorSum, Evaluator, isCorrect } from './metrics.ts';
import { sgd, type Optimizer } from './optimizers.ts';
import { Rng } from './random.ts';
import type { FloatArray, GeneratedModule } from './types.ts';

/**
 * A generated module that may also export a batched gradient. `gradientBatch` reads `count`
 * row-major samples, writes the mean gradient over them into `grad` and returns the mean
 * loss; `work` has `model.workSize` entries.
 */
export interface BatchedModule extends GeneratedModule {
  gradientBatch?(
    params: FloatArray,
    inputs: FloatArray,
    targets: FloatArray,
    count: number,
    grad: FloatArray,
    work: FloatArray,
  ): number;
}

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

/** Passed to `onBatchEnd`; one object reused for every batch — copy what you keep. */
export interface BatchInfo {
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Samples in this batch. */
  size: number;
  /** Mean loss over the batch (before the update). */
  loss: number;
  /** Learning rate used for the update. */
  lr: number;
  /** Optimizer steps taken so far, this one included. */
  iterations: number;
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
}

export interface TrainOptions {
  readonly epochs: number;
  /** Default 32 (capped at the number of training samples). */
  readonly batchSize?: number;
  /** Default sgd({ lr: 0.01 }). Set a schedule or clipNorm on the optimizer. */
  readonly optimizer?: Optimizer;
  /** Reshuffle the training order every epoch. Default true. */
  readonly shuffle?: boolean;
  /** Seeds the validation split and the shuffles. Default 0. */
  readonly seed?: number;
  /** Hold out this fraction (the last rows after a seeded shuffle) for validation. */
  readonly validationSplit?: number;
  /** Explicit validation data (takes precedence over validationSplit). */
  readonly validationData?: Dataset;
  /** Metrics besides loss. Default ['accuracy'] for classification losses/outputs, else ['mae']. */
  readonly metrics?: readonly MetricName[];
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Thresholds for gradient warnings, or false to record norms without warning. */
  readonly diagnostics?: DiagnosticsOptions | false;
  /** Receives each warning; default console.warn (each layer/kind once). */
  readonly onWarning?: (w: TrainingWarning) => void;
  readonly onBatchEnd?: (info: BatchInfo) => void;
  /** Return false to stop training after this epoch. */
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
    CLASSIFICATION_LOSSES.has(m.loss) || (last !== undefined && CLASSIFICATION_OUTPUTS.has(last.activation));
  return classify ? ['accuracy'] : ['mae'];
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Trains `params` in place and returns the history. The gradient of a batch is the mean of
 * the per-sample gradients (or the module's `gradientBatch`).
 */
export function train(
  module: BatchedModule,
  params: FloatArray,
  data: Dataset,
  options: TrainOptions,
): History {
  const model = module.model;
  if (params.length !== model.paramCount) {
    throw new RangeError(`params has ${params.length} entries, model ${model.name} needs ${model.paramCount}`);
  }
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
  const batched = (options.useGradientBatch ?? true) && typeof module.gradientBatch === 'function';
  const x = allocArray(model, inputSize);
  const t = allocArray(model, outputSize);
  const out = allocArray(model, outputSize);
  const work = allocWork(model);
  const sampleGrad = allocGrad(model);
  // Accumulate in f64 even for f32 models: summing many small per-sample gradients in f32
  // loses low bits.
  const acc = batched ? sampleGrad : new Float64Array(model.paramCount);
  const xb = batched ? allocArray(model, batchSize * inputSize) : x;
  const tb = batched ? allocArray(model, batchSize * outputSize) : t;
  const metrics = options.metrics ?? defaultMetrics(module);
  const wantAccuracy = metrics.includes('accuracy');
  const wantMae = metrics.includes('mae');
  const needForward = wantAccuracy || wantMae;
  const evaluator = valData !== undefined ? new Evaluator(module) : undefined;
  const monitor = new GradientMonitor(
    model,
    options.diagnostics === false ? {} : options.diagnostics,
    options.onWarning,
    options.diagnostics !== false,
  );
  const info: BatchInfo = { epoch: 0, batch: 0, size: 0, loss: 0, lr: optimizer.lr, iterations: 0 };
  const onBatchEnd = options.onBatchEnd;
  const terminateOnNaN = options.terminateOnNaN ?? true;
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
  const bestParams = es?.restoreBestWeights ? allocArray(model, params.length) : undefined;
  let best = maximize ? -Infinity : Infinity;
  let bestEpoch = -1;
  let wait = 0;

  const history: EpochStats[] = [];
  let stopReason: StopReason = 'completed';

  for (let epoch = 0; epoch < epochs && stopReason === 'completed'; epoch++) {
    optimizer.epoch = epoch;
    if (shuffle) rng.shuffle(trainOrder);
    let lossSum = 0;
    let seen = 0;
    let correct = 0;
    let absErr = 0;

    for (let start = 0, batch = 0; start < trainCount; start += batchSize, batch++) {
      const size = Math.min(batchSize, trainCount - start);
      let batchLoss: number;
      if (batched) {
        for (let s = 0; s < size; s++) {
          const row = trainOrder[start + s];
          copyRow(data.inputs, row, xb, s, inputSize);
          copyRow(data.targets, row, tb, s, outputSize);
        }
        // Narrowed above: `batched` implies gradientBatch exists.
        batchLoss = module.gradientBatch!(params, xb, tb, size, acc, work);
        if (needForward) {
          for (let s = 0; s < size; s++) {
            copyRow(xb, s, x, 0, inputSize);
            module.forward(params, x, out, work);
            if (wantAccuracy) correct += isCorrect(out, tb, s, outputSize);
            if (wantMae) absErr += absErrorSum(out, tb, s, outputSize);
          }
        }
      } else {
        acc.fill(0);
        let sum = 0;
        for (let s = 0; s < size; s++) {
          const row = trainOrder[start + s];
          copyRow(data.inputs, row, x, 0, inputSize);
          copyRow(data.targets, row, t, 0, outputSize);
          sum += module.gradient(params, x, t, sampleGrad, work);
          for (let i = 0; i < acc.length; i++) acc[i] += sampleGrad[i];
          if (needForward) {
            module.forward(params, x, out, work);
            if (wantAccuracy) correct += isCorrect(out, t, 0, outputSize);
            if (wantMae) absErr += absErrorSum(out, t, 0, outputSize);
          }
        }
        const inv = 1 / size;
        for (let i = 0; i < acc.length; i++) acc[i] *= inv;
        batchLoss = sum * inv;
      }
      lossSum += batchLoss * size;
      seen += size;
      monitor.addBatch(acc);
      if (terminateOnNaN && !Number.isFinite(batchLoss)) {
        stopReason = 'nonFinite';
        break;
      }
      optimizer.step(params, acc);
      if (onBatchEnd !== undefined) {
        info.epoch = epoch;
        info.batch = batch;
        info.size = size;
        info.loss = batchLoss;
        info.lr = optimizer.lr;
        info.iterations = optimizer.iterations;
        onBatchEnd(info);
      }
    }

    // --- end of epoch -----------------------------------------------------------------------
    const val = evaluator !== undefined && valData !== undefined ? evaluator.run(params, valData) : undefined;
    const stats: EpochStats = {
      epoch,
      loss: lossSum / seen,
      ...(val !== undefined ? { valLoss: val.loss } : {}),
      ...(wantAccuracy ? { accuracy: correct / seen } : {}),
      ...(wantAccuracy && val !== undefined ? { valAccuracy: val.accuracy } : {}),
      ...(wantMae ? { mae: absErr / (seen * outputSize) } : {}),
      ...(wantMae && val !== undefined ? { valMae: val.mae } : {}),
      gradNorms: monitor.endEpoch(epoch),
      lr: optimizer.lr,
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
    if (stopReason === 'completed' && options.onEpochEnd?.(stats, params) === false) {
      stopReason = 'callback';
    }
  }

  if (bestParams !== undefined && bestEpoch >= 0 && bestEpoch !== history.length - 1) {
    params.set(bestParams);
  }
  return {
    epochs: history,
    stoppedEarly: stopReason !== 'completed',
    stopReason,
    bestEpoch,
    monitor: monitorName,
    warnings: monitor.warnings,
  };
}
