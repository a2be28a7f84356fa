import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  formatNorm,
  GradientMonitor,
  layerGradNorms,
  layerGroups,
  type TrainingWarning,
} from '../../runtime/diagnostics.ts';
import { initParams } from '../../runtime/init.ts';
import { sgd } from '../../runtime/optimizers.ts';
import { train } from '../../runtime/train.ts';
import {
  deepSigmoidModule,
  regressionModule,
  sineData,
  xorData,
  xorModule,
} from './fixtures/models.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('per-layer gradient norms', () => {
  it('groups model.params by layer', () => {
    const model = xorModule().model;
    const g = layerGroups(model);
    expect(g.names).toEqual(['dense0', 'dense1']);
    expect(Array.from(g.ranges[0])).toEqual([0, 16, 16, 24]);
    expect(Array.from(g.ranges[1])).toEqual([24, 32, 32, 33]);
  });

  it('leaves out non-trainable tensors (frozen layers, moving statistics)', () => {
    const base = xorModule().model;
    const model = {
      ...base,
      params: base.params.map((p) =>
        p.layer === 0 || p.name === 'dense1.bias' ? { ...p, trainable: false } : p,
      ),
    };
    const g = layerGroups(model);
    expect(Array.from(g.ranges[0])).toEqual([]);
    expect(Array.from(g.ranges[1])).toEqual([24, 32]);
  });

  it('computes each layer norm by hand', () => {
    const model = xorModule().model;
    const grad = new Float64Array(33);
    grad[0] = 3; // dense0.kernel
    grad[16] = 4; // dense0.bias
    grad[24] = 1; // dense1.kernel
    grad[32] = -1; // dense1.bias
    const out = new Float64Array(2);
    layerGradNorms(layerGroups(model), grad, out);
    expect(Array.from(out)).toEqual([5, Math.SQRT2]);
  });

  it('formats norms compactly', () => {
    expect(formatNorm(3.14e-9)).toBe('3.1e-9');
    expect(formatNorm(1e-7)).toBe('1e-7');
    expect(formatNorm(12345)).toBe('1.2e+4');
    expect(formatNorm(NaN)).toBe('NaN');
  });
});

describe('vanishing gradients', () => {
  it('warns, naming the layer, on a deep sigmoid net', () => {
    const module = deepSigmoidModule(12);
    const params = initParams(module.model, { seed: 1 });
    const seen: TrainingWarning[] = [];
    const history = train(module, params, xorData, {
      epochs: 10,
      batchSize: 4,
      optimizer: sgd({ lr: 0.1 }),
      onWarning: (w) => seen.push(w),
    });
    expect(seen).toEqual(history.warnings);
    const first = history.warnings[0];
    expect(first.kind).toBe('vanishing');
    expect(first.layer).toBe('dense0');
    expect(first.epoch).toBe(4); // below threshold in epochs 0..4 → fifth epoch warns
    expect(first.message).toMatch(
      /^layer dense0: gradient norm \d(\.\d)?e-\d+ < 1e-7 for 5 epochs — vanishing gradients/,
    );
    const layers = history.warnings.map((w) => w.layer);
    // Only the early layers vanish; the output layer is healthy; each layer warns once.
    expect(layers).toContain('dense0');
    expect(layers).not.toContain('dense12');
    expect(new Set(layers).size).toBe(layers.length);
    expect(history.warnings.every((w) => w.kind === 'vanishing')).toBe(true);
    // The recorded norms back it up: dense0's is orders of magnitude below the output layer's.
    const norms = history.epochs[9].gradNorms;
    expect(norms).toHaveLength(13);
    expect(norms[0]).toBeLessThan(1e-7);
    expect(norms[12]).toBeGreaterThan(1e-3);
  });

  it('needs the norm to stay low for vanishingEpochs epochs', () => {
    const module = deepSigmoidModule(12);
    const history = train(module, initParams(module.model, { seed: 1 }), xorData, {
      epochs: 4,
      batchSize: 4,
      optimizer: sgd({ lr: 0.1 }),
      onWarning: () => {},
    });
    expect(history.warnings).toEqual([]);
  });

  it('by default prints each warning once with console.warn', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const module = deepSigmoidModule(12);
    const history = train(module, initParams(module.model, { seed: 1 }), xorData, {
      epochs: 12,
      batchSize: 4,
    });
    expect(warn).toHaveBeenCalledTimes(history.warnings.length);
    expect(String(warn.mock.calls[0][0])).toMatch(/^gradc: layer dense0: gradient norm/);
  });

  it('a shallow net trains without warnings; diagnostics: false silences a deep one', () => {
    const module = xorModule();
    const h = train(module, initParams(module.model, { seed: 1 }), xorData, {
      epochs: 50,
      batchSize: 4,
      onWarning: () => {
        throw new Error('unexpected warning');
      },
    });
    expect(h.warnings).toEqual([]);
    const deep = deepSigmoidModule(12);
    const hd = train(deep, initParams(deep.model, { seed: 1 }), xorData, {
      epochs: 10,
      diagnostics: false,
      onWarning: () => {
        throw new Error('unexpected warning');
      },
    });
    expect(hd.warnings).toEqual([]);
    expect(hd.epochs[9].gradNorms[0]).toBeLessThan(1e-7);
  });
});

