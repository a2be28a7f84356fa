// Measures a generated JS module in a fresh V8: which functions reach TurboFan after a
// realistic warm-up, and how many bytes each entry point allocates per call afterwards.
// Run: node --allow-natives-syntax --expose-gc --max-semi-space-size=64 probe.mjs FILE.mjs
// Prints one JSON object. Internal functions (gradient_part0, ...) are exported from a copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const file = process.argv[2];
const src = fs.readFileSync(file, 'utf8');
const all = [...src.matchAll(/^(export )?function (\w+)\(/gm)];
const internal = all.filter((m) => !m[1]).map((m) => m[2]);
const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-probe-')), 'm.mjs');
fs.writeFileSync(tmp, internal.length ? `${src}\nexport { ${internal.join(', ')} };\n` : src);
const mod = await import(pathToFileURL(tmp).href);
const m = mod.model;
const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
let seed = 7;
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
const params = Arr.from({ length: m.paramCount }, () => rnd() * 0.2);
const input = Arr.from({ length: m.inputSize }, rnd);
const target = new Arr(m.outputSize);
target[0] = 1;
const output = new Arr(m.outputSize);
const grad = new Arr(m.paramCount);
const work = new Arr(m.workSize);
const calls = {
  forward: () => mod.forward(params, input, output, work),
  loss: () => mod.loss(params, input, target, work),
  gradient: () => mod.gradient(params, input, target, grad, work),
};
const names = all.map((x) => x[2]);
const TURBOFAN = 1 << 6;
const status = (name) => %GetOptimizationStatus(mod[name]);
const optimized = () => names.every((n) => (status(n) & TURBOFAN) !== 0);

// Warm up until everything is optimized (straight-line code can take ~0.5 s of calls).
const t0 = performance.now();
let rounds = 0;
// At least two seconds of calls, so that background compilation has settled before measuring.
while ((!optimized() || performance.now() - t0 < 2000) && performance.now() - t0 < 10000) {
  for (let i = 0; i < 50; i++) for (const f of Object.values(calls)) f();
  rounds++;
}
const tiers = Object.fromEntries(
  names.map((n) => [n, { status: status(n), turbofan: (status(n) & TURBOFAN) !== 0 }]),
);

const warmupMs = Math.round(performance.now() - t0);

// Allocation: new-space growth over N calls with no GC in between (64 MB semi-space; a GC
// would show up as a shrinking heap and is reported). N is sized to ~0.3 s per entry.
// Each entry point is called from its own monomorphic loop, as an application would.
const loops = {
  forward: (n) => {
    for (let i = 0; i < n; i++) mod.forward(params, input, output, work);
    return output[0];
  },
  loss: (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += mod.loss(params, input, target, work);
    return s;
  },
  gradient: (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += mod.gradient(params, input, target, grad, work);
    return s;
  },
};
// Objects a function allocates land in the new space; compiled code and feedback (which a
// late background compilation adds) do not, so the new space alone is measured.
const newSpaceUsed = () =>
  v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;
const bytesPerCall = {};
for (const [name, loop] of Object.entries(loops)) {
  const t1 = performance.now();
  loop(20);
  const perCall = (performance.now() - t1) / 20;
  const n = Math.max(200, Math.min(200000, Math.floor(300 / Math.max(perCall, 1e-6))));
  loop(n); // the loop itself gets optimized before it is measured
  // Three runs, keeping the smallest: a one-off (a late recompilation) is not a per-call cost.
  let best;
  for (let run = 0; run < 3; run++) {
    globalThis.gc();
    const h0 = newSpaceUsed();
    const sink = loop(n);
    const h1 = newSpaceUsed();
    const r = {
      bytes: (h1 - h0) / n,
      calls: n,
      gcDuringRun: h1 < h0,
      finite: Number.isFinite(sink),
    };
    if (!best || r.bytes < best.bytes) best = r;
  }
  bytesPerCall[name] = best;
}
fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
console.log(JSON.stringify({ tiers, warmupMs, rounds, bytesPerCall, workSize: m.workSize }));
