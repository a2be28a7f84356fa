// Reading the weights (and optimizer state) files the CLI is given — predict's --weights,
// train's --resume — bounded by what the model's parameters can take, so a huge file or a
// device is refused without being read into memory, and with the loader's messages escaped
// (they quote bytes of the file).
import {
  decodeOptimizerState,
  decodeWeights,
  WeightsError,
  type FloatArray,
  type ModelInfo,
  type OptimizerState,
} from '@gradc/runtime';
import { escapeText, GradcError } from '../format/errors.ts';
import { readBounded } from '../io/read.ts';

/** A weights file holds 8 bytes per parameter (binary) or at most ~26 characters (JSON). */
export function weightsLimit(model: ModelInfo): number {
  return (1 << 16) + 64 * model.paramCount;
}

function decoded<T>(file: string, option: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof WeightsError)) throw e;
    throw new GradcError(file, option, escapeText(e.message, 300));
  }
}

/** The bytes of a weights file, read up to what `model`'s weights can take. */
export function readWeightsBytes(file: string, option: string, model: ModelInfo): Uint8Array {
  return readBounded(file, option, { bytes: weightsLimit(model) });
}

/** The parameters in `bytes` (binary or JSON weights) for `model`. */
export function decodeWeightsFile(
  file: string,
  option: string,
  bytes: Uint8Array,
  model: ModelInfo,
): FloatArray {
  return decoded(file, option, () => decodeWeights(bytes, model));
}

/** An optimizer state file (JSON, a few buffers of ~26 characters per parameter). */
export function readOptimizerFile(file: string, option: string, model: ModelInfo): OptimizerState {
  const bytes = readBounded(file, option, { bytes: (1 << 16) + 4 * 64 * model.paramCount });
  return decoded(file, option, () => decodeOptimizerState(new TextDecoder().decode(bytes), model));
}
