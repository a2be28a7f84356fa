// Weights on disk (Node only; the only runtime file that touches node:fs, so everything
// else can ship to a browser — see browser.ts).
import { createHash } from 'node:crypto';

import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { createPredictor, parseBundleMeta, type Predictor } from './bundle.ts';
import type { FloatArray, GeneratedModule, ModelInfo } from './types.ts';
import { decodeWeights, encodeWeights, encodeWeightsJson, WeightsError } from './weights.ts';
import type { OptimizerState } from './optimizers.ts';
import { decodeOptimizerState, encodeOptimizerState } from './optimizer-state.ts';

export type WeightsFormat = 'binary' | 'json';

export interface SaveOptions {
  /** Default: 'json' for a `.json` path, else 'binary'. */
  readonly format?: WeightsFormat;
}

let tempCounter = 0;

/**
 * Writes `params` atomically: into a temporary file in the same directory (same file
 * system, so rename is atomic), flushed to disk, then renamed over `path`. A crash or an
 * error leaves either the old file or the new one, never a partial file.
 */
export function saveWeights(
  path: string,
  model: ModelInfo,
  params: FloatArray,
  options: SaveOptions = {},
): void {
  const format = options.format ?? (extname(path).toLowerCase() === '.json' ? 'json' : 'binary');
  // Encode first: a bad params array throws before anything touches the disk.
  const data =
    format === 'json'
      ? Buffer.from(encodeWeightsJson(model, params), 'utf8')
      : encodeWeights(model, params);
  writeAtomically(path, data, 'weights');
}

/**
 * `.NAME.PID.N.tmp` beside `path` (the same naming as the CLI's compiler/io/write.ts): the base
 * is cut, whole characters only, so the temporary name fits in a 255-byte file name even when
 * the target's own name is that long.
 */
function tempName(path: string): string {
  const suffix = `.${process.pid}.${++tempCounter}.tmp`;
  let base = '';
  let bytes = 0;
  for (const ch of basename(path)) {
    bytes += Buffer.byteLength(ch);
    if (bytes > 254 - suffix.length) break;
    base += ch;
  }
  return join(dirname(path), `.${base}${suffix}`);
}

function writeAtomically(path: string, data: Uint8Array, what: string): void {
  const temp = tempName(path);
  let mode = 0o666;
  try {
    mode = statSync(path).mode & 0o7777; // replacing a 0600 file keeps it 0600
  } catch {
    // A new file: the umask decides.
  }
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode);
    if (mode !== 0o666) fchmodSync(fd, mode);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // The temp file may never have been created; nothing to clean up then.
    }
    throw new WeightsError('io', `cannot save ${what} to ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new WeightsError('io', `cannot read weights file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function prefixed<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WeightsError && e.code !== 'io') {
      throw new WeightsError(e.code, `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** Reads binary or JSON weights (detected from the content) for `model`. */
export function loadWeights(path: string, model: ModelInfo): FloatArray {
  const bytes = readBytes(path);
  return prefixed(path, () => decodeWeights(bytes, model));
}

/** Like loadWeights, but copies into `params`; on any error `params` is left untouched. */
export function loadWeightsInto(path: string, model: ModelInfo, params: FloatArray): void {
  const loaded = loadWeights(path, model);
  if (params.length !== loaded.length) {
    throw new WeightsError(
      'badParams',
      `params has ${params.length} entries but model ${model.name} has ${loaded.length}`,
    );
  }
  params.set(loaded);
}

/** Writes an optimizer's state (for resuming) atomically, tied to `model`'s layout. */
export function saveOptimizerState(path: string, model: ModelInfo, state: OptimizerState): void {
  writeAtomically(path, Buffer.from(encodeOptimizerState(model, state), 'utf8'), 'optimizer state');
}

/** Reads an optimizer state saved for `model` by saveOptimizerState. */
export function loadOptimizerState(path: string, model: ModelInfo): OptimizerState {
  const bytes = readBytes(path);
  return prefixed(path, () => decodeOptimizerState(new TextDecoder().decode(bytes), model));
}

/**
 * The trained bundle `gradc train --out FILE` writes: the weights in FILE and the column
 * description in FILE.meta.json, checked against `module`, as a ready Predictor.
 */
export function loadBundle(module: GeneratedModule, weightsPath: string): Predictor {
  const params = loadWeights(weightsPath, module.model);
  const metaFile = `${weightsPath}.meta.json`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch (e) {
    throw new WeightsError('io', `${metaFile}: cannot read (${(e as Error).message})`);
  }
  const meta = parseBundleMeta(json, module.model, metaFile);
  // The pair is one unit: the metadata names the weights it was written with.
  if (meta.weights !== undefined) {
    const bytes = readBytes(weightsPath);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (meta.weights.bytes !== bytes.length || meta.weights.sha256 !== sha)
      throw new WeightsError(
        'wrongLayout',
        `${metaFile}: the weights file is not the one written with this file (train again or restore both files)`,
      );
  }
  return createPredictor(module, params, meta);
}
