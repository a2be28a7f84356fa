// The published packages, as a user gets them: packed, installed from the tarballs into a
// fresh project, then used from plain Node ESM and CommonJS, a strict TypeScript program, an
// esbuild browser bundle in headless Chromium, and the installed CLI.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/gradc-cli.ts';
import {
  newProject,
  npmInstall,
  ok,
  packAndInstall,
  run,
  treeSize,
  type Installed,
} from './install.ts';
import { CHROMIUM, hasChromium, withPage } from './browser.ts';
import { gradcCommand, readmeCommands } from '../support/readme.ts';

const TSC = path.join(ROOT, 'node_modules/.bin/tsc');
const TRACE = fileURLToPath(new URL('./trace-imports.mjs', import.meta.url));
const XOR = path.join(ROOT, 'examples/xor.model.json');

let inst: Installed;
let app: string;
let gradcBin: string;
beforeAll(async () => {
  inst = await packAndInstall();
  app = inst.project;
  gradcBin = path.join(app, 'node_modules/gradc/bin/gradc.mjs');
  fs.copyFileSync(XOR, path.join(app, 'xor.model.json'));
  // One model, every output format, compiled by the installed CLI.
  for (const out of ['xor.ts', 'xor.mjs', 'xor.cjs', 'xor.js'])
    await ok(process.execPath, [gradcBin, 'compile', 'xor.model.json', '-o', out], app);
}, 300_000);
afterAll(() => inst?.cleanup());

const TRAIN_XOR = `
const inputs = Float64Array.of(0, 0, 0, 1, 1, 0, 1, 1);
const targets = Float64Array.of(0, 1, 1, 0);
const params = initParams(net.model, { seed: 1 });
const h = train(net, params, { inputs, targets, count: 4 },
  { epochs: 1500, batchSize: 4, optimizer: sgd({ lr: 0.5 }) });
const losses = h.epochs.map((e) => e.loss);
`;

describe('the tarballs', () => {
  it('carry built JS, .d.ts, LICENSE and README; no sources, tests or install scripts', async () => {
    for (const [name, tgz] of Object.entries(inst.tarballs)) {
      const files = (await ok('tar', ['tzf', tgz], inst.tmp)).trim().split('\n');
      expect(files, name).toContain('package/LICENSE');
      expect(files, name).toContain('package/README.md');
      expect(files, name).toContain('package/dist/index.js');
      expect(files, name).toContain('package/dist/index.d.ts');
      expect(
        files.filter((f) => /test|\.ts$/.test(f) && !f.endsWith('.d.ts')),
        name,
      ).toEqual([]);
      const pkg = JSON.parse(
        fs.readFileSync(
          path.join(
            app,
            'node_modules',
            name === 'gradc' ? 'gradc' : '@gradc/runtime',
            'package.json',
          ),
          'utf8',
        ),
      ) as { scripts?: Record<string, string>; dependencies?: Record<string, string> };
      for (const s of ['preinstall', 'install', 'postinstall', 'prepare'])
        expect(pkg.scripts?.[s], `${name} ${s}`).toBeUndefined();
      if (name === 'runtime') expect(pkg.dependencies ?? {}).toEqual({});
      else
        for (const dev of ['typescript', 'prettier', 'tsx', 'ts-morph', 'esbuild', 'vite'])
          expect(pkg.dependencies?.[dev], dev).toBeUndefined();
    }
  });

  it('install without install scripts or their warnings', () => {
    expect(inst.installWarnings).not.toMatch(/install.?script/i);
  });

  it('install: the runtime alone is its own size; sizes are reported', async () => {
    const alone = path.join(inst.tmp, 'runtime-only');
    newProject(alone);
    await npmInstall(alone, [inst.tarballs.runtime]);
    const installed = fs
      .readdirSync(path.join(alone, 'node_modules'))
      .filter((f) => f !== '.package-lock.json');
    expect(installed).toEqual(['@gradc']);
    expect(fs.readdirSync(path.join(alone, 'node_modules/@gradc'))).toEqual(['runtime']);
    const kib = (b: number) => `${Math.round(b / 1024)} KiB`;
    const packages = fs
      .readdirSync(path.join(app, 'node_modules'))
      .filter((f) => !f.startsWith('.'))
      .flatMap((f) =>
        f.startsWith('@')
          ? fs.readdirSync(path.join(app, 'node_modules', f)).map((g) => `${f}/${g}`)
          : [f],
      );
    console.log(
      `installed sizes: @gradc/runtime alone ${kib(treeSize(path.join(alone, 'node_modules')))}; ` +
        `gradc with its dependencies ${kib(treeSize(path.join(app, 'node_modules')))} in ${packages.length} packages ` +
        `(gradc itself ${kib(treeSize(path.join(app, 'node_modules/gradc')))})`,
    );
  });
});

