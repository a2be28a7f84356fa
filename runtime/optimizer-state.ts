// The optimizer state file that lets `--resume` continue a run exactly: step count, epoch,
// learning rate and the per-parameter buffers (Adam's moments, momentum, RMSprop's mean
// square), tied to a parameter layout by the same hash as the weights file. JSON, because
// JSON.stringify prints the shortest text that parses back to the same double.

import type { OptimizerState } from './optimizers.ts';
import type { ModelInfo } from './types.ts';
import { layoutHash, WeightsError } from './weights.ts';

const FORMAT = 'gradc-optimizer-state';
const VERSION = 1;

export function encodeOptimizerState(model: ModelInfo, state: OptimizerState): string {
  for (const [k, v] of Object.entries(state.slots)) {
    if (v.length !== model.paramCount) {
      throw new WeightsError(
        'badParams',
        `optimizer buffer ${k} has ${v.length} entries, model ${model.name} has ${model.paramCount} parameters`,
      );
    }
  }
  const slots = Object.fromEntries(Object.entries(state.slots).map(([k, v]) => [k, Array.from(v)]));
  return `${JSON.stringify({
    format: FORMAT,
    version: VERSION,
    model: model.name,
    layoutHash: layoutHash(model).toString(16).padStart(16, '0'),
    optimizer: state.optimizer,
    iterations: state.iterations,
    epoch: state.epoch,
    lr: state.lr,
    slots,
  })}\n`;
}

function bad(message: string): WeightsError {
  return new WeightsError('badJson', `optimizer state: ${message}`);
}

/** Parses and checks an optimizer state file for `model`; throws a WeightsError if it does not fit. */
export function decodeOptimizerState(text: string, model: ModelInfo): OptimizerState {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw bad(`does not parse: ${(e as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('must be an object');
  const r = o as Record<string, unknown>;
  if (r.format !== FORMAT) throw new WeightsError('badMagic', 'not a gradc optimizer state file');
  if (r.version !== VERSION) {
    throw new WeightsError(
      'badVersion',
      `optimizer state: unsupported version ${String(r.version)}`,
    );
  }
  const expected = layoutHash(model).toString(16).padStart(16, '0');
  if (r.layoutHash !== expected) {
    throw new WeightsError(
      'wrongLayout',
      `optimizer state was saved for a different parameter layout than model ${model.name}`,
    );
  }
  if (typeof r.optimizer !== 'string') throw bad('"optimizer" must be a name');
  const int = (k: string): number => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw bad(`"${k}" must be a non-negative integer`);
    return v;
  };
  if (typeof r.lr !== 'number' || !(r.lr > 0) || !Number.isFinite(r.lr))
    throw bad('"lr" must be a positive number');
  if (typeof r.slots !== 'object' || r.slots === null || Array.isArray(r.slots))
    throw bad('"slots" must be an object');
  const slots: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(r.slots as Record<string, unknown>)) {
    if (
      !Array.isArray(v) ||
      v.length !== model.paramCount ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw bad(`buffer "${k}" must hold ${model.paramCount} finite numbers`);
    }
    slots[k] = Float64Array.from(v as number[]);
  }
  return {
    optimizer: r.optimizer,
    iterations: int('iterations'),
    epoch: int('epoch'),
    lr: r.lr,
    slots,
  };
}
