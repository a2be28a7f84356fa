// File handling for the CLI: reading model files and writing outputs atomically.
import fs from 'node:fs';
import path from 'node:path';
import { GradcError } from '../format/errors.ts';
import { MAX_FILE_BYTES } from '../format/limits.ts';

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/**
 * Reads at most MAX_FILE_BYTES + 1 bytes: a huge file, a device (`/dev/zero`) or a pipe that
 * never ends is refused by `parseModelBytes` without being read into memory.
 */
export function readModelFile(file: string): Uint8Array {
  let fd: number | undefined;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new GradcError(file, '$', 'is a directory, not a model file');
    if (st.isFile() && st.size > MAX_FILE_BYTES) {
      throw new GradcError(
        file,
        '$',
        `the file is ${st.size} bytes, more than the limit of ${MAX_FILE_BYTES}`,
      );
    }
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_FILE_BYTES) {
      throw new GradcError(file, '$', `the file is more than the limit of ${MAX_FILE_BYTES} bytes`);
    }
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof GradcError) throw e;
    throw new GradcError(file, '$', `cannot read the file (${errno(e)})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    // A symbolic or hard link to the model, or another spelling of its path.
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Refuses output paths that cannot work before any compilation happens. */
export function checkOutputPath(out: string, input: string): void {
  const resolved = path.resolve(out);
  if (sameFile(out, input))
    throw new GradcError(out, '-o', 'the output file is the model file itself');
  const dir = path.dirname(resolved);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new GradcError(out, '-o', `the folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new GradcError(out, '-o', `${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new GradcError(out, '-o', `the folder ${dir} is not writable`);
  }
  if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory())
    throw new GradcError(out, '-o', 'is a directory');
}

/**
 * Writes to a temporary file beside the target, flushes it, then renames it over the target:
 * readers (and a process killed half-way) never see half a file. The temporary file is
 * removed on any error; only a SIGKILL between create and rename can leave it behind, with
 * the target untouched.
 */
export function writeAtomic(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    const code = errno(e);
    throw new GradcError(
      file,
      '-o',
      code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `the folder ${dir} is not writable (${code})`
        : `cannot write the file (${code})`,
    );
  }
}
