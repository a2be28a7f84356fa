// Atomic replacement of one or several files. Each file is written to a temporary file in its
// own folder (same file system, so the rename is atomic), flushed, and only when every file of
// the group is on disk are they renamed over their targets, in order. A full disk, a
// read-only folder or a bad name therefore changes nothing; a kill can only happen between
// two renames, which the readers of a group detect (see training/meta.ts: the metadata is
// renamed last and names the weights by content hash).
import fs from 'node:fs';
import path from 'node:path';
import { GradcError } from '../format/errors.ts';
import { NAME_MAX, unsafeTarget } from './paths.ts';

export interface OutputFile {
  readonly file: string;
  /** The option that named it, for messages (`-o`, `--out`, `--report`). */
  readonly option: string;
  readonly data: string | Uint8Array;
}

let counter = 0;

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
function cutUtf8(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/** `.NAME.PID.N.tmp` beside the target, shortened so it fits in a 255-byte file name. */
export function tempName(file: string): string {
  const suffix = `.${process.pid}.${++counter}.tmp`;
  const base = cutUtf8(path.basename(file), NAME_MAX - 1 - suffix.length);
  return path.join(path.dirname(path.resolve(file)), `.${base}${suffix}`);
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** One line for a failed write, in the words of the user rather than of the syscall. */
export function writeFailure(out: { file: string; option: string }, e: unknown): GradcError {
  if (e instanceof GradcError) return e;
  const code = errno(e);
  const dir = path.dirname(path.resolve(out.file));
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
    EROFS: 'the file system is read-only',
    EACCES: `the folder ${dir} is not writable`,
    EPERM: `the folder ${dir} is not writable`,
    ENAMETOOLONG: 'the file name is too long',
    ENOTDIR: `${dir} is not a folder`,
    EISDIR: 'is a directory',
  };
  return new GradcError(
    out.file,
    out.option,
    `cannot write the file: ${why[code] ?? code} (${code})`,
  );
}

/** Creates the missing folders above `file`; returns the topmost one created, if any. */
function makeFolders(file: string): string | undefined {
  return fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
}

function removeFolders(top: string | undefined, file: string): void {
  if (top === undefined) return;
  // Only the empty folders this call created, from the deepest up.
  for (let d = path.dirname(path.resolve(file)); ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
    if (d === top) return;
  }
}

interface Pending {
  readonly out: OutputFile;
  readonly tmp: string;
}

function writeTemp(out: OutputFile): Pending {
  const unsafe = unsafeTarget(out.file);
  if (unsafe !== undefined) throw new GradcError(out.file, out.option, unsafe);
  // Keep the mode (and, for root, the owner) of the file being replaced.
  let old: fs.Stats | undefined;
  try {
    old = fs.statSync(out.file);
  } catch {
    old = undefined;
  }
  // 'wx' (O_CREAT | O_EXCL) never follows a link planted at the temporary name; a name left
  // by a killed process with the same pid is skipped.
  let tmp = tempName(out.file);
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = fs.openSync(tmp, 'wx', old ? old.mode & 0o7777 : 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw e;
      tmp = tempName(out.file);
    }
  }
  try {
    if (old) {
      fs.fchmodSync(fd, old.mode & 0o7777);
      if (process.getuid?.() === 0) {
        try {
          fs.fchownSync(fd, old.uid, old.gid);
        } catch {
          // Some file systems refuse chown even to root; the mode is what matters.
        }
      }
    }
    const bytes = typeof out.data === 'string' ? Buffer.from(out.data, 'utf8') : out.data;
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return { out, tmp };
}

/**
 * Replaces every file of `outputs` (folders created as needed). On any error nothing has
 * changed, the temporary files are gone, and a one-line GradcError names the file.
 */
export function writeFiles(outputs: readonly OutputFile[]): void {
  const pending: Pending[] = [];
  const created: { top: string | undefined; file: string }[] = [];
  let current: OutputFile | undefined;
  // A name too long for the last rename must fail before the first one.
  for (const out of outputs)
    if (Buffer.byteLength(path.basename(out.file)) > NAME_MAX)
      throw writeFailure(out, Object.assign(new Error('name'), { code: 'ENAMETOOLONG' }));
  try {
    for (const out of outputs) {
      current = out;
      created.push({ top: makeFolders(out.file), file: out.file });
      pending.push(writeTemp(out));
    }
  } catch (e) {
    for (const p of pending) fs.rmSync(p.tmp, { force: true });
    for (const c of created.reverse()) removeFolders(c.top, c.file);
    throw writeFailure(current!, e);
  }
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i]!;
    try {
      // A link or a device put there since the check is not followed into the rename.
      const unsafe = unsafeTarget(p.out.file);
      if (unsafe !== undefined) throw new GradcError(p.out.file, p.out.option, unsafe);
      fs.renameSync(p.tmp, p.out.file);
    } catch (e) {
      for (const q of pending.slice(i)) fs.rmSync(q.tmp, { force: true });
      const err = writeFailure(p.out, e);
      if (i === 0) throw err;
      const done = pending.slice(0, i).map((q) => q.out.file);
      throw new GradcError(
        err.file,
        err.where,
        `${err.detail}; ${done.join(', ')} already replaced`,
      );
    }
  }
}

/** One file, atomically (see writeFiles). */
export function writeAtomic(file: string, data: string | Uint8Array, option = '-o'): void {
  writeFiles([{ file, option, data }]);
}
