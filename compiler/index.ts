// gradc's library API.
import path from 'node:path';
import { compileSpec, type Compiled } from './pipeline.ts';
import type { OutputFormat } from './emit/module.ts';
import { parseModelBytes, validateModel } from './format/parse.ts';
import type { ModelInput } from './format/schema.ts';
import type { ModelSpec } from './format/model.ts';

export { GradcError } from './format/errors.ts';
export { modelJsonSchema, type ModelInput } from './format/schema.ts';
export { parseModelText, parseModelBytes, validateModel } from './format/parse.ts';
export { compileSpec, lower, passes, passNames, schedule } from './pipeline.ts';
export type { ModelSpec } from './format/model.ts';
export type { OutputFormat } from './emit/module.ts';

/** Typed identity: write a model in TypeScript with editor completion. */
export function defineModel<const M extends ModelInput>(model: M): M {
  return model;
}

/** The output format for a file name, by its extension in any case: `.cjs` is CommonJS,
 * `.js`/`.mjs` ESM JavaScript, anything else (`.ts`, `.mts`) TypeScript. */
export function formatFor(file: string): OutputFormat {
  const ext = path.extname(file).toLowerCase();
  return ext === '.cjs' ? 'cjs' : ext === '.js' || ext === '.mjs' ? 'js' : 'ts';
}

/** Where the `.d.ts` of JavaScript output goes: `net.js` → `net.d.ts`, `.mjs` → `.d.mts`,
 * `.cjs` → `.d.cts` (TypeScript pairs each with its own declaration extension). */
export function declarationsPathFor(file: string): string {
  const ext = path.extname(file);
  const lower = ext.toLowerCase();
  const dts = lower === '.mjs' ? '.d.mts' : lower === '.cjs' ? '.d.cts' : '.d.ts';
  return file.slice(0, file.length - ext.length) + dts;
}

/** Code of the batched entry points; overrides the model file's `backend`. */
export type Backend = 'auto' | 'js' | 'wasm';

/** Compiles a model object (as `defineModel` returns) to module text. */
export async function compileModel(
  model: ModelInput,
  opts: { format?: OutputFormat; source?: string; backend?: Backend } = {},
): Promise<Compiled> {
  const spec = await validateModel(model, opts.source ?? '<model>');
  return compileSpec(spec, {
    format: opts.format ?? 'ts',
    source: opts.source ?? '<model>',
    ...(opts.backend ? { backend: opts.backend } : {}),
  });
}

/** Compiles the bytes of a model file. */
export async function compileBytes(
  bytes: Uint8Array,
  file: string,
  format: OutputFormat,
  backend?: Backend,
): Promise<Compiled> {
  const spec = await parseModelBytes(bytes, file);
  return compileSpec(spec, {
    format,
    source: path.basename(file),
    ...(backend ? { backend } : {}),
  });
}
