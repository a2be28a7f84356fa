// Issue 10's corpus: every way `compile`, `train` and `predict` could destroy a file, lose
// work, answer wrongly in silence or print file text raw, each through the CLI on a fresh
// folder. Most run the CLI's main function in-process (the same code gradc.mjs runs, minus
// the ~1 s start-up); the cases where root and an ordinary user differ also run the real
// command as a throwaway uid.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWeights } from '../../runtime/index.ts';
import { compileBytes } from '../../compiler/index.ts';
import { importCompiled } from '../../compiler/cli/load.ts';
import { splitRows } from '../../compiler/cli/train.ts';
import { csvField, predictionsCsv } from '../../compiler/cli/predict.ts';
import { fitNormalization } from '../../compiler/training/encode.ts';
import { sha256 } from '../../compiler/training/meta.ts';
import { lineChart } from '../../compiler/training/report/chart.ts';
import { GRADC, removeTempDirs, tempDir } from './helpers.ts';
import {
  changed,
  cli,
  fillUp,
  isOneLineError,
  isRoot,
  makeCharDevice,
  makeFifo,
  mountTmpfs,
  snapshot,
  trainArgs,
  unmount,
  workspace,
  xorCsv,
  XOR_MODEL,
} from './cli-support.ts';

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.splice(0)) unmount(m);
  removeTempDirs();
});

const T = { timeout: 60_000 };

/** Runs `args`, expects a one-line exit-2 error containing `text` and no change in `dir`. */
async function refused(dir: string, args: string[], text: string | RegExp): Promise<string> {
  const before = snapshot(dir);
  const r = await cli(args);
  expect(isOneLineError(r), `${r.code} ${JSON.stringify(r.stderr)}`).toBe(true);
  if (typeof text === 'string') expect(r.stderr).toContain(text);
  else expect(r.stderr).toMatch(text);
  expect(changed(before, snapshot(dir))).toEqual([]);
  return r.stderr;
}

function predictArgs(w: { model: string; weights: string; data: string }, ...more: string[]) {
  return ['predict', w.model, '--weights', w.weights, '--data', w.data, ...more];
}

