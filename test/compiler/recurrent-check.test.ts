// Per-layer derivative rows for the recurrent layers and wrappers: the generated gradient
// (BPTT through the unrolled steps) against central differences, the dot-product test, the
// IR interpreter and the input gradient (`gradc check`), from the runtime's own initializers
// (glorotNormal kernels, orthogonal recurrent kernels). And the orthogonal initializer.
import { describe, expect, it } from 'vitest';
import { initParams } from '@gradc/runtime';
import { runCheck } from '../../compiler/cli/check.ts';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../../compiler/index.ts';

const ROWS: Record<string, { input: number[]; layers: Record<string, unknown>[] }> = {
  simpleRNN: { input: [4, 3], layers: [{ type: 'simpleRNN', units: 3 }] },
  'lstm, sequences, backwards': {
    input: [4, 2],
    layers: [{ type: 'lstm', units: 3, returnSequences: true, goBackwards: true }],
  },
  'lstm, sigmoid gates (smooth)': {
    input: [3, 2],
    layers: [{ type: 'lstm', units: 2, recurrentActivation: 'sigmoid', unitForgetBias: true }],
  },
  gru: { input: [4, 2], layers: [{ type: 'gru', units: 3 }] },
  // One unit: one-element gate blocks, which simplification may hand to concat as scalars.
  'lstm and gru of one unit': {
    input: [3, 2],
    layers: [
      { type: 'lstm', units: 1, returnSequences: true },
      { type: 'gru', units: 1 },
    ],
  },
  'gru resetAfter, sequences': {
    input: [4, 2],
    layers: [{ type: 'gru', units: 3, resetAfter: true, returnSequences: true }],
  },
  ...Object.fromEntries(
    ['concat', 'sum', 'mul', 'ave'].map((mergeMode) => [
      `bidirectional ${mergeMode}`,
      {
        input: [3, 2],
        layers: [
          {
            type: 'bidirectional',
            mergeMode,
            layer: { type: 'gru', units: 2, returnSequences: true },
          },
        ],
      },
    ]),
  ),
  timeDistributed: {
    input: [3, 4],
    layers: [
      { type: 'timeDistributed', layer: { type: 'dense', units: 2, activation: 'tanh' } },
      { type: 'simpleRNN', units: 2 },
    ],
  },
};

async function compiled(row: (typeof ROWS)[string], precision = 'f64') {
  return compileModel(
    { ...row, loss: 'mse', precision, inputGradient: true } as unknown as ModelInput,
    { format: 'js', source: 'row.model.json' },
  );
}

/** Every recurrent layer (wrapped ones too) with `unroll` set. */
function withUnroll(layers: Record<string, unknown>[], unroll: boolean): Record<string, unknown>[] {
  return layers.map((l) => {
    if (['simpleRNN', 'lstm', 'gru'].includes(String(l.type))) return { ...l, unroll };
    if (l.type === 'bidirectional') return { ...l, layer: { ...(l.layer as object), unroll } };
    return l;
  });
}

// Unrolled and looped over time (a scan). A tanh-free activation row exercises another cell
// formula in the scan.
const LOOPED_ROWS = {
  ...ROWS,
  'gru resetAfter, backwards, bidirectional sum': {
    input: [4, 2],
    layers: [
      {
        type: 'bidirectional',
        mergeMode: 'sum',
        layer: {
          type: 'gru',
          units: 2,
          resetAfter: true,
          goBackwards: true,
          returnSequences: true,
        },
      },
    ],
  },
  'simpleRNN softsign, no bias, sequences': {
    input: [3, 2],
    layers: [
      {
        type: 'simpleRNN',
        units: 3,
        activation: 'softsign',
        useBias: false,
        returnSequences: true,
      },
    ],
  },
};

describe.each([true, false])('recurrent derivative rows (gradc check), unroll %s', (unroll) => {
  it.each(Object.keys(LOOPED_ROWS))('%s', async (name) => {
    const row = LOOPED_ROWS[name as keyof typeof LOOPED_ROWS];
    const r = await runCheck(await compiled({ ...row, layers: withUnroll(row.layers, unroll) }), {
      samples: 2,
      seed: 7,
      maxParams: 400,
    });
    expect(r.ok, r.lines.join('\n')).toBe(true);
  });
});

describe('the orthogonal initializer', () => {
  it('gives a recurrent kernel [units, k·units] with orthonormal rows', async () => {
    const mod = evaluateCompiled(await compiled(ROWS['lstm, sequences, backwards']!));
    const params = initParams(mod.model, { seed: 3 });
    const p = mod.model.params.find((q) => q.name === 'lstm0.recurrentKernel')!;
    const [rows, cols] = p.shape as [number, number];
    for (let a = 0; a < rows; a++)
      for (let b = 0; b < rows; b++) {
        let d = 0;
        for (let c = 0; c < cols; c++)
          d += params[p.offset + a * cols + c]! * params[p.offset + b * cols + c]!;
        expect(d).toBeCloseTo(a === b ? 1 : 0, 12);
      }
    const bias = mod.model.params.find((q) => q.name === 'lstm0.bias')!;
    expect([...params.subarray(bias.offset, bias.offset + bias.size)].every((v) => v === 0)).toBe(
      true,
    );
  });

  it('takes TF.js initializer names, and unitForgetBias puts ones in the forget quarter', async () => {
    const mod = evaluateCompiled(
      await compiled({
        input: [3, 2],
        layers: [
          {
            type: 'lstm',
            units: 2,
            kernelInitializer: 'zeros',
            recurrentInitializer: 'ones',
            unitForgetBias: true,
          },
        ],
      }),
    );
    const params = initParams(mod.model, { seed: 3 });
    const get = (name: string) => {
      const p = mod.model.params.find((q) => q.name === name)!;
      return [...params.subarray(p.offset, p.offset + p.size)];
    };
    expect(get('lstm0.kernel').every((v) => v === 0)).toBe(true);
    expect(get('lstm0.recurrentKernel').every((v) => v === 1)).toBe(true);
    expect(get('lstm0.bias')).toEqual([0, 0, 1, 1, 0, 0, 0, 0]);
  });

  it('a sigmoid recurrent output is clipped by binaryCrossEntropy (its output is not sigmoid(z))', async () => {
    const mod = evaluateCompiled(
      await compileModel(
        {
          input: [2, 1],
          layers: [{ type: 'lstm', units: 2, activation: 'sigmoid' }],
          loss: 'binaryCrossEntropy',
        } as unknown as ModelInput,
        { format: 'js', source: 'row.model.json' },
      ),
    );
    // Output gate pre-activation −10: hardSigmoid gives exactly 0, so h = 0.
    const params = new Float64Array(mod.model.paramCount);
    const bias = mod.model.params.find((q) => q.name === 'lstm0.bias')!;
    params[bias.offset + 6] = -10;
    params[bias.offset + 7] = -10;
    const work = new Float64Array(mod.model.workSize);
    const loss = mod.loss(params, Float64Array.of(0.5, -0.5), Float64Array.of(1, 1), work);
    expect(loss).toBeCloseTo(-Math.log(1e-7), 6);
  });
});
