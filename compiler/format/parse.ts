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
import type { FunctionSpec, LayerSpec, ModelSpec, OutputSpec, TensorSlot } from './model.ts';
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
  'outputs',
  'precision',
  'inputGradient',
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
  // A layer object: one in the list, or the one a wrapper holds (`layer`).
  if (typeof last === 'number' || (last === 'layer' && path.length > 2)) {
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
        // A wrapper's `layer` takes some types only: the union's own options say which.
        const opts = 'options' in iss && Array.isArray(iss.options) ? iss.options : [];
        const nested = path.length > 3;
        const known = nested && opts.length ? opts.map(String) : layerTypes;
        const what = nested ? 'layer type not allowed here:' : 'unknown layer type';
        if (typeof value === 'string')
          return [
            path,
            `${what} ${quote(value)}${known.includes(value) ? '' : didYouMean(value, known)}; expected one of ${known.join(', ')}`,
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
  const inputs = modelInputs(file, m.input);
  const graph = resolveGraph(file, m.layers as unknown as readonly LayerObject[], inputs);
  const outputs = outputList(file, m, graph);
  const shapeOf = new Map<string, readonly number[]>(inputs.map((x) => [x.name, x.shape]));
  const feedsOthers = new Set(graph.flatMap((g) => g.sources));
  const layers: LayerSpec[] = [];
  let total = 0;
  let work = inputs.reduce((acc, x) => acc + x.size, 0);
  const sequential = m.outputs === undefined && inputs.length === 1;
  for (let i = 0; i < m.layers.length; i++) {
    // The registry's records validated this object; these are the fields all layers share.
    const l = m.layers[i] as LayerObject;
    const rec = getLayer(l.type);
    const at = (...rest: PathPart[]): PathPart[] => ['layers', i, ...rest];
    const { name, sources } = graph[i]!;
    if (rec.inputs === 'many' && sources.length < 2)
      fail(
        file,
        at(l.inputs ? 'inputs' : 'type'),
        `${l.type} merges two inputs or more: name them in "inputs"`,
      );
    if (rec.inputs !== 'many' && sources.length !== 1)
      fail(file, at('inputs'), `${l.type} takes one input, got ${sources.length}`);
    const inputShapes = sources.map((s) => shapeOf.get(s)!);
    const act = withDefaults(
      file,
      at('activation'),
      l.activation ?? rec.defaultActivation ?? 'linear',
      activations,
    );
    let shapes;
    try {
      shapes = rec.shapes(l, inputShapes[0]!, inputShapes);
    } catch (e) {
      if (e instanceof LayerError) fail(file, at(...e.path), e.message);
      throw e;
    }
    const isOutput = outputs.some((o) => o.layer === name);
    if (
      act.name === 'softmax' &&
      (sequential ? i !== m.layers.length - 1 : !isOutput || feedsOthers.has(name))
    )
      fail(
        file,
        at('activation'),
        sequential
          ? 'softmax is only allowed on the last layer'
          : 'softmax is only allowed on an output layer that feeds no other layer',
      );
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
      inputs: sources,
      inputShape: inputShapes[0]!,
      inputShapes,
      outputShape: shapes.outputShape,
      weights: shapes.weights,
      activation: await withExpr(file, at('activation'), act, ['x']),
      trainable: l.trainable ?? true,
    });
    shapeOf.set(name, shapes.outputShape);
  }
  checkReach(file, graph, inputs, outputs);
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
  const outs: OutputSpec[] = [];
  let offset = 0;
  for (const o of outputs) {
    const loss = withDefaults(file, o.lossPath, o.loss, losses);
    if (loss.name === 'huber' && !(loss.params.delta! > 0))
      fail(file, [...o.lossPath, 'delta'], 'must be greater than 0');
    const shape = shapeOf.get(o.layer)!;
    const size = sizeOfShape(shape);
    if (loss.name === 'categoricalCrossEntropy' && size < 2) {
      fail(
        file,
        o.lossPath,
        `categoricalCrossEntropy needs at least 2 output units (${sequential ? 'the last layer' : `layer ${quote(o.layer)}`} has ${size}); use binaryCrossEntropy`,
      );
    }
    const layer = layers.find((l) => l.name === o.layer)!;
    outs.push({
      name: o.layer,
      shape,
      offset,
      size,
      loss: await withExpr(file, o.lossPath, loss, ['y', 't']),
      weight: o.weight,
      activation:
        getLayer(layer.type).outputIsActivation === false ? 'linear' : layer.activation.name,
    });
    offset += size;
  }
  const single = <T>(xs: readonly T[], one: (x: T) => readonly number[], all: number) =>
    xs.length === 1 ? one(xs[0]!) : [all];
  const inputSize = inputs.reduce((acc, x) => acc + x.size, 0);
  return {
    name: m.name ?? 'model',
    description: m.description,
    input: inputSize,
    inputShape: single(inputs, (x) => x.shape, inputSize),
    outputShape: single(outs, (o) => o.shape, offset),
    inputs,
    outputs: outs,
    layers,
    loss: outs.length === 1 ? outs[0]!.loss : { name: 'weightedSum', params: {} },
    precision: m.precision ?? 'f64',
    inputGradient: m.inputGradient ?? false,
    backend: m.backend ?? 'auto',
  };
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The model's inputs in declared order, with their offsets in the packed input array. */
function modelInputs(
  file: string,
  input: number | readonly number[] | Readonly<Record<string, number | readonly number[]>>,
): TensorSlot[] {
  const asShape = (v: number | readonly number[]) => (typeof v === 'number' ? [v] : [...v]);
  if (typeof input === 'number' || Array.isArray(input)) {
    const shape = asShape(input as number | readonly number[]);
    return [{ name: 'input', shape, offset: 0, size: sizeOfShape(shape) }];
  }
  const entries = Object.entries(input as Readonly<Record<string, number | readonly number[]>>);
  if (entries.length === 0) fail(file, ['input'], 'names no input; give at least one');
  if (entries.length > 16) fail(file, ['input'], `names ${entries.length} inputs, more than 16`);
  const out: TensorSlot[] = [];
  let offset = 0;
  for (const [name, v] of entries) {
    if (!NAME.test(name) || name.length > 64)
      fail(
        file,
        ['input', name],
        'an input name must start with a letter and hold only letters, digits, _ and - (at most 64)',
      );
    const shape = asShape(v);
    out.push({ name, shape, offset, size: sizeOfShape(shape) });
    offset += sizeOfShape(shape);
  }
  return out;
}

