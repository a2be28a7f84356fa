// What binds trained weights to a model: the metadata's modelHash and the weights header's
// layout key must change with anything that changes what the weights compute — for the
// shaped layers too (kernel size, strides, padding, pooling kind, reshape target), where the
// parameter shapes alone can stay the same — and must not change with names or key order.
import { describe, expect, it } from 'vitest';
import { validateModel } from '../../compiler/format/parse.ts';
import { compileModel } from '../../compiler/index.ts';
import { modelInfo } from '../../compiler/emit/module.ts';
import { modelHash } from '../../compiler/training/meta.ts';
import { layoutKey, type ModelInfo } from '../../runtime/index.ts';

type Layer = Record<string, unknown>;

function cnn(first: Layer, pool: Layer = { type: 'maxPooling2d', poolSize: 2 }) {
  return {
    name: 'cnn',
    input: [8, 8, 1],
    layers: [first, pool, { type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }],
    loss: 'categoricalCrossEntropy',
  };
}

const BASE: Layer = {
  type: 'conv2d',
  filters: 4,
  kernelSize: 3,
  padding: 'same',
  activation: 'relu',
};

const hash = async (m: unknown) => modelHash(await validateModel(m));
const layout = async (m: unknown) => {
  const c = await compileModel(m as Parameters<typeof compileModel>[0]);
  return layoutKey(modelInfo(c.c, c.workSize) as unknown as ModelInfo);
};

describe('modelHash', () => {
  it('changes with every option of a conv2d layer, the pooling kind, the activation, the loss and the precision', async () => {
    const base = await hash(cnn(BASE));
    const variants: unknown[] = [
      cnn({ ...BASE, strides: 2 }),
      cnn({ ...BASE, padding: 'valid' }),
      cnn({ ...BASE, useBias: false }),
      cnn({ ...BASE, activation: 'tanh' }),
      cnn({ ...BASE, filters: 5 }),
      cnn(BASE, { type: 'averagePooling2d', poolSize: 2 }),
      cnn(BASE, { type: 'maxPooling2d', poolSize: 2, strides: 1 }),
      { ...cnn(BASE), loss: 'mse' },
      { ...cnn(BASE), precision: 'f32' },
    ];
    const hashes = await Promise.all(variants.map(hash));
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('does not change with layer names, the model name or the order of keys', async () => {
    const base = await hash(cnn(BASE));
    const reordered = Object.fromEntries(Object.entries(BASE).reverse());
    expect(await hash(cnn(reordered))).toBe(base);
    expect(await hash(cnn({ ...BASE, name: 'features' }))).toBe(base);
    expect(await hash({ ...cnn(BASE), name: 'other' })).toBe(base);
  });
});

describe('layoutKey', () => {
  it('tells apart two models whose parameters have the same names and shapes', async () => {
    // Max versus average pooling under one name: no parameter differs, the meaning does.
    const max = await layout(cnn(BASE, { type: 'maxPooling2d', poolSize: 2, name: 'pool' }));
    const avg = await layout(cnn(BASE, { type: 'averagePooling2d', poolSize: 2, name: 'pool' }));
    expect(max).toContain('conv2d0.kernel:3x3x1x4');
    expect(avg).not.toBe(max);
  });
});
