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

export function formatFor(file: string): OutputFormat {
  return /\.[cm]?js$/.test(file) ? 'js' : 'ts';
}

/** Compiles a model object (as `defineModel` returns) to module text. */
export async function compileModel(
  model: ModelInput,
  opts: { format?: OutputFormat; source?: string } = {},
): Promise<Compiled> {
  const spec = await validateModel(model, opts.source ?? '<model>');
  return compileSpec(spec, { format: opts.format ?? 'ts', source: opts.source ?? '<model>' });
}

/** Compiles the bytes of a model file. */
export async function compileBytes(
  bytes: Uint8Array,
  file: string,
  format: OutputFormat,
): Promise<Compiled> {
  const spec = await parseModelBytes(bytes, file);
  return compileSpec(spec, { format, source: path.basename(file) });
}
