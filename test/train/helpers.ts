// Shared helpers for the training tests: temporary folders, a quiet runTrain, and the gradc
// command (test/support/gradc-cli.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runTrain, type TrainConfig, type TrainResult } from '../../compiler/cli/train.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXAMPLES = path.join(ROOT, 'examples');
export const DATA = path.join(EXAMPLES, 'data');

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

export { gradc, type Run } from '../support/gradc-cli.ts';

export function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
