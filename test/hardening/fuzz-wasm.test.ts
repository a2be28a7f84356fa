// The WebAssembly backend on random dense stacks (see fuzz-wasm.ts): every case the wasm
// planner accepts, against the JS backend, the IR interpreter and finite differences.
// `npm test` runs a fixed-seed slice of small networks; `npm run fuzz` runs 400 networks of
// widths up to 40 with a random seed (GRADC_FUZZ_WASM_RUNS, GRADC_FUZZ_SEED to repeat one).
// Third property: shaped networks the layer plan refuses, on whole per-sample programs
// (backends/wasm/whole.ts), checked as the first. Second property: every kernel of random
// dense and shaped networks (conv, pooling,
// normalization, recurrent, merges) rendered to WebAssembly from the loop IR, against the
// loop-IR interpreter (test/wasm/loop-check.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseArb, type FuzzCase } from './fuzz-core.ts';
import { checkWasmCase, wasmSpec, wholeSpec } from './fuzz-wasm.ts';
import { shapedCaseArb } from './fuzz-shaped.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import { checkLoopKernels } from '../wasm/loop-check.ts';

const long = Number(process.env.GRADC_FUZZ_RUNS ?? 0) > 0;
const runs = Number(process.env.GRADC_FUZZ_WASM_RUNS ?? (long ? 400 : 40));
const seed = long ? Number(process.env.GRADC_FUZZ_SEED ?? Date.now() % 2 ** 31) : 20261202;

describe('fuzz: WebAssembly backend', () => {
  it(`${runs} random dense stacks (seed ${seed}): wasm = JS = interpreter, gradients = finite differences`, async () => {
    let accepted = 0;
    const r = await fc.check(
      fc.asyncProperty(
        caseArb(long ? { maxWidth: 40, maxInput: 40 } : { maxWidth: 12, maxInput: 10 }),
        async (c: FuzzCase) => {
          const spec = await wasmSpec(c);
          // Refused models (an activation op without a vector kernel) stay on JS: not a case.
          fc.pre(spec !== null);
          accepted++;
          await checkWasmCase(c, spec!);
        },
      ),
      { numRuns: runs, seed, maxSkipsPerRun: 1000 },
    );
    if (r.failed) throw new Error(`${String(r.errorInstance)}\n${fc.defaultReportMessage(r)}`);
    expect(r.numRuns).toBe(runs);
    expect(accepted).toBeGreaterThanOrEqual(runs);
  }, 3_600_000);
});

describe('fuzz: WebAssembly loop-IR kernels', () => {
  const kernelRuns = long ? runs : 30;
  // Kernels without a WebAssembly form: only the ops math.ts has no polynomial for.
  const NO_KERNEL = /^the elementwise op (pow|sin|cos|atan) has no WebAssembly kernel$/;
  it(`${kernelRuns} dense and ${kernelRuns} shaped random networks (seed ${seed}): every kernel = the loop interpreter`, async () => {
    let kernels = 0;
    for (const arb of [
      caseArb(long ? { maxWidth: 40, maxInput: 40 } : { maxWidth: 12, maxInput: 10 }),
      shapedCaseArb(),
    ]) {
      const r = await fc.check(
        fc.asyncProperty(arb, async (c: FuzzCase) => {
          const spec = await validateModel(c.model, 'fuzz.model.json');
          const got = await checkLoopKernels(spec, c.seed);
          for (const why of got.refused.keys()) expect(why).toMatch(NO_KERNEL);
          kernels += got.checked;
        }),
        { numRuns: kernelRuns, seed },
      );
      if (r.failed) throw new Error(`${String(r.errorInstance)}\n${fc.defaultReportMessage(r)}`);
      expect(r.numRuns).toBe(kernelRuns);
    }
    expect(kernels).toBeGreaterThan(kernelRuns * 2);
  }, 3_600_000);
});

describe('fuzz: whole programs on WebAssembly', () => {
  const wholeRuns = long ? runs : 20;
  it(`${wholeRuns} random shaped networks the layer plan refuses (seed ${seed}): wasm = JS = interpreter, gradients = finite differences`, async () => {
    let accepted = 0;
    const r = await fc.check(
      fc.asyncProperty(shapedCaseArb(), async (c: FuzzCase) => {
        const spec = await wholeSpec(c);
        // Training-mode layers (batch statistics, dropout) and ops without a kernel stay on JS.
        fc.pre(spec !== null);
        accepted++;
        await checkWasmCase(c, spec!);
      }),
      { numRuns: wholeRuns, seed, maxSkipsPerRun: 1000 },
    );
    if (r.failed) throw new Error(`${String(r.errorInstance)}\n${fc.defaultReportMessage(r)}`);
    expect(accepted).toBeGreaterThanOrEqual(wholeRuns);
  }, 3_600_000);
});
