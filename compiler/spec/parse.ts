// Model file text → validated ModelSpec, or a GradcError naming the file and the JSON path.
import type { z } from 'zod';
import { activations } from '../build/activations.ts';
import { losses } from '../build/losses.ts';
import { describeValue, didYouMean, GradcError, jsonPath, quote, type PathPart } from './errors.ts';
import { ExprError, parseExpr } from './expr.ts';
import { paramCountOf, type FunctionSpec, type ModelSpec } from './model.ts';
import { LIMITS, modelSchema } from './schema.ts';

export const MAX_FILE_BYTES = 1_000_000;

const knownFields = [
  '$schema',
  'name',
  'description',
  'input',
  'layers',
  'loss',
  'precision',
  'type',
  'units',
  'activation',
  'alpha',
  'delta',
  'expr',
];

/** Bytes of a model file → spec. Checks size and encoding before JSON. */
export async function parseModelBytes(bytes: Uint8Array, file: string): Promise<ModelSpec> {
  if (bytes.length === 0) throw new GradcError(file, '$', 'the file is empty');
  if (bytes.length > MAX_FILE_BYTES) {
    throw new GradcError(
      file,
      '$',
      `the file is ${bytes.length} bytes, more than the limit of ${MAX_FILE_BYTES}`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new GradcError(file, '$', 'the file is not valid UTF-8');
  }
  return parseModelText(text, file);
}

export async function parseModelText(text: string, file: string): Promise<ModelSpec> {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (src.trim() === '') throw new GradcError(file, '$', 'the file is empty');
  let json: unknown;
  try {
    json = JSON.parse(src);
  } catch (e) {
    throw syntaxError(src, file, (e as Error).message);
  }
  return validateModel(json, file);
}

function syntaxError(src: string, file: string, message: string): GradcError {
  const m = /position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) : src.length;
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  const what = message.replace(/ in JSON at position \d+.*$/s, '').replace(/^JSON\.parse: /, '');
  return new GradcError(file, `${line}:${column}`, `invalid JSON: ${what.split('\n')[0]}`);
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, p) ? (v as Record<PathPart, unknown>)[p] : undefined;
  }
  return v;
}

function kindOf(path: readonly PathPart[]): string {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (last === 'type') return 'layer type';
  if (last === 'name' && typeof parent === 'string') return parent;
  return String(last ?? 'value');
}

type Issue = z.core.$ZodIssue;

/** One readable message for a zod issue; unions are explained by the shape the user wrote. */
function explain(iss: Issue, root: unknown, base: readonly PathPart[] = []): [PathPart[], string] {
  const path = [...base, ...(iss.path as PathPart[])];
  const value = valueAt(root, path);
  switch (iss.code) {
    case 'invalid_type':
      if (value === undefined) return [path, 'required field is missing'];
      return [
        path,
        iss.message.startsWith('Invalid input')
          ? `expected ${iss.expected}, got ${describeValue(value)}`
          : `${iss.message}, got ${describeValue(value)}`,
      ];
    case 'invalid_value': {
      const allowed = iss.values.map(String);
      if (typeof value === 'string')
        return [
          path,
          `unknown ${kindOf(path)} ${quote(value)}${didYouMean(value, allowed)}; expected one of ${allowed.join(', ')}`,
        ];
      return [
        path,
        `expected one of ${allowed.map((a) => quote(a)).join(', ')}, got ${describeValue(value)}`,
      ];
    }
    case 'unrecognized_keys': {
      const key = iss.keys[0]!;
      return [[...path, key], `unknown field ${quote(key)}${didYouMean(key, knownFields)}`];
    }
    case 'too_small':
    case 'too_big':
      if (!iss.message.startsWith('Too '))
        return [path, `${iss.message}, got ${describeValue(value)}`];
      if (iss.origin === 'array')
        return [
          path,
          `must have ${iss.code === 'too_small' ? 'at least' : 'at most'} ${iss.code === 'too_small' ? iss.minimum : iss.maximum} item(s)`,
        ];
      if (iss.origin === 'string')
        return [
          path,
          `must be ${iss.code === 'too_small' ? 'at least' : 'at most'} ${iss.code === 'too_small' ? iss.minimum : iss.maximum} characters long`,
        ];
      return [path, iss.message];
    case 'invalid_union': {
      // Branch 0 is the plain name, 1 the {name, param} object, 2 the {expr} object.
      const branch =
        typeof value === 'string'
          ? 0
          : value && typeof value === 'object' && !Array.isArray(value)
            ? 'expr' in value
              ? 2
              : 1
            : -1;
      const sub = branch >= 0 ? iss.errors[branch]?.[0] : undefined;
      if (sub) return explain(sub, root, path);
      return [
        path,
        `expected a name, an object {"name": ...} or {"expr": ...}, got ${describeValue(value)}`,
      ];
    }
    default:
      return [path, iss.message];
  }
}

