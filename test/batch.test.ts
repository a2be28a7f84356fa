// The batched entry points agree with the per-sample ones, and the scheduler's
// unroll-or-loop choice on each example is the documented one.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileBytes, compileModel } from '../compiler/index.ts';
import { exampleFiles } from '../compiler/cli/generate.ts';
import { importCompiled } from '../compiler/cli/load.ts';
import { lcg, sampleInput, sampleTarget } from '../compiler/cli/samples.ts';
import type { Compiled } from '../compiler/pipeline.ts';
import { SCHEDULE } from '../compiler/backends/js/policy.ts';
import { statementCount } from '../compiler/cost.ts';
import type { GeneratedModule } from '../runtime/types.ts';
import { initParams } from '../runtime/index.ts';

type Batched = Required<Pick<GeneratedModule, 'gradientBatch' | 'forwardBatch'>> & GeneratedModule;

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-300, Math.abs(a) + Math.abs(b));
}

async function checkBatch(compiled: Compiled, count: number): Promise<void> {
  const mod = (await importCompiled(compiled)) as Batched;
  const m = mod.model;
  const f32 = m.precision === 'f32';
  const Arr = f32 ? Float32Array : Float64Array;
  // Blocks add several samples' products in one expression: the same sums, in another order.
  const tol = f32 ? 1e-5 : 1e-10;
  const rnd = lcg(5);
  const params = initParams(m, { seed: 3 });
  const inputs = new Arr(count * m.inputSize);
  const targets = new Arr(count * m.outputSize);
  for (let s = 0; s < count; s++) {
    inputs.set(sampleInput(m, rnd), s * m.inputSize);
    targets.set(sampleTarget(m, rnd), s * m.outputSize);
  }
  // Reference: the per-sample entry points, averaged here.
  const work = new Arr(m.workSize);
  const g = new Arr(m.paramCount);
  const mean = new Float64Array(m.paramCount);
  const outs = new Arr(count * m.outputSize);
  let loss = 0;
  for (let s = 0; s < count; s++) {
    const x = inputs.subarray(s * m.inputSize, (s + 1) * m.inputSize);
    const t = targets.subarray(s * m.outputSize, (s + 1) * m.outputSize);
    loss += mod.gradient(params, x, t, g, work);
    for (let k = 0; k < g.length; k++) mean[k]! += g[k]!;
    mod.forward(params, x, outs.subarray(s * m.outputSize, (s + 1) * m.outputSize), work);
  }
  // The batch overwrites grad (garbage in it must not leak through) and reuses work.
  const grad = new Arr(m.paramCount).fill(123);
  const batchLoss = mod.gradientBatch(params, inputs, targets, count, grad, work.fill(7));
  expect(relDiff(batchLoss, loss / count)).toBeLessThanOrEqual(tol);
  // In f32 an element whose samples nearly cancel keeps the rounding of the terms it summed,
  // not of its small result: its error is measured against 1 % of the largest element.
  let largest = 0;
  for (let k = 0; k < grad.length; k++) largest = Math.max(largest, Math.abs(mean[k]! / count));
  const floor = f32 ? 0.01 * largest : 0;
  let worst = 0;
  for (let k = 0; k < grad.length; k++) {
    const a = grad[k]!;
    const b = mean[k]! / count;
    if (a === 0 && b === 0) continue;
    worst = Math.max(worst, Math.abs(a - b) / Math.max(1e-300, floor, Math.abs(a) + Math.abs(b)));
  }
  expect(worst).toBeLessThanOrEqual(tol);
  const batchOut = new Arr(count * m.outputSize);
  mod.forwardBatch(params, inputs, batchOut, count, work);
  expect(Array.from(batchOut)).toEqual(Array.from(outs));
}

