// Reading input files with a size bound: at most `limit + 1` bytes are ever read, so a huge
// file, a device (`/dev/zero`) or a pipe that never ends is refused without filling memory.
import fs from 'node:fs';
import { GradcError } from '../format/errors.ts';

export interface ReadLimit {
  readonly bytes: number;
  /** How to raise it, for the message (`raise it with --max-data-bytes`). */
  readonly hint?: string;
}

function tooLarge(file: string, where: string, limit: ReadLimit, size?: number): GradcError {
  const hint = limit.hint ? ` (${limit.hint})` : '';
  return new GradcError(
    file,
    where,
    size !== undefined
      ? `the file is ${size} bytes, more than the limit of ${limit.bytes}${hint}`
      : `the file is more than the limit of ${limit.bytes} bytes${hint}`,
  );
}

/**
 * The bytes of `file`, refused with a one-line error (naming `where`) when it is a folder,
 * cannot be read or holds more than `limit.bytes`.
 */
export function readBounded(file: string, where: string, limit: ReadLimit): Buffer {
  let fd: number | undefined;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new GradcError(file, where, 'is a directory');
    if (st.isFile() && st.size > limit.bytes) throw tooLarge(file, where, limit, st.size);
    fd = fs.openSync(file, 'r');
    // A regular file is read at its size; anything else in growing steps up to the bound.
    let buf = Buffer.alloc(Math.min(limit.bytes + 1, st.isFile() ? st.size + 1 : 1 << 16));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > limit.bytes) break;
        const bigger = Buffer.alloc(Math.min(limit.bytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > limit.bytes) throw tooLarge(file, where, limit);
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof GradcError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new GradcError(file, where, `cannot read the file (${code})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
