// Every command the README shows runs as written on a fresh checkout: here on a copy of
// examples/ and generated/ in a temporary folder, `npx gradc` being the checkout's launcher and
// `npm run X` the package.json script. Not run here: `npm ci`/`npm test` (this is the test),
// `npm run bench` (minutes), `npm run demo:browser` (a server: test/browser-demo/ builds and
// serves the same app), and the "Install and use" section (test/package/install.test.ts runs
// it in a fresh project with the packed packages).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/gradc-cli.ts';
import { gradcCommand, readmeCommands } from './support/readme.ts';

const NOT_HERE = new Set(['npm ci', 'npm test', 'npm run bench', 'npm run demo:browser']);
const LAUNCHER = path.join(ROOT, 'bin/gradc.mjs');
const scripts = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

function translate(command: string): string {
  const npmRun = /^npm run ([\w:-]+)(.*)$/.exec(command);
  if (npmRun) {
    const script = scripts[npmRun[1]!];
    if (script === undefined)
      throw new Error(`README runs a script package.json lacks: ${command}`);
    return (
      gradcCommand(script.replace(/^node compiler\/cli\/gradc\.mjs\b/, 'npx gradc'), LAUNCHER) +
      npmRun[2]
    );
  }
  if (!command.startsWith('npx gradc '))
    throw new Error(`README command of an unknown kind: ${command}`);
  return gradcCommand(command, LAUNCHER);
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-readme-'));
  for (const d of ['examples', 'generated'])
    fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const commands = readmeCommands().filter(
  (c) => c.section !== 'Install and use' && !NOT_HERE.has(c.command),
);

describe('README commands', () => {
  it('are found (the parser reads the README)', () => {
    expect(commands.map((c) => c.command)).toContain('npx gradc schema');
    expect(commands.length).toBeGreaterThan(10);
  });

  it('all run as written, in order, exit 0', async () => {
    for (const { command } of commands) {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          'bash',
          ['-c', translate(command)],
          { cwd: dir, maxBuffer: 64 << 20 },
          (err, _o, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
        ),
      );
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    }
    for (const f of [
      'xor.js',
      'xor.d.ts',
      'xor.cjs',
      'xor.d.cts',
      'iris.weights.bin',
      'iris.html',
      'preds.csv',
      'sine.bin',
    ])
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'preds.csv'), 'utf8')).toMatch(/^predicted,p\(setosa\)/);
  }, 600_000);
});
