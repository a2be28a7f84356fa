// `gradc train` tells the truth about a run: each kind of run gets its verdict, exit code,
// colour and advice (naming only flags that exist); the final line, the report's headline
// and its tables print the same figures; the best epoch's weights are the ones saved.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerTrain } from '../../compiler/cli/train.ts';
import { formatNumber, formatPercent, loadWeights, Rng } from '../../runtime/index.ts';
import { DATA, EXAMPLES, gradc, quietTrain, tempDir, write, type Run } from './helpers.ts';

const IRIS = path.join(EXAMPLES, 'iris.model.json');
const SINE = path.join(EXAMPLES, 'sine.model.json');
const IRIS_CSV = path.join(DATA, 'iris.csv');
const SINE_CSV = path.join(DATA, 'sine.csv');
// The README's command (minus --out/--report, added per test).
const README_IRIS = [
  'train',
  IRIS,
  '--data',
  IRIS_CSV,
  '--label',
  'species',
  '--epochs',
  '200',
  '--batch',
  '16',
  '--optimizer',
  'adam',
  '--lr',
  '0.01',
  '--seed',
  '1',
  '--val',
  '0.2',
];

const FLAGS = (() => {
  const program = new Command();
  registerTrain(program, () => {});
  const train = program.commands.find((c) => c.name() === 'train')!;
  return new Set(train.options.map((o) => o.long!));
})();

/** Every `--flag` in the advice line is a real option of gradc train. */
function expectRealFlags(stdout: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith('try: ')) ?? '';
  const flags = [...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
  for (const f of flags) expect(FLAGS, `${f} in "${line}"`).toContain(f);
  return flags;
}

function verdictOf(r: Run): string {
  return r.stdout.split('\n').find((l) => l.startsWith('verdict: ')) ?? '';
}

/** 300 rows of noise features with labels that ignore them. */
function noiseCsv(dir: string, classes: readonly string[], weights: readonly number[]): string {
  const rng = new Rng(9);
  const rows = ['a,b,c,d,label'];
  for (let i = 0; i < 300; i++) {
    let u = rng.uniform();
    let k = 0;
    while (k < weights.length - 1 && u >= weights[k]!) u -= weights[k++]!;
    const x = Array.from({ length: 4 }, () => rng.normal().toFixed(3));
    rows.push([...x, classes[k]].join(','));
  }
  return write(dir, 'noise.csv', `${rows.join('\n')}\n`);
}

