// Measures a generated JS module in a fresh V8. Prints one JSON object.
//   node --allow-natives-syntax --expose-gc --max-semi-space-size=64 probe.mjs tiers FILE.mjs
//     which functions reach TurboFan after a realistic warm-up (%GetOptimizationStatus);
//   node ... probe.mjs alloc FILE.mjs
//     new-space bytes per call of each entry point in steady state.
// Internal functions (gradient_part0, gradient_loop1, ...) are exported from a copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const [mode, file] = process.argv.slice(2);
if (mode !== 'tiers' && mode !== 'alloc') throw new Error('usage: probe.mjs tiers|alloc FILE.mjs');
const src = fs.readFileSync(file, 'utf8');
// init() and alloc() are the module's set-up contract, called once, not hot-path code; so are
// a WebAssembly module's glue helpers (decoding the bytes, the not-initialized error) and its
// two tiny address helpers, which take the kernels and byte addresses, not arrays: the entry
// points that call them are probed.
const all = [...src.matchAll(/^(export )?function (\w+)\(([^)]*)\)/gm)].filter(
  (m) => m[2] !== 'alloc' && m[2] !== 'init' && !/^wasm[A-Z]/.test(m[2]),
);
const internal = all.filter((m) => !m[1]).map((m) => m[2]);
const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-probe-')), 'm.mjs');
fs.writeFileSync(tmp, internal.length ? `${src}\nexport { ${internal.join(', ')} };\n` : src);
const mod = await import(pathToFileURL(tmp).href);
fs.rmSync(path.dirname(tmp), { recursive: true, force: true });

await mod.init?.();
const m = mod.model;
const Arr = m.precision === 'f32' ? Float32Array : Float64Array;
/** In the module's memory where it has one: a WebAssembly module's fast (zero-copy) path. */
const inMemory = (a) => {
  const b = mod.alloc ? mod.alloc(a.length) : new Arr(a.length);
  b.set(a);
  return b;
};
let seed = 7;
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
// Five samples: one block of four (for nets with loops) and one for the remainder path.
const BATCH = 5;
const params = inMemory(Arr.from({ length: m.paramCount }, () => rnd() * 0.2));
// Tensors initialized to ones (gamma, a moving variance) stay near 1: a negative variance
// would make batchNormalization's inference NaN.
for (const p of m.params)
  if (p.init === 'ones') for (let i = 0; i < p.size; i++) params[p.offset + i] += 1;
const input = Arr.from({ length: m.inputSize }, rnd);
const inputs = inMemory(Arr.from({ length: BATCH * m.inputSize }, rnd));
const target = new Arr(m.outputSize);
target[0] = 1;
const targets = new Arr(BATCH * m.outputSize);
for (let s = 0; s < BATCH; s++) targets[s * m.outputSize] = 1;
const output = new Arr(m.outputSize);
const outputs = new Arr(BATCH * m.outputSize);
const grad = inMemory(new Arr(m.paramCount));
const work = new Arr(m.workSize);
const sink = new Float64Array(1);

// Each entry point is called from its own monomorphic loop, as an application would. The
// loss goes into a typed array: a running `let` sum would be boxed while the measuring loop
// itself is not yet optimized, and that allocation is not the generated code's.
const loops = {
  forward: (n) => {
    for (let i = 0; i < n; i++) mod.forward(params, input, output, work);
    return output[0];
  },
  loss: (n) => {
    for (let i = 0; i < n; i++) sink[0] += mod.loss(params, input, target, work);
    return sink[0];
  },
  gradient: (n) => {
    for (let i = 0; i < n; i++) sink[0] += mod.gradient(params, input, target, grad, work);
    return sink[0];
  },
  forwardBatch: (n) => {
    for (let i = 0; i < n; i++) mod.forwardBatch(params, inputs, outputs, BATCH, work);
    return outputs[0];
  },
  gradientBatch: (n) => {
    for (let i = 0; i < n; i++)
      sink[0] += mod.gradientBatch(params, inputs, targets, BATCH, grad, work);
    return sink[0];
  },
};

if (mod.sgd)
  loops.sgd = (n) => {
    for (let i = 0; i < n; i++) mod.sgd(params, grad, 1e-9);
    return params[0];
  };

