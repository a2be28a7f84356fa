// The browser-safe runtime: everything except file-system helpers. Nothing reachable from
// here imports a `node:` module (test/runtime/browser.test.ts checks the import graph).

export type * from './types.ts';
export { Rng, range } from './random.ts';
export {
  allocArray,
  allocGrad,
  allocOutput,
  allocParams,
  allocWork,
  defaultScheme,
  initParams,
  type InitOptions,
  type InitScheme,
} from './init.ts';
export {
  constant,
  cosineDecay,
  exponentialDecay,
  stepDecay,
  type CosineDecayOptions,
  type ExponentialDecayOptions,
  type LrSchedule,
  type ScheduleUnit,
  type StepDecayOptions,
} from './schedules.ts';
export { clipGradNorm, globalNorm } from './clip.ts';
export {
  adam,
  adamw,
  momentum,
  rmsprop,
  sgd,
  type AdamOptions,
  type CommonOptions,
  type MomentumOptions,
  type Optimizer,
  type OptimizerState,
  type RmspropOptions,
} from './optimizers.ts';
export { decodeOptimizerState, encodeOptimizerState } from './optimizer-state.ts';
export { formatNumber, formatPercent } from './format.ts';
export {
  adviceText,
  judgeTraining,
  VERDICT_TITLE,
  VERDICT_TONE,
  type Advice,
  type Tone,
  type TrainingVerdict,
  type Verdict,
  type VerdictContext,
} from './verdict.ts';
export {
  checkGradient,
  checkTrainingGradient,
  dotProductTest,
  relativeError,
  trainingDotProductTest,
  type CheckOptions,
  type TrainingBatch,
  type DotProductOptions,
  type DotProductReport,
  type DotProductTrial,
  type GradientCheckReport,
  type GradientMismatch,
  type TensorCheck,
} from './check.ts';
export { checkFinite, firstNonFinite, NonFiniteError } from './finite.ts';
export { paramName, tensorAt } from './naming.ts';
export { copyRow, selectRows, validateDataset, type Dataset } from './data.ts';
export { packRows, slotsOf, unpackRows } from './pack.ts';
export { evaluate, Evaluator, predict, type Metrics } from './metrics.ts';
export {
  formatNorm,
  GradientMonitor,
  layerGradNorms,
  layerGroups,
  type DiagnosticsOptions,
  type LayerGroups,
  type TrainingWarning,
  type WarningKind,
} from './diagnostics.ts';
export {
  train,
  type BatchInfo,
  type EarlyStoppingOptions,
  type EpochStats,
  type History,
  type InitialStats,
  type MetricName,
  type Monitor,
  type StopReason,
  type TrainOptions,
} from './train.ts';
export { trainAsync, type Progress, type TrainAsyncOptions } from './train-async.ts';
export { crc32, fnv1a64 } from './checksum.ts';
export {
  decodeWeights,
  encodeWeights,
  encodeWeightsJson,
  HEADER_SIZE,
  layoutHash,
  layoutKey,
  WEIGHTS_MAGIC,
  WEIGHTS_VERSION,
  WeightsError,
  type WeightsErrorCode,
} from './weights.ts';
export {
  BUNDLE_META_FORMAT,
  createPredictor,
  parseBundleMeta,
  type BundleMeta,
  type Predictor,
} from './bundle.ts';
