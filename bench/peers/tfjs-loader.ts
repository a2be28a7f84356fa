// Loads TF.js core with its gradients and the cpu + wasm backends, offline.
//
// The CommonJS build of @tensorflow/tfjs-core (what Node resolves) ships without the gradient
// registrations; the union package @tensorflow/tfjs imports them from the ESM sources, which
// Node cannot import directly (extensionless and directory imports). We bundle that one file
// with esbuild (already present through tsx) into a cache file and require it. It registers
// into TF.js's global registry, which every copy of tfjs-core shares.

import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export type Tf = typeof import('@tensorflow/tfjs-core');

let loading: Promise<Tf> | undefined;

export function loadTf(): Promise<Tf> {
  loading ??= load();
  return loading;
}

async function load(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core');
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const version = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  const cacheDir = path.resolve(
    path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')),
    '../../.cache/gradc-bench',
  );
  const bundle = path.join(cacheDir, `tfjs-core-${version}-gradients.cjs`);
  if (!existsSync(bundle)) {
    mkdirSync(cacheDir, { recursive: true });
    const esbuild = await import('esbuild');
    esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      logLevel: 'error',
    });
  }
  require(bundle);
  await import('@tensorflow/tfjs-backend-cpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // The .wasm binaries sit next to the backend's bundle; a path prefix keeps loading offline.
  wasm.setWasmPaths(
    path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') +
      path.sep,
  );
  // Production mode: TF.js skips its debug-time checks (the setting a user who cares about
  // speed picks), which also silences the "install tfjs-node" banner.
  tf.enableProdMode();
  return tf;
}
