// Compiler scaling (issue 4): compile time, generated size and peak memory of
// `node compiler/cli/gradc.mjs compile F -o out.js` for MLPs of ~1k, 10k, 100k and 1M
// parameters. Writes bench/scaling.json and refreshes BENCHMARKS.md when results.json exists.
//
//   npx tsx bench/scaling.ts            all sizes
//   npx tsx bench/scaling.ts --quick    1k and 10k only
//
// Peak RSS comes from GNU time (`/usr/bin/time -v`, which includes any processes the CLI
// starts); without it, from process.resourceUsage().maxRSS of the CLI process itself,
// recorded by a preloaded module on exit. A failing compile is recorded, not thrown.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machine.ts';
import { describe, layout, type NetSpec } from './models.ts';
import { writeReport } from './report.ts';
import type { Results } from './results.ts';
import type { ScalingResults, ScalingRow } from './scaling-types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'compiler/cli/gradc.mjs');
const GNU_TIME = '/usr/bin/time';
const TIMEOUT_MS = 180_000;

const mlp = (name: string, input: number, hidden: number[], out: number): NetSpec => ({
  name,
  inputSize: input,
  layers: [
    ...hidden.map((units) => ({ units, activation: 'relu' as const })),
    { units: out, activation: 'softmax' as const },
  ],
  loss: 'categoricalCrossEntropy',
});

// ≈ 1k, 10k, 100k and 1M parameters.
const MODELS: readonly NetSpec[] = [
  mlp('scale-1k', 32, [24], 8),
  mlp('scale-10k', 64, [128], 16),
  mlp('scale-100k', 784, [128], 10),
  mlp('scale-1m', 784, [1024, 200], 10),
];

/** The model file format of issue 2. */
function modelFile(spec: NetSpec): string {
  return JSON.stringify({
    name: spec.name,
    input: spec.inputSize,
    layers: spec.layers.map((l) => ({ type: 'dense', units: l.units, activation: l.activation })),
    loss: spec.loss,
    precision: 'f64',
  });
}

interface Run {
  readonly code: number | null;
  readonly seconds: number;
  readonly stderr: string;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => (stderr += `\n${e.message}`));
    child.on('close', (code) =>
      resolve({ code, seconds: Number(process.hrtime.bigint() - t0) / 1e9, stderr }),
    );
  });
}

async function compileOne(
  spec: NetSpec,
  dir: string,
  useGnuTime: boolean,
  preload: string,
): Promise<ScalingRow> {
  const file = path.join(dir, `${spec.name}.model.json`);
  const out = path.join(dir, `${spec.name}.js`);
  const rssFile = path.join(dir, `${spec.name}.rss`);
  writeFileSync(file, modelFile(spec));
  const base = { sizes: describe(spec), params: layout(spec).paramCount };
  const cliArgs = [CLI, 'compile', file, '-o', out];
  const r = useGnuTime
    ? await run(GNU_TIME, ['-v', process.execPath, ...cliArgs], process.env)
    : await run(process.execPath, ['--import', pathToUrl(preload), ...cliArgs], {
        ...process.env,
        GRADC_BENCH_RSS_FILE: rssFile,
      });
  let peakRssMiB: number | undefined;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (m) peakRssMiB = Number(m[1]) / 1024;
  else if (existsSync(rssFile)) peakRssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  // GNU time's own report is not the CLI's error message.
  const cliErr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s/.test(l) && !l.startsWith('Command '));
  if (r.code !== 0 || !existsSync(out)) {
    const why = r.code === null ? `timed out after ${TIMEOUT_MS / 1000} s` : `exit ${r.code}`;
    return {
      ...base,
      status: `failed (${why}): ${(cliErr.at(-1) ?? '').slice(0, 200)}`,
      seconds: r.seconds,
      peakRssMiB,
    };
  }
  return { ...base, status: 'ok', seconds: r.seconds, peakRssMiB, outputBytes: statSync(out).size };
}

function pathToUrl(p: string): string {
  return new URL(`file://${p}`).href;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const models = values.quick ? MODELS.slice(0, 2) : MODELS;
  const useGnuTime = existsSync(GNU_TIME);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gradc-scaling-'));
  const preload = path.join(dir, 'rss-preload.mjs');
  writeFileSync(
    preload,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.GRADC_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
  );
  const rows: ScalingRow[] = [];
  try {
    if (!existsSync(CLI)) {
      for (const spec of models)
        rows.push({
          sizes: describe(spec),
          params: layout(spec).paramCount,
          status: 'failed: compiler/cli/gradc.mjs does not exist yet',
          seconds: 0,
        });
    } else {
      for (const spec of models) {
        const row = await compileOne(spec, dir, useGnuTime, preload);
        process.stdout.write(
          `${row.sizes.padEnd(18)} ${String(row.params).padStart(9)} params  ${row.status === 'ok' ? `${row.seconds.toFixed(2)} s, ${row.peakRssMiB?.toFixed(0)} MiB, ${((row.outputBytes ?? 0) / 1024).toFixed(0)} KiB` : row.status}\n`,
        );
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results: ScalingResults = {
    machine: machineInfo(),
    rssMethod: useGnuTime
      ? '/usr/bin/time -v (includes child processes)'
      : 'process.resourceUsage().maxRSS of the CLI process',
    cli: 'node compiler/cli/gradc.mjs compile F -o out.js',
    rows,
  };
  writeFileSync(path.join(ROOT, 'bench/scaling.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('wrote bench/scaling.json\n');
  const resultsFile = path.join(ROOT, 'bench/results.json');
  if (existsSync(resultsFile)) {
    await writeReport(JSON.parse(readFileSync(resultsFile, 'utf8')) as Results);
    process.stdout.write('refreshed BENCHMARKS.md\n');
  }
}

await main();