interface GraphNode {
  readonly name: string;
  /** Names of what it takes: earlier layers or model inputs. */
  readonly sources: readonly string[];
}

/** Layer names and the names each layer takes, checked to form a DAG in list order. */
function resolveGraph(
  file: string,
  list: readonly LayerObject[],
  inputs: readonly TensorSlot[],
): GraphNode[] {
  const counters = new Map<string, number>();
  const index = new Map<string, number>();
  const inputNames = new Set(inputs.map((x) => x.name));
  const names = list.map((l, i) => {
    const count = counters.get(l.type) ?? 0;
    counters.set(l.type, count + 1);
    const name = l.name ?? `${l.type}${count}`;
    const where: PathPart[] = ['layers', i, l.name === undefined ? 'type' : 'name'];
    if (index.has(name)) fail(file, where, `the layer name ${quote(name)} is used twice`);
    if (inputNames.has(name))
      fail(file, where, `the layer name ${quote(name)} is also the name of a model input`);
    index.set(name, i);
    return name;
  });
  const sourcesOf = (i: number): readonly string[] => {
    const l = list[i]!;
    if (l.inputs) return l.inputs;
    if (i > 0) return [names[i - 1]!];
    if (inputs.length > 1)
      fail(
        file,
        ['layers', 0],
        `the model has ${inputs.length} inputs: name the ones this layer takes in "inputs"`,
      );
    return [inputs[0]!.name];
  };
  /** A path of layers from `from` back to `to` through inputs, if there is one. */
  const pathBack = (from: number, to: number): number[] | undefined => {
    const seen = new Set<number>();
    const walk = (k: number): number[] | undefined => {
      if (k === to) return [k];
      if (seen.has(k)) return undefined;
      seen.add(k);
      for (const s of sourcesOf(k)) {
        const j = index.get(s);
        if (j === undefined) continue;
        const p = walk(j);
        if (p) return [k, ...p];
      }
      return undefined;
    };
    return walk(from);
  };
  return names.map((name, i) => {
    const sources = sourcesOf(i);
    sources.forEach((s, j) => {
      const where: PathPart[] = ['layers', i, 'inputs', j];
      if (inputNames.has(s)) return;
      const k = index.get(s);
      if (k === undefined)
        fail(
          file,
          where,
          `unknown layer or input ${quote(s)}${didYouMean(s, [...inputNames, ...names.slice(0, i)])}`,
        );
      if (k === i) fail(file, where, `layer ${quote(name)} cannot take its own output`);
      if (k > i) {
        const cycle = pathBack(k, i);
        if (cycle)
          fail(
            file,
            where,
            `cycle: ${[i, ...cycle].map((c) => quote(names[c]!)).join(' -> ')}; a graph must not loop back`,
          );
        fail(
          file,
          where,
          `${quote(s)} is listed later (layers[${k}]): a layer may only take layers listed before it`,
        );
      }
    });
    return { name, sources };
  });
}

