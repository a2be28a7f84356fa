// Shared helpers for the training tests: temporary folders, a quiet runTrain, and the gradc
// command spawned as a user runs it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runTrain, type TrainConfig, type TrainResult } from '../../compiler/cli/train.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXAMPLES = path.join(ROOT, 'examples');
export const DATA = path.join(EXAMPLES, 'data');
const GRADC = path.join(ROOT, 'compiler/cli/gradc.mjs');

const dirs: string[] = [];
export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-train-test-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** runTrain with defaults for the options a test does not care about, printing nothing. */
export function quietTrain(
  cfg: Partial<TrainConfig> & Pick<TrainConfig, 'model' | 'data' | 'out'>,
): Promise<TrainResult> {
  const lines: string[] = [];
  return runTrain(
    {
      epochs: 100,
      batch: 16,
      optimizer: 'adam',
      seed: 1,
      val: 0.2,
      normalize: true,
      ...cfg,
    },
    { out: (s) => void lines.push(s), err: (s) => void lines.push(s), tty: false },
  );
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// Each spawn is about a second of CPU (tsx start-up, compiling the model): two at a time
// keep two cores busy without thrashing.
const MAX_SPAWNS = 2;
let running = 0;
const queue: (() => void)[] = [];

export async function gradc(...args: string[]): Promise<Run> {
  if (running >= MAX_SPAWNS) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await spawnGradc(args);
  } finally {
    running--;
    queue.shift()?.();
  }
}

function spawnGradc(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.GRADC_DEBUG;
    execFile(
      process.execPath,
      [GRADC, ...args],
      { cwd: ROOT, env, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
