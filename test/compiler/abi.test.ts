// The module ABI table (compiler/emit/abi.ts) against the two places that must agree with it
// but cannot import it: the runtime's `GeneratedModule` type (another package; read here with
// the TypeScript parser) and the emitted modules' exports and `.d.ts`.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABI, LIFECYCLE, OPTIONAL_EXPORTS } from '../../compiler/emit/abi.ts';
import { compileModel } from '../../compiler/index.ts';
import { evaluateCompiled } from '../../compiler/cli/load.ts';

interface Method {
  readonly params: { name: string; type: string }[];
  readonly returns: string;
  readonly optional: boolean;
}

/** The methods of `GeneratedModule` in runtime/types.ts (plain declarations, so a regular
 * expression over the comment-free interface body reads them). */
function runtimeMethods(): Map<string, Method> {
  const text = fs.readFileSync('runtime/types.ts', 'utf8');
  const start = text.indexOf('export interface GeneratedModule {');
  expect(start).toBeGreaterThanOrEqual(0);
  const body = text
    .slice(start, text.indexOf('\n}', start))
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  const out = new Map<string, Method>();
  for (const m of body.matchAll(/(\w+)(\?)?\(([^)]*)\)\s*:\s*([\w<>]+);/g)) {
    const params = m[3]!
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((p) => {
        const [name, type] = p.split(':').map((x) => x.trim());
        // `seed?: number`: an optional ABI parameter.
        return { name: name!.replace(/\?$/, ''), type: type! };
      });
    out.set(m[1]!, { params, returns: m[4]!, optional: m[2] === '?' });
  }
  return out;
}

describe('the generated-module ABI table', () => {
  it("agrees with the runtime's GeneratedModule type", () => {
    const methods = runtimeMethods();
    expect(methods.size).toBeGreaterThan(0);
    for (const l of LIFECYCLE)
      expect(methods.has(l.name), `${l.name} in GeneratedModule`).toBe(true);
    // Exports only some modules have are optional methods, declared as the table says.
    for (const o of OPTIONAL_EXPORTS) {
      const m = methods.get(o.name);
      expect(m?.optional, `${o.name}? in GeneratedModule`).toBe(true);
      const params = o.declaration.slice(
        o.declaration.indexOf('(') + 1,
        o.declaration.indexOf(')'),
      );
      expect(m!.params.map((p) => `${p.name}: ${p.type}`).join(', ')).toBe(
        params.replace(/\bT\b/g, 'FloatArray'),
      );
    }
    for (const [name, m] of methods) {
      if (LIFECYCLE.some((l) => l.name === name)) continue;
      if (OPTIONAL_EXPORTS.some((o) => o.name === name)) continue;
      const e = ABI.find((x) => x.name === name);
      expect(e, `${name} is in GeneratedModule but not in the ABI table`).toBeDefined();
      expect(
        m.params.map((p) => p.name),
        name,
      ).toEqual(e!.params.map((p) => p.name));
      expect(
        m.params.map((p) => p.type),
        name,
      ).toEqual(e!.params.map((p) => (p.kind === 'number' ? 'number' : 'FloatArray')));
      expect(m.returns, name).toBe(e!.returns);
    }
    // What the runtime may rely on unconditionally is what every module exports.
    for (const e of ABI.filter((x) => x.presence === 'always'))
      expect(methods.has(e.name), `${e.name} missing from GeneratedModule`).toBe(true);
  });

  it.each([false, true])(
    'matches what a module exports and declares (inputGradient %s)',
    async (inputGradient) => {
      const compiled = await compileModel(
        {
          input: 3,
          layers: [{ type: 'dense', units: 2, activation: 'sigmoid' }],
          loss: 'mse',
          inputGradient,
        },
        { format: 'js' },
      );
      const mod = evaluateCompiled(compiled) as unknown as Record<string, unknown>;
      const wanted = ABI.filter((e) => e.presence === 'always' || inputGradient);
      const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
      expect(exported.sort()).toEqual(
        [...wanted.map((e) => e.name), ...LIFECYCLE.map((l) => l.name)].sort(),
      );
      for (const l of LIFECYCLE)
        expect(compiled.declarations).toContain(
          `export declare function ${l.declaration.replace(/\bT$/, 'Float64Array')};`,
        );
      for (const e of wanted) {
        // A model without dropout has no seed parameter.
        const fixed = e.params.filter((p) => p.only === undefined);
        const params = fixed
          .map((p) => `${p.name}: ${p.kind === 'number' ? 'number' : 'Float64Array'}`)
          .join(', ');
        expect(compiled.declarations).toContain(
          `export declare function ${e.name}(${params}): ${e.returns};`,
        );
        expect((mod[e.name] as (...a: unknown[]) => unknown).length).toBe(fixed.length);
      }
    },
  );

  it('gives gradient and gradientBatch the optional trailing seed of a model with dropout', async () => {
    const compiled = await compileModel(
      {
        input: 3,
        layers: [
          { type: 'dense', units: 4, activation: 'relu' },
          { type: 'dropout', rate: 0.5 },
          { type: 'dense', units: 1 },
        ],
        loss: 'mse',
      },
      { format: 'js' },
    );
    const mod = evaluateCompiled(compiled) as unknown as Record<string, unknown>;
    for (const e of ABI) {
      if (e.presence !== 'always') continue;
      const decl = e.params
        .map(
          (p) =>
            `${p.name}${p.only ? '?' : ''}: ${p.kind === 'number' ? 'number' : 'Float64Array'}`,
        )
        .join(', ');
      expect(compiled.declarations).toContain(
        `export declare function ${e.name}(${decl}): ${e.returns};`,
      );
      // A parameter with a default is not counted by Function.length: the seed may be left out.
      expect((mod[e.name] as (...a: unknown[]) => unknown).length).toBe(
        e.params.filter((p) => p.only === undefined).length,
      );
    }
    expect(ABI.filter((e) => e.params.some((p) => p.only === 'seed')).map((e) => e.name)).toEqual([
      'gradient',
      'gradientBatch',
    ]);
  });
});
