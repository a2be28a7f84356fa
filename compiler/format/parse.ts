// Model file text → validated ModelSpec, or a GradcError naming the file and the JSON path.
import type { z } from 'zod';
import { activations } from '../frontend/activations.ts';
import { losses } from '../frontend/losses.ts';
import { describeValue, didYouMean, GradcError, jsonPath, quote, type PathPart } from './errors.ts';
import { ExprError, parseExpr } from './expr.ts';
import { firstBadOffset } from './json-position.ts';
import { prod as sizeOfShape } from '../layers/options.ts';
import { getLayer, layerFields, layerTypes } from '../layers/registry.ts';
import { LayerError } from '../layers/types.ts';
import type { FunctionSpec, LayerSpec, ModelSpec } from './model.ts';
import { LIMITS, modelSchema } from './schema.ts';
import { MAX_FILE_BYTES } from './limits.ts';

export { MAX_FILE_BYTES };

const topFields = [
  '$schema',
  'name',
  'description',
  'input',
  'layers',
  'loss',
  'precision',
  'backend',
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
  // V8 gives a position for most errors but not for "Unexpected token" or a premature end;
  // its message then quotes the text (a raw newline included), so the scanner's position and
  // the character found there are used instead.
  const m = / in JSON at position (\d+)/.exec(message);
  let pos: number;
  let what: string;
  if (m) {
    pos = Number(m[1]);
    what = message.slice(0, m.index).replace(/^JSON\.parse: /, '');
  } else {
    const bad = firstBadOffset(src);
    pos = bad < 0 ? src.length : bad;
    what =
      pos >= src.length ? 'Unexpected end of JSON input' : `Unexpected token ${tokenAt(src, pos)}`;
  }
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return new GradcError(file, `${line}:${column}`, `invalid JSON: ${oneLine(what)}`);
}

/** The character at `pos`, quoted as `'x'`, escaped when it is not printable ASCII. */
function tokenAt(src: string, pos: number): string {
  const cp = src.codePointAt(pos)!;
  const ch = String.fromCodePoint(cp);
  if (cp >= 0x20 && cp < 0x7f && ch !== "'" && ch !== '\\') return `'${ch}'`;
  return `'${JSON.stringify(ch).slice(1, -1)}'`.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function oneLine(s: string): string {
  return s.split(/[\r\n\u2028\u2029]/)[0]!;
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, p) ? (v as Record<PathPart, unknown>)[p] : undefined;
  }
  return v;
}

/** The fields the object at `path` may have, for "did you mean" and the list of fields. */
function fieldsOf(obj: unknown, path: readonly PathPart[]): string[] {
  const last = path[path.length - 1];
  const name =
    obj && typeof obj === 'object' && typeof (obj as { name?: unknown }).name === 'string'
      ? (obj as { name: string }).name
      : undefined;
  if (obj && typeof obj === 'object' && Object.hasOwn(obj, 'expr')) return ['expr'];
  if (last === 'activation' || last === 'loss') {
    const defs: Readonly<Record<string, { params: Readonly<Record<string, number>> }>> =
      last === 'activation' ? activations : losses;
    const params = name !== undefined && Object.hasOwn(defs, name) ? defs[name]!.params : {};
    return ['name', ...Object.keys(params)];
  }
  if (typeof last === 'number') {
    const type = obj && typeof obj === 'object' ? (obj as { type?: unknown }).type : undefined;
    return typeof type === 'string' ? layerFields(type) : ['type'];
  }
  return [...topFields];
}

