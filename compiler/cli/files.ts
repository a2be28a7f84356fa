// File handling for the CLI: reading model files and writing outputs atomically.
import fs from 'node:fs';
import path from 'node:path';
import { GradcError } from '../spec/errors.ts';

export function readModelFile(file: string): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new GradcError(file, '$', 'is a directory, not a model file');
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof GradcError) throw e;
    throw new GradcError(
      file,
      '$',
      `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** Refuses output paths that cannot work before any compilation happens. */
export function checkOutputPath(out: string, input: string): void {
  const resolved = path.resolve(out);
  if (resolved === path.resolve(input))
    throw new GradcError(out, '-o', 'the output file is the model file itself');
  const dir = path.dirname(resolved);
  if (!fs.existsSync(dir)) throw new GradcError(out, '-o', `the folder ${dir} does not exist`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new GradcError(out, '-o', `the folder ${dir} is not writable`);
  }
  if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory())
    throw new GradcError(out, '-o', 'is a directory');
}

/** Write to a temporary file beside the target, then rename: readers never see half a file. */
export function writeAtomic(file: string, text: string): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`,
  );
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new GradcError(
      file,
      '-o',
      `cannot write the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}
