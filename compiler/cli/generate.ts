// Regenerates generated/ from examples/: the checked-in output of the compiler.
import fs from 'node:fs';
import path from 'node:path';
import { compileBytes } from '../index.ts';
import { writeAtomic } from '../io/files.ts';

export const EXAMPLES_DIR = 'examples';
export const GENERATED_DIR = 'generated';

export function exampleFiles(root = '.'): string[] {
  const dir = path.join(root, EXAMPLES_DIR);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.model.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function generatedPath(modelFile: string, root = '.'): string {
  return path.join(root, GENERATED_DIR, `${path.basename(modelFile, '.model.json')}.ts`);
}

/** Returns the generated files that were (or, with `check`, would be) changed. */
export async function generateExamples(o: {
  check: boolean;
  log: (s: string) => void;
  root?: string;
}): Promise<string[]> {
  const changed: string[] = [];
  for (const file of exampleFiles(o.root)) {
    const target = generatedPath(file, o.root);
    const rel = path.relative(o.root ?? '.', file);
    const { code } = await compileBytes(fs.readFileSync(file), rel, 'ts');
    const old = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
    if (old === code) continue;
    changed.push(target);
    if (o.check) o.log(`stale: ${target} (run npm run generate)\n`);
    else {
      writeAtomic(target, code);
      o.log(`wrote ${target}\n`);
    }
  }
  if (!changed.length) o.log(`${GENERATED_DIR}/ is up to date\n`);
  return changed;
}