// A WebAssembly module's batched entry points fall back to its JavaScript batched code
// (forwardBatch_js, gradientBatch_js) for arrays from outside its memory: the tier probe
// warms that documented slow path too, on plain copies.
const wasmBacked = src.includes('const wasmBytes');
const plain = { params: Arr.from(params), inputs: Arr.from(inputs), grad: new Arr(m.paramCount) };
const slowLoops = wasmBacked
  ? {
      forwardBatch: (n) => {
        for (let i = 0; i < n; i++)
          mod.forwardBatch(plain.params, plain.inputs, outputs, BATCH, work);
        return outputs[0];
      },
      gradientBatch: (n) => {
        for (let i = 0; i < n; i++)
          sink[0] += mod.gradientBatch(
            plain.params,
            plain.inputs,
            targets,
            BATCH,
            plain.grad,
            work,
          );
        return sink[0];
      },
    }
  : {};

const TURBOFAN = 1 << 6;
const names = all.map((x) => x[2]);
const status = (name) => %GetOptimizationStatus(mod[name]);
const isTurbofan = (name) => (status(name) & TURBOFAN) !== 0;
/** Loop kernels may run as on-stack-replaced code without code of their own. */
const isLoop = (name) => /_loop\d+$|_rest$|^gradientBatch_(clear|scale)$/.test(name);
const ENTRIES = new Set(['forward', 'loss', 'gradient', 'forwardBatch', 'gradientBatch']);
// A WebAssembly module's optional SGD update is an entry point too.
if (mod.sgd) ENTRIES.add('sgd');

function probeTiers() {
  // Internal functions can be called directly, with arguments found by parameter name.
  const byName = {
    params,
    input,
    inputs,
    target,
    targets,
    output,
    outputs,
    grad,
    work,
    // A WebAssembly module's head (head_inputGradient): dLoss/d(its input), output-sized.
    dinput: output,
    count: BATCH,
    start: 0,
    xo: 0,
    to: 0,
    oo: 0,
  };
  const direct = all
    .filter((x) => !x[1])
    .map((x) => {
      const args = x[3].split(',').map(
        (a) =>
          byName[
            a
              .replace(/:.*$/, '')
              .trim()
              .replace(/(xo|to|oo)\d+$/, '$1')
          ],
      );
      const f = mod[x[2]];
      return { name: x[2], call: () => f(...args) };
    });
  // The harness must not be optimized here: TurboFan would inline the entry points into it,
  // and an inlined function never gets code of its own. Called from unoptimized code, each
  // entry point must tier up by itself, as it would in an application.
  for (const loop of [...Object.values(loops), ...Object.values(slowLoops)])
    %NeverOptimizeFunction(loop);
  // At least two seconds of calls (straight-line code needs ~0.5 s before V8 optimizes it),
  // and until the entry points are optimized or fifteen seconds have passed.
  // Each round gives every loop about 2 ms (20 to 1,000 calls): a cheap entry point (sgd, a
  // few µs a call) next to a CNN's batched gradient (milliseconds) otherwise got a fraction
  // of V8's ~3,000 calls in the fifteen seconds on a loaded machine, and stayed in baseline.
  const batches = [...Object.values(loops), ...Object.values(slowLoops)].map((loop) => {
    loop(1);
    const t = performance.now();
    loop(3);
    const ms = (performance.now() - t) / 3;
    return { loop, n: Math.max(20, Math.min(1000, Math.floor(2 / Math.max(ms, 0.002)))) };
  });
  const t0 = performance.now();
  let rounds = 0;
  const optimized = () => [...ENTRIES].every(isTurbofan);
  while ((!optimized() || performance.now() - t0 < 2000) && performance.now() - t0 < 15000) {
    for (const { loop, n } of batches) loop(n);
    rounds++;
  }
  const warmupMs = Math.round(performance.now() - t0);
  // A function V8 is still compiling in the background (status bit "optimizing concurrently",
  // common for large straight-line parts on a loaded machine) is on its way, not refused:
  // let those compilations finish and install before the statuses are read.
  %WaitForBackgroundOptimization();
  %FinalizeOptimization();
  // V8 tiers a function up after about 3,000 calls. An entry point that only dispatches to
  // heavy loop kernels (a convolution takes ~1 ms a sample) gets far fewer calls in the
  // warm-up, and costs nothing while it waits: for those, as for internal functions, the
  // question is whether it can be optimized at all (not over V8's size limit).
  const perCall = {};
  for (const [name, loop] of Object.entries(loops)) {
    const t = performance.now();
    loop(3);
    perCall[name] = (performance.now() - t) / 3;
  }
  const heavy = (name) => ENTRIES.has(name) && perCall[name] > 0.1;
  const tiers = {};
  for (const n of names) {
    const natural = isTurbofan(n);
    let forced;
    // An internal function may have run only inlined into its optimized caller, or (a loop)
    // as on-stack-replaced code. Then it is asked whether it can be optimized on its own:
    // a function over V8's size limit cannot.
    if (!natural && (!ENTRIES.has(n) || heavy(n))) {
      const call = ENTRIES.has(n) ? () => loops[n](1) : direct.find((d) => d.name === n).call;
      %PrepareFunctionForOptimization(mod[n]);
      call();
      %OptimizeFunctionOnNextCall(mod[n]);
      call();
      %WaitForBackgroundOptimization();
      %FinalizeOptimization();
      forced = isTurbofan(n);
    }
    tiers[n] = {
      status: status(n),
      turbofan: natural,
      entry: ENTRIES.has(n) && !heavy(n),
      heavy: heavy(n),
      forced,
    };
  }
  return { tiers, warmupMs, rounds };
}