describe('outputs that would destroy something are refused, and nothing changes', T, () => {
  it('a character device (a mknod replica of /dev/null) as -o, --out or --report', async () => {
    const w = await workspace({ trained: true });
    const dev = path.join(w.dir, 'X');
    if (!makeCharDevice(dev)) return void console.warn('skipped: mknod is not permitted here');
    const msg = 'is a character device, not a regular file';
    await refused(w.dir, ['compile', w.model, '-o', dev], `${dev}: -o: ${msg}`);
    await refused(w.dir, predictArgs(w, '--out', dev), `${dev}: --out: ${msg}`);
    await refused(w.dir, trainArgs(w.model, w.data, dev), `${dev}: --out: ${msg}`);
    await refused(
      w.dir,
      trainArgs(w.model, w.data, path.join(w.dir, 'v.bin'), '--report', dev),
      `${dev}: --report: ${msg}`,
    );
    expect(fs.lstatSync(dev).isCharacterDevice()).toBe(true);
  });

  it('a FIFO and a symbolic link as the output', async () => {
    const w = await workspace({ trained: true });
    const fifo = path.join(w.dir, 'pipe');
    if (makeFifo(fifo))
      await refused(
        w.dir,
        ['compile', w.model, '-o', fifo],
        'is a named pipe (FIFO), not a regular file',
      );
    const victim = path.join(w.dir, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    const link = path.join(w.dir, 'link.ts');
    fs.symlinkSync(victim, link);
    await refused(w.dir, ['compile', w.model, '-o', link], `${link}: -o: is a symbolic link`);
    await refused(w.dir, predictArgs(w, '--out', link), `${link}: --out: is a symbolic link`);
    const dangling = path.join(w.dir, 'dangling.ts');
    fs.symlinkSync(path.join(w.dir, 'nowhere'), dangling);
    await refused(w.dir, ['compile', w.model, '-o', dangling], 'is a symbolic link');
  });

  it('predict --out naming the data, the model, the weights or their metadata, under any spelling', async () => {
    const w = await workspace({ trained: true });
    const hard = path.join(w.dir, 'hard.csv');
    fs.linkSync(w.data, hard);
    const soft = path.join(w.dir, 'soft.bin');
    fs.symlinkSync(w.weights, soft);
    const cases: [string, string][] = [
      [w.data, 'would overwrite the --data file'],
      [path.join(w.dir, 'sub', '..', 'd.csv'), 'would overwrite the --data file'],
      [hard, 'would overwrite the --data file'],
      [w.model, 'the output file is the model file itself'],
      [w.weights, 'would overwrite the --weights file'],
      [soft, 'would overwrite the --weights file'],
      [w.meta, 'would overwrite the --weights (.meta.json) file'],
    ];
    for (const [out, msg] of cases) await refused(w.dir, predictArgs(w, '--out', out), msg);
  });

  it('train: --report on the model, --report equal to --out, a data file that is <out>.meta.json', async () => {
    const w = await workspace();
    const out = path.join(w.dir, 'w.bin');
    await refused(
      w.dir,
      trainArgs(w.model, w.data, out, '--report', w.model),
      'the output file is the model file itself',
    );
    await refused(
      w.dir,
      trainArgs(w.model, w.data, out, '--report', out),
      `${out}: --report: is the same file as --out`,
    );
    await refused(w.dir, trainArgs(w.model, w.data, w.data), 'would overwrite the --data file');
    const sidecarData = path.join(w.dir, 'w.bin.meta.json');
    fs.copyFileSync(w.data, sidecarData);
    await refused(
      w.dir,
      trainArgs(w.model, sidecarData, out),
      `${sidecarData}: --out (its .meta.json): would overwrite the --data file`,
    );
  });

  it('replacing an output keeps its mode (0600 stays 0600), for compile, train and predict', async () => {
    const w = await workspace({ trained: true });
    const code = path.join(w.dir, 'm.js');
    const preds = path.join(w.dir, 'p.csv');
    for (const f of [code, preds, w.weights, w.meta]) {
      if (!fs.existsSync(f)) fs.writeFileSync(f, 'old');
      fs.chmodSync(f, 0o600);
    }
    expect((await cli(['compile', w.model, '-o', code, '--quiet'])).code).toBe(0);
    expect((await cli(predictArgs(w, '--out', preds, '--quiet'))).code).toBe(0);
    expect((await cli(trainArgs(w.model, w.data, w.weights))).code).toBe(0);
    for (const f of [code, preds, w.weights, w.meta])
      expect(fs.statSync(f).mode & 0o777, f).toBe(0o600);
    expect(fs.readFileSync(code, 'utf8')).not.toBe('old');
  });
});

describe('weights and metadata are one unit', T, () => {
  it('a disk full while writing them changes neither (tmpfs; root only)', async () => {
    const w = await workspace();
    const mnt = path.join(w.dir, 'small');
    fs.mkdirSync(mnt);
    if (!isRoot || !mountTmpfs(mnt, 64)) return void console.warn('skipped: cannot mount a tmpfs');
    mounts.push(mnt);
    const out = path.join(mnt, 'w.bin');
    expect((await cli(trainArgs(w.model, w.data, out))).code).toBe(0);
    fillUp(mnt);
    const before = snapshot(mnt);
    const r = await cli(trainArgs(w.model, w.data, out, '--seed', '2'));
    expect(isOneLineError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/--out: cannot write the file: the disk is full \(ENOSPC\)/);
    expect(changed(before, snapshot(mnt))).toEqual([]);
    // The surviving pair still predicts.
    expect((await cli(predictArgs({ ...w, weights: out }))).code).toBe(0);
  });

  it('weights that are not the ones written with the metadata (a kill between the renames) are refused', async () => {
    const w = await workspace({ trained: true });
    const other = path.join(w.dir, 'other.bin');
    expect((await cli(trainArgs(w.model, w.data, other, '--seed', '7'))).code).toBe(0);
    fs.copyFileSync(other, w.weights);
    await refused(
      w.dir,
      predictArgs(w),
      `${w.meta}: $.weights.sha256: the weights file is not the one written with this file`,
    );
  });

  it('weights of a model with the same shapes but another activation or loss are refused', async () => {
    const w = await workspace({ trained: true });
    const relu = path.join(w.dir, 'relu.model.json');
    fs.writeFileSync(
      relu,
      JSON.stringify({
        ...XOR_MODEL,
        layers: [{ ...XOR_MODEL.layers[0], activation: 'relu' }, XOR_MODEL.layers[1]],
      }),
    );
    await refused(
      w.dir,
      predictArgs({ ...w, model: relu }),
      'were saved for a different parameter layout',
    );
    const bce = path.join(w.dir, 'bce.model.json');
    fs.writeFileSync(bce, JSON.stringify({ ...XOR_MODEL, loss: 'binaryCrossEntropy' }));
    await refused(
      w.dir,
      predictArgs({ ...w, model: bce }),
      'were saved for a different parameter layout',
    );
    // A custom expression is "custom" in the weights header; the metadata's model hash tells them apart.
    const e1 = await workspace({
      trained: true,
      model: {
        ...XOR_MODEL,
        layers: [
          { ...XOR_MODEL.layers[0], activation: { expr: 'x / (1 + exp(-x))' } },
          XOR_MODEL.layers[1],
        ],
      },
    });
    const e2 = path.join(e1.dir, 'e2.model.json');
    fs.writeFileSync(
      e2,
      JSON.stringify({
        ...XOR_MODEL,
        layers: [
          { ...XOR_MODEL.layers[0], activation: { expr: 'x / (1 + exp(-2*x))' } },
          XOR_MODEL.layers[1],
        ],
      }),
    );
    await refused(
      e1.dir,
      predictArgs({ ...e1, model: e2 }),
      `${e1.meta}: $.modelHash: was written for a different model`,
    );
  });
});

describe('damaged or edited metadata is refused with its JSON path', T, () => {
  const edits: [string, (m: Record<string, unknown>) => void, string][] = [
    [
      'a string std',
      (m) => ((m.normalize as { std: unknown[] }).std[0] = 'abc'),
      '$.normalize.std[0]',
    ],
    [
      'a zero std',
      (m) => ((m.normalize as { std: unknown[] }).std[0] = 0),
      '$.normalize.std[0]: must be greater than 0',
    ],
    [
      'a NaN-like mean',
      (m) => ((m.normalize as { mean: unknown[] }).mean[1] = null),
      '$.normalize.mean[1]',
    ],
    [
      'one class more than outputs',
      (m) => (m.classes as string[]).push('maybe'),
      '$.classes: 3 classes, but the model has 1 outputs',
    ],
    ['one class', (m) => (m.classes = ['no']), '$.classes: must list at least 2 classes'],
    [
      'repeated classes',
      (m) => (m.classes = ['no', 'no']),
      '$.classes: class names must not repeat',
    ],
    ['"targets": "abc"', (m) => (m.targets = 'abc'), '$.targets'],
    ['an extra field', (m) => (m.extra = 1), 'extra'],
    [
      'std shorter than features',
      (m) => (m.normalize as { std: unknown[] }).std.pop(),
      '$.normalize.std: has 1 entries for 2 features',
    ],
    ['version 1', (m) => (m.version = 1), '$.version: version "1" is not 2'],
    [
      'another layout hash',
      (m) => (m.layoutHash = '0123456789abcdef'),
      '$.modelHash: was written for a different model',
    ],
  ];
  it.each(edits)('%s', async (_, edit, text) => {
    const w = await workspace({ trained: true });
    const meta = JSON.parse(fs.readFileSync(w.meta, 'utf8')) as Record<string, unknown>;
    edit(meta);
    fs.writeFileSync(w.meta, JSON.stringify(meta));
    await refused(w.dir, predictArgs(w), text);
  });
});

describe('long runs and large data do not overflow the stack', T, () => {
  it('the report of a 70,000-epoch run and a chart of 200,000 points', async () => {
    const values = Array.from({ length: 200_000 }, (_, i) => 1 / (i + 1));
    expect(() =>
      lineChart([{ name: 'loss', values, color: '#000' }], {
        id: 'loss',
        title: 't',
        yLabel: 'loss',
        log: true,
      }),
    ).not.toThrow();
    const w = await workspace();
    const out = path.join(w.dir, 'w.bin');
    const report = path.join(w.dir, 'r.html');
    const r = await cli(
      trainArgs(w.model, w.data, out, '--report', report, '--epochs', '70000', '--batch', '64'),
    );
    expect(r.stderr.split('\n').filter((l) => /error/.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    expect(fs.statSync(report).size).toBeGreaterThan(1000);
    expect(fs.existsSync(out) && fs.existsSync(`${out}.meta.json`)).toBe(true);
  }, 180_000);

  it('a class of 200,000 rows splits, and a 150,000-class row predicts', () => {
    const classOf = new Int32Array(200_000);
    const [train, val] = splitRows(classOf.length, 0.2, 1, classOf);
    expect([train.length, val.length]).toEqual([160_000, 40_000]);
    const width = 150_000;
    const outputs = new Float64Array(width);
    outputs[123_456] = 1;
    const classes = Array.from({ length: width }, (_, i) => `c${i}`);
    const csv = predictionsCsv(
      { features: ['x'], normalize: null, label: 'y', classes },
      outputs,
      1,
      width,
    );
    expect(csv.split('\n')[1]!.startsWith('c123456,')).toBe(true);
  });
});

describe('write failures are one line, exit 2', T, () => {
  it('a read-only file system (tmpfs mounted ro; root only)', async () => {
    const w = await workspace();
    const mnt = path.join(w.dir, 'ro');
    fs.mkdirSync(mnt);
    if (!isRoot || !mountTmpfs(mnt, 64, true))
      return void console.warn('skipped: cannot mount a tmpfs');
    mounts.push(mnt);
    const out = path.join(mnt, 'w.bin');
    const r = await refused(
      w.dir,
      trainArgs(w.model, w.data, out),
      `${out}: --out: cannot write the file: the file system is read-only (EROFS)`,
    );
    expect(r).not.toMatch(/internal error/);
    await refused(
      w.dir,
      ['compile', w.model, '-o', path.join(mnt, 'm.js')],
      '-o: cannot write the file: the file system is read-only (EROFS)',
    );
  });

  it('a 250-character output name (the temporary name must still fit in 255 bytes)', async () => {
    const w = await workspace();
    const out = path.join(w.dir, `${'w'.repeat(246)}.bin`);
    // The weights' name fits; their metadata's (+10 bytes) does not: refused before training.
    await refused(
      w.dir,
      trainArgs(w.model, w.data, out),
      '--out (its .meta.json): the file name is 260 bytes, more than the 255 a file system allows',
    );
    const code = path.join(w.dir, `${'é'.repeat(125)}.js`); // 253 bytes of UTF-8
    const c = await cli(['compile', w.model, '-o', code]);
    expect([c.code, c.stderr]).toEqual([0, '']);
    // JavaScript output gets its .d.ts beside it (255 bytes: still a legal name).
    const dts = code.replace(/\.js$/, '.d.ts');
    expect(c.stdout).toBe(
      `wrote ${code} (${fs.statSync(code).size} bytes), ${dts} (${fs.statSync(dts).size} bytes)\n`,
    );
  });

  it('as an ordinary user: a folder without write permission (a throwaway uid via setpriv)', async () => {
    const dir = tempDir('gradc-user-');
    fs.chmodSync(dir, 0o755);
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, { mode: 0o555 });
    const model = path.join(dir, 'm.model.json');
    fs.writeFileSync(model, JSON.stringify(XOR_MODEL));
    fs.chmodSync(model, 0o644);
    const uid = 64_999;
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          'setpriv',
          [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, GRADC, ...args],
          { cwd: dir },
          (err, _o, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
        );
      });
    if (!isRoot) return void console.warn('skipped: setpriv needs root');
    const r = await run(['compile', model, '-o', path.join(locked, 'm.js')]);
    if (r.code === 127 || /setpriv/.test(r.stderr))
      return void console.warn(`skipped: ${r.stderr}`);
    expect(r.stderr).toBe(
      `gradc: ${path.join(locked, 'm.js')}: -o: the folder ${locked} is not writable\n`,
    );
    expect(r.code).toBe(2);
    const data = path.join(dir, 'd.csv');
    fs.writeFileSync(data, xorCsv(), { mode: 0o644 });
    const out = path.join(locked, 'w.bin');
    const t = await run(trainArgs(model, data, out));
    expect(t.stderr).toBe(`gradc: ${out}: --out: the folder ${locked} is not writable\n`);
    expect(t.code).toBe(2);
    expect(fs.readdirSync(locked)).toEqual([]);
  }, 60_000);
});

