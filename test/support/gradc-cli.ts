// The gradc command spawned as a user runs it (`node compiler/cli/gradc.mjs`, not npx), for
// the tests of every area. Spawns are asynchronous so tests can run concurrently.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GRADC = path.join(ROOT, 'compiler/cli/gradc.mjs');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// Each spawn is about a second of CPU (tsx start-up): two at a time keep two cores busy
// without thrashing; callers' timeouts cover the wait in this queue.
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
        // execFile reports a non-zero exit as an error whose `code` is the exit code.
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
