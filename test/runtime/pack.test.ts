// The packed ABI from the runtime's side: packRows / unpackRows over model.inputs and
// model.outputs, and a two-input, two-output model trained through them with the runtime's
// own loop (no offsets computed by hand).
import { describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';
import { adam, initParams, packRows, slotsOf, train, unpackRows } from '../../runtime/index.ts';
import { TestRng } from '../compiler/helpers.ts';

const twoByTwo = {
  name: 'two-by-two',
  input: { signal: [3], meta: [2] },
  layers: [
    { type: 'dense', name: 'h', units: 8, activation: 'tanh', inputs: ['signal'] },
    { type: 'concatenate', name: 'cat', inputs: ['h', 'meta'] },
    { type: 'dense', name: 'kind', units: 1, activation: 'sigmoid' },
    { type: 'dense', name: 'level', units: 1, inputs: ['cat'] },
  ],
  outputs: [
    { layer: 'kind', loss: 'binaryCrossEntropy' },
    { layer: 'level', loss: 'mse', weight: 0.5 },
  ],
} as const;

describe('packed rows', () => {
  it('round-trips and names what does not fit', () => {
    const slots = [
      { name: 'a', shape: [2], offset: 0, size: 2 },
      { name: 'b', shape: [1], offset: 2, size: 1 },
    ];
    const packed = packRows(slots, { a: [1, 2, 3, 4], b: [5, 6] }, 2);
    expect([...packed]).toEqual([1, 2, 5, 3, 4, 6]);
    const parts = unpackRows(slots, packed, 2);
    expect([...parts.a!]).toEqual([1, 2, 3, 4]);
    expect([...parts.b!]).toEqual([5, 6]);
    expect(() => packRows(slots, { a: [1, 2, 3, 4] }, 2)).toThrow('no data for b');
    expect(() => packRows(slots, { a: [1, 2, 3], b: [5, 6] }, 2)).toThrow(/a has 3 entries/);
  });

  it('trains a two-input, two-output model from per-input arrays', async () => {
    const mod = evaluateCompiled(
      await compileModel(twoByTwo as unknown as ModelInput, { format: 'js', source: 'x.json' }),
    );
    const model = mod.model;
    expect(slotsOf(model, 'inputs').map((s) => [s.name, s.offset])).toEqual([
      ['signal', 0],
      ['meta', 3],
    ]);
    const rng = new TestRng(3);
    const count = 256;
    const signal = new Float64Array(count * 3).map(() => rng.range(-1, 1));
    const meta = new Float64Array(count * 2).map(() => rng.range(-1, 1));
    const kind = new Float64Array(count);
    const level = new Float64Array(count);
    for (let r = 0; r < count; r++) {
      kind[r] = signal[r * 3]! + signal[r * 3 + 1]! > 0 ? 1 : 0;
      level[r] = 0.5 * meta[r * 2]! - signal[r * 3 + 2]!;
    }
    const data = {
      inputs: packRows(slotsOf(model, 'inputs'), { signal, meta }, count),
      targets: packRows(slotsOf(model, 'outputs'), { kind, level }, count),
      count,
    };
    const params = initParams(model, { seed: 1 });
    const h = train(mod, params, data, {
      epochs: 60,
      batchSize: 16,
      optimizer: adam({ lr: 0.01 }),
      metrics: ['mae'],
    });
    const first = h.epochs[0]!.loss;
    const last = h.epochs[h.epochs.length - 1]!.loss;
    console.log(`two-by-two: loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
    // BCE of a separable class plus half the error of a linear target: both are learned.
    expect(last).toBeLessThan(0.15);
    const out = new Float64Array(count * model.outputSize);
    mod.forwardBatch!(params, data.inputs, out, count, new Float64Array(model.workSize));
    const pred = unpackRows(slotsOf(model, 'outputs'), out, count);
    let right = 0;
    for (let r = 0; r < count; r++) if (pred.kind![r]! > 0.5 === (kind[r] === 1)) right++;
    expect(right / count).toBeGreaterThan(0.9);
  });
});
