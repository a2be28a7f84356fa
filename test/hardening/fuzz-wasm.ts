// The WebAssembly backend on the fuzzer's random dense stacks (fuzz-core.ts's caseArb: every
// hidden activation, custom expressions, every loss, both precisions). `checkWasmCase` compiles
// a case the wasm planner accepts (cost rule off) and checks forwardBatch / gradientBatch on a
// batch that crosses a chunk edge against the JS backend's and the IR interpreter's (the mean
// of per-sample `interpret` runs: the oracle of the math), within 1e-12 relative in f64 and
// 1e-5 in f32, and, in f64, the wasm gradient against central differences of the wasm loss.
//
// The loop-IR interpreter (lower/interpret-loops.ts) runs single kernels, not entry points,
// and the wasm backend does not lower through the loop IR yet, so it is no oracle here.
//
// f32: each backend rounds intermediates to f32 at other places (the unrolled JS body keeps
// some values in doubles; the wasm kernels round every layer's rows), and an ill-conditioned
// network amplifies that. So in f32 the tolerance is max(1e-5, 10 × the JS f32 module's own
// distance from the f64 interpreter on the same data): where JS itself is within 1e-6 of
// exact, wasm must be within 1e-5 of both.
import { wasmRefusal } from '../../compiler/backends/wasm/plan.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { Rng } from '../../runtime/random.ts';
import type { FloatArray } from '../../runtime/types.ts';
import { loadBackend, relErr, type Batched } from '../wasm/harness.ts';
import { dataFor, type FuzzCase } from './fuzz-core.ts';

/** Samples per check: one full chunk of 32 and a partial one, with an odd remainder. */
const COUNT = 37;

export const TOLERANCE = { f32: 1e-5, f64: 1e-12 } as const;

/** The case as a spec, or null when the wasm planner (cost rule off) refuses it. */
export async function wasmSpec(c: FuzzCase): Promise<ModelSpec | null> {
  const spec = await validateModel(c.model, 'fuzz.model.json');
  return wasmRefusal(spec, false) === null ? spec : null;
}

/** The case as a spec when the layer plan refuses it and `"backend": "wasm"` runs its whole
 * per-sample programs in WebAssembly (backends/wasm/whole.ts), else null. */
export async function wholeSpec(c: FuzzCase): Promise<ModelSpec | null> {
  const spec = await validateModel(c.model, 'fuzz.model.json');
  if (wasmRefusal(spec, false) === null) return null;
  const { code } = compileSpec({ ...spec, backend: 'wasm' }, { format: 'js', source: 'f.json' });
  return code.includes('const wasmBytes') ? spec : null;
}

function finite(what: string, a: ArrayLike<number>): void {
  for (let k = 0; k < a.length; k++)
    if (!Number.isFinite(a[k]!)) throw new Error(`${what}[${k}] is ${a[k]}`);
}

const NON_SMOOTH = /relu|leakyRelu|elu|selu|abs|max|min|sign|mae|huber|CrossEntropy|hardSigmoid/;

