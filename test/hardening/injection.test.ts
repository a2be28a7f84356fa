// No code injection: hostile text in the model's name, description, file name and expressions
// reaches the generated module only inside escaped string literals (or sanitized comments).
// Each hostile model is compiled, imported and run; a canary that injected code would set
// stays untouched, process.exit is never called, and the token stream of the module equals
// a clean model's apart from string literals.
import { ts } from 'ts-morph';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { importCompiled } from '../../compiler/cli/load.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { GradcError } from '../../compiler/format/errors.ts';
import { parseModelText, validateModel } from '../../compiler/format/parse.ts';
import type { GeneratedModule } from '../../runtime/types.ts';

type Canary = typeof globalThis & { __gradcCanary?: unknown };
const g = globalThis as Canary;
const SET = 'globalThis.__gradcCanary = 1';

const HOSTILE: readonly (readonly [label: string, text: string])[] = [
  ['comment terminator', `*/ ${SET}; /*`],
  ['line comment + newline', `x\n${SET}; //`],
  ['CR', `x\r${SET}; //`],
  ['template literal', `\`\${${SET}}\``],
  ['template substitution', `\${${SET}}`],
  ['double quote', `"; ${SET}; "`],
  ['single quote', `'; ${SET}; '`],
  ['backslash before quote', `\\"; ${SET}; //`],
  ['backslash at end', `abc\\`],
  ['escaped unicode text', `\\u0022; ${SET}; //`],
  ['line separator', `\u2028${SET};\u2029`],
  ['script tag', `</script><script>${SET}</script>`],
  ['HTML comment', `<!-- ${SET} -->`],
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['prototype', 'prototype'],
  ['process.exit', 'process.exit(7)'],
  ['require', `require("child_process").execSync("touch /tmp/gradc-pwned")`],
  ['import()', `import("node:fs").then((f) => f.writeFileSync("/tmp/gradc-pwned", ""))`],
  ['very long', `*/${SET};/*`.repeat(200).slice(0, 200)],
  ['non-ASCII', 'naïve-模型-🚀-ünïcødé'],
  ['RTL override and NUL', `a\u202eb\u0000c\u001b[31m`],
  ['lone surrogate', 'a\ud800b'],
];

/** Valid expressions whose text carries hostile comments (mathjs's `#`). */
const HOSTILE_EXPRS: readonly string[] = [
  `x # */ ${SET}; /*`,
  `sigmoid(x) # \${process.exit(7)}`,
  `x * tanh(x) # "; require("fs"); "`,
];

const clean = {
  name: 'clean',
  description: 'clean',
  input: 3,
  layers: [
    { type: 'dense', units: 4, activation: { expr: 'x' } },
    { type: 'dense', units: 2, activation: 'sigmoid' },
  ],
  loss: 'mse',
} as const;

/** Tokens of a JS module with string literals and template pieces reduced to their kind. */
function tokens(code: string): string[] {
  const sc = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  const out: string[] = [];
  for (let k = sc.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = sc.scan()) {
    if (k === ts.SyntaxKind.StringLiteral) out.push('<string>');
    else out.push(`${k}:${sc.getTokenText()}`);
  }
  return out;
}

let exitSpy: ReturnType<typeof vi.spyOn>;
beforeAll(() => {
  exitSpy = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    throw new Error(`process.exit(${code}) was called`);
  }) as typeof process.exit);
});
afterAll(() => exitSpy.mockRestore());
afterEach(() => {
  expect(g.__gradcCanary).toBeUndefined();
  expect(exitSpy).not.toHaveBeenCalled();
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

async function build(model: object, source: string) {
  const spec = await validateModel(model, source);
  const compiled = compileSpec(spec, { format: 'js', source });
  return { code: compiled.code, module: await importCompiled(compiled) };
}

function run(m: GeneratedModule): number[] {
  const p = new Float64Array(m.model.paramCount).map((_, i) => Math.sin(i + 1));
  const x = Float64Array.of(0.1, -0.2, 0.3);
  const t = Float64Array.of(0.5, 0.25);
  const w = new Float64Array(m.model.workSize);
  const y = new Float64Array(2);
  const gr = new Float64Array(m.model.paramCount);
  m.forward(p, x, y, w);
  return [...y, m.loss(p, x, t, w), m.gradient(p, x, t, gr, w), ...gr];
}

describe('hostile text never becomes code', () => {
  let reference: { code: string; out: number[] };
  beforeAll(async () => {
    const { code, module } = await build(clean, 'clean.model.json');
    reference = { code, out: run(module) };
  });

  it.each(HOSTILE)('%s in name, description and file name', async (_label, text) => {
    const { code, module } = await build(
      { ...clean, name: text, description: text },
      `${text}.model.json`,
    );
    expect(module.model.name).toBe(text);
    expect((module.model as unknown as { description: string }).description).toBe(text);
    expect(run(module)).toEqual(reference.out);
    expect(tokens(code)).toEqual(tokens(reference.code));
    expect(code).not.toMatch(/[\u2028\u2029\r]/);
    // The string literals escape `<` and `>` (see the it.fails below for the header comment).
    expect(code.split('\n').slice(1).join('\n')).not.toMatch(/<\/script/i);
  });

  // Regression: the file name reached the header comment with `<` and `>` kept, so a module
  // inlined in an HTML <script> element was closed by a file name containing `</script>`.
  it('</script> in the file name does not reach the header comment raw', async () => {
    const { code } = await build(clean, `</script><script>${SET}</script>.model.json`);
    expect(code).not.toMatch(/<\/script/i);
  });

  it.each(HOSTILE_EXPRS)('expression %s', async (expr) => {
    const { code, module } = await build(
      { ...clean, layers: [{ type: 'dense', units: 4, activation: { expr } }, clean.layers[1]] },
      'clean.model.json',
    );
    run(module);
    expect(code).not.toMatch(/gradcCanary|process|require|\/\*\s*$/m);
  });
});

describe('__proto__ and friends in the JSON do not pollute prototypes', () => {
  const texts = [
    '{"__proto__": {"polluted": true}, "input": 1, "layers": [{"type": "dense", "units": 1}], "loss": "mse"}',
    '{"input": 1, "layers": [{"type": "dense", "units": 1, "__proto__": {"polluted": true}}], "loss": "mse"}',
    '{"input": 1, "layers": [{"type": "dense", "units": 1, "activation": {"name": "relu", "__proto__": {"polluted": true}}}], "loss": "mse"}',
    '{"input": 1, "layers": [{"type": "dense", "units": 1}], "loss": {"expr": "(y-t)^2", "constructor": {"prototype": {"polluted": true}}}}',
    '{"input": 1, "layers": [{"type": "dense", "units": 1}], "loss": "mse", "constructor": {"prototype": {"polluted": true}}}',
  ];
  it.each(texts)('%s', async (text) => {
    await expect(parseModelText(text, 'p.model.json')).rejects.toBeInstanceOf(GradcError);
  });

  it('names from Object.prototype are not taken for constants or functions', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty']) {
      for (const expr of [`x + ${name}`, `${name}(x)`]) {
        await expect(
          validateModel({ ...clean, layers: [{ type: 'dense', units: 1, activation: { expr } }] }),
        ).rejects.toThrow(/unknown (variable|function)|not supported/);
      }
    }
  });
});
