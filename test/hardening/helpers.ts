// Shared helpers for the hardening tests: paths, the CLI spawned as users run it, temp dirs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HERE = path.join(ROOT, 'test/hardening');
export const BAD = path.join(HERE, 'bad');
export const GRADC = path.join(ROOT, 'compiler/cli/gradc.mjs');

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

// Each spawn is ~1 s of CPU (tsx start-up) on a 2-core machine: at most two at a time.
const MAX_SPAWNS = 2;
let running = 0;
const queue: (() => void)[] = [];

async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= MAX_SPAWNS) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    queue.shift()?.();
  }
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GRADC_DEBUG;
  return env;
}

/** `node compiler/cli/gradc.mjs ARGS` in `cwd`. */
export function gradc(
  args: readonly string[],
  cwd = ROOT,
  opts: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return slot(
    () =>
      new Promise<Run>((resolve) => {
        execFile(
          process.execPath,
          [...(opts.nodeArgs ?? []), GRADC, ...args],
          { cwd, env: { ...cleanEnv(), ...opts.env }, maxBuffer: 256 << 20 },
          (err, stdout, stderr) => {
            const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
            const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
            resolve({ code, signal: e?.signal ?? null, stdout, stderr });
          },
        );
      }),
  );
}

/** Starts the CLI without waiting (for kill tests); the caller must wait for `exit`. */
export function startGradc(args: readonly string[], cwd = ROOT): ChildProcess {
  return spawn(process.execPath, [GRADC, ...args], { cwd, env: cleanEnv(), stdio: 'ignore' });
}

const dirs: string[] = [];
export function tempDir(prefix = 'gradc-hardening-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A valid model to start from. */
export const BASE_MODEL = {
  input: 3,
  layers: [
    { type: 'dense', units: 4, activation: 'tanh' },
    { type: 'dense', units: 2, activation: 'sigmoid' },
  ],
  loss: 'mse',
} as const;
