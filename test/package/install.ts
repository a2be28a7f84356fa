// Packs both packages as `npm publish` would and installs the tarballs, together, into a fresh
// project, as a user does with `npm install gradc`: the tests then use only what the tarballs
// carry. No network beyond the registry (the compiler's own dependencies come from it, or
// npm's cache); @gradc/runtime comes from its tarball, not the registry.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/gradc-cli.ts';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 300_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function ok(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

export interface Installed {
  /** The temporary folder holding everything below; removed by `cleanup`. */
  readonly tmp: string;
  readonly tarballs: { readonly gradc: string; readonly runtime: string };
  /** A project with both tarballs installed. */
  readonly project: string;
  /** What `npm install` printed on stderr (warnings included). */
  readonly installWarnings: string;
  cleanup(): void;
}

const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

export async function packAndInstall(): Promise<Installed> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-package-'));
  const packs = path.join(tmp, 'packs');
  fs.mkdirSync(packs);
  // `npm pack` runs each package's prepack script: the tsc build into dist/.
  await ok(
    'npm',
    ['pack', '--silent', '--workspace', '@gradc/runtime', '--pack-destination', packs],
    ROOT,
  );
  await ok('npm', ['pack', '--silent', '--pack-destination', packs], ROOT);
  const tarballs = {
    gradc: path.join(packs, 'gradc-0.1.0.tgz'),
    runtime: path.join(packs, 'gradc-runtime-0.1.0.tgz'),
  };
  const project = path.join(tmp, 'app');
  newProject(project);
  const flags = NPM_FLAGS.map((f) => (f === '--loglevel=error' ? '--loglevel=warn' : f));
  const install = await run(
    'npm',
    ['install', ...flags, tarballs.gradc, tarballs.runtime],
    project,
  );
  if (install.code !== 0) throw new Error(`npm install exited ${install.code}\n${install.stderr}`);
  return {
    tmp,
    tarballs,
    project,
    installWarnings: install.stderr,
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}

export function newProject(dir: string, type: 'module' | 'commonjs' = 'module'): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: path.basename(dir), private: true, type }, null, 2),
  );
}

export async function npmInstall(dir: string, specs: readonly string[]): Promise<void> {
  await ok('npm', ['install', ...NPM_FLAGS, ...specs], dir);
}

/** Total bytes of the files under `dir`. */
export function treeSize(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}
