// The WebAssembly loop-IR renderer (compiler/backends/wasm/loops.ts) against the loop-IR
// interpreter (compiler/lower/interpret-loops.ts), kernel by kernel: every step of every
// schedule a model compiles to (per sample, and the 4-sample blocks of the batched entry
// points), rendered in f64 and in f32, run on the same data in linear memory and through the
// interpreter. f64 without transcendentals must agree exactly (same operations in the same
// order, vector loops included: f64x2 is lane-wise the scalar op); with them, within 1e-12
// norm-wise; f32 within 1e-5 norm-wise (the interpreter computes in doubles), or within 10×
// the distance of the kernel's scalar f32 rendering (which rounds where the JS backend's f32
// code rounds) for ill-conditioned sums. NaN must appear at the same elements.
import { encodeModule, type WasmFunction } from '../../compiler/backends/wasm/encode.ts';
import {
  LoopRefusal,
  renderLoopKernel,
  transcendentalsOf,
} from '../../compiler/backends/wasm/loops.ts';
import { MAX_PAGES } from '../../compiler/backends/wasm/plan.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import type { Node } from '../../compiler/ir/node.ts';
import { runKernelLanes } from '../../compiler/lower/interpret-loops.ts';
import type { Kernel } from '../../compiler/lower/loop-ir.ts';
import { sharedByLanes, stepKernel } from '../../compiler/lower/step.ts';
import { lower, schedule } from '../../compiler/pipeline.ts';
import type { Schedule } from '../../compiler/schedule/schedule.ts';
import { Rng } from '../../runtime/random.ts';
import { relErr } from './harness.ts';

export interface LoopCheck {
  /** Kernels rendered and checked (each in both precisions). */
  readonly checked: number;
  /** Loops rendered with f32x4 / f64x2 vectors, over all kernels (f64 rendering). */
  readonly vectorLoops: number;
  /** Why kernels were refused, with how many. */
  readonly refused: ReadonlyMap<string, number>;
}

interface Case {
  readonly label: string;
  readonly kernel: Kernel;
  readonly args: readonly Node[];
  readonly summed: boolean;
  /** Arguments every lane reads at one place (loaded once per block). */
  readonly shared: readonly boolean[];
}

function kernelsOf(s: Schedule, label: string): Case[] {
  return s.steps.map((step, i) => {
    const { kernel, args } = stepKernel(step, s);
    const summed = step.storage.kind === 'array' && step.storage.accumulate === true;
    const shared = args.map((a) => sharedByLanes(a, s.dims));
    return {
      label: `${label} step ${i} (%${step.node.id} ${step.node.op})`,
      kernel,
      args,
      summed,
      shared,
    };
  });
}

/** Every kernel the model's entry points are built from. */
export function modelKernels(spec: ModelSpec): Case[] {
  const c = lower(spec);
  const { schedules, batch } = schedule(c);
  const out: Case[] = [];
  for (const [name, s] of Object.entries(schedules))
    if (s) out.push(...kernelsOf(s, `${spec.name} ${name}`));
  const rows = (s: Schedule) => `×${s.lanes}`;
  if (batch.forward.block)
    out.push(...kernelsOf(batch.forward.block, `${spec.name} fwd${rows(batch.forward.block)}`));
  if (batch.gradient.block)
    out.push(...kernelsOf(batch.gradient.block, `${spec.name} grad${rows(batch.gradient.block)}`));
  out.push(...kernelsOf(batch.gradient.sample, `${spec.name} gradientBatch`));
  return out;
}

/** Data in [-2, 2], or (every other draw) whole numbers in [-1, 5]: ids in and out of range
 * for gathers, ties for max pooling. */
function fill(a: Float64Array, rng: Rng, whole: boolean): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] = whole ? rng.int(7) - 1 : rng.range(-2, 2);
  return a;
}

const align = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Renders every kernel of `spec` and checks it against the interpreter; throws on the first
 * disagreement. `seed` picks the data.
 */
