// `npm run bench`: identical seeded weights and data for every implementation, outputs and
// gradients verified before timing, implementations interleaved in one process, medians.
// Writes bench/results.json and regenerates the table in BENCHMARKS.md (full runs only).
//
//   npm run bench                      full run (a few minutes)
//   npm run bench -- --quick           short smoke run, results to a temp file
//   npm run bench -- --models xor,iris-b16 --impls hand-written,gradc,tfjs-cpu
//   npm run bench -- --no-alloc        skip the allocation child process
//   npm run bench -- --models iris-b16 --impls gradc --gradc-from before=/tmp/old-generated
//                                      also time the f64 JS modules of another directory (a
//                                      copy of an older generated/) beside today's: a
//                                      before/after comparison in one process
//   npm run bench -- --out F --report  write results to F and regenerate BENCHMARKS.md from them

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AllocResults } from './alloc.ts';
import { errorText, isUnavailable, type ImplFactory, type Prepared } from './impl.ts';
import { BASELINE_NAME } from './impl-baseline.ts';
import { gradcImpl } from './impl-gradc.ts';
import { machineInfo } from './machine.ts';
import { CASES, describe, layout, makeData, type BenchCase, type CaseData } from './models.ts';
import { IMPLS, LR, SEED, type Op } from './registry.ts';
import { writeReport } from './report.ts';
import type { CaseResult, ImplResult, PeerInfo, Results } from './results.ts';
import { measureInterleaved, type Series, type Stat, type TimingOptions } from './timing.ts';
import { verify } from './verify.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    impls: { type: 'string' },
    'no-alloc': { type: 'boolean', default: false },
    out: { type: 'string' },
    report: { type: 'boolean', default: false },
    'gradc-from': { type: 'string', multiple: true },
  },
});

const TIMING: TimingOptions = args.quick
  ? { warmupMs: 200, budgetMs: 300, minRounds: 5, maxRounds: 60, blockMs: 1 }
  : { warmupMs: 500, budgetMs: 4000, minRounds: 21, maxRounds: 400, blockMs: 2 };

