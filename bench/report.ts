// Regenerates BENCHMARKS.md from bench/results.json (and bench/scaling.json when present).
// `npx tsx bench/report.ts [results.json]`; run.ts calls writeReport after a full run.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Op } from './registry.ts';
import type { CaseResult, ImplResult, Results } from './results.ts';
import type { ScalingResults } from './scaling-types.ts';
import { CNN_REFERENCE } from './verify.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCHMARKS = `${ROOT}BENCHMARKS.md`;

function us(x: number): string {
  if (x >= 1000) return x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

function ratio(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toFixed(2);
}

function cell(r: ImplResult | undefined, op: Op, showRatio: boolean): string {
  if (r === undefined) return '';
  if (r.status === 'unavailable')
    return /not generated yet/.test(r.reason ?? '') ? 'not generated yet' : 'unavailable¹';
  if (r.status !== 'ok') return `${r.status}¹`;
  const t = r.timing?.[op];
  if (op === 'train' && r.trainUnavailable !== undefined) return 'cannot train³';
  if (t === undefined) return '—';
  const mark = r.variant !== undefined ? '²' : '';
  return showRatio
    ? `${us(t.medianUs)} (${ratio(r.ratio?.[op] ?? NaN)}×)${mark}`
    : `${us(t.medianUs)}${mark}`;
}

function columns(res: Results): string[] {
  const names: string[] = [];
  for (const c of res.cases)
    for (const [n, r] of Object.entries(c.impls)) {
      // An optional variant nobody generated (gradc f32) would only add an empty column.
      if (n === 'gradc f32' && r.status === 'unavailable') continue;
      if (!names.includes(n)) names.push(n);
    }
  return names;
}

function timeTable(res: Results, op: Op): string[] {
  const cols = columns(res);
  const lines = [
    `| model | batch | ${cols.join(' | ')} |`,
    `|---|---:|${cols.map(() => '---:').join('|')}|`,
  ];
  for (const c of res.cases)
    lines.push(
      `| ${c.sizes} | ${c.batch} | ${cols.map((n) => cell(c.impls[n], op, n !== 'hand-written')).join(' | ')} |`,
    );
  return lines;
}

function bytes(r: ImplResult | undefined, op: Op): string {
  const a = r?.alloc?.[op];
  if (a === undefined) return '—';
  if (a.bytes === null) return 'n/m';
  return a.bytes < 0.5 ? '0' : a.bytes < 10 ? a.bytes.toFixed(1) : a.bytes.toFixed(0);
}

function allocTable(res: Results): string[] {
  const cols = columns(res).filter((n) => res.cases.some((c) => c.impls[n]?.alloc !== undefined));
  const lines = [
    `| model | batch | ${cols.map((n) => `${n} train / infer`).join(' | ')} |`,
    `|---|---:|${cols.map(() => '---:').join('|')}|`,
  ];
  for (const c of res.cases)
    lines.push(
      `| ${c.sizes} | ${c.batch} | ${cols.map((n) => `${bytes(c.impls[n], 'train')} / ${bytes(c.impls[n], 'infer')}`).join(' | ')} |`,
    );
  return lines;
}

function cheapTable(res: Results): string[] {
  const lines = [
    '| model | implementation | forward µs | gradient µs | gradient ÷ forward | bytes/call (gradient, forward) |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const c of res.cases)
    for (const [n, r] of Object.entries(c.impls)) {
      if (r.cheapGradient === undefined) continue;
      const f = r.timing?.forward1?.medianUs ?? NaN;
      const g = r.timing?.gradient1?.medianUs ?? NaN;
      lines.push(
        `| ${c.sizes} | ${n} | ${us(f)} | ${us(g)} | ${r.cheapGradient.toFixed(2)} | ${bytes(r, 'gradient1')}, ${bytes(r, 'forward1')} |`,
      );
    }
  return lines;
}

function notes(res: Results): string[] {
  const lines: string[] = [];
  const failures = new Set<string>();
  const variants = new Map<string, Map<string, string[]>>();
  for (const c of res.cases)
    for (const [n, r] of Object.entries(c.impls)) {
      const reason = `${n}: ${r.reason}`;
      if (r.status !== 'ok' && !/not generated yet/.test(r.reason ?? '') && !failures.has(reason)) {
        failures.add(reason);
        lines.push(`- ¹ **${n}** (${c.id}): ${r.status} — ${r.reason}`);
      }
      const against = r.verification?.against;
      if (n === 'hand-written' && against === CNN_REFERENCE && !failures.has(against)) {
        failures.add(against);
        lines.push(`- ⁴ ${c.id} is verified against these: ${against}.`);
      }
      const noTrain = `${n}: ${r.trainUnavailable}`;
      if (r.trainUnavailable !== undefined && !failures.has(noTrain)) {
        failures.add(noTrain);
        lines.push(`- ³ **${n}** (${c.id}) cannot train this model: ${r.trainUnavailable}`);
      }
      if (r.variant === undefined) continue;
      const byNote = variants.get(n) ?? new Map<string, string[]>();
      variants.set(n, byNote);
      const sizes = byNote.get(r.variant) ?? [];
      if (!sizes.includes(c.sizes)) sizes.push(c.sizes);
      byNote.set(r.variant, sizes);
    }
  for (const [n, byNote] of variants) {
    const what = [...byNote].map(([note, sizes]) => `${sizes.join(', ')}: ${note}`).join('; ');
    lines.push(
      `- ² **${n}** cannot express these models exactly, so it runs the nearest variant with the same sizes, weights and data (${what}). It is verified against the reference for that variant; its figures are indicative, not like-for-like.`,
    );
  }
  return lines;
}

function verificationTable(res: Results): string[] {
  const lines = [
    '| case | implementation | precision | outputs | gradient (from one SGD step) | per-sample gradient |',
    '|---|---|---|---:|---:|---:|',
  ];
  const e = (x: number | undefined): string => (x === undefined ? '—' : x.toExponential(1));
  for (const c of res.cases)
    for (const [n, r] of Object.entries(c.impls)) {
      const v = r.verification;
      if (v !== undefined)
        lines.push(
          `| ${c.id} | ${n} | ${r.precision} | ${e(v.outputError)} | ${e(v.gradientError)} | ${e(v.sampleGradientError)} |`,
        );
    }
  return lines;
}

function scalingSection(): string[] {
  const file = `${ROOT}bench/scaling.json`;
  if (!existsSync(file))
    return [
      'Not measured yet: run `npx tsx bench/scaling.ts` once `compiler/cli/gradc.mjs` exists.',
    ];
  const s = JSON.parse(readFileSync(file, 'utf8')) as ScalingResults;
  const lines = [
    `Measured ${s.machine.date.slice(0, 10)} on ${s.machine.cpu}, Node ${s.machine.node}; peak RSS by ${s.rssMethod}.`,
    '',
    'Compile time is wall time of the whole CLI process, Node start-up included.',
    '',
    '| model | parameters | compile s | peak RSS MiB | output KiB | status |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of s.rows) {
    const ok = r.status === 'ok';
    lines.push(
      `| ${r.sizes} | ${r.params.toLocaleString('en-US')} | ${ok ? r.seconds.toFixed(2) : '—'} | ${r.peakRssMiB?.toFixed(0) ?? '—'} | ${ok && r.outputBytes !== undefined ? (r.outputBytes / 1024).toFixed(0) : '—'} | ${ok ? 'ok' : r.status.replace(/\|/g, '/')} |`,
    );
  }
  return lines;
}

export function renderReport(res: Results): string {
  const m = res.machine;
  const peers = res.implementations
    .filter((p) => p.packageName !== undefined)
    .map((p) => `- **${p.name}**: \`${p.packageName}\` ${p.version ?? ''} — ${p.install}`);
  return [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/report.ts from bench/results.json; edit the script, not this file. -->',
    '',
    `Run \`npm run bench\` (full, a few minutes; \`-- --quick\` for a smoke run). Last full run: ${m.date.slice(0, 16).replace('T', ' ')} UTC,`,
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node} (V8 ${m.v8}); ${res.mode} mode, ${res.durationSec} s.`,
    ...loadLine(res),
    '',
    'Method: every implementation gets the same seeded weights and data (rounded to f32 so f32 libraries load them exactly);',
    'outputs and the gradient recovered from one SGD step are checked against an f64 reference before anything is timed;',
    'implementations are timed interleaved in one process (rotating order, weights restored before each block), after a',
    `warm-up of ${res.settings.warmupMs} ms each; figures are medians over ≥ ${res.settings.minRounds} rounds. Ratios are time ÷ the hand-written`,
    'baseline’s time (below 1 = faster than hand-written). Data tensors are created once, outside the timed region, for',
    'every library; inference includes reading the outputs back into JS memory, and a jax-js training step reads its loss',
    '(jax-js is lazy: nothing runs until a result is read).',
    '',
    '## Training step (µs per SGD step on the batch, median)',
    '',
    ...timeTable(res, 'train'),
    '',
    '## Inference (µs per forward pass over the batch, median)',
    '',
    ...timeTable(res, 'infer'),
    '',
    ...notes(res),
    '',
    ...cnnTargets(res),
    ...cnnWasmTargets(res),
    ...mlpWasmTargets(res),
    '## Cheap-gradient ratio (one sample)',
    '',
    ...cheapTable(res),
    '',
    '## Allocation (JS-heap bytes per call in steady state)',
    '',
    'Measured in a child process with `--expose-gc`: new-space use after forced GC, before and after n calls, minus a',
    'no-op run, with a GC watch (n/m = a GC kept interfering); the smallest of three runs. Only the new space is read',
    'because code V8 compiles in the background mid-run lands elsewhere. For the largest case n is small (few slow',
    'calls), so a one-off can remain; `test/allocation-tier.test.ts` measures steady state per entry point.',
    'WebAssembly memory (TF.js wasm, jax-js) is not JS heap and is not counted.',
    '',
    ...allocTable(res),
    '',
    '## Verification (max |error| ÷ max |expected|)',
    '',
    ...verificationTable(res),
    '',
    '## Libraries',
    '',
    ...peers,
    '',
    '## Compiler scaling',
    '',
    ...scalingSection(),
    '',
  ].join('\n');
}

function loadLine(res: Results): string[] {
  const start = res.machine.loadAverage;
  if (start === undefined) return [];
  const end = res.loadAverageEnd;
  const fmt = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
  return [
    `Load average (1 / 5 / 15 min) at the start ${fmt(start)}${end ? `, at the end ${fmt(end)}` : ''}: the machine is shared, so absolute times vary between runs; ratios within one run are what compares.`,
  ];
}

/** Issue 8's performance targets for the CNN at batch 32, judged from this run's figures. */
function cnnTargets(res: Results): string[] {
  const c = res.cases.find((x) => x.id === 'mnist-cnn-b32');
  const g = c?.impls.gradc;
  const t = (name: string, op: Op) => c?.impls[name]?.timing?.[op]?.medianUs;
  const gt = t('gradc', 'train');
  const gi = t('gradc', 'infer');
  if (c === undefined || g?.status !== 'ok' || gt === undefined || gi === undefined) return [];
  const speedup = (other: number | undefined, mine: number) =>
    other === undefined ? undefined : other / mine;
  const judge = (x: number | undefined, want: number) =>
    x === undefined
      ? 'not measured'
      : `${x.toFixed(x >= 10 ? 0 : 2)}× — ${x >= want ? 'met' : 'not met'}`;
  const wasm = t('tfjs-wasm', 'infer');
  return [
    '## Issue 8 targets (CNN, batch 32, gradc f64, this run)',
    '',
    `- Training step ≥ 20× faster than TF.js cpu: ${judge(speedup(t('tfjs-cpu', 'train'), gt), 20)}.`,
    `- Training step ≥ 1.5× faster than the hand-written loop: ${judge(speedup(t('hand-written', 'train'), gt), 1.5)}.`,
    `- Inference ≥ 1.5× faster than the hand-written loop: ${judge(speedup(t('hand-written', 'infer'), gi), 1.5)}.`,
    wasm === undefined
      ? '- TF.js wasm inference: not measured.'
      : `- TF.js wasm inference: ${us(wasm)} µs against gradc's ${us(gi)} µs — ${wasm < gi ? `TF.js wasm is ${(gi / wasm).toFixed(1)}× faster (gradc's WebAssembly backend: the next section)` : `gradc is ${(wasm / gi).toFixed(1)}× faster`}.`,
    '',
  ];
}

