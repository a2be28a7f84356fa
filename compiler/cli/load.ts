// Compiles a model to plain JS in a temporary folder and imports it (Node cannot import the
// TypeScript output directly).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GeneratedModule } from '@gradc/runtime';
import type { Compiled } from '../pipeline.ts';

/** Imports the module and awaits its init() (instantiating any WebAssembly). */
export async function importCompiled(compiled: Compiled): Promise<GeneratedModule> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-'));
  const file = path.join(dir, 'module.mjs');
  try {
    fs.writeFileSync(file, compiled.code);
    const mod = (await import(pathToFileURL(file).href)) as GeneratedModule;
    await mod.init?.();
    return mod;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A compiled JS module evaluated as a function body instead of through the ES module loader.
 * An imported module stays in the loader's cache for the life of the process; this one is
 * garbage once unreferenced, so a fuzzer can go through thousands of modules.
 */
export function evaluateCompiled(compiled: Compiled): GeneratedModule {
  const names = [...compiled.code.matchAll(/^export (?:const|(?:async )?function) (\w+)/gm)].map(
    (m) => m[1]!,
  );
  // Top-level `export` only starts a line in the module shell; bodies are indented and user
  // text only appears inside escaped string literals.
  const body = `${compiled.code.replace(/^export /gm, '')}\nreturn { ${names.join(', ')} };`;
  return new Function(body)() as GeneratedModule;
}
