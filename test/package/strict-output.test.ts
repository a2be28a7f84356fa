// Generated code fits any consumer: every example and fixture model, in every output format,
// type-checks in one program under strict + noUncheckedIndexedAccess +
// exactOptionalPropertyTypes + verbatimModuleSyntax; a .cjs module is CommonJS.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compileBytes,
  compileModel,
  declarationsPathFor,
  formatFor,
} from '../../compiler/index.ts';
import { ROOT } from '../support/gradc-cli.ts';

const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-strict-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const models = [
  ...fs.readdirSync(path.join(ROOT, 'examples')).map((f) => path.join(ROOT, 'examples', f)),
  ...fs
    .readdirSync(path.join(ROOT, 'test/compiler/fixtures'))
    .map((f) => path.join(ROOT, 'test/compiler/fixtures', f)),
].filter((f) => f.endsWith('.model.json') && !path.basename(f).startsWith('bad-'));

describe('output formats', () => {
  it('the extension picks the format in any case; declarations go beside', () => {
    expect(['a.ts', 'a.TS', 'a.mts', 'a.txt'].map(formatFor)).toEqual(['ts', 'ts', 'ts', 'ts']);
    expect(['a.js', 'a.JS', 'a.mjs', 'a.MJS'].map(formatFor)).toEqual(['js', 'js', 'js', 'js']);
    expect(['a.cjs', 'a.CJS'].map(formatFor)).toEqual(['cjs', 'cjs']);
    expect(['d/a.js', 'a.MJS', 'a.Cjs'].map(declarationsPathFor)).toEqual([
      'd/a.d.ts',
      'a.d.mts',
      'a.d.cts',
    ]);
  });

  it('every model in every format type-checks under strict consumer flags, with zero errors', async () => {
    const imports: string[] = [];
    for (const [i, file] of models.entries()) {
      for (const ext of ['ts', 'mjs', 'cjs']) {
        const out = path.join(dir, `m${i}.${ext}`);
        const compiled = await compileBytes(fs.readFileSync(file), file, formatFor(out));
        fs.writeFileSync(out, compiled.code);
        if (compiled.declarations !== undefined)
          fs.writeFileSync(declarationsPathFor(out), compiled.declarations);
        imports.push(`import * as m${i}_${ext} from './m${i}.${ext}';`);
      }
    }
    // A model with an input gradient, a custom expression and f32, to cover those shapes too.
    const extra = await compileModel(
      {
        name: 'extra',
        input: 3,
        precision: 'f32',
        inputGradient: true,
        layers: [
          { type: 'dense', units: 70, activation: { expr: 'x / (1 + exp(-x))' } },
          { type: 'dense', units: 2, activation: 'softmax' },
        ],
        loss: 'categoricalCrossEntropy',
      },
      { format: 'ts' },
    );
    fs.writeFileSync(path.join(dir, 'extra.ts'), extra.code);
    imports.push(`import * as extra from './extra.ts';`);
    const names = imports.map((l) => /import \* as (\w+)/.exec(l)![1]!);
    fs.writeFileSync(
      path.join(dir, 'consumer.ts'),
      `${imports.join('\n')}\nconst all = [${names.join(', ')}];\nconst d: Float32Array = new Float32Array(3);\nextra.inputGradient(new Float32Array(extra.model.paramCount), d, new Float32Array(2), d, new Float32Array(extra.model.workSize));\nexport { all };\n`,
    );
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          allowImportingTsExtensions: true,
          noEmit: true,
          types: [],
        },
        include: ['*.ts'],
      }),
    );
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(TSC, ['-p', dir], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, out: stdout + stderr }),
      ),
    );
    expect(r.out.split('\n').slice(0, 20).join('\n')).toBe('');
    expect(r.code).toBe(0);
    expect(models.length).toBeGreaterThan(6);
    // And a .cjs module is CommonJS: require() gives its exports.
    const cjs = createRequire(import.meta.url)(path.join(dir, 'm0.cjs')) as {
      model: { name: string };
      forward: unknown;
    };
    expect(typeof cjs.forward).toBe('function');
    expect(fs.readFileSync(path.join(dir, 'm0.cjs'), 'utf8')).toMatch(
      /^module\.exports = \{ model, forward, /m,
    );
  }, 180_000);
});
