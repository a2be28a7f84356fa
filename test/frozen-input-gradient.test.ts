// Compute only what is needed: frozen layers get a zero gradient and no backward work, and
// dLoss/dinput exists only when the model asks for `inputGradient`.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../compiler/index.ts';
import { runCheck } from '../compiler/cli/check.ts';
import { importCompiled } from '../compiler/cli/load.ts';
import { lcg, sampleInput, sampleTarget } from '../compiler/cli/samples.ts';
import { initParams } from '../runtime/index.ts';

const layers = (frozen: boolean) =>
  [
    { type: 'dense', units: 70, activation: 'tanh', trainable: !frozen },
    { type: 'dense', units: 5, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ] as const;

describe('frozen layers', () => {
  it('get exactly zero gradient; the other gradients are unchanged', async () => {
    const model = (frozen: boolean) =>
      ({ input: 80, layers: layers(frozen), loss: 'categoricalCrossEntropy' }) as const;
    const frozen = await importCompiled(await compileModel(model(true), { format: 'js' }));
    const free = await importCompiled(await compileModel(model(false), { format: 'js' }));
    const m = free.model;
    const rnd = lcg(3);
    const params = initParams(m, { seed: 2 });
    const x = sampleInput(m, rnd);
    const t = sampleTarget(m, rnd);
    const g1 = new Float64Array(m.paramCount).fill(9);
    const g2 = new Float64Array(m.paramCount);
    const work = new Float64Array(Math.max(m.workSize, frozen.model.workSize));
    expect(frozen.gradient(params, x, t, g1, work)).toBe(free.gradient(params, x, t, g2, work));
    const layer0 = m.params.filter((p) => p.layer === 0);
    const end0 = layer0[1]!.offset + layer0[1]!.size;
    for (let i = 0; i < m.paramCount; i++) expect(g1[i]).toBe(i < end0 ? 0 : g2[i]);
    expect(frozen.model.params[0]!.trainable).toBe(false);
  });

  it('cost no backward work: no kernel gradient and no backpropagation into them', async () => {
    const compiled = await compileModel(
      { input: 80, layers: layers(true), loss: 'categoricalCrossEntropy' },
      { format: 'js' },
    );
    const ops = compiled.schedules.gradient.steps.map(
      (s) =>
        `${s.node.op}${s.node.attrs.spec ? `[${String(s.node.attrs.spec)}]` : ''}:${s.node.size}`,
    );
    // Present at all: the other layers' gradients.
    expect(ops.filter((o) => o.startsWith('contract[i,j->ij]:')).length).toBeGreaterThan(0);
    expect(ops).not.toContain('contract[i,j->ij]:5600'); // 80 × 70: the frozen kernel's gradient
    expect(ops).not.toContain('contract[ij,j->i]:70'); // backpropagation into the frozen layer's output
    // Its gradient is a symbolic zero (written as a fill), not something computed.
    const gradient = compiled.c.programs.find((p) => p.name === 'gradient')!;
    const frozenKernel = gradient.outputs.find((o) => o.label === 'dense0.kernel')!.node;
    expect([frozenKernel.op, frozenKernel.args[0]!.op, frozenKernel.args[0]!.attrs.value]).toEqual([
      'bcast',
      'const',
      0,
    ]);
    const check = await runCheck(compiled, { samples: 1, seed: 1, maxParams: 400 });
    expect(check.ok, check.lines.join('\n')).toBe(true);
  });
});

describe('inputGradient', () => {
  const base = {
    input: 6,
    layers: [
      { type: 'dense', units: 5, activation: 'gelu' },
      { type: 'dense', units: 2, activation: 'sigmoid' },
    ],
    loss: 'binaryCrossEntropy',
  } as const;

  it('is emitted only when asked for', async () => {
    expect((await compileModel(base, { format: 'js' })).code).not.toMatch(/inputGradient/);
    expect((await compileModel({ ...base, inputGradient: true }, { format: 'js' })).code).toMatch(
      /export function inputGradient\(/,
    );
  });

  it('matches central differences and the interpreter (gradc check)', async () => {
    for (const precision of ['f64', 'f32'] as const) {
      const compiled = await compileModel(
        { ...base, inputGradient: true, precision },
        { format: 'js' },
      );
      const check = await runCheck(compiled, { samples: 2, seed: 4, maxParams: 100 });
      expect(check.lines.join('\n')).toContain('input gradient');
      expect(check.ok, check.lines.join('\n')).toBe(true);
    }
  });
});
