// The bundler plugin in real builds: Vite (library build and dev server) and esbuild.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradc } from '../../compiler/plugin/index.ts';
import { ROOT } from '../support/gradc-cli.ts';

const XOR = fs.readFileSync(path.join(ROOT, 'examples/xor.model.json'), 'utf8');
const MAIN = `import * as net from './net.model.json?gradc';
export const model = net.model;
export function half() {
  const out = new Float64Array(net.model.outputSize);
  net.forward(new Float64Array(net.model.paramCount), Float64Array.of(1, 0), out, new Float64Array(net.model.workSize));
  return out[0];
}
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-plugin-'));
  fs.writeFileSync(path.join(dir, 'net.model.json'), XOR);
  fs.writeFileSync(path.join(dir, 'main.js'), MAIN);
  fs.writeFileSync(
    path.join(dir, 'bad.model.json'),
    XOR.replace('"activation": "tanh"', '"activation": "tanhh"'),
  );
  fs.writeFileSync(path.join(dir, 'bad.js'), "export * from './bad.model.json?gradc';\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Built {
  readonly model: { readonly name: string; readonly paramCount: number };
  half(): number;
}

describe('Vite', () => {
  it('builds an app importing a model; the bundle runs', async () => {
    const { build } = await import('vite');
    const outDir = path.join(dir, 'vite-out');
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
    expect(file).toBeDefined();
    const m = (await import(pathToFileURL(path.join(outDir, file!)).href)) as Built;
    expect(m.model).toMatchObject({ name: 'xor', paramCount: 33 });
    expect(m.half()).toBe(0.5); // zero parameters: sigmoid(0)
  });

  it('reports a bad model as a build error with the file and the JSON path', async () => {
    const { build } = await import('vite');
    const failed = build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [gradc.vite()],
      build: {
        outDir: path.join(dir, 'vite-bad'),
        lib: { entry: path.join(dir, 'bad.js'), formats: ['es'], fileName: 'bad' },
      },
    });
    await expect(failed).rejects.toThrow(
      /bad\.model\.json: \$\.layers\[0\]\.activation: unknown activation "tanhh"/,
    );
  });

  it('the dev server recompiles the model when its file changes', async () => {
    const { createServer } = await import('vite');
    const server = await createServer({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      plugins: [gradc.vite()],
      server: { hmr: false, ws: false },
    });
    try {
      const id = '/net.model.json?gradc';
      const first = await server.transformRequest(id);
      expect(first?.code).toMatch(/units: 8,[^}]*activation: "tanh"/);
      const file = path.join(dir, 'net.model.json');
      const changed = new Promise<void>((resolve) =>
        server.watcher.on('change', (f) => path.resolve(f) === file && resolve()),
      );
      fs.writeFileSync(file, XOR.replace('"units": 8', '"units": 5'));
      await changed;
      // The watcher event and the module graph's invalidation happen in the same tick.
      await new Promise((r) => setTimeout(r, 100));
      const second = await server.transformRequest(id);
      expect(second?.code).toMatch(/units: 5,[^}]*activation: "tanh"/);
    } finally {
      await server.close();
      fs.writeFileSync(path.join(dir, 'net.model.json'), XOR);
    }
  });
});

describe('esbuild', () => {
  it('bundles an app importing a model; the bundle runs', async () => {
    const { build } = await import('esbuild');
    const outfile = path.join(dir, 'esbuild-out', 'app.mjs');
    await build({
      entryPoints: [path.join(dir, 'main.js')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      outfile,
      logLevel: 'silent',
      plugins: [gradc.esbuild()],
    });
    const m = (await import(pathToFileURL(outfile).href)) as Built;
    expect(m.model).toMatchObject({ name: 'xor', paramCount: 33 });
    expect(m.half()).toBe(0.5);
  });

  it('reports a bad model as a build error with the file and the JSON path', async () => {
    const { build } = await import('esbuild');
    const failed = build({
      entryPoints: [path.join(dir, 'bad.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [gradc.esbuild()],
    });
    await expect(failed).rejects.toThrow(/bad\.model\.json: \$\.layers\[0\]\.activation/);
  });
});
