// The generated functions allocate nothing and reach V8's optimizing tier. Proven two ways:
// statically (no allocating syntax anywhere in an emitted function body) and at run time
// in a fresh V8 (test/support/probe.mjs: %GetOptimizationStatus after warm-up, new-space
// growth per call).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileBytes, compileModel, type ModelInput } from '../compiler/index.ts';
import { caseArb } from './hardening/fuzz-core.ts';
import type { Compiled } from '../compiler/pipeline.ts';
import { exampleFiles } from '../compiler/cli/generate.ts';

/** Syntax that allocates (or imports) at run time, found anywhere in the module's functions. */
export function allocationSites(code: string): string[] {
  const sf = ts.createSourceFile('m.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const sites: string[] = [];
  const where = (n: ts.Node) =>
    `${ts.SyntaxKind[n.kind]} at line ${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node, inFunction: boolean): void => {
    if (ts.isImportDeclaration(n) && !n.importClause?.isTypeOnly) sites.push(where(n));
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      sites.push(where(n));
    if (inFunction) {
      if (
        ts.isNewExpression(n) ||
        ts.isArrayLiteralExpression(n) ||
        ts.isObjectLiteralExpression(n) ||
        ts.isArrowFunction(n) ||
        ts.isFunctionExpression(n) ||
        ts.isTemplateExpression(n) ||
        ts.isNoSubstitutionTemplateLiteral(n) ||
        ts.isStringLiteral(n) ||
        ts.isSpreadElement(n) ||
        ts.isClassExpression(n) ||
        (ts.isIdentifier(n) && n.text === 'arguments')
      ) {
        sites.push(where(n));
      }
      // Calls are only to Math.* and to the module's own functions.
      if (ts.isCallExpression(n)) {
        const callee = n.expression;
        const ok =
          (ts.isPropertyAccessExpression(callee) &&
            ts.isIdentifier(callee.expression) &&
            callee.expression.text === 'Math') ||
          (ts.isIdentifier(callee) && /^(forward|loss|gradient)(Batch)?(_\w+)?$/.test(callee.text));
        if (!ok) sites.push(where(n));
      }
    }
    // init() and alloc() allocate by design: the one-time set-up of the module contract.
    if (ts.isFunctionDeclaration(n) && /^(init|alloc)$/.test(n.name?.text ?? '')) return;
    ts.forEachChild(n, (c) => visit(c, inFunction || ts.isFunctionDeclaration(n)));
  };
  visit(sf, false);
  return sites;
}

const custom = {
  name: 'custom-everything',
  input: 70,
  layers: [
    { type: 'dense', units: 66, activation: { expr: 'x / (1 + exp(-x)) + 0.1 * abs(x)' } },
    { type: 'dense', units: 5, activation: { name: 'leakyRelu', alpha: 0.1 } },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
  loss: 'categoricalCrossEntropy',
} as const;

describe('allocation-free output, statically', () => {
  it('the detector finds allocating syntax', () => {
    const bad =
      'export function forward(a: Float64Array) { const t = [1]; const o = { a }; const f = () => 1; new Float64Array(2); g(); }';
    expect(allocationSites(bad)).toHaveLength(5);
  });

  for (const file of exampleFiles()) {
    it(`${path.basename(file)}: no allocation or import sites, TS and JS`, async () => {
      for (const format of ['ts', 'js'] as const) {
        const { code } = await compileBytes(fs.readFileSync(file), file, format);
        expect(allocationSites(code)).toEqual([]);
      }
    });
  }

  it('a model with loops, chunks and custom expressions has none either', async () => {
    const { code } = await compileModel(custom, { format: 'ts' });
    expect(code).toMatch(/function gradient_loop\d/);
    expect(allocationSites(code)).toEqual([]);
  });
});

interface Tiers {
  tiers: Record<string, { status: number; turbofan: boolean; entry: boolean; forced?: boolean }>;
}
interface Alloc {
  bytesPerCall: Record<
    string,
    { bytes: number; calls: number; attempts: number; gcDuringRun: boolean; finite: boolean }
  >;
}

function probe<T>(mode: 'tiers' | 'alloc', code: string): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradc-tier-'));
  try {
    const file = path.join(dir, 'm.mjs');
    fs.writeFileSync(file, code);
    const r = spawnSync(
      process.execPath,
      [
        '--allow-natives-syntax',
        '--expose-gc',
        '--max-semi-space-size=64',
        'test/support/probe.mjs',
        mode,
        file,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// V8 boxes a returned double (16 bytes) when the call is not inlined: that is the one
// allocation the contract allows. Functions returning nothing must allocate nothing. The
// small term covers measurement noise that is not per call.
const RETURNS_NUMBER = new Set(['loss', 'gradient', 'gradientBatch']);
const allowance = (name: string, calls: number) =>
  (RETURNS_NUMBER.has(name) ? 16 : 0) + 256 / calls;

/** Unrolled layers too long for one function: the emitter must split them into parts. */
const chunked = {
  name: 'chunked',
  input: 16,
  layers: [
    { type: 'dense', units: 16, activation: 'tanh' },
    { type: 'dense', units: 16, activation: 'gelu' },
    { type: 'dense', units: 16, activation: 'elu' },
    { type: 'dense', units: 16, activation: 'swish' },
    { type: 'dense', units: 4, activation: 'sigmoid' },
  ],
  loss: 'binaryCrossEntropy',
} as const;

/** The per-sample functions' text (the batched entry points loop over samples by design). */
function perSample(code: string): string {
  return code
    .split(/\n(?=(?:export )?function )/)
    .filter((f) => /^(?:export )?function (forward|loss|gradient)[_(]/.test(f))
    .join('\n');
}

function expectFast(code: string): void {
  const { tiers } = probe<Tiers>('tiers', code);
  expect(Object.keys(tiers)).toEqual(
    expect.arrayContaining(['forward', 'loss', 'gradient', 'forwardBatch', 'gradientBatch']),
  );
  for (const [name, t] of Object.entries(tiers)) {
    // Entry points must get there by warm-up alone; an internal function that only ran inlined
    // into its caller, or as on-stack-replaced loop code, must at least be optimizable.
    const ok = t.turbofan || (!t.entry && t.forced === true);
    expect(ok, `${name} status ${t.status}${t.entry ? '' : ` (forced: ${t.forced})`}`).toBe(true);
  }
  const { bytesPerCall } = probe<Alloc>('alloc', code);
  expect(Object.keys(bytesPerCall)).toHaveLength(5);
  for (const [name, b] of Object.entries(bytesPerCall)) {
    expect(b.finite).toBe(true);
    expect(b.gcDuringRun, `${name}: a GC ran during the measurement`).toBe(false);
    expect(b.bytes, `${name}: ${b.bytes} bytes per call over ${b.calls} calls`).toBeLessThanOrEqual(
      allowance(name, b.calls),
    );
  }
}

describe('in V8: optimizing tier and zero allocation per call', () => {
  it('straight-line code split into parts: every part reaches TurboFan', async () => {
    const { code } = await compileModel(chunked, { format: 'js' });
    expect(code).toMatch(/function gradient_part1\(/);
    expect(perSample(code)).not.toMatch(/for \(/);
    expectFast(code);
  }, 60_000);

  it("the tier check can fail: a function over V8's size limit is reported", async () => {
    const { code } = await compileBytes(fs.readFileSync('examples/xor.model.json'), 'xor', 'js');
    // ~12,000 statements: several times V8's ~60 KB bytecode limit for optimization.
    const body = Array.from(
      { length: 12_000 },
      (_, i) => `  work[${i % 7}] = work[${(i + 3) % 7}] * 1.0001 + params[${i % 5}];`,
    ).join('\n');
    const huge = `${code}\nfunction forward_part99(params, input, output, work) {\n${body}\n}\n`;
    expect(() => expectFast(huge)).toThrow(/forward_part99 status \d+ \(forced: false\)/);
  }, 120_000);

  // Random nets with long straight-line bodies, cut by the bytecode budget where the fewest
  // values are live (backends/js/split.ts): the two with the most estimated bytecode of a
  // fixed sample (both in two parts).
  it('fuzzed nets cut into parts: every function reaches TurboFan and allocates nothing', async () => {
    const compiled: Compiled[] = [];
    for (const c of fc.sample(caseArb({ maxWidth: 40, maxInput: 24 }), { numRuns: 12, seed: 12 }))
      compiled.push(await compileModel(c.model as ModelInput, { format: 'js' }));
    const bytes = (x: Compiled) => x.schedules.gradient.chunkBytes.reduce((a, b) => a + b, 0);
    const largest = compiled.sort((a, b) => bytes(b) - bytes(a)).slice(0, 2);
    for (const x of largest) {
      expect(x.schedules.gradient.chunks).toBeGreaterThan(1);
      expectFast(x.code);
    }
  }, 240_000);

  for (const file of exampleFiles()) {
    it(`${path.basename(file)}: every function reaches TurboFan and allocates nothing`, async () => {
      const { code } = await compileBytes(fs.readFileSync(file), file, 'js');
      expectFast(code);
      if (file.includes('xor')) expect(perSample(code)).not.toMatch(/for \(/); // 2-8-1: straight-line only
    }, 60_000);
  }
});
