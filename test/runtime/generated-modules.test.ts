// The runtime against real compiler output in generated/ (skipped for files not there yet):
// gradient checks, XOR training, and the allocation probe with a generated module in the loop.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkGradient, dotProductTest } from '../../runtime/check.ts';
import { initParams } from '../../runtime/init.ts';
import { evaluate } from '../../runtime/metrics.ts';
import { sgd } from '../../runtime/optimizers.ts';
import { Rng } from '../../runtime/random.ts';
import { train } from '../../runtime/train.ts';
import type { GeneratedModule } from '../../runtime/types.ts';
import { xorData } from './fixtures/models.ts';

function generatedPath(name: string): string {
  return fileURLToPath(new URL(`../../generated/${name}.ts`, import.meta.url));
}

async function load(name: string): Promise<GeneratedModule> {
  // Structural: a generated module satisfies the contract without importing it.
  return (await import(pathToFileURL(generatedPath(name)).href)) as GeneratedModule;
}

for (const name of ['xor', 'iris', 'mnist-mlp']) {
  describe.skipIf(!existsSync(generatedPath(name)))(`generated/${name}.ts`, () => {
    it('passes checkGradient (sampled) and the dot-product test', async () => {
      const module = await load(name);
      const m = module.model;
      const params = initParams(m, { seed: 2 });
      const rng = new Rng(3);
      const input = new Float64Array(m.inputSize).map(() => rng.range(-1, 1));
      const target = new Float64Array(m.outputSize);
      target[rng.int(m.outputSize)] = 1;
      const report = checkGradient(module, params, input, target, { maxParams: 400 });
      expect(report.ok, JSON.stringify(report.worst)).toBe(true);
      expect(report.perTensor.every((t) => t.checked > 0)).toBe(true);
      expect(dotProductTest(module, params, input, target).ok).toBe(true);
    });
  });
}

describe.skipIf(!existsSync(generatedPath('xor')))('training generated/xor.ts', () => {
  it('reaches a loss below 0.01 with plain SGD (what `npm run demo` shows)', async () => {
    const module = await load('xor');
    const params = initParams(module.model, { seed: 1 });
    const history = train(module, params, xorData, {
      epochs: 1000,
      batchSize: 4,
      optimizer: sgd({ lr: 0.5 }),
      seed: 1,
    });
    expect(evaluate(module, params, xorData).loss).toBeLessThan(0.01);
    expect(history.warnings).toEqual([]);
  });
});
