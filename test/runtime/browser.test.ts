// The browser entry (runtime/browser.ts) must not reach node:fs or any other Node built-in;
// runtime/index.ts exposes the same API plus the file helpers.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as browser from '../../runtime/browser.ts';
import * as runtime from '../../runtime/index.ts';

const runtimeDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../runtime');

/** Every import specifier reachable from `entry` (relative ones followed). */
function importGraph(entry: string): { files: string[]; external: string[] } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // Static imports and re-exports; type-only imports vanish at run time but are harmless here.
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(join(dirname(file), spec));
      else external.add(spec);
    }
    for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) external.add(m[1]);
  };
  visit(entry);
  return {
    files: [...seen].map((f) => f.slice(runtimeDir.length + 1)).sort(),
    external: [...external].sort(),
  };
}

describe('runtime entry points', () => {
  it('browser.ts imports nothing outside runtime/ (no node:fs)', () => {
    const g = importGraph(join(runtimeDir, 'browser.ts'));
    expect(g.external).toEqual([]);
    expect(g.files).not.toContain('weights-fs.ts');
  });

  it('only weights-fs.ts touches Node built-ins', () => {
    const g = importGraph(join(runtimeDir, 'index.ts'));
    expect(g.external).toEqual(['node:crypto', 'node:fs', 'node:path']);
    expect(importGraph(join(runtimeDir, 'weights-fs.ts')).external).toEqual([
      'node:crypto',
      'node:fs',
      'node:path',
    ]);
  });

  it('index.ts is browser.ts plus the file helpers', () => {
    const extra = Object.keys(runtime)
      .filter((k) => !(k in browser))
      .sort();
    expect(extra).toEqual([
      'loadBundle',
      'loadOptimizerState',
      'loadWeights',
      'loadWeightsInto',
      'saveOptimizerState',
      'saveWeights',
    ]);
    for (const name of [
      'initParams',
      'train',
      'checkGradient',
      'dotProductTest',
      'sgd',
      'momentum',
      'adam',
      'adamw',
      'rmsprop',
      'clipGradNorm',
      'constant',
      'stepDecay',
      'exponentialDecay',
      'cosineDecay',
      'evaluate',
      'predict',
      'checkFinite',
      'encodeWeights',
      'decodeWeights',
      'WeightsError',
      'Rng',
      'allocWork',
      'allocGrad',
    ]) {
      expect(runtime, name).toHaveProperty(name);
    }
  });
});