describe('Node', () => {
  it('ESM imports the runtime (both names), the compiler API and a compiled module', async () => {
    const script = `
import { initParams, sgd, train } from '@gradc/runtime';
import * as again from 'gradc/runtime';
import { compileModel, defineModel } from 'gradc';
import * as net from './xor.mjs';
${TRAIN_XOR}
const compiled = await compileModel(defineModel({ name: 'tiny', input: 2, layers: [{ type: 'dense', units: 1 }], loss: 'mse' }), { format: 'js' });
console.log(JSON.stringify({ first: losses[0], last: losses.at(-1), same: again.train === train, code: compiled.code.length }));
`;
    fs.writeFileSync(path.join(app, 'esm.mjs'), script);
    const r = JSON.parse(await ok(process.execPath, ['esm.mjs'], app)) as Record<
      string,
      number | boolean
    >;
    expect(r.same).toBe(true);
    expect(r.last).toBeLessThan(0.01);
    expect(r.last).toBeLessThan((r.first as number) / 10);
    expect(r.code).toBeGreaterThan(500);
  });

  it('CommonJS requires the runtime, the compiler API and a .cjs module', async () => {
    const script = `
const { initParams, sgd, train } = require('@gradc/runtime');
const { formatFor } = require('gradc');
const net = require('./xor.cjs');
${TRAIN_XOR}
console.log(JSON.stringify({ last: losses.at(-1), format: formatFor('a.CJS'), name: net.model.name }));
`;
    fs.writeFileSync(path.join(app, 'cjs.cjs'), script);
    const r = await run(process.execPath, ['cjs.cjs'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'cjs', name: 'xor' });
    expect(JSON.parse(r.stdout).last).toBeLessThan(0.01);
    expect(fs.readFileSync(path.join(app, 'xor.cjs'), 'utf8')).not.toMatch(/^export /m);
  });
});

describe('TypeScript', () => {
  it('a strict consumer (noUncheckedIndexedAccess, exactOptionalPropertyTypes, verbatimModuleSyntax) type-checks with zero errors', async () => {
    const dir = path.join(app, 'ts');
    fs.mkdirSync(dir, { recursive: true });
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
          // No @types/node, no skipLibCheck: the packages' own .d.ts are checked too.
          types: ['gradc/plugin/client'],
        },
        include: ['*.ts', '../xor.ts'],
      }),
    );
    fs.writeFileSync(
      path.join(dir, 'app.ts'),
      `
import { initParams, sgd, train, loadWeights, type GeneratedModule } from '@gradc/runtime';
import { checkGradient } from 'gradc/runtime';
import { compileModel, defineModel, type OutputFormat } from 'gradc';
import * as fromTs from '../xor.ts';
import * as fromMjs from '../xor.mjs';
import * as fromJs from '../xor.js';
import * as fromCjs from '../xor.cjs';
import * as fromPlugin from '../xor.model.json?gradc';

const nets: GeneratedModule[] = [fromTs, fromMjs, fromJs, fromCjs, fromPlugin];
const name: 'xor' = fromMjs.model.name;
const kernel: readonly [2, 8] = fromJs.model.params[0].shape;
const params = new Float64Array(fromTs.model.paramCount);
initParams(fromTs.model, { seed: 1 });
const out = new Float64Array(fromCjs.model.outputSize);
fromCjs.forward(params, Float64Array.of(1, 0), out, new Float64Array(fromCjs.model.workSize));
const first: number | undefined = out[0];
train(fromTs, params, { inputs: new Float64Array(8), targets: new Float64Array(4), count: 4 }, { epochs: 1, optimizer: sgd({ lr: 0.1 }) });
const report = checkGradient(fromMjs, params, Float64Array.of(0, 1), Float64Array.of(1));
const okay: boolean = report.ok;
const format: OutputFormat = 'cjs';
void compileModel(defineModel({ name: 'm', input: 2, layers: [{ type: 'dense', units: 1 }], loss: 'mse' }), { format });
export { nets, name, kernel, first, loadWeights, okay };
`,
    );
    const r = await run(TSC, ['-p', dir], dir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The check can fail: the same program with an error in it is reported.
    fs.writeFileSync(
      path.join(dir, 'bad.ts'),
      `import * as n from '../xor.mjs';\nconst s: string = n.model.inputSize;\nexport { s };\n`,
    );
    const bad = await run(TSC, ['-p', dir], dir);
    expect(bad.stdout).toMatch(/bad\.ts.*TS2322/);
    fs.rmSync(path.join(dir, 'bad.ts'));
  });
});

