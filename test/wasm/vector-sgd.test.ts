// train() with plain sgd() runs a WebAssembly-backed module's vector `sgd` pass instead of the
// JS loop (runtime/optimizers.ts `useVectorSgd`): same weights (bit for bit in f64), and the
// kernel is really called; weight decay keeps the JS loop (its math is not the kernel's).
import { describe, expect, it } from 'vitest';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { initParams } from '../../runtime/init.ts';
import { sgd } from '../../runtime/optimizers.ts';
import { train } from '../../runtime/train.ts';
import type { FloatArray, GeneratedModule } from '../../runtime/types.ts';

const spec = await validateModel(
  {
    name: 'vsgd',
    input: 6,
    layers: [
      { type: 'dense', units: 24, activation: 'relu' },
      { type: 'dense', units: 3, activation: 'softmax' },
    ],
    loss: 'categoricalCrossEntropy',
    backend: 'wasm',
  },
  'vsgd.json',
);

async function module(): Promise<GeneratedModule> {
  const mod = evaluateCompiled(compileSpec(spec, { format: 'js', source: 'vsgd.json' }));
  await mod.init?.();
  return mod;
}

function data(mod: GeneratedModule, count: number) {
  const m = mod.model;
  const inputs = mod.alloc!(count * m.inputSize);
  const targets = mod.alloc!(count * m.outputSize);
  for (let i = 0; i < inputs.length; i++) inputs[i] = Math.sin(i * 0.7);
  for (let s = 0; s < count; s++) targets[s * m.outputSize + (s % m.outputSize)] = 1;
  return { inputs, targets, count };
}

function run(mod: GeneratedModule, weightDecay = 0): { params: FloatArray; calls: number } {
  let calls = 0;
  const kernel = mod.sgd!;
  const counted: GeneratedModule = {
    ...mod,
    sgd: (p, g, lr) => {
      calls++;
      kernel(p, g, lr);
    },
  };
  const params = mod.alloc!(mod.model.paramCount);
  params.set(initParams(mod.model, { seed: 5 }));
  train(counted, params, data(mod, 40), {
    epochs: 2,
    batchSize: 8,
    optimizer: sgd({ lr: 0.1, weightDecay }),
    shuffle: false,
  });
  return { params, calls };
}

describe('train() and the module’s vector SGD', () => {
  it('uses the kernel for plain sgd and matches the JS loop exactly (f64)', async () => {
    const mod = await module();
    expect(typeof mod.sgd).toBe('function');
    const withKernel = run(mod);
    expect(withKernel.calls).toBe(10); // 2 epochs × 5 batches
    const { sgd: _dropped, ...plain } = mod;
    const params = mod.alloc!(mod.model.paramCount);
    params.set(initParams(mod.model, { seed: 5 }));
    train(plain as GeneratedModule, params, data(mod, 40), {
      epochs: 2,
      batchSize: 8,
      optimizer: sgd({ lr: 0.1 }),
      shuffle: false,
    });
    expect(Array.from(withKernel.params)).toEqual(Array.from(params));
    expect(Array.from(params)).not.toEqual(Array.from(initParams(mod.model, { seed: 5 })));
  });

  it('keeps the JS loop with weight decay', async () => {
    expect(run(await module(), 1e-3).calls).toBe(0);
  });
});