/** True when the path names a field its (object) parent does not have. */
function isMissing(root: unknown, path: readonly PathPart[]): boolean {
  if (path.length === 0) return false;
  const parent = valueAt(root, path.slice(0, -1));
  return (
    parent !== null &&
    typeof parent === 'object' &&
    !Array.isArray(parent) &&
    !Object.hasOwn(parent, path[path.length - 1]!)
  );
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
  if (iss.code !== 'unrecognized_keys' && isMissing(root, path))
    return [path, 'required field is missing'];
  switch (iss.code) {
    case 'invalid_type':
      if (value === undefined) return [path, 'required field is missing'];
      if (typeof value === 'number' && !Number.isFinite(value))
        return [path, `must be a finite number, got ${value}`];
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
      const obj = valueAt(root, path);
      // `{"expr": ..., "name": ...}`: both words are fields, just not of the same object.
      if (key === 'name' && obj && typeof obj === 'object' && Object.hasOwn(obj, 'expr'))
        return [[...path, key], 'unknown field "name": an expression object has only "expr"'];
      const fields = fieldsOf(obj, path);
      const hint = didYouMean(key, fields);
      if (hint) return [[...path, key], `unknown field ${quote(key)}${hint}`];
      return [[...path, key], `unknown field ${quote(key)}; expected ${fields.join(', ')}`];
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
      if (iss.origin === 'string' && iss.code === 'too_small' && iss.minimum === 1)
        return [path, 'must not be empty'];
      if (iss.origin === 'string')
        return [
          path,
          `must be ${iss.code === 'too_small' ? 'at least' : 'at most'} ${iss.code === 'too_small' ? iss.minimum : iss.maximum} characters long`,
        ];
      return [path, iss.message];
    case 'invalid_union': {
      if ('discriminator' in iss && iss.discriminator === 'type') {
        if (typeof value === 'string')
          return [
            path,
            `unknown layer type ${quote(value)}${didYouMean(value, layerTypes)}; expected one of ${layerTypes.join(', ')}`,
          ];
        return [path, `expected a layer type (a string), got ${describeValue(value)}`];
      }
      if (path[path.length - 1] === 'input' && path.length === 1) {
        // A number (a vector's length) or a list (the shape of a sample).
        const sub = iss.errors[Array.isArray(value) ? 1 : 0]?.[0];
        if (sub) return explain(sub, root, path);
      }
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
    if (!Object.hasOwn(params, k))
      fail(file, [...path, k], `${name} takes no parameter ${quote(k)}`);
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
  const inputShape = typeof m.input === 'number' ? [m.input] : [...m.input];
  const layers: LayerSpec[] = [];
  const counters = new Map<string, number>();
  const seen = new Set<string>();
  let shape: readonly number[] = inputShape;
  let total = 0;
  let work = sizeOfShape(inputShape);
  for (let i = 0; i < m.layers.length; i++) {
    // The registry's records validated this object; these are the fields all layers share.
    const l = m.layers[i] as LayerObject;
    const rec = getLayer(l.type);
    const at = (...rest: PathPart[]): PathPart[] => ['layers', i, ...rest];
    const count = counters.get(l.type) ?? 0;
    counters.set(l.type, count + 1);
    const name = l.name ?? `${l.type}${count}`;
    if (seen.has(name))
      fail(
        file,
        at(l.name === undefined ? 'type' : 'name'),
        `the layer name ${quote(name)} is used twice`,
      );
    seen.add(name);
    const act = withDefaults(file, at('activation'), l.activation ?? 'linear', activations);
    let shapes;
    try {
      shapes = rec.shapes(l, shape);
    } catch (e) {
      if (e instanceof LayerError) fail(file, at(...e.path), e.message);
      throw e;
    }
    if (act.name === 'softmax' && i !== m.layers.length - 1)
      fail(file, at('activation'), 'softmax is only allowed on the last layer');
    if (act.name === 'softmax' && shapes.outputShape.length !== 1)
      fail(
        file,
        at('activation'),
        `softmax needs a vector output (add a flatten layer before); this layer gives [${shapes.outputShape.join(', ')}]`,
      );
    if (act.name === 'softmax' && sizeOfShape(shapes.outputShape) < 2)
      fail(file, at('activation'), 'softmax needs at least 2 units (with 1 it is constant 1)');
    for (const w of shapes.weights) total += sizeOfShape(w.shape);
    work += sizeOfShape(shapes.outputShape);
    layers.push({
      type: l.type,
      name,
      options: l,
      units: sizeOfShape(shapes.outputShape),
      inputShape: shape,
      outputShape: shapes.outputShape,
      weights: shapes.weights,
      activation: await withExpr(file, at('activation'), act, ['x']),
      trainable: l.trainable ?? true,
    });
    shape = shapes.outputShape;
  }
  if (total > LIMITS.maxParams) {
    fail(
      file,
      ['layers'],
      `the model would have ${total} parameters, more than the limit of ${LIMITS.maxParams}`,
    );
  }
  // Upper estimate of the work array: 4 slots per element of every layer's input and output
  // (the planner needs at most ~2.5 on dense networks).
  if (4 * work > LIMITS.maxWork) {
    fail(
      file,
      ['layers'],
      `the model would need about ${4 * work} elements of work memory, more than the limit of ${LIMITS.maxWork}`,
    );
  }
  const loss = withDefaults(file, ['loss'], m.loss, losses);
  if (loss.name === 'huber' && !(loss.params.delta! > 0))
    fail(file, ['loss', 'delta'], 'must be greater than 0');
  const outputs = sizeOfShape(shape);
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
    input: sizeOfShape(inputShape),
    inputShape,
    outputShape: shape,
    layers,
    loss: await withExpr(file, ['loss'], loss, ['y', 't']),
    precision: m.precision ?? 'f64',
    inputGradient: m.inputGradient ?? false,
    backend: m.backend ?? 'auto',
  };
}

type LayerObject = Readonly<Record<string, unknown>> & {
  readonly type: string;
  readonly name?: string;
  readonly trainable?: boolean;
  readonly activation?: Parameters<typeof withDefaults>[2];
};
