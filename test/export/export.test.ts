// `gradc export` and the runtime's loadBundle: a trained model as one standalone module whose
// predictions are identical to `gradc predict` on the same rows.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, type FloatArray, type GeneratedModule } from '../../runtime/index.ts';
import { predictionsCsv } from '../../compiler/cli/predict.ts';
import type { DataMeta } from '../../compiler/training/encode.ts';
import { gradc, ROOT } from '../support/gradc-cli.ts';

const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
const EX = path.join(ROOT, 'examples');

interface Exported {
  readonly model: GeneratedModule['model'];
  readonly trained: { readonly features: readonly string[]; readonly classes?: readonly string[] };
  predict(features: ArrayLike<number>, out?: FloatArray): FloatArray;
  predictClass?(features: ArrayLike<number>): string;
}

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-export-'));
  const runs = await Promise.all([
    gradc(
      'train',
      `${EX}/iris.model.json`,
      '--data',
      `${EX}/data/iris.csv`,
      '--label',
      'species',
      '--epochs',
      '30',
      '--out',
      path.join(dir, 'iris.bin'),
    ),
    gradc(
      'train',
      `${EX}/sine.model.json`,
      '--data',
      `${EX}/data/sine.csv`,
      '--target',
      'y',
      '--epochs',
      '5',
      '--out',
      path.join(dir, 'sine.bin'),
    ),
  ]);
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  for (const [name, out] of [
    ['iris', 'iris.mjs'],
    ['iris', 'iris.cjs'],
    ['iris', 'iris.ts'],
    ['sine', 'sine.mjs'],
  ]) {
    const r = await gradc(
      'export',
      `${EX}/${name}.model.json`,
      '--weights',
      path.join(dir, `${name}.bin`),
      '-o',
      path.join(dir, out!),
    );
    expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
  }
}, 240_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Feature rows of a CSV whose columns are all numbers except `skip`. */
function rows(csv: string, features: readonly string[]): number[][] {
  const [head, ...lines] = fs.readFileSync(csv, 'utf8').trim().split(/\r?\n/);
  const cols = head!.split(',');
  const idx = features.map((f) => cols.indexOf(f));
  return lines.map((l) => {
    const cells = l.split(',');
    return idx.map((i) => Number(cells[i]));
  });
}

async function compareWithCli(name: 'iris' | 'sine', csv: string): Promise<void> {
  const m = (await import(pathToFileURL(path.join(dir, `${name}.mjs`)).href)) as Exported;
  const meta = JSON.parse(
    fs.readFileSync(path.join(dir, `${name}.bin.meta.json`), 'utf8'),
  ) as DataMeta;
  expect(m.trained.features).toEqual(meta.features);
  const data = rows(csv, meta.features);
  const width = m.model.outputSize;
  const outputs = new Float64Array(data.length * width);
  data.forEach((row, r) => outputs.set(m.predict(row), r * width));
  const cli = await gradc(
    'predict',
    `${EX}/${name}.model.json`,
    '--weights',
    path.join(dir, `${name}.bin`),
    '--data',
    csv,
  );
  expect(cli.code, cli.stderr).toBe(0);
  expect(predictionsCsv(meta, outputs, data.length, width)).toBe(cli.stdout);
  // The runtime's loader of the same bundle gives bit-identical outputs.
  const compiled = path.join(dir, `${name}-plain.mjs`);
  const c = await gradc('compile', `${EX}/${name}.model.json`, '-o', compiled);
  expect(c.code, c.stderr).toBe(0);
  const bundle = loadBundle(
    (await import(pathToFileURL(compiled).href)) as GeneratedModule,
    path.join(dir, `${name}.bin`),
  );
  const mine = new Float64Array(data.length * width);
  data.forEach((row, r) => mine.set(bundle.predict(row), r * width));
  expect(Array.from(mine)).toEqual(Array.from(outputs));
}

describe('gradc export', () => {
  it('classification: predictions identical to gradc predict (CSV) and to loadBundle', async () => {
    await compareWithCli('iris', `${EX}/data/iris.csv`);
  });

  it('regression: identical to gradc predict and loadBundle', async () => {
    await compareWithCli('sine', `${EX}/data/sine.csv`);
  });

  it('predict writes into `out` (no allocation), predictClass names the class; CommonJS too', async () => {
    const esm = (await import(pathToFileURL(path.join(dir, 'iris.mjs')).href)) as Exported;
    const cjs = createRequire(import.meta.url)(path.join(dir, 'iris.cjs')) as Exported;
    const row = [6.7, 3.0, 5.2, 2.3];
    const out = new Float64Array(3);
    expect(esm.predict(row, out)).toBe(out);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Array.from(cjs.predict(row))).toEqual(Array.from(out));
    expect(esm.predictClass?.(row)).toBe('virginica');
    expect(cjs.predictClass?.([5.1, 3.5, 1.4, 0.2])).toBe('setosa');
    expect(() => esm.predict([1, 2])).toThrow('expected 4 features, got 2');
    const text = fs.readFileSync(path.join(dir, 'iris.mjs'), 'utf8');
    expect(text).not.toMatch(/^import /m);
  });

  it('TypeScript and .d.ts output type-check under strict consumer flags', async () => {
    fs.writeFileSync(
      path.join(dir, 'use.ts'),
      `import { predictClass } from './iris.ts';\nimport * as m from './iris.mjs';\nconst k: 'setosa' | 'versicolor' | 'virginica' = m.predictClass([1, 2, 3, 4]);\nconst s: string = predictClass([1, 2, 3, 4]);\nconst p: Float64Array = m.predict([1, 2, 3, 4], new Float64Array(3));\nexport { k, s, p };\n`,
    );
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      import('node:child_process').then(({ execFile }) =>
        execFile(
          TSC,
          [
            '--ignoreConfig',
            '--noEmit',
            '--strict',
            '--noUncheckedIndexedAccess',
            '--exactOptionalPropertyTypes',
            '--verbatimModuleSyntax',
            '--allowImportingTsExtensions',
            '--module',
            'nodenext',
            '--target',
            'es2022',
            '--types',
            '',
            path.join(dir, 'use.ts'),
          ],
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
        ),
      );
    });
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses weights of another model: one line, exit 2, nothing written', async () => {
    const out = path.join(dir, 'wrong.mjs');
    const r = await gradc(
      'export',
      `${EX}/xor.model.json`,
      '--weights',
      path.join(dir, 'iris.bin'),
      '-o',
      out,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gradc: .*iris\.bin: --weights: /);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'wrong.d.mts'))).toBe(false);
  });
});