describe.concurrent('verdicts of gradc train', { timeout: 180_000 }, () => {
  it('diverged (sgd, lr 50 on Iris): red, warning line, exit 3, no weights unless asked', async () => {
    const dir = tempDir();
    const args = [
      'train',
      IRIS,
      '--data',
      IRIS_CSV,
      '--label',
      'species',
      '--optimizer',
      'sgd',
      '--lr',
      '50',
      '--epochs',
      '30',
      '--every',
      '10',
    ];
    const r = await gradc(
      ...args,
      '--out',
      path.join(dir, 'w.bin'),
      '--report',
      path.join(dir, 'r.html'),
    );
    expect(r.code, r.stderr).toBe(3);
    expect(verdictOf(r)).toMatch(
      /^verdict: diverged — training loss ended at [\d.]+, above its value at initialization \([\d.]+\)/,
    );
    expect(r.stderr).toContain(
      'gradc: warning: training diverged; no weights written (--save-anyway writes them); exit code 3',
    );
    const flags = expectRealFlags(r.stdout);
    expect(flags).toEqual(['--lr', '--clip-norm', '--optimizer']);
    expect(r.stdout).toContain('try: --lr 5 · --clip-norm 1 · --optimizer adam');
    // No raw doubles anywhere.
    expect(r.stdout).not.toMatch(/\d\.\d{6,}/);
    expect(fs.readdirSync(dir)).toEqual(['r.html']);
    const page = fs.readFileSync(path.join(dir, 'r.html'), 'utf8');
    expect(page).toContain('class="verdict bad" id="verdict" data-verdict="diverged"');
    expect(page).toContain('gradc train exited with code 3.');

    const anyway = await gradc(...args, '--out', path.join(dir, 'w.bin'), '--save-anyway');
    expect(anyway.code).toBe(3);
    expect(anyway.stderr).toContain('weights written anyway (--save-anyway); exit code 3');
    expect(fs.existsSync(path.join(dir, 'w.bin'))).toBe(true);
  });

  it('did not learn (lr 1e-7): exit 4, advice raises the learning rate', async () => {
    const r = await gradc(
      ...README_IRIS.slice(0, -8),
      '--epochs',
      '10',
      '--lr',
      '1e-7',
      '--out',
      path.join(tempDir(), 'w.bin'),
    );
    expect(r.code, r.stderr).toBe(4);
    expect(verdictOf(r)).toMatch(
      /^verdict: did not learn — training loss barely moved from its value at initialization/,
    );
    expect(expectRealFlags(r.stdout)).toContain('--lr');
    expect(r.stdout).toContain('try: --lr 0.001');
    expect(r.stderr).toContain('gradc: warning: training did not learn; no weights written');
  });

  it('labels unrelated to the features: stuck at chance level, exit 5', async () => {
    const dir = tempDir();
    const data = noiseCsv(dir, ['x', 'y', 'z'], [1 / 3, 1 / 3, 1 / 3]);
    const r = await gradc(
      'train',
      IRIS,
      '--data',
      data,
      '--label',
      'label',
      '--epochs',
      '40',
      '--lr',
      '0.01',
      '--out',
      path.join(dir, 'w.bin'),
      '--report',
      path.join(dir, 'r.html'),
    );
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(verdictOf(r)).toMatch(
      /^verdict: stuck at chance level — validation accuracy [\d.]+% is within noise \(±[\d.]+%\) of chance, 3\d\.\d% \((1\/3|the most frequent class)\)/,
    );
    expectRealFlags(r.stdout);
    expect(fs.readdirSync(dir).sort()).toEqual(['noise.csv', 'r.html']);
    expect(fs.readFileSync(path.join(dir, 'r.html'), 'utf8')).toContain(
      'data-verdict="chanceLevel"',
    );
  });

  it('unbalanced labels at chance: advice is --class-weights balanced, which is accepted', async () => {
    const dir = tempDir();
    const data = noiseCsv(dir, ['common', 'rare', 'rarer'], [0.8, 0.1, 0.1]);
    const base = ['train', IRIS, '--data', data, '--label', 'label', '--epochs', '30'];
    const r = await gradc(...base);
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(verdictOf(r)).toContain('(the most frequent class)');
    expect(r.stdout).toContain('--class-weights balanced');
    expectRealFlags(r.stdout);
    const weighted = await gradc(...base, '--class-weights', 'balanced');
    expect(weighted.stderr).not.toContain('error');
    expect(verdictOf(weighted)).not.toContain('--class-weights');
  });

  it('regression targets unrelated to the input: chance level against the mean, exit 5', async () => {
    const dir = tempDir();
    const rng = new Rng(4);
    const rows = ['x,y'];
    for (let i = 0; i < 300; i++)
      rows.push(`${rng.range(-3, 3).toFixed(3)},${rng.normal().toFixed(3)}`);
    const data = write(dir, 'noise.csv', `${rows.join('\n')}\n`);
    const r = await gradc(
      'train',
      SINE,
      '--data',
      data,
      '--target',
      'y',
      '--epochs',
      '40',
      '--lr',
      '0.01',
    );
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(verdictOf(r)).toMatch(
      /^verdict: stuck at chance level — validation loss [\d.]+ is within 5% of always predicting the training mean \([\d.]+\)$/,
    );
    expectRealFlags(r.stdout);
  });

  it('a deep sigmoid stack: the advice names its sigmoid layers, never relu for a relu layer', async () => {
    const dir = tempDir();
    const layers = [
      ...Array.from({ length: 8 }, () => ({ type: 'dense', units: 8, activation: 'sigmoid' })),
      { type: 'dense', units: 3, activation: 'softmax' },
    ];
    const model = write(
      dir,
      'deep.model.json',
      JSON.stringify({ name: 'deep', input: 4, layers, loss: 'categoricalCrossEntropy' }),
    );
    const r = await gradc(
      'train',
      model,
      '--data',
      IRIS_CSV,
      '--label',
      'species',
      '--epochs',
      '30',
      '--optimizer',
      'sgd',
    );
    expect([4, 5]).toContain(r.code);
    expect(verdictOf(r)).toMatch(
      /the gradient shrinks from [\d.e+-]+ at the output layer to [\d.e+-]+ at the first/,
    );
    expect(r.stdout).toContain(
      'layers dense0, dense1, dense2, dense3, dense4, dense5, dense6, dense7 are sigmoid: set "activation": "relu" on them in the model file',
    );
    expectRealFlags(r.stdout);
  });

  it("the README's Iris command overfits: exit 0, yellow, epoch 28's weights saved", async () => {
    const dir = tempDir();
    const out = path.join(dir, 'iris.bin');
    const report = path.join(dir, 'iris.html');
    const r = await gradc(...README_IRIS, '--out', out, '--report', report);
    expect(r.code, r.stderr).toBe(0);
    expect(verdictOf(r)).toBe(
      'verdict: overfitting — validation loss was lowest in epoch 28 (0.03777) and rose to 0.3915 by epoch 200; the weights of epoch 28 were kept',
    );
    expect(expectRealFlags(r.stdout)).toEqual(['--patience', '--weight-decay']);
    const final = r.stdout.trim().split('\n').at(-1)!;
    expect(final).toMatch(/weights of epoch 28 \(best validation loss\) → .*iris\.bin/);

    // One set of numbers: the final line, the report's headline and its table agree.
    const page = fs.readFileSync(report, 'utf8');
    expect(page).toContain('class="verdict warn" id="verdict" data-verdict="overfitting"');
    const train = /· train (loss \S+ acc \S+) ·/.exec(final)![1]!;
    const val = /· val (loss \S+ acc \S+) ·/.exec(final)![1]!;
    const headline = /<p id="headline">([^<]*)<\/p>/.exec(page)![1]!;
    expect(headline).toContain(`train ${train}`);
    expect(headline).toContain(`val ${val}`);
    const table = /<table class="finals" id="finals">([\s\S]*?)<\/table>/.exec(page)![1]!;
    const cells = [...table.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    const [, tl, , ta] = train.split(' ');
    const [, vl, , va] = val.split(' ');
    expect(cells).toEqual([tl, ta, vl, va]);
    // The epoch line of the best epoch printed the same validation figures.
    expect(val).toBe('loss 0.03777 acc 100.0%');
  });

  it('a good regression run converges: green, no advice, exit 0', async () => {
    const dir = tempDir();
    const r = await gradc(
      'train',
      SINE,
      '--data',
      SINE_CSV,
      '--target',
      'y',
      '--epochs',
      '100',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--schedule',
      'cosine',
      '--metrics',
      'mae,rmse,r2',
      '--report',
      path.join(dir, 'r.html'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(verdictOf(r)).toMatch(
      /^verdict: converged — training loss fell from [\d.]+ at initialization/,
    );
    expect(r.stdout).not.toContain('try: ');
    const final = r.stdout.trim().split('\n').at(-1)!;
    expect(final).toMatch(/val loss [\d.]+ mae [\d.]+ rmse [\d.]+ R² 0\.9\d+/);
    expect(final).toContain('dry run, nothing written (--out FILE saves them)');
    expect(fs.readdirSync(dir)).toEqual(['r.html']);
    const page = fs.readFileSync(path.join(dir, 'r.html'), 'utf8');
    expect(page).toContain('class="verdict good" id="verdict" data-verdict="converged"');
    expect(page).toContain('id="residual-chart"');
  });

  it('bad flag values and metrics that do not fit the task: one line, exit 2', async () => {
    const dir = tempDir();
    const base = [
      'train',
      IRIS,
      '--data',
      IRIS_CSV,
      '--label',
      'species',
      '--out',
      path.join(dir, 'w.bin'),
    ];
    const [metric, top, cw, wd, clip, resume] = await Promise.all([
      gradc(...base, '--metrics', 'rmse'),
      gradc(...base, '--metrics', 'top7'),
      gradc(...base, '--class-weights', 'tulip=2'),
      gradc(...base, '--weight-decay', '-1'),
      gradc(...base, '--clip-norm', '0'),
      gradc(...base, '--resume', path.join(dir, 'missing.bin')),
    ]);
    for (const [r, text] of [
      [metric, '--metrics: rmse: rmse needs --target columns (regression)'],
      [top, '--metrics: top7: k must be between 1 and the 3 classes'],
      [cw, '--class-weights: tulip: no class "tulip"'],
      [wd, '--weight-decay: -1: must be a number ≥ 0'],
      [clip, '--clip-norm: 0: must be a positive number'],
      [resume, 'missing.bin: --resume: cannot read the file (ENOENT)'],
    ] as const) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(text);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('colours, best weights and --resume (in process)', { timeout: 180_000 }, () => {
  it('colours the verdict line by tone and the failure warning red', async () => {
    const lines: string[] = [];
    const errs: string[] = [];
    const { runTrain } = await import('../../compiler/cli/train.ts');
    const run = (lr: number, optimizer: 'sgd' | 'adam') =>
      runTrain(
        {
          model: IRIS,
          data: IRIS_CSV,
          label: 'species',
          epochs: 30,
          batch: 16,
          optimizer,
          lr,
          seed: 1,
          val: 0.2,
          normalize: true,
          patience: 5,
        },
        { out: (s) => void lines.push(s), err: (s) => void errs.push(s), tty: false, color: true },
      );
    const bad = await run(50, 'sgd');
    expect(bad.exitCode).toBe(3);
    expect(lines.find((l) => l.includes('verdict: diverged'))).toMatch(
      /^\x1b\[31mverdict: diverged/,
    );
    expect(errs.at(-1)).toMatch(/^\x1b\[31mgradc: warning: training diverged/);
    lines.length = 0;
    const good = await run(0.01, 'adam');
    expect(good.exitCode).toBe(0);
    const v = lines.find((l) => l.includes('verdict: '))!;
    expect(v.startsWith(good.verdict.tone === 'good' ? '\x1b[32m' : '\x1b[33m')).toBe(true);
  });

  it('the saved weights are the best epoch’s and reproduce its validation accuracy', async () => {
    const out = path.join(tempDir(), 'iris.bin');
    const r = await quietTrain({
      model: IRIS,
      data: IRIS_CSV,
      label: 'species',
      epochs: 200,
      batch: 16,
      lr: 0.01,
      out,
    });
    const h = r.history;
    expect(h.keptEpoch).toBe(h.bestEpoch);
    expect(h.keptEpoch).toBeLessThan(h.epochs.length - 1);
    const best = h.epochs[h.keptEpoch]!;
    expect(r.val!.accuracy).toBe(best.valAccuracy);
    expect(r.val!.loss).toBe(best.valLoss);
    expect(formatPercent(r.val!.accuracy)).toBe(formatPercent(best.valAccuracy!));
    expect(Array.from(loadWeights(out, r.module.model))).toEqual(Array.from(r.params));
    // --keep-last saves the last epoch instead.
    const last = await quietTrain({
      model: IRIS,
      data: IRIS_CSV,
      label: 'species',
      epochs: 200,
      batch: 16,
      lr: 0.01,
      keepLast: true,
      out: path.join(tempDir(), 'last.bin'),
    });
    expect(last.history.keptEpoch).toBe(199);
    expect(last.val!.loss).toBe(last.history.epochs[199]!.valLoss);
    expect(formatNumber(last.val!.loss)).toBe('0.3915');
  });

  it('--resume continues the loss curve and the optimizer’s step count', async () => {
    const dir = tempDir();
    const a = path.join(dir, 'a.bin');
    const cfg = {
      model: IRIS,
      data: IRIS_CSV,
      label: 'species',
      epochs: 15,
      batch: 16,
      lr: 0.01,
      keepLast: true,
      saveOptimizer: true,
      saveAnyway: true,
    } as const;
    const first = await quietTrain({ ...cfg, out: a });
    const state = JSON.parse(fs.readFileSync(`${a}.optimizer.json`, 'utf8'));
    expect(state.iterations).toBe(15 * 8); // 120 training rows, batch 16
    const second = await quietTrain({ ...cfg, resume: a, out: path.join(dir, 'b.bin') });
    expect(second.startIterations).toBe(120);
    // It starts where the first run ended (same rows, same weights), not from scratch.
    expect(second.history.initial.loss).toBe(first.train.loss);
    expect(second.history.epochs[0]!.loss).toBeLessThan(first.history.epochs[0]!.loss / 2);
    const fresh = await quietTrain({ ...cfg, out: path.join(dir, 'c.bin') });
    expect(fresh.history.initial.loss).toBe(first.history.initial.loss);
    const later = JSON.parse(fs.readFileSync(path.join(dir, 'b.bin.optimizer.json'), 'utf8'));
    expect(later.iterations).toBe(240);
  });
});

describe('the new flags take effect (in process)', { timeout: 180_000 }, () => {
  const base = {
    model: IRIS,
    data: IRIS_CSV,
    label: 'species',
    epochs: 20,
    batch: 16,
    keepLast: true,
    saveAnyway: true,
  } as const;
  const norm = (p: ArrayLike<number>) => Math.sqrt(Array.from(p).reduce((s, x) => s + x * x, 0));

  it('--clip-norm tames lr 50, --weight-decay shrinks the weights, --metrics adds top-k', async () => {
    const dir = tempDir();
    const clipped = await quietTrain({
      ...base,
      optimizer: 'sgd',
      lr: 50,
      clipNorm: 0.01,
      out: path.join(dir, 'a.bin'),
    });
    expect(clipped.history.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(clipped.verdict.verdict).not.toBe('diverged');
    const plain = await quietTrain({ ...base, lr: 0.01, out: path.join(dir, 'b.bin') });
    const decayed = await quietTrain({
      ...base,
      lr: 0.01,
      weightDecay: 0.05,
      out: path.join(dir, 'c.bin'),
    });
    expect(norm(decayed.params)).toBeLessThan(norm(plain.params));
    const topk = await quietTrain({
      ...base,
      lr: 0.01,
      metrics: 'accuracy,top2',
      out: path.join(dir, 'd.bin'),
    });
    const [acc, top2] = topk.val!.metrics;
    expect(acc![0]).toBe('accuracy');
    expect(top2![0]).toBe('top2');
    expect(top2![1]).toBeGreaterThanOrEqual(acc![1]);
    expect(acc![1]).toBe(topk.val!.accuracy);
  });

  it('--class-weights balanced weights rows by 1 / class frequency', async () => {
    const { rowWeights } = await import('../../compiler/training/class-weights.ts');
    const w = rowWeights('balanced', Int32Array.from([0, 0, 0, 1]), ['a', 'b']);
    expect(Array.from(w)).toEqual([4 / 6, 4 / 6, 4 / 6, 2]);
    const named = rowWeights(new Map([['b', 3]]), Int32Array.from([0, 1]), ['a', 'b']);
    expect(Array.from(named)).toEqual([1, 3]);
    const r = await quietTrain({
      ...base,
      lr: 0.01,
      classWeights: 'balanced',
      out: path.join(tempDir(), 'w.bin'),
    });
    expect(r.val!.accuracy).toBeGreaterThan(0.8);
  });
});