describe.skipIf(!hasChromium)(`browser (${CHROMIUM})`, () => {
  it('an esbuild browser bundle of the runtime and a compiled module trains XOR in Chromium', async () => {
    const { build } = await import('esbuild');
    const dir = path.join(app, 'web');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'entry.js'),
      `import { initParams, sgd, train } from '@gradc/runtime';\nimport * as net from '../xor.mjs';\n${TRAIN_XOR}\ndocument.body.dataset.result = JSON.stringify({ first: losses[0], last: losses.at(-1) });\n`,
    );
    await build({
      absWorkingDir: app,
      entryPoints: [path.join(dir, 'entry.js')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      outfile: path.join(dir, 'bundle.js'),
      logLevel: 'silent',
    });
    const bundle = fs.readFileSync(path.join(dir, 'bundle.js'), 'utf8');
    expect(bundle).not.toMatch(/node:fs/);
    fs.writeFileSync(
      path.join(dir, 'index.html'),
      '<!doctype html><html><body><script type="module" src="bundle.js"></script></body></html>',
    );
    const result = await withPage(async (page) => {
      await page.goto(`file://${path.join(dir, 'index.html')}`);
      await page.waitForFunction(() => document.body.dataset.result !== undefined, null, {
        timeout: 60_000,
      });
      return page.evaluate(() => document.body.dataset.result ?? '');
    });
    const r = JSON.parse(result) as { first: number; last: number };
    expect(r.last).toBeLessThan(0.01);
    expect(r.last).toBeLessThan(r.first / 10);
  });
});

describe('README "Install and use"', () => {
  it('its commands run as written in the project (npm install gradc: the tarballs)', async () => {
    const dir = path.join(app, 'readme');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'examples/iris.model.json'), path.join(dir, 'iris.model.json'));
    fs.copyFileSync(path.join(ROOT, 'examples/data/iris.csv'), path.join(dir, 'iris.csv'));
    const commands = readmeCommands()
      .filter((c) => c.section === 'Install and use')
      .map((c) => c.command);
    expect(commands[0]).toBe('npm install gradc');
    expect(commands.length).toBeGreaterThan(4);
    for (const command of commands.slice(1)) {
      expect(command).toMatch(/^npx gradc /);
      const r = await run('bash', ['-c', gradcCommand(command, gradcBin)], dir);
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    }
    // What the section then shows: the exported module predicts with zero dependencies.
    const exported = (await import(pathToFileURL(path.join(dir, 'iris-trained.js')).href)) as {
      predictClass(f: number[]): string;
      predict(f: number[], out?: Float64Array): Float64Array;
    };
    expect(exported.predictClass([5.1, 3.5, 1.4, 0.2])).toBe('setosa');
    const out = new Float64Array(3);
    expect(exported.predict([6.7, 3.0, 5.2, 2.3], out)).toBe(out);
    expect(exported.predictClass([6.7, 3.0, 5.2, 2.3])).toBe('virginica');
    for (const f of ['iris.ts', 'iris.js', 'iris.d.ts', 'iris-trained.d.ts'])
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
  });
});