describe('numbers: no silent wrong answer', T, () => {
  it('features of magnitude 1e200 standardize exactly as at magnitude 1 (scaled two-pass variance)', async () => {
    const rows = Int32Array.from({ length: 40 }, (_, i) => i);
    const small = new Float64Array(80).map((_, i) => ((i * 37) % 11) - 5);
    const big = small.map((v) => v * 1e200);
    const a = fitNormalization(small, 2, rows);
    const b = fitNormalization(big, 2, rows);
    for (let j = 0; j < 2; j++) {
      expect(b.std[j]! / 1e200).toBeCloseTo(a.std[j]!, 10);
      expect(Number.isFinite(b.std[j]!)).toBe(true);
    }
    const w = await workspace({ csv: xorCsv(1e200) });
    const out = path.join(w.dir, 'w.bin');
    const t = await cli(
      trainArgs(w.model, w.data, out, '--val', '0').filter((x) => x !== '--quiet'),
    );
    expect(t.code, t.stderr).toBe(0);
    const meta = JSON.parse(fs.readFileSync(`${out}.meta.json`, 'utf8'));
    expect(meta.normalize.std.every((s: number) => s > 1e199 && Number.isFinite(s))).toBe(true);
    const trainAcc = /train loss [\d.]+ acc ([\d.]+)%/.exec(t.stdout)![1];
    const p = await cli(predictArgs({ ...w, weights: out }));
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toContain(`accuracy ${trainAcc}%`);
  });

  it('a feature beyond what the training rows can standardize is refused, naming the row', async () => {
    const w = await workspace({ csv: xorCsv(1e-300) });
    const out = path.join(w.dir, 'w.bin');
    expect((await cli(trainArgs(w.model, w.data, out))).code).toBe(0);
    const far = path.join(w.dir, 'far.csv');
    // (1e300 − mean) / std with std ≈ 5e-301 is far beyond the float range.
    fs.writeFileSync(far, 'a,b,y\n1e300,0,no\n');
    await refused(
      w.dir,
      predictArgs({ ...w, weights: out, data: far }),
      `${far}: line 2: column "a": the value cannot be standardized`,
    );
  });

  it('a label with a single class is refused before training', async () => {
    const w = await workspace({ csv: 'a,b,y\n0,0,only\n1,0,only\n0,1,only\n' });
    await refused(
      w.dir,
      trainArgs(w.model, w.data, path.join(w.dir, 'w.bin')),
      '--label: column "y" has only one class, "only"; a classifier needs at least 2',
    );
  });

  it('NaN outputs are refused, naming the row (not an empty class and exit 0)', async () => {
    const w = await workspace({ trained: true });
    const compiled = await compileBytes(fs.readFileSync(w.model), w.model, 'js');
    const m = (await importCompiled(compiled)).model;
    const params = new Float64Array(m.paramCount).fill(NaN);
    const bytes = encodeWeights(m, params);
    fs.writeFileSync(w.weights, bytes);
    const meta = JSON.parse(fs.readFileSync(w.meta, 'utf8'));
    meta.weights = { bytes: bytes.length, sha256: sha256(bytes) };
    fs.writeFileSync(w.meta, JSON.stringify(meta));
    await refused(w.dir, predictArgs(w), /d\.csv: line 2: the model's output 0 is NaN/);
  });
});

describe('resource bounds', T, () => {
  it('a power tower, with tabs or ~, is refused by its nesting, quickly', async () => {
    const w = await workspace();
    for (const expr of [
      Array(500).fill('x').join('^'),
      Array(40).fill('x').join('\t^\t'),
      `${'~'.repeat(40)}x`,
      `${'-\t'.repeat(40)}x`,
    ]) {
      fs.writeFileSync(
        w.model,
        JSON.stringify({
          ...XOR_MODEL,
          layers: [{ type: 'dense', units: 8, activation: { expr } }, XOR_MODEL.layers[1]],
        }),
      );
      await refused(
        w.dir,
        ['compile', w.model],
        '$.layers[0].activation.expr: expression is nested deeper than 32 levels',
      );
    }
  });

  it('the IR of an expression, with its derivative, is bounded (an AST too costly for its text)', async () => {
    const { compileSpec } = await import('../../compiler/pipeline.ts');
    const { parseModelBytes } = await import('../../compiler/format/parse.ts');
    const spec = await parseModelBytes(Buffer.from(JSON.stringify(XOR_MODEL)), 'm');
    type E =
      { k: 'var'; name: string } | { k: 'num'; v: number } | { k: 'op'; op: string; args: E[] };
    let e: E = { k: 'var', name: 'x' };
    // sin(x + 1) · sin(x + 2) · …: distinct factors, so hash-consing shares nothing.
    let prod: E = e;
    for (let i = 1; i < 1500; i++)
      prod = {
        k: 'op',
        op: 'mul',
        args: [
          prod,
          { k: 'op', op: 'sin', args: [{ k: 'op', op: 'add', args: [e, { k: 'num', v: i }] }] },
        ],
      };
    e = prod;
    const costly = {
      ...spec,
      layers: [
        { ...spec.layers[0]!, activation: { name: 'custom', params: {}, expr: e } },
        spec.layers[1]!,
      ],
    };
    expect(() => compileSpec(costly, { format: 'js', source: 'm.model.json' })).toThrow(
      /m\.model\.json: \$\.layers\[0\]\.activation\.expr: the expression and its derivative take \d+ operations, more than the limit of 2000/,
    );
  });

  it('the emitted code is bounded per model: many wide layers of a costly activation', async () => {
    const expr = Array(120)
      .fill(0)
      .map((_, i) => `sin(x + ${i})`)
      .join(' * ')
      .slice(0, 990);
    const model = {
      input: 64,
      layers: Array(6).fill({
        type: 'dense',
        units: 64,
        activation: { expr: expr.replace(/ \* [^*]*$/, '') },
      }),
      loss: 'mse',
    };
    const w = await workspace({ model });
    await refused(
      w.dir,
      ['compile', w.model, '-o', path.join(w.dir, 'm.js')],
      /\$\.layers: the generated code would hold \d+ operations, more than the limit of 250000/,
    );
  }, 120_000);

  it('the real work-memory plan is checked, not the estimate', async () => {
    // Estimate 4 · (1 + 3,999,991) = 15,999,968 passes; the plan needs far more.
    const model = {
      input: 1,
      layers: [1e6, 1, 1e6, 1, 1e6, 1, 999_987, 1].map((units) => ({
        type: 'dense',
        units,
        activation: 'relu',
      })),
      loss: 'mse',
    };
    const w = await workspace({ model });
    await refused(
      w.dir,
      ['compile', w.model, '-o', path.join(w.dir, 'm.js')],
      /\$\.layers: the model needs \d+ elements of work memory, more than the limit of 16000000/,
    );
  }, 120_000);

  it('a data file over the bound (a device that never ends, a file) is refused; the flag raises it', async () => {
    const w = await workspace({ trained: true });
    await refused(
      w.dir,
      predictArgs({ ...w, data: '/dev/zero' }),
      '/dev/zero: --data: the file is more than the limit of 100000000 bytes (raise it with --max-data-bytes)',
    );
    await refused(
      w.dir,
      predictArgs(w, '--max-data-bytes', '100'),
      /d\.csv: --data: the file is \d+ bytes, more than the limit of 100 \(raise it with --max-data-bytes\)/,
    );
    await refused(
      w.dir,
      trainArgs(w.model, w.data, path.join(w.dir, 'v.bin'), '--max-data-bytes', '100'),
      'more than the limit of 100',
    );
    expect((await cli(predictArgs(w, '--max-data-bytes', '100000'))).code).toBe(0);
    fs.writeFileSync(w.weights, Buffer.alloc(1 << 20));
    await refused(
      w.dir,
      predictArgs(w),
      /w\.bin: --weights: the file is 1048576 bytes, more than the limit of \d+/,
    );
  }, 120_000);
});

describe('file text in messages and CSV cells', T, () => {
  const hostile = ['\u001b]0;owned\u0007', '\u001b[2J', '\u202eevil', 'a\u0085b', 'ｘ'];
  it.each(hostile)('expression text %j is escaped in every message', async (bad) => {
    const w = await workspace();
    for (const expr of [`x + ${bad}`, `x ${bad}`, `"${bad}" + x`, `${bad}(x)`]) {
      fs.writeFileSync(
        w.model,
        JSON.stringify({
          ...XOR_MODEL,
          layers: [{ type: 'dense', units: 2, activation: { expr } }, XOR_MODEL.layers[1]],
        }),
      );
      const r = await cli(['compile', w.model]);
      expect(isOneLineError(r), `${expr}: ${JSON.stringify(r.stderr)}`).toBe(true);
      expect(/[^\x20-\x7e\n]/.test(r.stderr), JSON.stringify(r.stderr)).toBe(false);
    }
  });

  it('misleading messages: NaN + x, Math.exp(x)', async () => {
    const w = await workspace();
    const cases: [string, string][] = [
      ['NaN + x', 'NaN is not a number a model can use'],
      [
        'Math.exp(x)',
        'calling a property (like Math.exp) is not supported; call the function by its name, e.g. exp(x)',
      ],
    ];
    for (const [expr, msg] of cases) {
      fs.writeFileSync(
        w.model,
        JSON.stringify({
          ...XOR_MODEL,
          layers: [{ type: 'dense', units: 2, activation: { expr } }, XOR_MODEL.layers[1]],
        }),
      );
      await refused(w.dir, ['compile', w.model], `$.layers[0].activation.expr: ${msg}`);
    }
  });

  it('hostile class names and data text are refused or escaped in messages', async () => {
    const hostile = await workspace({ csv: xorCsv(1, ['\u001b[31mred', '\u202eyes']) });
    const h = await refused(
      hostile.dir,
      trainArgs(hostile.model, hostile.data, path.join(hostile.dir, 'w.bin')),
      /d\.csv: line \d+: column "y": class "\\u[0-9a-f]{4}.*" has a control character/,
    );
    expect(/[^\x20-\x7e\n]/.test(h), h).toBe(false);
    const header = await workspace({ csv: 'a,b,\u009by\n0,0,1\n' });
    await refused(
      header.dir,
      trainArgs(header.model, header.data, path.join(header.dir, 'w.bin')),
      'column "\\u009by" has a control character in its name',
    );
    const w = await workspace();
    const out = path.join(w.dir, 'w.bin');
    expect((await cli(trainArgs(w.model, w.data, out))).code).toBe(0);
    const odd = path.join(w.dir, 'odd.csv');
    fs.writeFileSync(odd, 'a,b,y\n0,0,\u009b6n\n');
    const r = await refused(w.dir, predictArgs({ ...w, weights: out, data: odd }), 'unknown class');
    expect(/[^\x20-\x7e\n]/.test(r)).toBe(false);
    const json = path.join(w.dir, 'odd.json');
    fs.writeFileSync(json, '[{"a": 1, "b": \u001b[2J}]');
    const j = await refused(
      w.dir,
      predictArgs({ ...w, weights: out, data: json }),
      'not valid JSON',
    );
    expect(/[^\x20-\x7e\n]/.test(j), j).toBe(false);
  });

  it('CSV formula injection: class names and target columns are neutralized', async () => {
    const evil = ["=cmd|' /C calc'!A0", '+1+2'];
    const w = await workspace({ csv: xorCsv(1, [evil[0]!, evil[1]!]) });
    const out = path.join(w.dir, 'w.bin');
    expect((await cli(trainArgs(w.model, w.data, out))).code).toBe(0);
    const p = await cli(predictArgs({ ...w, weights: out }));
    expect(p.code, p.stderr).toBe(0);
    const [header, first] = p.stdout.split('\n');
    // The header cell starts with "p(": nothing for a spreadsheet to evaluate.
    expect(header).toBe(`predicted,p(=cmd|' /C calc'!A0)`);
    expect([`"'=cmd|' /C calc'!A0"`, `"'+1+2"`]).toContain(first!.split(',')[0]);
    for (const [cell, safe] of [
      ['=1+1', `"'=1+1"`],
      ['@SUM(A1:A9)', `"'@SUM(A1:A9)"`],
      ['-1.5', '-1.5'],
      ['+3', '+3'],
      ['-x', `"'-x"`],
      ['\tx', `"'\tx"`],
      ['plain', 'plain'],
    ] as const)
      expect(csvField(cell), cell).toBe(safe);
    const reg = await workspace({
      csv: 'a,b,=1+1\n0,0,1\n1,0,2\n0,1,3\n1,1,4\n',
      model: { ...XOR_MODEL, layers: [XOR_MODEL.layers[0], { type: 'dense', units: 1 }] },
    });
    const rOut = path.join(reg.dir, 'w.bin');
    expect(
      (
        await cli([
          'train',
          reg.model,
          '--data',
          reg.data,
          '--target',
          '=1+1',
          // Enough to learn (a run that does not learn exits 4 and writes nothing).
          '--epochs',
          '300',
          '--lr',
          '0.05',
          '--out',
          rOut,
          '--quiet',
        ])
      ).code,
    ).toBe(0);
    const rp = await cli(predictArgs({ ...reg, weights: rOut }));
    expect(rp.stdout.split('\n')[0]).toBe(`"'=1+1"`);
  });

  it('write errors name the option that named the file (--out, --report), and a report failure keeps the weights', async () => {
    const w = await workspace({ trained: true });
    const blocked = path.join(w.dir, 'd.csv', 'p.csv');
    await refused(
      w.dir,
      predictArgs(w, '--out', blocked),
      `${blocked}: --out: ${w.data} is not a folder`,
    );
    await refused(
      w.dir,
      trainArgs(w.model, w.data, path.join(w.dir, 'v.bin'), '--report', blocked),
      `${blocked}: --report:`,
    );
  });

  it('a success prints one line saying what was written; --quiet prints nothing', async () => {
    const w = await workspace({ trained: true });
    const out = path.join(w.dir, 'p.csv');
    const p = await cli(predictArgs(w, '--out', out));
    expect(p.stdout).toMatch(
      new RegExp(
        `^wrote ${out.replace(/[.\\/]/g, '\\$&')} \\(\\d+ bytes\\): 40 predictions · accuracy [\\d.]+%, loss [\\d.]+ against the file's "y"\\n$`,
      ),
    );
    const q = await cli(predictArgs(w, '--out', out, '--quiet'));
    expect([q.code, q.stdout, q.stderr]).toEqual([0, '', '']);
  });
});

describe('bytes of a damaged weights or metadata file are escaped', T, () => {
  it('a bad magic with C1 and ESC bytes, an unknown metadata key with a bidi override', async () => {
    const w = await workspace({ trained: true });
    const bytes = fs.readFileSync(w.weights);
    bytes.set([0x9b, 0x1b, 0x5b, 0x32], 0);
    fs.writeFileSync(w.weights, bytes);
    const r = await refused(
      w.dir,
      predictArgs(w),
      `${w.weights}: --weights: not a gradc weights file`,
    );
    expect(/[^\x20-\x7e\n]/.test(r), r).toBe(false);
    const v = await workspace({ trained: true });
    const meta = JSON.parse(fs.readFileSync(v.meta, 'utf8'));
    meta['\u202eevil\u001b[2J'] = 1;
    fs.writeFileSync(v.meta, JSON.stringify(meta));
    const m = await refused(v.dir, predictArgs(v), `${v.meta}: $:`);
    expect(/[^\x20-\x7e\n]/.test(m), m).toBe(false);
  });
});

describe('a report that fails never costs the weights', T, () => {
  it('the disk fills up between the weights and the report (tmpfs; root only)', async () => {
    const w = await workspace();
    const mnt = path.join(w.dir, 'almost-full');
    fs.mkdirSync(mnt);
    if (!isRoot || !mountTmpfs(mnt, 256)) return void console.warn('skipped: cannot mount a tmpfs');
    mounts.push(mnt);
    fillUp(mnt);
    // Room for the weights and their metadata (a few KB), not for the report (tens of KB).
    const filler = path.join(mnt, 'filler');
    fs.truncateSync(filler, fs.statSync(filler).size - 16 * 1024);
    const out = path.join(mnt, 'w.bin');
    const report = path.join(mnt, 'r.html');
    const r = await cli(trainArgs(w.model, w.data, out, '--report', report));
    expect(isOneLineError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(
      `${report}: --report: cannot write the file: the disk is full (ENOSPC); the weights were written to ${out}`,
    );
    expect(fs.existsSync(report)).toBe(false);
    const p = await cli(predictArgs({ ...w, weights: out }));
    expect(p.code, p.stderr).toBe(0);
  });
});