function fail(file: string, path: readonly PathPart[], msg: string): never {
  throw new GradcError(file, jsonPath(path), msg);
}

function withDefaults(
  file: string,
  path: PathPart[],
  raw: string | { name?: string; expr?: string; [k: string]: unknown },
  defs: Readonly<Record<string, { params: Readonly<Record<string, number>> }>>,
): Omit<FunctionSpec, 'expr'> & { source?: string } {
  if (typeof raw === 'string') return { name: raw, params: { ...defs[raw]!.params } };
  if (typeof raw.expr === 'string') return { name: 'custom', params: {}, source: raw.expr };
  const name = raw.name!;
  const params: Record<string, number> = { ...defs[name]!.params };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'name' || v === undefined) continue;
    if (!(k in params)) fail(file, [...path, k], `${name} takes no parameter ${quote(k)}`);
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(file, [...path, k], `must be a finite number`);
    params[k] = v;
  }
  return { name, params };
}

async function withExpr(
  file: string,
  path: PathPart[],
  f: Omit<FunctionSpec, 'expr'> & { source?: string },
  vars: string[],
): Promise<FunctionSpec> {
  if (f.source === undefined) return { name: f.name, params: f.params };
  try {
    return { name: 'custom', params: {}, expr: await parseExpr(f.source, vars) };
  } catch (e) {
    if (e instanceof ExprError) fail(file, [...path, 'expr'], e.message);
    throw e;
  }
}

/** Validates a parsed JSON value (or a `defineModel` object). */
export async function validateModel(json: unknown, file = '<model>'): Promise<ModelSpec> {
  const r = modelSchema.safeParse(json);
  if (!r.success) {
    const [path, msg] = explain(r.error.issues[0]!, json);
    fail(file, path, msg);
  }
  const m = r.data;
  const layers = [];
  for (let i = 0; i < m.layers.length; i++) {
    const l = m.layers[i]!;
    const path = ['layers', i, 'activation'];
    const act = withDefaults(file, path, l.activation ?? 'linear', activations);
    if (act.name === 'softmax' && i !== m.layers.length - 1)
      fail(file, path, 'softmax is only allowed on the last layer');
    if (act.name === 'softmax' && l.units < 2)
      fail(file, path, 'softmax needs at least 2 units (with 1 it is constant 1)');
    layers.push({
      type: 'dense' as const,
      units: l.units,
      activation: await withExpr(file, path, act, ['x']),
    });
  }
  const total = paramCountOf(
    m.input,
    layers.map((l) => l.units),
  );
  if (total > LIMITS.maxParams) {
    fail(
      file,
      ['layers'],
      `the model would have ${total} parameters, more than the limit of ${LIMITS.maxParams}`,
    );
  }
  const loss = withDefaults(file, ['loss'], m.loss, losses);
  if (loss.name === 'huber' && !(loss.params.delta! > 0))
    fail(file, ['loss', 'delta'], 'must be greater than 0');
  const outputs = layers[layers.length - 1]!.units;
  if (loss.name === 'categoricalCrossEntropy' && outputs < 2) {
    fail(
      file,
      ['loss'],
      `categoricalCrossEntropy needs at least 2 output units (the last layer has ${outputs}); use binaryCrossEntropy`,
    );
  }
  return {
    name: m.name ?? 'model',
    description: m.description,
    input: m.input,
    layers,
    loss: await withExpr(file, ['loss'], loss, ['y', 't']),
    precision: m.precision ?? 'f64',
  };
}
