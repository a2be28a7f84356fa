// Compiles a model to plain JS in a temporary folder and imports it (Node cannot import the
// TypeScript output directly).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GeneratedModule } from '../../runtime/types.ts';
import type { Compiled } from '../pipeline.ts';

export async function importCompiled(compiled: Compiled): Promise<GeneratedModule> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-'));
  const file = path.join(dir, 'module.mjs');
  try {
    fs.writeFileSync(file, compiled.code);
    return (await import(pathToFileURL(file).href)) as GeneratedModule;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