/** Throws an Error describing the first disagreement. */
export async function checkWasmCase(c: FuzzCase, spec: ModelSpec): Promise<void> {
  const w = await loadBackend(spec, 'wasm', { source: 'fuzz.model.json' });
  const j = await loadBackend(spec, 'js', { source: 'fuzz.model.json' });
  const m = w.model;
  const f32 = m.precision === 'f32';
  const Arr = f32 ? Float32Array : Float64Array;
  const { params: p0 } = dataFor(j, c);
  const rng = new Rng(c.seed ^ 0x2545f491);
  const n = COUNT;
  const inputs = new Arr(n * m.inputSize).map(() => rng.range(-2, 2));
  const targets = new Arr(n * m.outputSize);
  const lossName = typeof c.model.loss === 'string' ? c.model.loss : '';
  for (let s = 0; s < n; s++) {
    const row = targets.subarray(s * m.outputSize, (s + 1) * m.outputSize);
    if (lossName === 'categoricalCrossEntropy') row[rng.int(row.length)] = 1;
    else if (lossName === 'binaryCrossEntropy') row.forEach((_, k) => (row[k] = rng.uniform()));
    else row.forEach((_, k) => (row[k] = rng.range(-1, 1)));
  }

  // JS backend.
  const work = new Arr(m.workSize);
  const oj = new Arr(n * m.outputSize);
  j.forwardBatch(p0, inputs, oj, n, work);
  const gj = new Arr(m.paramCount);
  const lj = j.gradientBatch(p0, inputs, targets, n, gj, work);

  // WebAssembly, on arrays in the module's memory (the zero-copy path); garbage in grad.
  const inMem = (a: FloatArray) => {
    const b = w.alloc(a.length);
    b.set(a);
    return b;
  };
  const pw = inMem(p0);
  const xw = inMem(inputs);
  const ow = w.alloc(n * m.outputSize);
  w.forwardBatch(pw, xw, ow, n, work);
  const gw = w.alloc(m.paramCount).fill(7);
  // Targets in the memory too: the whole-program modules read them in place.
  const tw = inMem(targets);
  const lw = w.gradientBatch(pw, xw, tw, n, gw, work);
  finite('wasm output', ow);
  finite('wasm gradient', gw);
  if (!Number.isFinite(lw)) throw new Error(`wasm loss is ${lw}`);

  // The IR interpreter, sample by sample, averaged as gradientBatch does.
  const oi = new Float64Array(n * m.outputSize);
  const gi = new Float64Array(m.paramCount);
  let li = 0;
  const compiled = compileSpec(spec, { format: 'js', source: 'fuzz.model.json', backend: 'js' });
  for (let s = 0; s < n; s++) {
    const b = {
      params: p0,
      input: inputs.subarray(s * m.inputSize, (s + 1) * m.inputSize),
      target: targets.subarray(s * m.outputSize, (s + 1) * m.outputSize),
    };
    for (const p of compiled.c.programs) {
      if (p.name === 'inputGradient') continue;
      const r = interpret(p, b, m.paramCount);
      if (r.output) oi.set(r.output, s * m.outputSize);
      if (r.grad) for (let k = 0; k < gi.length; k++) gi[k]! += r.grad[k]! / n;
      if (p.name === 'gradient') li += r.loss! / n;
    }
  }

  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));
  const tol = TOLERANCE[m.precision];
  // In f32, scaled by the JS module's own distance from the f64 oracle (see the header).
  const allowed = (jsErr: number) => (f32 ? Math.max(tol, 10 * jsErr) : tol);
  const tols = {
    out: allowed(relErr(oj, oi)),
    grad: allowed(relErr(gj, gi)),
    loss: allowed(rel(lj, li)),
  };
  // A cross-entropy of an output that is not a sigmoid/softmax is clipped to [ε, 1 − ε]: in
  // f32, rounding decides whether an output at the clip is clipped, so the loss value may jump
  // while the gradient (0 through the clip) agrees. Such loss values are compared in f64 only.
  const last = spec.layers[spec.layers.length - 1]!.activation.name;
  const clipped =
    f32 && /CrossEntropy$/.test(spec.loss.name) && last !== 'sigmoid' && last !== 'softmax';
  const checks: [string, number, number][] = [
    ['forwardBatch vs JS', relErr(ow, oj), tols.out],
    ['forwardBatch vs interpreter', relErr(ow, oi), tols.out],
    ['gradientBatch vs JS', relErr(gw, gj), tols.grad],
    ['gradientBatch vs interpreter', relErr(gw, gi), tols.grad],
    ...(clipped
      ? []
      : ([
          ['loss vs JS', rel(lw, lj), tols.loss],
          ['loss vs interpreter', rel(lw, li), tols.loss],
        ] as [string, number, number][])),
  ];
  for (const [what, err, t] of checks)
    if (!(err <= t)) throw new Error(`${what}: relative error ${err} > ${t}`);

  if (f32) return;
  const fd = finiteDifferences(w, pw, xw, tw, gw, c.seed, NON_SMOOTH.test(JSON.stringify(c.model)));
  if (fd) throw new Error(fd);
}

/** A few parameters' gradients against central differences of the wasm mean loss. */
function finiteDifferences(
  w: Batched,
  params: FloatArray,
  inputs: FloatArray,
  targets: FloatArray,
  grad: FloatArray,
  seed: number,
  nonSmooth: boolean,
): string | undefined {
  const m = w.model;
  const scratch = w.alloc(m.paramCount);
  const work = new Float64Array(m.workSize);
  const loss = () => w.gradientBatch(params, inputs, targets, COUNT, scratch, work);
  const rng = new Rng(seed ^ 0x68e31da4);
  const at = (k: number, h: number) => {
    const p = params[k]!;
    params[k] = p + h;
    const up = loss();
    params[k] = p - h;
    const down = loss();
    params[k] = p;
    return (up - down) / (2 * h);
  };
  // Frozen tensors (trainable: false) have a zero gradient whatever the loss does.
  const trainable = m.params.flatMap((t) =>
    t.trainable ? Array.from({ length: t.size }, (_, i) => t.offset + i) : [],
  );
  for (let i = 0; i < 6 && trainable.length; i++) {
    const k = trainable[rng.int(trainable.length)]!;
    const g = grad[k]!;
    const ok = (fd: number, t: number) =>
      Math.abs(fd - g) <= t * (Math.abs(fd) + Math.abs(g)) + 1e-7;
    const fd = at(k, 1e-5);
    // A step across a kink (relu at 0, a clip bound) misleads; a much smaller one does not.
    if (!ok(fd, 1e-5) && !(nonSmooth && ok(at(k, 1e-7), 1e-4)))
      return `finite differences: param ${k} wasm gradient ${g}, numeric ${fd}`;
  }
  return undefined;
}