describe('batched entry points', () => {
  for (const file of exampleFiles()) {
    it(`${path.basename(file)}: gradientBatch / forwardBatch equal the mean of per-sample calls`, async () => {
      const compiled = await compileBytes(fs.readFileSync(file), file, 'js');
      await checkBatch(compiled, 5);
    });
  }

  it('f32, a custom activation, and chunked straight-line code', async () => {
    const compiled = await compileModel(
      {
        input: 16,
        layers: [
          { type: 'dense', units: 16, activation: { expr: 'x * sigmoid(2 * x)' } },
          { type: 'dense', units: 16, activation: 'elu' },
          { type: 'dense', units: 16, activation: 'softsign' },
          { type: 'dense', units: 2, activation: 'sigmoid' },
        ],
        loss: 'binaryCrossEntropy',
        precision: 'f32',
      },
      { format: 'js' },
    );
    expect(compiled.code).toMatch(/function gradientBatch_sample_part1\(/);
    await checkBatch(compiled, 3);
  });

  it('count 0 gives loss 0 and a zero gradient', async () => {
    const mod = (await importCompiled(
      await compileBytes(fs.readFileSync('examples/xor.model.json'), 'xor', 'js'),
    )) as Batched;
    const grad = new Float64Array(mod.model.paramCount).fill(1);
    const loss = mod.gradientBatch(
      initParams(mod.model, { seed: 1 }),
      new Float64Array(0),
      new Float64Array(0),
      0,
      grad,
      new Float64Array(mod.model.workSize),
    );
    expect(loss).toBe(0);
    expect(grad.every((v) => v === 0)).toBe(true);
  });
});

describe("the scheduler's choice on each example", () => {
  const modes = async (file: string) => {
    const { schedules } = await compileBytes(fs.readFileSync(file), file, 'js');
    // A contraction by its spec: x·W is contract[i,ij->j], W·g contract[ij,j->i], x ⊗ g contract[i,j->ij].
    return schedules.gradient.steps.map(
      (s) => `${s.node.op}${s.node.attrs.spec ? `[${String(s.node.attrs.spec)}]` : ''}:${s.mode}`,
    );
  };

  it('xor (2-8-1): everything unrolled, one function', async () => {
    const { schedules } = await compileBytes(
      fs.readFileSync('examples/xor.model.json'),
      'xor',
      'js',
    );
    expect(schedules.gradient.steps.every((s) => s.mode === 'unroll')).toBe(true);
    expect(schedules.gradient.chunks).toBe(1);
  });

  it('iris (4-16-16-3): everything unrolled, one function under the bytecode budget', async () => {
    const m = await modes('examples/iris.model.json');
    expect(m.every((x) => x.endsWith(':unroll'))).toBe(true);
    const { schedules } = await compileBytes(
      fs.readFileSync('examples/iris.model.json'),
      'iris',
      'js',
    );
    expect(schedules.gradient.chunks).toBe(1);
    expect(schedules.gradient.chunkBytes[0]).toBeLessThanOrEqual(SCHEDULE.functionBytecode);
    // The whole gradient is far over the old 250-operation parts: what the budget allows.
    expect(statementCount([schedules.gradient])).toBeGreaterThan(1000);
  });

  it('mnist (784-128-10): the large matrix ops loop, the 10-wide softmax is unrolled', async () => {
    const m = await modes('examples/mnist-mlp.model.json');
    expect(m).toContain('contract[i,ij->j]:loop');
    expect(m).toContain('contract[i,j->ij]:loop');
    expect(m).toContain('contract[ij,j->i]:loop');
    expect(m).toContain('exp:unroll');
    expect(m).not.toContain('contract[i,ij->j]:unroll');
  });

  it('batches: blocks of 4 samples only where there are loops (mnist), a plain loop otherwise', async () => {
    const code = async (f: string) => (await compileBytes(fs.readFileSync(f), f, 'js')).code;
    const mnist = await code('examples/mnist-mlp.model.json');
    expect(mnist).toMatch(/function gradientBatch_block\(/);
    expect(mnist).toMatch(/function forwardBatch_block\(/);
    for (const small of ['examples/xor.model.json', 'examples/iris.model.json']) {
      expect(await code(small)).not.toMatch(/_block\(/);
    }
  });
});