/** Issue 12's targets for the CNN on the WebAssembly backend, judged from this run. */
function cnnWasmTargets(res: Results): string[] {
  const c = res.cases.find((x) => x.id === 'mnist-cnn-b32');
  const t = (name: string, op: Op) => c?.impls[name]?.timing?.[op]?.medianUs;
  const wt = t('gradc wasm f32', 'train');
  const wi = t('gradc wasm f32', 'infer');
  if (wt === undefined || wi === undefined) return [];
  const ratio = (x: number | undefined) =>
    x === undefined ? undefined : x.toFixed(x >= 10 ? 0 : 2);
  const js32 = t('gradc f32', 'train');
  const js64 = t('gradc', 'train');
  const w64 = t('gradc wasm', 'train');
  const tf = t('tfjs-wasm', 'infer');
  const speed = (js: number | undefined, w: number | undefined) =>
    js === undefined || w === undefined ? undefined : js / w;
  const s32 = speed(js32, wt);
  const s64 = speed(js64, w64);
  return [
    '## Issue 12 targets (CNN, batch 32, WebAssembly backend, this run)',
    '',
    `- Training step ≥ 5× the JS backend: f32 ${s32 === undefined ? 'not measured' : `${ratio(s32)}× — ${s32 >= 5 ? 'met' : 'not met'}`}; f64 ${s64 === undefined ? 'not measured' : `${ratio(s64)}×`}.`,
    tf === undefined
      ? '- Inference within 1.5× of TF.js wasm: TF.js wasm not measured.'
      : `- Inference within 1.5× of TF.js wasm: ${us(wi)} µs against ${us(tf)} µs, ${(wi / tf).toFixed(2)}× TF.js's time — ${wi <= 1.5 * tf ? 'met' : 'not met'}.`,
    '',
  ];
}