describe('exploding gradients', () => {
  it('warns, naming the layer, when a huge learning rate blows up the norms', () => {
    const module = regressionModule();
    const params = initParams(module.model, { seed: 1 });
    const seen: TrainingWarning[] = [];
    const history = train(module, params, sineData(200), {
      epochs: 20,
      batchSize: 200,
      optimizer: sgd({ lr: 1 }),
      onWarning: (w) => seen.push(w),
    });
    const exploding = history.warnings.filter((w) => w.kind === 'exploding');
    expect(exploding.map((w) => w.layer).sort()).toEqual(['dense0', 'dense1']);
    expect(exploding[0].message).toMatch(
      /^layer dense\d: gradient norm \d(\.\d)?e\+\d+ > 1e\+4 — exploding gradients$/,
    );
    // Then the values overflow: a non-finite warning and training stops.
    const nonFinite = history.warnings.filter((w) => w.kind === 'nonFinite');
    expect(nonFinite.length).toBeGreaterThan(0);
    expect(nonFinite[0].message).toMatch(
      /^layer dense\d: gradient norm is (Infinity|NaN) — exploding gradients \(non-finite values\)/,
    );
    expect(nonFinite[0].epoch).toBeGreaterThan(exploding[0].epoch);
    expect(history.stopReason).toBe('nonFinite');
    expect(seen).toEqual(history.warnings);
  });

  it('respects explodingThreshold and explodingEpochs', () => {
    const model = xorModule().model;
    const seen: TrainingWarning[] = [];
    const monitor = new GradientMonitor(
      model,
      { explodingThreshold: 10, explodingEpochs: 2 },
      (w) => seen.push(w),
    );
    const big = new Float64Array(33);
    big[0] = 100;
    monitor.addBatch(big);
    expect(monitor.endEpoch(0)).toEqual([100, 0]);
    expect(seen).toEqual([]);
    monitor.addBatch(big);
    monitor.addBatch(new Float64Array(33)); // mean of 100 and 0 = 50, still > 10
    expect(monitor.endEpoch(1)).toEqual([50, 0]);
    expect(seen.map((w) => [w.kind, w.layer, w.epoch])).toEqual([['exploding', 'dense0', 1]]);
    expect(seen[0].message).toBe(
      'layer dense0: gradient norm 5e+1 > 1e+1 for 2 epochs — exploding gradients',
    );
  });

  it('warns at once on a NaN gradient', () => {
    const model = xorModule().model;
    const seen: TrainingWarning[] = [];
    const monitor = new GradientMonitor(model, {}, (w) => seen.push(w));
    const g = new Float64Array(33);
    g[30] = NaN;
    monitor.addBatch(g);
    monitor.endEpoch(0);
    expect(seen.map((w) => [w.kind, w.layer])).toEqual([['nonFinite', 'dense1']]);
  });
});
