// Shared helpers for the compiler tests: a tiny seeded PRNG (independent of runtime/, so these
// tests do not move when the runtime's generator changes), error measures, model loading.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Compilation } from '../../compiler/frontend/model.ts';
import type { Builder } from '../../compiler/ir/builder.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import type { ModelSpec } from '../../compiler/format/model.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLES = path.join(ROOT, 'examples');
export const FIXTURES = path.join(ROOT, 'test/compiler/fixtures');

/** mulberry32: deterministic, good enough to sample test inputs. */
export class TestRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Uniform in ±[lo, hi]: away from zero. */
  signed(lo: number, hi: number): number {
    return (this.next() < 0.5 ? -1 : 1) * this.range(lo, hi);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  fill(n: number, lo: number, hi: number): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = this.range(lo, hi);
    return a;
  }
}

/** The relative error used throughout: |a − b| / max(1e-8, |a| + |b|). */
export function relErr(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(1e-8, Math.abs(a) + Math.abs(b));
}

/** Largest relErr over two equally long vectors (∞ when the lengths differ). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, relErr(a[i]!, b[i]!));
  return m;
}

/** `vjpGraph` only reads `c.B`; this is the smallest Compilation it accepts. */
export function bareCompilation(B: Builder): Compilation {
  // The other Compilation fields are unused by vjpGraph; a cast is the honest way to say so.
  return { B } as unknown as Compilation;
}

export function exampleFiles(): string[] {
  return fs
    .readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.model.json'))
    .sort()
    .map((f) => path.join(EXAMPLES, f));
}

export async function loadSpec(file: string): Promise<ModelSpec> {
  return validateModel(JSON.parse(fs.readFileSync(file, 'utf8')), path.basename(file));
}
