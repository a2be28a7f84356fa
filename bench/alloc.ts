// Child process (started by run.ts with --expose-gc): JS-heap bytes allocated per call in
// steady state, for every implementation and entry point. Memory inside WebAssembly
// instances (TF.js wasm, jax-js) is not JS heap and is not counted.
//
// Method: warm up, force GC, read the new space's use, run n calls, read it again. A garbage
// collection during the n calls would hide allocations, so GCs are watched and the
// measurement is retried with fewer calls; a no-op run of the same length is subtracted.

import v8 from 'node:v8';
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { errorText, isUnavailable, type Prepared } from './impl.ts';
import { CASES, makeData } from './models.ts';
import { IMPLS, LR, SEED, type Op } from './registry.ts';

export interface AllocFigure {
  /** Bytes per call, or null if it could not be measured without a GC interfering. */
  readonly bytes: number | null;
  readonly calls: number;
}
export type AllocResults = Record<
  string,
  Record<string, Partial<Record<Op, AllocFigure>> & { error?: string }>
>;

/** Calls slower than this are not measured (see main). */
const SLOW_CALL_MS = 250;

const gcFn = (globalThis as { gc?: () => void }).gc;
let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

// Objects that code allocates land in the new space; code and feedback that V8 compiles in
// the background mid-run do not, and would otherwise be charged to the calls measured.
const newSpaceUsed = (): number =>
  v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_used_size ?? NaN;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const noop = (): void => {};

async function heapDelta(run: () => void, n: number): Promise<{ bytes: number; clean: boolean }> {
  if (gcFn === undefined) throw new Error('run with --expose-gc');
  gcFn();
  gcFn();
  await tick();
  await tick();
  const before = gcCount;
  const h0 = newSpaceUsed();
  for (let i = 0; i < n; i++) run();
  const h1 = newSpaceUsed();
  await tick();
  await tick();
  return { bytes: h1 - h0, clean: gcCount === before };
}

// The minimum of three clean measurements: per-call allocations recur every time, while
// one-off ones (V8 compiling or re-optimizing code mid-run) do not.
async function bytesPerCall(
  run: () => void,
  perCallMs: number,
  maxMs: number,
): Promise<AllocFigure> {
  let n = Math.max(10, Math.min(20_000, Math.floor(maxMs / 3 / Math.max(perCallMs, 1e-4))));
  let best: number | null = null;
  let clean = 0;
  for (let attempt = 0; attempt < 8 && clean < 3 && n >= 2; attempt++) {
    const measured = await heapDelta(run, n);
    const control = await heapDelta(noop, n);
    if (measured.clean && control.clean) {
      clean++;
      const bytes = Math.max(0, (measured.bytes - control.bytes) / n);
      best = best === null ? bytes : Math.min(best, bytes);
    } else if (clean === 0) n = Math.floor(n / 4);
  }
  return { bytes: best, calls: n };
}

function entry(p: Prepared, op: Op): (() => void) | undefined {
  switch (op) {
    case 'train':
      return p.trainUnavailable === undefined ? () => p.trainStep() : undefined;
    case 'infer':
      return () => p.infer();
    case 'gradient1':
      return p.gradient1 && (() => p.gradient1?.());
    case 'forward1':
      return p.forward1 && (() => p.forward1?.());
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      cases: { type: 'string' },
      impls: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  if (values.out === undefined) throw new Error('--out is required');
  const caseIds = values.cases?.split(',');
  const implNames = values.impls?.split(',');
  const warmupMs = values.quick ? 60 : 400;
  const maxMs = values.quick ? 100 : 400;
  const results: AllocResults = {};
  for (const c of CASES.filter((k) => caseIds === undefined || caseIds.includes(k.id))) {
    const data = makeData(c.spec, c.batch, SEED);
    results[c.id] = {};
    for (const f of IMPLS.filter((k) => implNames === undefined || implNames.includes(k.name))) {
      let p;
      try {
        p = await f.prepare(c, data, LR);
      } catch (e) {
        results[c.id][f.name] = { error: errorText(e) };
        continue;
      }
      if (isUnavailable(p)) continue;
      const row: Partial<Record<Op, AllocFigure>> = {};
      for (const op of ['train', 'infer', 'gradient1', 'forward1'] as const) {
        const run = entry(p, op);
        if (run === undefined) continue;
        await p.activate?.();
        p.load(data.params);
        const start = performance.now();
        run();
        if (performance.now() - start > SLOW_CALL_MS) {
          // Seconds per call (TF.js cpu training the CNN): the ≥ 10 calls per measurement
          // would take minutes, for a figure nobody compares; reported as not measured.
          row[op] = { bytes: null, calls: 0 };
          continue;
        }
        let calls = 1;
        while (performance.now() - start < warmupMs || calls < 3) {
          run();
          if ((++calls & 1023) === 0) p.load(data.params);
        }
        p.load(data.params);
        row[op] = await bytesPerCall(run, (performance.now() - start) / calls, maxMs);
      }
      results[c.id][f.name] = row;
      p.dispose();
      process.stderr.write(`  alloc ${c.id} ${f.name}: ${JSON.stringify(row)}\n`);
    }
  }
  writeFileSync(values.out, JSON.stringify(results, null, 2));
}

await main();
