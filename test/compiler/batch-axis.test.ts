// The batch axis (compiler/batch/axis.ts) and its schedule (compiler/schedule/batch.ts): the
// batching rule of every value checked against the interpreter (a value without the axis is
// the same for every sample), each output's reduction, the phases of batch statistics, the
// strip-mining of the axis into register blocks, and that the emitted code follows from them.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchedOf, type BatchedProgram } from '../../compiler/batch/axis.ts';
import { evaluateNodes } from '../../compiler/ir/interpret.ts';
import { registry } from '../../compiler/ops/registry.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import type { ModelInput } from '../../compiler/format/schema.ts';
import { compileSpec, lower, passNames, schedule } from '../../compiler/pipeline.ts';
import { gradc } from '../support/gradc-cli.ts';
import { exampleFiles, FIXTURES, loadSpec, TestRng } from './helpers.ts';

const FILES = [
  ...exampleFiles(),
  ...['bottleneck', 'mixed', 'wide-f32', 'wide-narrow'].map((n) =>
    path.join(FIXTURES, `${n}.model.json`),
  ),
];
const label = (f: string) => path.basename(f);

const dropout = {
  name: 'drop',
  input: 6,
  layers: [
    { type: 'dense', units: 20, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 3 },
  ],
  loss: 'mse',
} as unknown as ModelInput;

/** Every value of a batched program without batch means, evaluated for two different samples:
 * a value the pass says has no batch axis must come out the same. */
function checkSharedValues(bp: BatchedProgram, inputSize: number, outputSize: number) {
  const rng = new TestRng(7);
  const params = Array.from({ length: 4096 }, () => rng.range(-0.5, 0.5));
  const sample = (key: number) => ({
    params,
    input: Array.from({ length: inputSize }, () => rng.range(-2, 2)),
    target: Array.from({ length: outputSize }, () => rng.range(0, 1)),
    seed: 11,
    sample: key,
  });
  const roots = bp.sample.outputs.map((o) => o.node);
  const a = evaluateNodes(roots, sample(0));
  const b = evaluateNodes(roots, sample(inputSize));
  let shared = 0;
  let rows = 0;
  for (const [n, dim] of bp.dims) {
    if (dim === null) {
      shared++;
      expect([...a.get(n)!], `%${n.id} ${n.op} has no batch axis`).toEqual([...b.get(n)!]);
    } else rows++;
  }
  // The input differs between the two samples, and the check saw both kinds.
  expect(shared).toBeGreaterThan(0);
  expect(rows).toBeGreaterThan(0);
}

