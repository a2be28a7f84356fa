// What the runtime's verdict needs to know about a `gradc train` run besides its history:
// the layers (for advice specific to their activations), the optimizer settings, and for
// classification the class balance of the rows the accuracy is judged on.
import {
  adam,
  momentum,
  rmsprop,
  sgd,
  type Dataset,
  type ModelInfo,
  type Optimizer,
  type VerdictContext,
} from '@gradc/runtime';

const DEFAULT_LR: Record<string, () => number> = {
  sgd: () => sgd().lr,
  momentum: () => momentum().lr,
  adam: () => adam().lr,
  adamw: () => adam().lr,
  rmsprop: () => rmsprop().lr,
};

/** Share of the most frequent class among the rows of `data` (one-hot or 0/1 targets). */
export function majorityShare(data: Dataset, width: number): { classes: number; majority: number } {
  const k = width === 1 ? 2 : width;
  const counts = new Array<number>(k).fill(0);
  for (let r = 0; r < data.count; r++) {
    if (width === 1) counts[data.targets[r]! >= 0.5 ? 1 : 0]!++;
    else {
      let best = 0;
      for (let j = 1; j < width; j++)
        if (data.targets[r * width + j]! > data.targets[r * width + best]!) best = j;
      counts[best]!++;
    }
  }
  // A loop, not Math.max(...counts): a model may have more outputs than the stack has room.
  let most = 0;
  for (const c of counts) most = Math.max(most, c);
  return { classes: k, majority: data.count > 0 ? most / data.count : 0 };
}

/**
 * Loss of the best constant prediction fitted on `train` (the mean for mse, the median for
 * mae) on the rows of `judged`; undefined for other losses.
 */
export function constantLoss(
  loss: string,
  train: Dataset,
  judged: Dataset,
  width: number,
): number | undefined {
  if ((loss !== 'mse' && loss !== 'mae') || train.count === 0 || judged.count === 0)
    return undefined;
  let total = 0;
  for (let j = 0; j < width; j++) {
    const col = Array.from({ length: train.count }, (_, r) => train.targets[r * width + j]!);
    col.sort((a, b) => a - b);
    const c =
      loss === 'mse'
        ? col.reduce((a, b) => a + b, 0) / col.length
        : col[Math.floor((col.length - 1) / 2)]!;
    let sum = 0;
    for (let r = 0; r < judged.count; r++) {
      const d = judged.targets[r * width + j]! - c;
      sum += loss === 'mse' ? d * d : Math.abs(d);
    }
    total += sum / judged.count;
  }
  return total / width;
}

export function describeRun(
  model: ModelInfo,
  cfg: { readonly patience?: number; readonly weightDecay?: number },
  optimizer: Optimizer,
  train: Dataset,
  judged: Dataset,
  classification: boolean,
  weighted: boolean,
): VerdictContext {
  const share = classification ? majorityShare(judged, model.outputSize) : undefined;
  const baseline = classification
    ? undefined
    : constantLoss(model.loss, train, judged, model.outputSize);
  const defaultLr = DEFAULT_LR[optimizer.name]?.();
  return {
    layers: model.layers,
    optimizer: {
      name: optimizer.name,
      // The configured rate: a schedule may have decayed `lr` to 0 by the end.
      lr: optimizer.schedule !== undefined ? optimizer.schedule(0, 0) : optimizer.lr,
      ...(defaultLr !== undefined ? { defaultLr } : {}),
      ...(optimizer.clipNorm !== undefined ? { clipNorm: optimizer.clipNorm } : {}),
      ...(cfg.weightDecay !== undefined ? { weightDecay: cfg.weightDecay } : {}),
    },
    ...(cfg.patience !== undefined ? { patience: cfg.patience } : {}),
    ...(baseline !== undefined
      ? {
          baseline: {
            loss: baseline,
            what: `always predicting the training ${model.loss === 'mse' ? 'mean' : 'median'}`,
          },
        }
      : {}),
    ...(share !== undefined
      ? {
          classes: {
            count: share.classes,
            majority: share.majority,
            rows: judged.count,
            weighted,
          },
        }
      : {}),
  };
}