// Objects a function allocates land in the new space; compiled code and feedback (which a
// late background compilation adds) do not, so the new space alone is measured, with a
// 64 MB semi-space so that no GC runs in between (a GC would show as a shrinking heap).
const newSpaceUsed = () =>
  v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;

function growth(loop, n) {
  let best;
  for (let run = 0; run < 3; run++) {
    globalThis.gc();
    const h0 = newSpaceUsed();
    const out = loop(n);
    const h1 = newSpaceUsed();
    const r = { bytes: h1 - h0, gc: h1 < h0, finite: Number.isFinite(out) };
    if (!best || r.bytes < best.bytes) best = r;
  }
  return best;
}

// Bytes per call as a slope, growth over 2n calls minus growth over n calls, so that fixed
// costs (reading the statistics) cancel. Each entry point is first warmed by its own loop
// for about a second, as a training loop would.
function probeAlloc() {
  const bytesPerCall = {};
  for (const [name, loop] of Object.entries(loops)) {
    const t1 = performance.now();
    loop(20);
    const perCall = (performance.now() - t1) / 20;
    const n = Math.max(100, Math.min(100000, Math.floor(150 / Math.max(perCall, 1e-6))));
    // The measuring loop is harness, not generated code: optimize it outright, or with few
    // (slow) iterations it would still run unoptimized and box the loss it adds up.
    %PrepareFunctionForOptimization(loop);
    loop(1);
    %OptimizeFunctionOnNextCall(loop);
    loop(1);
    // Warm up for a second, then measure; on a loaded machine long straight-line functions
    // can take seconds of background compilation, during which the interpreter boxes every
    // double. So a high figure is measured again after more warm-up (up to four times): a
    // real per-call allocation stays, a compilation still in flight does not.
    let best;
    for (let attempt = 0; attempt < 4; attempt++) {
      const t0 = performance.now();
      do loop(n);
      while (performance.now() - t0 < 1000);
      const once = growth(loop, n);
      const twice = growth(loop, 2 * n);
      const r = {
        bytes: Math.max(0, (twice.bytes - once.bytes) / n),
        calls: n,
        attempts: attempt + 1,
        gcDuringRun: once.gc || twice.gc,
        finite: once.finite && twice.finite,
      };
      if (!best || r.bytes < best.bytes) best = r;
      if (best.bytes <= 16) break;
    }
    bytesPerCall[name] = best;
  }
  return { bytesPerCall };
}

console.log(JSON.stringify(mode === 'tiers' ? probeTiers() : probeAlloc()));