describe('the batch axis', () => {
  it('is a pass of the pipeline, after the gradient is optimized', () => {
    expect(passNames.slice(-2)).toEqual(['batch', 'schedule']);
  });

  it('every leaf op is classified: rows for the per-sample leaves, shared for the others', () => {
    const leaves = [...registry.values()].filter((op) => op.kind === 'leaf');
    const rows = leaves.filter((op) => op.batch === 'row').map((op) => op.name);
    expect(rows.sort()).toEqual(['dropoutMask', 'input', 'target']);
    // Without a rule a leaf is shared by every sample: the known shared leaves carry none.
    expect(leaves.filter((op) => op.batch === undefined).map((op) => op.name)).toEqual(
      expect.arrayContaining(['const', 'param', 'batchStat']),
    );
    expect([...registry.values()].filter((op) => op.batch === 'mean').map((o) => o.name)).toEqual([
      'batchMean',
    ]);
  });

  for (const file of FILES)
    it(`${label(file)}: values without the batch axis are equal for every sample`, async () => {
      const spec = await loadSpec(file);
      const c = lower(spec);
      const { forwardBatch, gradientBatch } = batchedOf(c);
      checkSharedValues(forwardBatch, c.shapes.inputSize, c.shapes.outputSize);
      checkSharedValues(gradientBatch, c.shapes.inputSize, c.shapes.outputSize);
      // Weights are shared, the input has rows, and every gradient is a mean over the axis.
      for (const n of gradientBatch.dims.keys()) {
        if (n.op === 'param') expect(gradientBatch.dims.get(n)).toBeNull();
        if (n.op === 'input' || n.op === 'target') expect(gradientBatch.dims.get(n)).toBe(0);
      }
      expect(gradientBatch.phases).toEqual([]);
      expect(gradientBatch.state).toBeNull();
    });

  it('dropout masks have rows: a different mask per sample', async () => {
    const c = lower(await validateModel(dropout, 'drop.model.json'));
    const bp = batchedOf(c).gradientBatch;
    expect(bp.seed).toBe(true);
    const masks = [...bp.dims].filter(([n]) => n.op === 'dropoutMask');
    expect(masks.length).toBe(1);
    expect(masks[0]![1]).toBe(0);
    checkSharedValues(bp, c.shapes.inputSize, c.shapes.outputSize);
  });

  it('batch statistics split the gradient into phases; the state update has no rows', async () => {
    const c = lower(await loadSpec(path.join(FIXTURES, 'train-mode.model.json')));
    const bp = batchedOf(c).gradientBatch;
    // Two batchNormalization layers: the mean, then the variance around it, of each, at the
    // depths their nesting gives; the last phase is the gradient itself.
    expect(bp.phases.length).toBeGreaterThanOrEqual(2);
    let end = 0;
    for (const ph of bp.phases) {
      expect(ph.range[0]).toBe(end);
      end = ph.range[1];
      expect(ph.program.outputs.every((o) => o.kind === 'stat')).toBe(true);
    }
    expect(end).toBe(bp.statSize);
    // No batch mean is left in any phase: each reads the earlier ones' finished slots, which
    // every sample shares.
    for (const [n, dim] of bp.dims) {
      expect(n.op).not.toBe('batchMean');
      if (n.op === 'batchStat') expect(dim).toBeNull();
    }
    expect(bp.state).not.toBeNull();
    for (const o of bp.state!.outputs) expect(bp.dims.get(o.node)).toBeNull();
  });

  it('gradc inspect --after batch types rows [n, ...] and reduces each output', async () => {
    const r = await gradc('inspect', 'examples/xor.model.json', '--after', 'batch');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('{ forwardBatch: each of n rows');
    expect(r.stdout).toContain('= input');
    expect(r.stdout).toMatch(/%\d+:f64\[n,2\] = input/);
    // The weights have no batch axis; the kernel gradient is per row, then a mean over n.
    expect(r.stdout).toMatch(/%\d+:f64\[2,8\] = param/);
    expect(r.stdout).toMatch(
      /%(\d+):f64\[n,2,8\] = contract\[ni,nj->nij\][^\n]*\n[\s\S]*dense0\.kernel=mean_n\(%\1\)/,
    );
    expect(r.stdout).toContain('output=rows_n(');
  }, 30_000);
  it('gradc inspect --after batch prints the phases of batch statistics', async () => {
    const bn = await gradc(
      'inspect',
      path.join(FIXTURES, 'train-mode.model.json'),
      '--after',
      'batch',
      '--program',
      'gradient',
    );
    expect(bn.code).toBe(0);
    expect(bn.stdout).toMatch(/gradientBatch phase 1 of \d: batch means into slots 0\.\./);
    expect(bn.stdout).toContain('gradientBatch state: once');
    expect(bn.stdout).not.toContain('forwardBatch');
  });
});

describe('the schedule of the batch axis', () => {
  it('blocks of 4 rows where a contraction loops; a small net runs row by row', async () => {
    const mnist = schedule(lower(await loadSpec('examples/mnist-mlp.model.json'))).batch;
    expect(mnist.forward.block?.lanes).toBe(4);
    expect(mnist.gradient.block?.lanes).toBe(4);
    expect(mnist.gradient.sample.lanes).toBe(1);
    const xor = schedule(lower(await loadSpec('examples/xor.model.json'))).batch;
    expect(xor.forward.block).toBeNull();
    expect(xor.gradient.block).toBeNull();
  });

  it('gradients, means over the axis, are added into grad by every row; per sample they are written', async () => {
    const c = lower(await loadSpec('examples/mnist-mlp.model.json'));
    const { schedules, batch } = schedule(c);
    const arrays = (s: (typeof schedules)['gradient']) =>
      s.steps.flatMap((st) => (st.storage.kind === 'array' ? [st.storage] : []));
    const batched = arrays(batch.gradient.block!).filter((st) => st.array === 'grad');
    expect(batched.length).toBeGreaterThan(0);
    expect(batched.every((st) => st.accumulate)).toBe(true);
    expect(arrays(schedules.gradient).some((st) => st.accumulate)).toBe(false);
    // The block's work is laid out per lane; the loss sum goes after all of it.
    const b = batch.gradient.block!;
    expect(batch.gradient.lossSlot).toBeGreaterThanOrEqual(b.lanes * b.workSize);
  });

  it('the emitted blocks follow the schedule: a loop over 4 rows, then the rest one by one', async () => {
    const spec = await loadSpec('examples/mnist-mlp.model.json');
    const { code } = compileSpec(spec, { format: 'ts', source: 'mnist-mlp', backend: 'js' });
    expect(code).toContain('for (; s + 4 <= count; s += 4) gradientBatch_block(');
    expect(code).toContain('gradientBatch_rest(');
    const xor = compileSpec(await loadSpec('examples/xor.model.json'), {
      format: 'ts',
      source: 'xor',
    }).code;
    expect(xor).not.toContain('_block(');
    expect(xor).toContain('for (let s = 0; s < count; s++) gradientBatch_sample(');
  });
});