/** Issue 12's targets for 784-128-10 and the small nets, judged from this run. The bench runs
 * Node without --experimental-wasm-relaxed-simd, so these are the plain-SIMD kernels. */
function mlpWasmTargets(res: Results): string[] {
  const t = (id: string, name: string, op: Op) =>
    res.cases.find((x) => x.id === id)?.impls[name]?.timing?.[op]?.medianUs;
  const judge = (x: number | undefined, want: number) =>
    x === undefined ? 'not measured' : `${x.toFixed(2)}× — ${x >= want ? 'met' : 'not met'}`;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : a / b;
  const wt = t('mnist-b32', 'gradc wasm f32', 'train');
  const wi = t('mnist-b32', 'gradc wasm f32', 'infer');
  if (wt === undefined || wi === undefined) return [];
  const hand = t('mnist-b32', 'hand wasm f32', 'train');
  // The small net's module as `auto` compiles it: WebAssembly where the plan takes it.
  const small = (op: Op) => t('iris-b16', 'gradc wasm', op) ?? t('iris-b16', 'gradc', op);
  const neverSlower = ['xor-b1', 'xor-b4', 'iris-b1', 'iris-b16'].map((id) => {
    const js = t(id, 'gradc', 'train');
    const auto = t(id, 'gradc wasm', 'train') ?? js;
    return `${id} ${js === undefined || auto === undefined ? 'not measured' : `${(js / auto).toFixed(2)}×`}`;
  });
  return [
    '## Issue 12 targets (784-128-10 batch 32 f32, small nets; WebAssembly backend, this run)',
    '',
    `- Training step ≥ 3× jax-js: ${judge(ratio(t('mnist-b32', 'jax-js', 'train'), wt), 3)}.`,
    `- Training step ≥ 10× TF.js wasm: ${judge(ratio(t('mnist-b32', 'tfjs-wasm', 'train'), wt), 10)}.`,
    `- Training step within 1.5× of the hand-written WebAssembly kernel: ${hand === undefined ? 'not measured' : `${(wt / hand).toFixed(2)}× its time — ${wt <= 1.5 * hand ? 'met' : 'not met'}`}.`,
    `- Inference ≥ 1.2× TF.js wasm: ${judge(ratio(t('mnist-b32', 'tfjs-wasm', 'infer'), wi), 1.2)} (relaxed SIMD is off in the bench).`,
    `- f64 training step ≥ 4× the JS backend: ${judge(ratio(t('mnist-b32', 'gradc', 'train'), t('mnist-b32', 'gradc wasm', 'train')), 4)}.`,
    `- 4-16-16-3 batch 16 training step ≥ 2.5× the plain typed-array loops (hand-written), as \`auto\` compiles it: ${judge(ratio(t('iris-b16', 'hand-written', 'train'), small('train')), 2.5)}.`,
    `- Small nets never slower than the JS backend (JS time ÷ \`auto\`'s, training step; xor stays on JS): ${neverSlower.join(', ')}.`,
    '',
  ];
}

/** Writes BENCHMARKS.md, formatted with the repo's prettier config so `format:check` stays green. */
export async function writeReport(res: Results): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(BENCHMARKS)) ?? {};
  writeFileSync(
    BENCHMARKS,
    await prettier.format(renderReport(res), { ...options, parser: 'markdown' }),
  );
  return BENCHMARKS;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? `${ROOT}bench/results.json`;
  await writeReport(JSON.parse(readFileSync(file, 'utf8')) as Results);
  process.stdout.write(`wrote ${BENCHMARKS}\n`);
}