export async function checkLoopKernels(spec: ModelSpec, seed = 1): Promise<LoopCheck> {
  const cases = modelKernels(spec);
  const refused = new Map<string, number>();
  let checked = 0;
  let vectorLoops = 0;
  for (const precision of ['f64', 'f32'] as const) {
    const f32 = precision === 'f32';
    const fns: WasmFunction[] = [];
    const kept: Case[] = [];
    for (const cs of cases) {
      try {
        const n = kept.length;
        const r = renderLoopKernel(`k${n}`, cs.kernel, precision, cs.args.length);
        fns.push(r.fn);
        // f32: the scalar rendering too, which rounds where the JS renderer's code does.
        if (f32)
          fns.push(
            renderLoopKernel(`s${n}`, cs.kernel, precision, cs.args.length, { vectors: false }).fn,
          );
        kept.push(cs);
        if (!f32) vectorLoops += r.vectorLoops;
      } catch (e) {
        if (!(e instanceof LoopRefusal)) throw e;
        if (!f32) refused.set(e.message, (refused.get(e.message) ?? 0) + 1);
      }
    }
    if (fns.length === 0) continue;
    // Every (argument, lane) and result lane gets its own region; the interpreter gets the
    // same data as doubles (rounded to f32 first for an f32 kernel).
    const plans = kept.map((cs) => {
      const lanes = cs.kernel.lanes ?? 1;
      return { cs, lanes, shared: cs.shared };
    });
    const e = f32 ? 4 : 8;
    let bytes = 64;
    for (const p of plans) {
      bytes += p.lanes * align(p.cs.kernel.size * e);
      for (const a of p.cs.args) bytes += p.lanes * align(a.size * e);
    }
    const pages = Math.ceil(bytes / 65536) + 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const { bytes: wasm } = encodeModule(fns, pages, MAX_PAGES);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(wasm)), {
      env: { memory },
    });
    const rng = new Rng(seed);
    const Arr = f32 ? Float32Array : Float64Array;
    for (const [n, p] of plans.entries()) {
      const { cs, lanes } = p;
      for (const whole of [false, true]) {
        let at = 64;
        const region = (size: number) => {
          const start = at;
          at += align(size * e);
          return start;
        };
        // Arguments: shared ones (weights) are one array for every lane.
        const argData = cs.args.map((a, i) => {
          const perLane = Array.from({ length: p.shared[i] ? 1 : lanes }, () =>
            Float64Array.from(fill(new Float64Array(a.size), rng, whole), (x) =>
              f32 ? Math.fround(x) : x,
            ),
          );
          return perLane.map((data) => ({ data, addr: region(a.size) }));
        });
        const outs = Array.from({ length: cs.summed ? 1 : lanes }, () => {
          const data = Float64Array.from(fill(new Float64Array(cs.kernel.size), rng, false), (x) =>
            f32 ? Math.fround(x) : x,
          );
          return { data, addr: region(cs.kernel.size) };
        });
        const view = (addr: number, size: number) => new Arr(memory.buffer, addr, size);
        for (const list of [...argData, outs])
          for (const { data, addr } of list) view(addr, data.length).set(data);
        const argOf = (i: number, lane: number) => argData[i]![p.shared[i] ? 0 : lane]!;
        const outOf = (lane: number) => outs[cs.summed ? 0 : lane]!;
        const addrs: number[] = [];
        for (let l = 0; l < lanes; l++) addrs.push(outOf(l).addr);
        for (let i = 0; i < cs.args.length; i++)
          for (let l = 0; l < lanes; l++) addrs.push(argOf(i, l).addr);
        const call = (name: string) => {
          for (const { data, addr } of outs) view(addr, data.length).set(data);
          (instance.exports[name] as (...a: number[]) => void)(...addrs);
          return outs.map((o) => Float64Array.from(view(o.addr, cs.kernel.size)));
        };
        const scalar = f32 ? call(`s${n}`) : null;
        const results = call(`k${n}`);
        const want = outs.map((o) => Float64Array.from(o.data));
        try {
          runKernelLanes(
            cs.kernel,
            (i, l) => argOf(i, l).data,
            (l) => want[cs.summed ? 0 : l]!,
          );
        } catch (err) {
          throw new Error(`${cs.label}: ${err instanceof Error ? err.message : String(err)}`);
        }
        // Exact where no polynomial kernel (math.ts) is involved.
        const exact = !f32 && transcendentalsOf(cs.kernel).size === 0;
        const finite = (a: Float64Array) => a.map((x) => (Number.isFinite(x) ? x : 0));
        for (const [o, got] of results.entries()) {
          const w = want[o]!;
          const where = `${cs.label} ${precision}${lanes > 1 ? ` lane ${o}` : ''}${whole ? ' (whole numbers)' : ''}`;
          for (let k = 0; k < w.length; k++) {
            if (Number.isNaN(w[k]!) !== Number.isNaN(got[k]!))
              throw new Error(`${where}: [${k}] is ${got[k]}, the interpreter's ${w[k]}`);
            const infinite = !Number.isFinite(w[k]!) || !Number.isFinite(got[k]!);
            if (infinite && !Number.isNaN(w[k]!) && got[k] !== w[k])
              throw new Error(`${where}: [${k}] is ${got[k]}, the interpreter's ${w[k]}`);
            if (exact && !Object.is(got[k], w[k]) && !Number.isNaN(w[k]!))
              throw new Error(`${where}: [${k}] is ${got[k]}, the interpreter's ${w[k]} (exact)`);
          }
          const err = relErr(finite(got), finite(w));
          // f32: 1e-5, or 10× the scalar rendering's own distance where the sum is so
          // ill-conditioned that rounding as the JS backend does already costs more.
          const own = scalar ? relErr(finite(scalar[o]!), finite(w)) : 0;
          const tol = f32 ? Math.max(1e-5, 10 * own) : 1e-12;
          if (err > tol)
            throw new Error(
              `${where}: relative error ${err.toExponential(2)} (scalar f32 ${own.toExponential(2)})`,
            );
        }
      }
      checked += f32 ? 0 : 1;
    }
  }
  return { checked, vectorLoops, refused };
}
