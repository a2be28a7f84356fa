// Whole per-sample programs on WebAssembly (compiler/backends/wasm/program.ts: every step's
// kernel from the loop IR, the JS backend's memory plan) against the graph interpreter, the
// oracle of the math: forward, loss, gradient and input gradient of every example and
// fixture, f64 within 1e-12 and f32 within 1e-5 (norm-wise), in linear memory.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeModule } from '../../compiler/backends/wasm/encode.ts';
import { LoopRefusal } from '../../compiler/backends/wasm/loops.ts';
import { MAX_PAGES } from '../../compiler/backends/wasm/plan.ts';
import { REGIONS, renderProgram, type Region } from '../../compiler/backends/wasm/program.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import { lower, schedule } from '../../compiler/pipeline.ts';
import { Rng } from '../../runtime/random.ts';
import { exampleFiles, loadSpec } from '../compiler/helpers.ts';
import { relErr } from './harness.ts';

const FIXTURES = path.join(import.meta.dirname, '../compiler/fixtures');
const fixtures = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.model.json') && !f.startsWith('bad-'))
  .map((f) => path.join(FIXTURES, f));

/** The programs one sample runs, checked; returns how many rendered and why others did not. */
export function checkPrograms(spec: ModelSpec, seed = 3): { rendered: number; refused: string[] } {
  const c = lower(spec);
  const { schedules } = schedule(c);
  const refused: string[] = [];
  let rendered = 0;
  const rng = new Rng(seed);
  const { paramCount, inputSize, outputSize } = c.shapes;
  const params = Float64Array.from({ length: paramCount }, () => rng.range(-0.5, 0.5));
  // Variances are positive.
  for (const t of c.params)
    if (t.name.endsWith('.movingVariance'))
      for (let k = 0; k < t.size; k++) params[t.offset + k] = rng.range(0.5, 1.5);
  const input = Float64Array.from({ length: inputSize }, () => rng.range(-1, 1));
  const target = Float64Array.from({ length: outputSize }, () => rng.uniform());
  for (const precision of ['f64', 'f32'] as const) {
    const f32 = precision === 'f32';
    const round = (a: Float64Array) => (f32 ? a.map(Math.fround) : a);
    for (const [name, s] of Object.entries(schedules)) {
      if (!s || name === 'trainLoss') continue;
      let prog;
      try {
        prog = renderProgram(name, s, precision);
      } catch (e) {
        if (!(e instanceof LoopRefusal)) throw e;
        if (!f32) refused.push(`${name}: ${e.message}`);
        continue;
      }
      const el = f32 ? 4 : 8;
      const sizes: Record<Region, number> = {
        params: paramCount,
        input: inputSize,
        target: outputSize,
        output: outputSize,
        grad: paramCount,
        dinput: inputSize,
        work: prog.workSize,
      };
      let at = 64;
      const addr = {} as Record<Region, number>;
      for (const r of REGIONS) {
        addr[r] = at;
        at += Math.ceil((sizes[r] * el + 16) / 16) * 16;
      }
      const pages = Math.ceil(at / 65536) + 1;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
      const { bytes } = encodeModule([prog.fn], pages, MAX_PAGES);
      const inst = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(bytes)), {
        env: { memory },
      });
      const Arr = f32 ? Float32Array : Float64Array;
      const view = (r: Region) => new Arr(memory.buffer, addr[r], sizes[r]);
      view('params').set(params);
      view('input').set(input);
      view('target').set(target);
      view('grad').fill(NaN);
      (inst.exports[name] as (...a: number[]) => void)(...REGIONS.map((r) => addr[r]));
      const want = interpret(
        s.program,
        { params: round(params), input: round(input), target: round(target) },
        paramCount,
      );
      const tol = f32 ? 1e-5 : 1e-12;
      const where = `${spec.name} ${name} ${precision}`;
      const check = (got: ArrayLike<number>, w: Float64Array, what: string) => {
        const g = Float64Array.from(got);
        expect(relErr(g, w), `${where} ${what}`).toBeLessThanOrEqual(tol);
      };
      if (want.output) check(view('output'), want.output, 'output');
      if (want.grad) check(view('grad'), want.grad, 'grad');
      if (want.dinput) check(view('dinput'), want.dinput, 'dinput');
      if (want.loss !== undefined) {
        const loss = view('work')[prog.lossSlot!]!;
        expect(Math.abs(loss - want.loss), `${where} loss`).toBeLessThanOrEqual(
          tol * Math.max(1, Math.abs(want.loss)),
        );
      }
      if (!f32) rendered++;
    }
  }
  return { rendered, refused };
}

describe('whole programs on WebAssembly from the loop IR', () => {
  for (const file of [...exampleFiles(), ...fixtures]) {
    it(
      path.basename(file),
      async () => {
        const r = checkPrograms(await loadSpec(file));
        // Only training mode's batch statistics and dropout masks are refused.
        for (const why of r.refused) expect(why).toMatch(/training mode/);
        // Forward and loss always (training-mode gradients may be refused).
        expect(r.rendered).toBeGreaterThanOrEqual(2);
      },
      120_000,
    );
  }
});
