// Elementwise epilogues fused into a convolution: the fused kernel (loop interpreter and
// rendered JS) equals the graph interpreter's conv → bias add → activation, and the
// scheduler fuses exactly the chains whose intermediate values nothing else reads.
import { describe, expect, it } from 'vitest';
import { renderKernel } from '../../compiler/backends/js/loops.ts';
import { compileModel } from '../../compiler/index.ts';
import { Builder } from '../../compiler/ir/builder.ts';
import { evaluateNodes } from '../../compiler/ir/interpret.ts';
import type { Node } from '../../compiler/ir/node.ts';
import { storesChannels, withEpilogue, type EpilogueOp } from '../../compiler/lower/fuse.ts';
import { runKernel } from '../../compiler/lower/interpret-loops.ts';
import { lowerNode } from '../../compiler/lower/kernels.ts';
import type { Schedule } from '../../compiler/schedule/schedule.ts';
import { relErr, TestRng } from './helpers.ts';

function runJs(
  kernel: ReturnType<typeof lowerNode>,
  args: readonly Float64Array[],
  size: number,
): Float64Array {
  const lines: string[] = [];
  renderKernel(kernel, {
    load: (i, idx) => `arg${i}[${idx}]`,
    slot: (idx) => `out[${idx}]`,
    line: (code) => void lines.push(code),
    indent: () => {},
    dedent: () => {},
  });
  const out = new Float64Array(size).fill(NaN);
  (
    new Function('arg0', 'arg1', 'arg2', 'arg3', 'arg4', 'out', lines.join('\n')) as (
      ...a: Float64Array[]
    ) => void
  )(...args, ...new Array<Float64Array>(5 - args.length).fill(new Float64Array(0)), out);
  return out;
}

describe('elementwise ops fused into a convolution', () => {
  // [5,5,2] input, 3×3 kernel to 3 filters with same padding, or 19 filters (three blocks).
  describe.each([
    ['3 filters, padded', 3, { padBefore: [1, 1], padAfter: [1, 1] }],
    ['19 filters, valid', 19, {}],
  ] as const)('%s', (_label, filters, attrs) => {
    const B = new Builder();
    const x = B.param(0, [5, 5, 2]);
    const k = B.param(100, [3, 3, 2, filters]);
    const b = B.param(1000, [filters]);
    const c = B.make('conv', [x, k], attrs);
    const bias = B.bcast(b, c.shape);
    const z = B.add(c, bias);
    const zero = B.const(0);
    const y = B.max(z, zero);
    const w = B.mul(B.const(0.5), y);
    const rng = new TestRng(filters);
    const params = Float64Array.from({ length: 1100 }, () => rng.range(-2, 2));
    const values = evaluateNodes([w], { params, input: new Float64Array(0) });
    const val = (n: Node) => values.get(n)!;
    // The emitter broadcasts epilogue arguments (bias, constants) to the result's index.
    const fill = (v: number) => new Float64Array(c.size).fill(v);

    it.each([
      ['bias add', [{ op: 'add', args: ['prev', 2] }], [val(bias)], z],
      [
        'bias add and relu',
        [
          { op: 'add', args: ['prev', 2] },
          { op: 'max', args: ['prev', 3] },
        ],
        [val(bias), fill(0)],
        y,
      ],
      [
        'bias add, relu, then a scale with the chain second',
        [
          { op: 'add', args: ['prev', 2] },
          { op: 'max', args: ['prev', 3] },
          { op: 'mul', args: [4, 'prev'] },
        ],
        [val(bias), fill(0), fill(0.5)],
        w,
      ],
      // The bias as one value per channel, read at the store's channel (no `index mod C`).
      [
        'per-channel bias add and relu',
        [
          { op: 'add', args: ['prev', { channel: 2 }] },
          { op: 'max', args: ['prev', 3] },
        ],
        [val(b), fill(0)],
        y,
      ],
    ] as [string, EpilogueOp[], Float64Array[], Node][])('%s', (_l, ops, extra, result) => {
      const kernel = withEpilogue(lowerNode(c), ops);
      const args = [val(x), val(k), ...extra];
      const viaLoops = new Float64Array(c.size).fill(NaN);
      runKernel(kernel, args, viaLoops);
      const viaJs = runJs(kernel, args, c.size);
      const want = val(result);
      // relu must have cut something and kept something, or the cases prove little.
      expect(val(y).some((v) => v === 0) && val(y).some((v) => v > 0)).toBe(true);
      for (let i = 0; i < c.size; i++) {
        expect(relErr(viaLoops[i]!, want[i]!), `loop IR [${i}]`).toBeLessThan(1e-12);
        expect(viaJs[i], `JS [${i}]`).toBe(viaLoops[i]);
      }
    });
  });

  it('a per-channel argument needs stores that name their channel', () => {
    const B = new Builder();
    const pool = B.make('poolAvg', [B.param(0, [4, 4, 2])], { window: [2, 2], strides: [2, 2] });
    expect(storesChannels(lowerNode(pool))).toBe(false);
    expect(() =>
      withEpilogue(lowerNode(pool), [{ op: 'add', args: ['prev', { channel: 1 }] }]),
    ).toThrow(/without one/);
  });

  it('refuses an accumulating kernel', () => {
    const B = new Builder();
    // A strided convolution's input gradient clears its result, then adds into it.
    const n = B.make('convBackInput', [B.param(0, [3, 3, 2]), B.param(100, [2, 3, 2, 2])], {
      spatialIn: [6, 5],
      strides: [2, 2],
      padBefore: [0, 1],
      padAfter: [0, 1],
    });
    expect(() => withEpilogue(lowerNode(n), [{ op: 'neg', args: ['prev'] }])).toThrow(
      /accumulating/,
    );
  });
});

describe('the scheduler fuses what only the chain reads', () => {
  const model = {
    name: 'cnn',
    input: [8, 8, 1],
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'conv2d', filters: 3, kernelSize: 3, activation: 'tanh' },
      { type: 'flatten' },
      { type: 'dense', units: 2, activation: 'softmax' },
    ],
    loss: 'categoricalCrossEntropy',
  };
  const fused = (s: Schedule) =>
    s.steps.flatMap((st) =>
      st.epilogue ? [[st.epilogue.producer.op, ...st.epilogue.ops.map((o) => o.op)].join('→')] : [],
    );

  it('forward: bias and activation; gradient: the bias only where the activation derivative reads the sum', async () => {
    const { schedules } = await compileModel(model, { format: 'js' });
    expect(fused(schedules.forward)).toEqual(['conv→add→max', 'conv→add→tanh']);
    // relu' reads the pre-activation sum, so it is stored; tanh' reads tanh's output.
    expect(fused(schedules.gradient)).toEqual(['conv→add', 'conv→add→tanh']);
    // No convolution is left unfused in either program.
    for (const s of [schedules.forward, schedules.gradient])
      expect(s.steps.filter((st) => st.node.op === 'conv')).toEqual([]);
  });
});
