// File handling for the CLI: reading model files (bounded) and the output checks and atomic
// writes every command shares (see paths.ts, write.ts).
import { GradcError } from '../format/errors.ts';
import { MAX_FILE_BYTES } from '../format/limits.ts';
import { checkOutputs } from './paths.ts';
import { readBounded } from './read.ts';

export { checkOutputs, type FileArg } from './paths.ts';
export { writeAtomic, writeFiles, type OutputFile } from './write.ts';

/**
 * Reads at most MAX_FILE_BYTES + 1 bytes: a huge file, a device (`/dev/zero`) or a pipe that
 * never ends is refused by `parseModelBytes` without being read into memory.
 */
export function readModelFile(file: string): Uint8Array {
  try {
    return readBounded(file, '$', { bytes: MAX_FILE_BYTES });
  } catch (e) {
    if (e instanceof GradcError && e.detail === 'is a directory')
      throw new GradcError(file, '$', 'is a directory, not a model file');
    throw e;
  }
}

/** `gradc compile -o`: the output against the model file (see checkOutputs). */
export function checkOutputPath(out: string, input: string, option = '-o'): void {
  checkOutputs([{ file: input, option: '<model>' }], [{ file: out, option }]);
}