describe('the installed Vite plugin', () => {
  it('builds an app importing a model (?gradc) and the runtime; the bundle trains XOR', async () => {
    const { build } = await import('vite');
    const pluginUrl = pathToFileURL(path.join(app, 'node_modules/gradc/dist/plugin/index.js'));
    const { gradc } = (await import(
      pluginUrl.href
    )) as typeof import('../../compiler/plugin/index.ts');
    const dir = path.join(app, 'vite-app');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'main.js'),
      `import { initParams, sgd, train } from '@gradc/runtime';\nimport * as net from '../xor.model.json?gradc';\n${TRAIN_XOR}\nexport const result = { first: losses[0], last: losses.at(-1) };\n`,
    );
    const outDir = path.join(dir, 'dist');
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [gradc.vite()],
      build: {
        outDir,
        minify: false,
        lib: { entry: path.join(dir, 'main.js'), formats: ['es'], fileName: 'app' },
      },
    });
    const file = fs.readdirSync(outDir).find((f) => f.startsWith('app'));
    const bundle = fs.readFileSync(path.join(outDir, file!), 'utf8');
    // The runtime was bundled through its browser entry: no file-system code.
    expect(bundle).not.toMatch(/node:fs|readFileSync/);
    const { result } = (await import(pathToFileURL(path.join(outDir, file!)).href)) as {
      result: { first: number; last: number };
    };
    expect(result.last).toBeLessThan(0.01);
    expect(result.last).toBeLessThan(result.first / 10);
  });
});

describe('the installed CLI', () => {
  const traced = async (args: string[]) => {
    const log = path.join(inst.tmp, `trace-${args.join('-')}.txt`);
    const r = await run(process.execPath, ['--import', TRACE, gradcBin, ...args], app, {
      GRADC_TRACE_IMPORTS: log,
    });
    expect(r.code, r.stderr).toBe(0);
    return { ...r, urls: fs.readFileSync(log, 'utf8').trim().split('\n') };
  };
  // The compiler proper; `schema` may read the activation and loss name tables of frontend/.
  const compilerCode = (urls: readonly string[]) =>
    urls.filter((u) => /\/gradc\/dist\/(pipeline|ir|emit|autodiff|passes|schedule|ops)\b/.test(u));

  it('--version, --help and schema load no compiler code; compile does', async () => {
    const version = await traced(['--version']);
    expect(version.stdout).toBe('0.1.0\n');
    expect(version.urls.filter((u) => u.includes('/gradc/dist/'))).toEqual([]);
    const help = await traced(['--help']);
    expect(help.stdout).toMatch(/compile .*\n[\s\S]*train[\s\S]*predict/);
    expect(compilerCode(help.urls)).toEqual([]);
    const schema = await traced(['schema']);
    expect(JSON.parse(schema.stdout)).toHaveProperty('$schema');
    expect(compilerCode(schema.urls)).toEqual([]);
    const compile = await traced(['compile', 'xor.model.json']);
    expect(compilerCode(compile.urls).length).toBeGreaterThan(5);
  });

  it('predict from a compiled module loads no compiler code and matches predict from the model', async () => {
    for (const f of ['iris.model.json', 'data/iris.csv'])
      fs.copyFileSync(path.join(ROOT, 'examples', f), path.join(app, path.basename(f)));
    await ok(process.execPath, [gradcBin, 'compile', 'iris.model.json', '-o', 'iris.mjs'], app);
    await ok(
      process.execPath,
      [
        gradcBin,
        'train',
        'iris.model.json',
        '--data',
        'iris.csv',
        '--label',
        'species',
        '--epochs',
        '20',
        '--out',
        'iris.bin',
      ],
      app,
    );
    const args = ['--weights', 'iris.bin', '--data', 'iris.csv'];
    const fromModule = await traced(['predict', 'iris.mjs', ...args]);
    expect(compilerCode(fromModule.urls)).toEqual([]);
    const fromModel = await traced(['predict', 'iris.model.json', ...args]);
    expect(compilerCode(fromModel.urls).length).toBeGreaterThan(5);
    expect(fromModule.stdout).toBe(fromModel.stdout);
    expect(fromModule.stdout.split('\n')[0]).toBe('predicted,p(setosa),p(versicolor),p(virginica)');
  });

  it('--version start-up compared with node -e 0 (measured, reported, not asserted)', async () => {
    const time = async (args: string[]) => {
      const t = process.hrtime.bigint();
      await ok(process.execPath, args, app);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const best = async (args: string[]) =>
      Math.min(...[await time(args), await time(args), await time(args)]);
    const node = await best(['-e', '0']);
    const version = await best([gradcBin, '--version']);
    const help = await best([gradcBin, '--help']);
    console.log(
      `start-up (best of 3): node -e 0 ${node.toFixed(0)} ms, gradc --version ${version.toFixed(0)} ms (${(version / node).toFixed(2)}×), gradc --help ${help.toFixed(0)} ms (${(help / node).toFixed(2)}×)`,
    );
    expect(version).toBeGreaterThan(0);
  });
});
