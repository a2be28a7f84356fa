// The CLI in-process (its main function, as gradc.mjs calls it, with stdout and stderr
// captured) and what the file tests need around it: a fresh folder with a model, data and a
// trained weights pair; snapshots of a folder to prove nothing outside the outputs changed;
// special files (FIFOs, device nodes, tmpfs mounts) where the system allows them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { main } from '../../compiler/cli/main.ts';
import { tempDir } from './helpers.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `gradc ARGS` in this process. */
export async function cli(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A user error: exit 2 and exactly one line on stderr, of printable ASCII (or what the user typed). */
export function isOneLineError(r: CliRun): boolean {
  return (
    r.code === 2 &&
    /^gradc: [^\n]*\n$/.test(r.stderr) &&
    !/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(r.stderr)
  );
}

export const XOR_MODEL = {
  name: 'xor',
  input: 2,
  layers: [
    { type: 'dense', units: 8, activation: 'tanh' },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
  loss: 'mse',
};

/** 40 rows of exclusive or with a little noise, classes "no" and "yes". */
export function xorCsv(scale = 1, classes: readonly [string, string] = ['no', 'yes']): string {
  const lines = ['a,b,y'];
  for (let i = 0; i < 40; i++) {
    const a = i % 2;
    const b = (i >> 1) % 2;
    const jitter = ((i * 7) % 10) / 100;
    lines.push(`${(a + jitter) * scale},${(b - jitter) * scale},${classes[a ^ b]}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Workspace {
  readonly dir: string;
  readonly model: string;
  readonly data: string;
  readonly weights: string;
  readonly meta: string;
}

/** A fresh folder with m.model.json, d.csv and (if `trained`) w.bin + w.bin.meta.json. */
export async function workspace(
  opts: { trained?: boolean; model?: object; csv?: string } = {},
): Promise<Workspace> {
  const dir = tempDir('gradc-files-');
  const model = path.join(dir, 'm.model.json');
  const data = path.join(dir, 'd.csv');
  fs.writeFileSync(model, JSON.stringify(opts.model ?? XOR_MODEL));
  fs.writeFileSync(data, opts.csv ?? xorCsv());
  const weights = path.join(dir, 'w.bin');
  if (opts.trained) {
    const r = await cli(trainArgs(model, data, weights));
    if (r.code !== 0) throw new Error(`training the workspace failed: ${r.stderr}`);
  }
  return { dir, model, data, weights, meta: `${weights}.meta.json` };
}

export function trainArgs(model: string, data: string, out: string, ...more: string[]): string[] {
  return [
    'train',
    model,
    '--data',
    data,
    '--label',
    'y',
    // Enough to learn exclusive or: a run that does not learn exits 4 and writes nothing.
    '--epochs',
    '200',
    '--lr',
    '0.05',
    '--out',
    out,
    '--quiet',
    ...more,
  ];
}

/** Everything about a folder tree a command could change: type, mode, owner, content, link. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      // Not the link count: replacing one name of a hard-linked file lowers the other's.
      let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ino ${st.ino}`;
      if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(p)}`;
      else if (st.isFile())
        what += ` ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
      else if (st.isCharacterDevice() || st.isBlockDevice()) what += ` rdev ${st.rdev}`;
      out.set(path.relative(dir, p), what);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Names whose entry differs between two snapshots. */
export function changed(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

export const isRoot = process.getuid?.() === 0;

/** `mknod NAME c 1 3`: a replica of /dev/null. False where device nodes cannot be made. */
export function makeCharDevice(file: string): boolean {
  try {
    execFileSync('mknod', [file, 'c', '1', '3'], { stdio: 'ignore' });
    return fs.lstatSync(file).isCharacterDevice();
  } catch {
    return false;
  }
}

export function makeFifo(file: string): boolean {
  try {
    execFileSync('mkfifo', [file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Mounts a tmpfs of `kb` KB at `dir` (root only); false where mounting is not possible. */
export function mountTmpfs(dir: string, kb: number, readOnly = false): boolean {
  try {
    execFileSync(
      'mount',
      ['-t', 'tmpfs', '-o', `size=${kb}k${readOnly ? ',ro' : ''}`, 'tmpfs', dir],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // Not mounted (the test was skipped) or already gone.
  }
}

/** Fills the file system of `dir` to the last block. */
export function fillUp(dir: string): void {
  const block = Buffer.alloc(4096, 1);
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  try {
    for (;;) fs.writeSync(fd, block);
  } catch {
    // ENOSPC: then byte by byte, for the last partial block.
    try {
      for (;;) fs.writeSync(fd, block, 0, 1);
    } catch {
      // Full.
    }
  } finally {
    fs.closeSync(fd);
  }
}