interface OutputRef {
  readonly layer: string;
  readonly loss: Parameters<typeof withDefaults>[2];
  readonly lossPath: PathPart[];
  readonly weight: number;
}

/** The model's outputs: `outputs`, or the last layer with the top-level loss. */
function outputList(
  file: string,
  m: z.output<typeof modelSchema>,
  graph: readonly GraphNode[],
): OutputRef[] {
  if (m.outputs === undefined) {
    if (m.loss === undefined) fail(file, ['loss'], 'required field is missing');
    return [{ layer: graph[graph.length - 1]!.name, loss: m.loss, lossPath: ['loss'], weight: 1 }];
  }
  if (m.loss !== undefined)
    fail(
      file,
      ['loss'],
      'a model with "outputs" gives each output its own loss there; remove the top-level loss',
    );
  const names = graph.map((g) => g.name);
  const seen = new Set<string>();
  return m.outputs.map((o, j) => {
    if (!names.includes(o.layer))
      fail(
        file,
        ['outputs', j, 'layer'],
        `unknown layer ${quote(o.layer)}${didYouMean(o.layer, names)}`,
      );
    if (seen.has(o.layer))
      fail(file, ['outputs', j, 'layer'], `layer ${quote(o.layer)} is listed twice as an output`);
    seen.add(o.layer);
    return {
      layer: o.layer,
      loss: o.loss,
      lossPath: ['outputs', j, 'loss'],
      weight: o.weight ?? 1,
    };
  });
}

/** Every layer must lead to an output, and every model input must be used. */
function checkReach(
  file: string,
  graph: readonly GraphNode[],
  inputs: readonly TensorSlot[],
  outputs: readonly OutputRef[],
): void {
  const byName = new Map(graph.map((g, i) => [g.name, i]));
  const reached = new Set<string>();
  const stack = outputs.map((o) => o.layer);
  while (stack.length) {
    const n = stack.pop()!;
    if (reached.has(n)) continue;
    reached.add(n);
    const i = byName.get(n);
    if (i !== undefined) stack.push(...graph[i]!.sources);
  }
  graph.forEach((g, i) => {
    if (!reached.has(g.name))
      fail(
        file,
        ['layers', i],
        `layer ${quote(g.name)} reaches no output: use it in a later layer's "inputs" or list it in "outputs"`,
      );
  });
  for (const x of inputs)
    if (!reached.has(x.name))
      fail(
        file,
        inputs.length === 1 ? ['input'] : ['input', x.name],
        `input ${quote(x.name)} is used by no layer that reaches an output`,
      );
}

type LayerObject = Readonly<Record<string, unknown>> & {
  readonly type: string;
  readonly name?: string;
  readonly inputs?: readonly string[];
  readonly trainable?: boolean;
  readonly activation?: Parameters<typeof withDefaults>[2];
};
