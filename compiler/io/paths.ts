// Which files a command reads and writes, and whether the writes are safe: every output is
// checked against every input and every other output (same file under any spelling, through
// a symbolic link or a hard link), and only regular files are ever replaced.
import fs from 'node:fs';
import path from 'node:path';
import { GradcError } from '../format/errors.ts';

/** The longest file name (one path component, in bytes) Linux, macOS and Windows allow. */
export const NAME_MAX = 255;

/** A file named on the command line, with the option that named it (for messages). */
export interface FileArg {
  readonly file: string;
  /** `<model>`, `--data`, `-o`, `--out`, ... */
  readonly option: string;
}

/**
 * The absolute path with every existing folder resolved through its links: two spellings of
 * one place give the same string even when the file itself does not exist yet.
 */
export function canonicalPath(file: string): string {
  const abs = path.resolve(file);
  const rest: string[] = [];
  let dir = abs;
  for (;;) {
    try {
      const real = fs.realpathSync(dir);
      return rest.length === 0 ? real : path.join(real, ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return abs;
      rest.push(path.basename(dir));
      dir = parent;
    }
  }
}

interface Identity {
  readonly path: string;
  /** `dev:ino` of what the path names (through links), when it exists. */
  readonly inode?: string;
}

function identity(file: string): Identity {
  try {
    const st = fs.statSync(file);
    return { path: canonicalPath(file), inode: `${st.dev}:${st.ino}` };
  } catch {
    return { path: canonicalPath(file) };
  }
}

function same(a: Identity, b: Identity): boolean {
  return a.path === b.path || (a.inode !== undefined && a.inode === b.inode);
}

function kindOf(st: fs.Stats): string | undefined {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return st.isFile() ? undefined : 'not a regular file';
}

/**
 * Why `file` may not be replaced by a rename, or undefined when it may: gradc replaces only
 * regular files, never a device, a FIFO or a link (a rename would put a regular file in place
 * of the node, or of the link, instead of writing where it points).
 */
export function unsafeTarget(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  const kind = kindOf(st);
  if (kind === undefined) return undefined;
  if (kind === 'a directory') return 'is a directory';
  if (kind === 'a symbolic link')
    return 'is a symbolic link; gradc does not replace links (name the file it points to)';
  return `is ${kind}, not a regular file; gradc only replaces regular files`;
}

/** The nearest folder that exists above `file` (the folders below it will be created). */
function existingFolder(file: string): { folder: string; missing: boolean } {
  let dir = path.dirname(path.resolve(file));
  let missing = false;
  for (;;) {
    try {
      fs.statSync(dir);
      return { folder: dir, missing };
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return { folder: dir, missing };
      missing = true;
      dir = parent;
    }
  }
}

function checkFolder(out: FileArg): void {
  const { folder } = existingFolder(out.file);
  if (!fs.statSync(folder).isDirectory())
    throw new GradcError(out.file, out.option, `${folder} is not a folder`);
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GradcError(
      out.file,
      out.option,
      code === 'EROFS'
        ? `cannot write the file: the file system is read-only (EROFS)`
        : `the folder ${folder} is not writable`,
    );
  }
}

/**
 * Refuses, before any work, outputs that would destroy something or cannot work: an input
 * (or another output) under another name, a non-regular target, a folder that cannot be
 * written. Missing folders are fine: the writer creates them.
 */
export function checkOutputs(inputs: readonly FileArg[], outputs: readonly FileArg[]): void {
  const ins = inputs.map((f) => ({ ...f, id: identity(f.file) }));
  const outs: (FileArg & { id: Identity })[] = [];
  for (const out of outputs) {
    const id = identity(out.file);
    const input = ins.find((i) => same(i.id, id));
    if (input !== undefined) {
      throw new GradcError(
        out.file,
        out.option,
        input.option === '<model>'
          ? 'the output file is the model file itself'
          : `would overwrite the ${input.option} file ${input.file}`,
      );
    }
    const other = outs.find((o) => same(o.id, id));
    if (other !== undefined)
      throw new GradcError(
        out.file,
        out.option,
        `is the same file as ${other.option} ${other.file}`,
      );
    const nameBytes = Buffer.byteLength(path.basename(out.file));
    if (nameBytes > NAME_MAX)
      throw new GradcError(
        out.file,
        out.option,
        `the file name is ${nameBytes} bytes, more than the ${NAME_MAX} a file system allows`,
      );
    const why = unsafeTarget(out.file);
    if (why !== undefined) throw new GradcError(out.file, out.option, why);
    checkFolder(out);
    outs.push({ ...out, id });
  }
}