const modelFilter = args.models?.split(',');
const implFilter = args.impls?.split(',');
const cases = CASES.filter(
  (c) =>
    modelFilter === undefined || modelFilter.includes(c.id) || modelFilter.includes(c.spec.name),
);
// `NAME=DIR` or `DIR` (named gradc@<last path part>).
const compared = (args['gradc-from'] ?? []).map((a) => {
  const eq = a.indexOf('=');
  const dir = path.resolve(eq < 0 ? a : a.slice(eq + 1));
  return gradcImpl(eq < 0 ? `gradc@${path.basename(dir)}` : a.slice(0, eq), '', 'js', dir);
});
// The baseline always runs: every figure is a ratio to it.
const impls = [
  ...IMPLS.filter(
    (f) => f.name === BASELINE_NAME || implFilter === undefined || implFilter.includes(f.name),
  ),
  ...compared,
];
const filtered = modelFilter !== undefined || implFilter !== undefined || compared.length > 0;
const fullRun = !args.quick && !filtered;
const outFile =
  args.out ??
  (fullRun
    ? path.join(ROOT, 'bench/results.json')
    : path.join(os.tmpdir(), 'gradc-bench-results.json'));

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// Walks up from the resolved entry point: some packages (jax-js) do not export ./package.json.
function packageVersion(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === name) return pkg.version;
    } catch {
      // no package.json at this level; keep walking up
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json of ${name} not found`);
    dir = up;
  }
}

function packageInfo(f: ImplFactory): PeerInfo {
  if (f.packageName === undefined) return { name: f.name, install: 'n/a' };
  try {
    return {
      name: f.name,
      packageName: f.packageName,
      version: packageVersion(f.packageName),
      install: 'installed',
    };
  } catch (e) {
    return { name: f.name, packageName: f.packageName, install: `not installed: ${errorText(e)}` };
  }
}

const fmt = (us: number): string =>
  us >= 100 ? us.toFixed(0) : us >= 1 ? us.toFixed(2) : us.toFixed(3);

async function timeOp(
  op: Op,
  ready: Map<string, Prepared>,
  data: CaseData,
): Promise<Map<string, Stat>> {
  const series: Series[] = [];
  for (const [name, p] of ready) {
    const run =
      op === 'train'
        ? () => p.trainStep()
        : op === 'infer'
          ? () => p.infer()
          : op === 'gradient1'
            ? p.gradient1
            : p.forward1;
    if (run === undefined || (op === 'train' && p.trainUnavailable !== undefined)) continue;
    p.load(data.params);
    series.push({
      key: name,
      activate: p.activate && (() => p.activate?.()),
      reset: op === 'train' ? () => p.load(data.params) : undefined,
      run,
    });
  }
  return series.length === 0 ? new Map() : measureInterleaved(series, TIMING);
}

async function runCase(c: BenchCase, cheapGradient: boolean): Promise<CaseResult> {
  const data = makeData(c.spec, c.batch, SEED);
  const results: Record<string, ImplResult> = {};
  const ready = new Map<string, Prepared>();
  for (const f of impls) {
    let p: Prepared;
    try {
      const prepared = await f.prepare(c, data, LR);
      if (isUnavailable(prepared)) {
        results[f.name] = { status: 'unavailable', reason: prepared.unavailable };
        continue;
      }
      p = prepared;
      await p.activate?.();
      const v = verify(p, c, data, LR);
      const base: ImplResult = {
        status: 'ok',
        precision: p.precision,
        variant: p.semantics?.note,
        trainUnavailable: p.trainUnavailable,
        verification: v,
      };
      if (!v.ok) {
        results[f.name] = {
          ...base,
          status: 'failed-verification',
          reason:
            v.vacuous ??
            `errors ${v.outputError.toExponential(2)} (outputs), ${v.gradientError?.toExponential(2) ?? '-'} (gradient), ${v.sampleGradientError?.toExponential(2) ?? '-'} (per-sample gradient) > ${v.tolerance}`,
        };
        p.dispose();
        continue;
      }
      results[f.name] = base;
      ready.set(f.name, p);
    } catch (e) {
      results[f.name] = { status: 'error', reason: errorText(e) };
    }
  }
  if (!ready.has(BASELINE_NAME))
    throw new Error(
      `${c.id}: the hand-written baseline failed verification: ${JSON.stringify(results[BASELINE_NAME])}`,
    );

  const timings = new Map<string, Map<Op, Stat>>([...ready.keys()].map((k) => [k, new Map()]));
  const ops: Op[] = cheapGradient
    ? ['train', 'infer', 'gradient1', 'forward1']
    : ['train', 'infer'];
  for (const op of ops)
    for (const [name, s] of await timeOp(op, ready, data)) timings.get(name)?.set(op, s);
  for (const p of ready.values()) p.dispose();

  const baseline = timings.get(BASELINE_NAME);
  for (const [name, byOp] of timings) {
    const r = results[name];
    r.timing = Object.fromEntries(byOp);
    r.ratio = Object.fromEntries(
      [...byOp].map(([op, s]) => [op, s.medianUs / (baseline?.get(op)?.medianUs ?? NaN)]),
    );
    const g = byOp.get('gradient1');
    const f = byOp.get('forward1');
    if (g !== undefined && f !== undefined) r.cheapGradient = g.medianUs / f.medianUs;
  }
  return {
    id: c.id,
    model: c.spec.name,
    sizes: describe(c.spec),
    batch: c.batch,
    paramCount: layout(c.spec).paramCount,
    impls: results,
  };
}

function printCase(r: CaseResult): void {
  log(`\n${r.id}  (${r.sizes}, batch ${r.batch}, ${r.paramCount} params)`);
  for (const [name, x] of Object.entries(r.impls)) {
    if (x.status !== 'ok') {
      log(`  ${name.padEnd(13)} ${x.status}: ${x.reason ?? ''}`);
      continue;
    }
    const t = x.timing?.train;
    const i = x.timing?.infer;
    const cell = (us: number | undefined, ratio: number | undefined): string =>
      us === undefined ? '-' : `${fmt(us)} µs (${ratio?.toFixed(2)}×)`.padEnd(24);
    const noTrain =
      x.trainUnavailable !== undefined ? `  [cannot train: ${x.trainUnavailable}]` : '';
    const extra = x.cheapGradient !== undefined ? `  grad/fwd ${x.cheapGradient.toFixed(2)}` : '';
    const variant = x.variant !== undefined ? `  [variant: ${x.variant}]` : '';
    log(
      `  ${name.padEnd(13)} train ${cell(t?.medianUs, x.ratio?.train)} infer ${cell(i?.medianUs, x.ratio?.infer)}${extra}${variant}${noTrain}`,
    );
  }
}

async function measureAllocations(
  caseIds: string[],
  implNames: string[],
): Promise<AllocResults | string> {
  const tmp = path.join(os.tmpdir(), `gradc-bench-alloc-${process.pid}.json`);
  const childArgs = [
    '--expose-gc',
    '--max-semi-space-size=64',
    '--import',
    'tsx',
    path.join(ROOT, 'bench/alloc.ts'),
    '--out',
    tmp,
    '--cases',
    caseIds.join(','),
    '--impls',
    implNames.join(','),
  ];
  if (args.quick) childArgs.push('--quick');
  // stdout is dropped: libraries print banners there; the child reports through the file.
  const child = spawn(process.execPath, childArgs, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    process.stdout.write(d);
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0)
    return `allocation child exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(readFileSync(tmp, 'utf8')) as AllocResults;
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo();
  log(
    `gradc bench (${args.quick ? 'quick' : 'full'}) on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
  );
  const implementations = impls.map(packageInfo);
  for (const p of implementations)
    if (p.packageName !== undefined)
      log(`  ${p.name}: ${p.packageName}@${p.version ?? '-'} ${p.install}`);

  const results: CaseResult[] = [];
  const seenModels = new Set<string>();
  for (const c of cases) {
    // The cheap-gradient ratio is per model and per sample: measured on the first case of each model.
    const cheap = !seenModels.has(c.spec.name);
    seenModels.add(c.spec.name);
    const r = await runCase(c, cheap);
    printCase(r);
    results.push(r);
  }

  if (!args['no-alloc']) {
    log('\nallocation (child process, --expose-gc)');
    const alloc = await measureAllocations(
      cases.map((c) => c.id),
      impls.map((f) => f.name),
    );
    for (const r of results)
      for (const [name, x] of Object.entries(r.impls)) {
        if (typeof alloc === 'string') continue;
        const row = alloc[r.id]?.[name];
        if (row !== undefined && x.status === 'ok') {
          const { error, ...figures } = row;
          x.alloc = figures;
          if (error !== undefined) x.reason = `allocation: ${error}`;
        }
      }
    if (typeof alloc === 'string') log(`  ${alloc}`);
  }

  const out: Results = {
    machine,
    mode: args.quick ? 'quick' : 'full',
    filters: { cases: modelFilter, impls: implFilter },
    settings: { ...TIMING, learningRate: LR, seed: SEED },
    implementations,
    cases: results,
    durationSec: Math.round((Date.now() - started) / 1000),
    loadAverageEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
  log(`\nwrote ${path.relative(process.cwd(), outFile) || outFile}`);
  if (fullRun || args.report) {
    const md = await writeReport(out);
    log(`wrote ${path.relative(process.cwd(), md)}`);
  } else log('(quick or filtered run: BENCHMARKS.md left unchanged)');
}

await main();
