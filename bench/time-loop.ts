// Unrolled over time against looped over time (a scan), side by side in one process, for
// recurrent layers of several sizes: the measurement behind TIME_LOOP.maxUnrolledMacs
// (compiler/backends/js/policy.ts). Training step (gradientBatch, batch 16) and inference
// (forwardBatch); medians, and the ratio unrolled / looped (above 1: the loop is faster).
//   npx tsx bench/time-loop.ts
import { evaluateCompiled } from '../compiler/cli/load.ts';
import { compileModel, type ModelInput } from '../compiler/index.ts';
import { rng } from './models.ts';
import { measureInterleaved, type Series } from './timing.ts';

const BATCH = 16;

interface Size {
  readonly cell: 'lstm' | 'gru' | 'simpleRNN';
  readonly steps: number;
  readonly features: number;
  readonly units: number;
}

const SIZES: readonly Size[] = [
  { cell: 'lstm', steps: 4, features: 2, units: 4 },
  { cell: 'lstm', steps: 8, features: 2, units: 4 },
  { cell: 'lstm', steps: 8, features: 4, units: 4 },
  { cell: 'lstm', steps: 6, features: 4, units: 8 },
  { cell: 'lstm', steps: 8, features: 1, units: 16 },
  { cell: 'gru', steps: 6, features: 3, units: 4 },
  { cell: 'simpleRNN', steps: 10, features: 4, units: 8 },
  { cell: 'simpleRNN', steps: 12, features: 4, units: 12 },
  { cell: 'lstm', steps: 20, features: 8, units: 32 },
];

const gates = (c: Size['cell']) => (c === 'lstm' ? 4 : c === 'gru' ? 3 : 1);

async function series(s: Size, unroll: boolean): Promise<{ train: Series; infer: Series }> {
  const json = {
    input: [s.steps, s.features],
    layers: [
      { type: s.cell, units: s.units, unroll, ...(s.cell === 'gru' ? { resetAfter: true } : {}) },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
    loss: 'binaryCrossEntropy',
  };
  const mod = evaluateCompiled(
    await compileModel(json as unknown as ModelInput, { format: 'js', source: 'time-loop' }),
  );
  const r = rng(5);
  const params = Float64Array.from({ length: mod.model.paramCount }, () => (r() - 0.5) * 0.3);
  const x = Float64Array.from({ length: BATCH * mod.model.inputSize }, () => r());
  const t = Float64Array.from({ length: BATCH }, () => (r() < 0.5 ? 0 : 1));
  const grad = new Float64Array(mod.model.paramCount);
  const work = new Float64Array(mod.model.workSize);
  const out = new Float64Array(BATCH);
  const form = unroll ? 'unrolled' : 'looped';
  return {
    train: {
      key: `${form} train`,
      run: () => {
        grad.fill(0);
        mod.gradientBatch!(params, x, t, BATCH, grad, work);
      },
    },
    infer: { key: `${form} infer`, run: () => mod.forwardBatch!(params, x, out, BATCH, work) },
  };
}

// Long warm-ups: straight-line code needs seconds of calls and background compilation on a
// loaded machine before it runs optimized.
const options = { warmupMs: 2500, budgetMs: 2000, minRounds: 5, maxRounds: 20, blockMs: 100 };
console.log(
  'cell        T×n→u   MACs/seq   train unrolled / looped ms   infer unrolled / looped ms',
);
for (const s of SIZES) {
  const a = await series(s, true);
  const b = await series(s, false);
  const train = await measureInterleaved([a.train, b.train], options);
  const infer = await measureInterleaved([a.infer, b.infer], options);
  const ms = (m: Map<string, { medianUs: number }>, k: string) => m.get(k)!.medianUs / 1000;
  const macs = s.steps * (s.features + s.units) * gates(s.cell) * s.units;
  const [tu, tl] = [ms(train, 'unrolled train'), ms(train, 'looped train')];
  const [iu, il] = [ms(infer, 'unrolled infer'), ms(infer, 'looped infer')];
  console.log(
    `${s.cell.padEnd(10)} ${`${s.steps}×${s.features}→${s.units}`.padStart(7)} ${String(macs).padStart(9)}   ` +
      `${tu.toFixed(3)} / ${tl.toFixed(3)} (${(tu / tl).toFixed(2)})   ${iu.toFixed(3)} / ${il.toFixed(3)} (${(iu / il).toFixed(2)})`,
  );
}
