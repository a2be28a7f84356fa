// `gradc train` and `gradc predict` spawned as a user runs them: the round trip, the output
// lines, and one-line errors with exit code 2.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA, EXAMPLES, gradc, quietTrain, tempDir, write, type Run } from './helpers.ts';

const IRIS = path.join(EXAMPLES, 'iris.model.json');
const SINE = path.join(EXAMPLES, 'sine.model.json');
const IRIS_CSV = path.join(DATA, 'iris.csv');

function expectOneLineError(r: Run, ...parts: string[]): void {
  expect(r.code, r.stderr).toBe(2);
  expect(
    r.stderr.split('\n').filter((l) => l !== ''),
    r.stderr,
  ).toHaveLength(1);
  for (const p of parts) expect(r.stderr).toContain(p);
  expect(r.stderr).not.toContain('    at ');
}

describe.concurrent('gradc train / predict', { timeout: 120_000 }, () => {
  it('train → predict round trip', async () => {
    const dir = tempDir();
    const weights = path.join(dir, 'iris.bin');
    const t = await gradc(
      'train',
      IRIS,
      '--data',
      IRIS_CSV,
      '--label',
      'species',
      '--epochs',
      '60',
      '--batch',
      '16',
      '--lr',
      '0.01',
      '--out',
      weights,
      '--every',
      '20',
    );
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    // Without a terminal: epoch 1, every 20th, the verdict (and advice), then the summary.
    expect(lines.slice(0, 4).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'epoch 1/60',
      'epoch 20/60',
      'epoch 40/60',
      'epoch 60/60',
    ]);
    expect(lines[4]).toMatch(/^verdict: (converged|still improving|overfitting) — /);
    expect(lines.at(-1)).toMatch(
      /^trained 60 epochs in [\d.]+ s · train loss [\d.]+ acc [\d.]+% · val loss [\d.]+ acc [\d.]+% · weights of epoch \d+ \(best validation loss\) → .*iris\.bin \(\+ iris\.bin\.meta\.json\)$/,
    );
    const meta = JSON.parse(fs.readFileSync(`${weights}.meta.json`, 'utf8'));
    expect(meta.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(meta.features).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);

    // Columns are found by name: reorder them and drop the label.
    const rows = fs
      .readFileSync(IRIS_CSV, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const unlabeled = write(
      dir,
      'new.csv',
      [
        'petal_width,petal_length,sepal_width,sepal_length',
        ...rows.map((r) => [r[3], r[2], r[1], r[0]].join(',')),
      ].join('\n'),
    );
    const p = await gradc('predict', IRIS, '--weights', weights, '--data', unlabeled);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toBe('');
    const out = p.stdout.trim().split('\n');
    expect(out[0]).toBe('predicted,p(setosa),p(versicolor),p(virginica)');
    expect(out).toHaveLength(151);
    const correct = out.slice(1).filter((l, i) => l.split(',')[0] === rows[i]![4]).length;
    expect(correct / 150).toBeGreaterThan(0.9);

    // With the label present, the score goes to stderr (stdout stays CSV) or into the summary.
    const scored = await gradc('predict', IRIS, '--weights', weights, '--data', IRIS_CSV);
    expect(scored.stderr).toMatch(/^gradc: accuracy [\d.]+%, loss [\d.]+ on 150 rows\n$/);
    expect(scored.stdout).toBe(p.stdout);
    const file = path.join(dir, 'preds.csv');
    const toFile = await gradc(
      'predict',
      IRIS,
      '--weights',
      weights,
      '--data',
      IRIS_CSV,
      '--out',
      file,
    );
    expect(toFile.stdout).toMatch(
      /^wrote .*preds\.csv \(\d+ bytes\): 150 predictions · accuracy [\d.]+%, loss [\d.]+ against the file's "species"\n$/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(p.stdout);
  });

  it('a bad row: file, line and column; nothing written', async () => {
    const dir = tempDir();
    const bad = write(
      dir,
      'bad.csv',
      'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n4.9,3..0,1.4,0.2,versicolor\n6.2,3.4,5.4,2.3,virginica\n',
    );
    const r = await gradc(
      'train',
      IRIS,
      '--data',
      bad,
      '--label',
      'species',
      '--out',
      path.join(dir, 'w.bin'),
    );
    expectOneLineError(r, 'bad.csv: line 3: column "sepal_width": "3..0" is not a number');
    expect(fs.readdirSync(dir)).toEqual(['bad.csv']);
  });

  it('an unknown column and bad option values: exit 2', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'w.bin');
    const [col, opt, val, both] = await Promise.all([
      gradc('train', IRIS, '--data', IRIS_CSV, '--label', 'class', '--out', out),
      gradc(
        'train',
        IRIS,
        '--data',
        IRIS_CSV,
        '--label',
        'species',
        '--optimizer',
        'adamm',
        '--out',
        out,
      ),
      gradc('train', IRIS, '--data', IRIS_CSV, '--label', 'species', '--val', '1', '--out', out),
      gradc('train', IRIS, '--data', IRIS_CSV, '--out', out),
    ]);
    expectOneLineError(col, 'iris.csv: line 1: --label: no column "class"');
    expectOneLineError(
      opt,
      '--optimizer: adamm: unknown optimizer; expected one of sgd, momentum, adam, adamw, rmsprop',
    );
    expectOneLineError(val, '--val: 1: must be a fraction in [0, 1)');
    expectOneLineError(both, 'give either --label COL (classification) or --target COL');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('predict refuses weights without their description, or damaged ones', async () => {
    const dir = tempDir();
    const weights = path.join(dir, 'iris.bin');
    // Trained in-process: this test is about predict.
    await quietTrain({
      model: IRIS,
      data: IRIS_CSV,
      label: 'species',
      epochs: 2,
      out: weights,
      saveAnyway: true,
    });
    const bytes = fs.readFileSync(weights);
    bytes[bytes.length - 1] ^= 0xff;
    const damaged = path.join(dir, 'damaged.bin');
    fs.writeFileSync(damaged, bytes);
    fs.copyFileSync(`${weights}.meta.json`, `${damaged}.meta.json`);
    fs.copyFileSync(weights, path.join(dir, 'bare.bin'));
    const [bad, bare, other] = await Promise.all([
      gradc('predict', IRIS, '--weights', damaged, '--data', IRIS_CSV),
      gradc('predict', IRIS, '--weights', path.join(dir, 'bare.bin'), '--data', IRIS_CSV),
      gradc('predict', SINE, '--weights', weights, '--data', IRIS_CSV),
    ]);
    expectOneLineError(bad, 'damaged.bin: --weights: weights payload is corrupted');
    expectOneLineError(bare, 'bare.bin.meta.json: --weights: cannot read the column description');
    expectOneLineError(other, 'iris.bin: --weights: weights hold');
  });

  it('divergence: warnings, a report, no weights, exit 3', async () => {
    const dir = tempDir();
    const r = await gradc(
      'train',
      SINE,
      '--data',
      path.join(DATA, 'sine.csv'),
      '--target',
      'y',
      '--optimizer',
      'sgd',
      '--lr',
      '1000',
      '--epochs',
      '20',
      '--out',
      path.join(dir, 'w.bin'),
      '--report',
      path.join(dir, 'r.html'),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/gradc: warning: epoch \d+: layer dense\d: gradient norm/);
    expect(r.stdout).toMatch(/^verdict: diverged — the loss became (NaN|Infinity) in epoch \d+/m);
    expect(r.stderr).toContain(
      'gradc: warning: training diverged; no weights written (--save-anyway writes them); exit code 3',
    );
    expect(fs.readdirSync(dir)).toEqual(['r.html']);
    expect(fs.readFileSync(path.join(dir, 'r.html'), 'utf8')).toContain('class="nonfinite"');
  });
});
