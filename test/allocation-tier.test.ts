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
      // Calls are only to Math.* and to the module's own functions; in a WebAssembly module
      // also to its kernels (`k.fwd0!(...)`: numbers in, nothing out), its head (the last
      // activation and the loss, compiled JS), its two address helpers, and the membership
      // test of its memory's buffers.
      // The error for an entry point called before init() names it: a constant string.
      if (
        ts.isCallExpression(n) &&
        ts.isIdentifier(n.expression) &&
        n.expression.text === 'wasmNotReady' &&
        n.arguments.every(ts.isStringLiteral)
      )
        return;
      if (ts.isCallExpression(n)) {
        const callee = ts.isNonNullExpression(n.expression)
          ? n.expression.expression
          : n.expression;
        const on = (obj: string) =>
          ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === obj;
        const ok =
          on('Math') ||
          on('k') ||
          (on('wasmBuffers') &&
            ts.isPropertyAccessExpression(callee) &&
            callee.name.text === 'includes') ||
          (ts.isIdentifier(callee) &&
            /^((forward|loss|gradient)(Batch)?(_\w+)?|head_\w+|wasmHas|wasmForwardChunk|wasmHeadChunk|dropoutMask)$/.test(
              callee.text,
            ));
        if (!ok) sites.push(where(n));
      }
    }
    // init() and alloc() allocate by design: the one-time set-up of the module contract; so
    // do the bytes' decoder (called by init) and the error for an entry point called before
    // init() (it throws).
    if (
      ts.isFunctionDeclaration(n) &&
      /^(init|alloc|wasmDecode|wasmNotReady)$/.test(n.name?.text ?? '')
    )
      return;
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

/** Training mode: batch statistics (phased gradientBatch, 4-sample blocks) and dropout masks. */
const training = {
  name: 'bn-dropout',
  input: [6, 6, 2],
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
    { type: 'batchNormalization' },
    { type: 'dropout', rate: 0.3 },
    { type: 'flatten' },
    { type: 'dense', units: 130, activation: 'relu' },
    { type: 'batchNormalization', center: false },
    { type: 'dropout', rate: 0.2 },
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

  it('a model with batch statistics and dropout masks has none either', async () => {
    for (const format of ['ts', 'js'] as const) {
      const { code } = await compileModel(training, { format });
      expect(code).toMatch(/function gradientBatch_p1\(/);
      expect(code).toMatch(/function dropoutMask\(/);
      expect(allocationSites(code)).toEqual([]);
    }
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
  // Five entry points, and a WebAssembly module's sgd.
  expect(Object.keys(bytesPerCall)).toHaveLength(code.includes('const wasmBytes') ? 6 : 5);
  for (const [name, b] of Object.entries(bytesPerCall)) {
    expect(b.finite).toBe(true);
    expect(b.gcDuringRun, `${name}: a GC ran during the measurement`).toBe(false);
    expect(b.bytes, `${name}: ${b.bytes} bytes per call over ${b.calls} calls`).toBeLessThanOrEqual(
      allowance(name, b.calls),
    );
  }
}

const RECURRENT = new Set(['simpleRNN', 'lstm', 'gru']);

/** The example's model with `unroll` set on every recurrent layer (wrapped ones too), or null
 * when it has none. */
function withUnroll(file: string, unroll: boolean): Record<string, unknown> | null {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { layers: Record<string, unknown>[] };
  let found = false;
  const layers = spec.layers.map((l) => {
    if (RECURRENT.has(String(l.type))) return ((found = true), { ...l, unroll });
    if (l.type === 'bidirectional')
      return ((found = true), { ...l, layer: { ...(l.layer as object), unroll } });
    return l;
  });
  return found ? { ...spec, layers } : null;
}

describe('in V8: optimizing tier and zero allocation per call', () => {
  it('straight-line code split into parts: every part reaches TurboFan', async () => {
    const { code } = await compileModel(chunked, { format: 'js', backend: 'js' });
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

  it('batch statistics and dropout masks: every function reaches TurboFan, none allocates', async () => {
    const { code } = await compileModel(training, { format: 'js' });
    expect(code).toMatch(/function gradientBatch_block\(/);
    expect(code).toMatch(/function gradientBatch_state\(/);
    expect(code).toMatch(/function gradientBatch_p\d_clear\(/);
    expectFast(code);
  }, 120_000);

  // Random nets with long straight-line bodies, cut by the bytecode budget where the fewest
  // values are live (backends/js/split.ts): the two with the most estimated bytecode of a
  // fixed sample (both in two parts).
  it('fuzzed nets cut into parts: every function reaches TurboFan and allocates nothing', async () => {
    const compiled: Compiled[] = [];
    for (const c of fc.sample(caseArb({ maxWidth: 40, maxInput: 24 }), { numRuns: 12, seed: 12 }))
      compiled.push(await compileModel(c.model as ModelInput, { format: 'js', backend: 'js' }));
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

  it('recurrent layers looped over time (TF.js GRU, bidirectional, simpleRNN): TurboFan, no allocation', async () => {
    const model = {
      name: 'looped-recurrent',
      input: [6, 3],
      layers: [
        {
          type: 'bidirectional',
          mergeMode: 'sum',
          layer: { type: 'gru', units: 5, returnSequences: true, unroll: false },
        },
        { type: 'simpleRNN', units: 4, goBackwards: true, unroll: false },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ],
      loss: 'binaryCrossEntropy',
    };
    const { code } = await compileModel(model as never, { format: 'js' });
    expect(code).toMatch(/looped over time/);
    expect(allocationSites(code)).toEqual([]);
    expectFast(code);
  }, 120_000);

  // Recurrent examples in both time forms, whichever the cost rule picks for them.
  for (const file of exampleFiles()) {
    for (const unroll of [true, false]) {
      const model = withUnroll(file, unroll);
      if (!model) continue;
      const form = unroll ? 'unrolled' : 'looped over time';
      it(`${path.basename(file)} ${form}: no allocation sites, TurboFan, no allocation`, async () => {
        const { code } = await compileModel(model as never, { format: 'js' });
        expect(code.includes('looped over time')).toBe(!unroll);
        expect(allocationSites(code)).toEqual([]);
        expectFast(code);
      }, 120_000);
    }
  }
});
