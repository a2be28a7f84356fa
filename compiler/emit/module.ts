// The module shell: header, `model` metadata, doc comments and function headers around the
// bodies, in three formats: TypeScript, ESM JavaScript and CommonJS, plus the `.d.ts` for the
// JavaScript ones. Plain text: the shell is a few fixed shapes, not worth a code model (and
// its dependency tree) at run time.
import type { Compilation } from '../frontend/model.ts';
import type { EmittedFunction, FunctionKind } from './body.ts';
import { commentText, literal } from './code.ts';
import { assertIndexed } from './strict-index.ts';
import { typeLiteral } from './type-literal.ts';

/** `ts`: TypeScript (.ts, .mts); `js`: ESM JavaScript (.js, .mjs); `cjs`: CommonJS (.cjs). */
export type OutputFormat = 'ts' | 'js' | 'cjs';

export interface ModuleInput {
  readonly c: Compilation;
  /** Every function, entry points first within each group, in output order. */
  readonly functions: readonly EmittedFunction[];
  readonly workSize: number;
  readonly format: OutputFormat;
  /** The model file's base name, for the header. */
  readonly source: string;
  readonly version: string;
}

const DOCS: Readonly<Record<string, string>> = {
  forward: 'Writes the network output for one sample into `output`.',
  loss: 'Returns the loss for one sample.',
  gradient: 'Overwrites `grad` with dLoss/dparams for one sample and returns the loss.',
  inputGradient: 'Overwrites `dinput` with dLoss/dinput for one sample and returns the loss.',
  forwardBatch:
    'Writes the outputs of `count` samples (row-major `count × inputSize` inputs) into `outputs`.',
  gradientBatch:
    'Overwrites `grad` with the mean gradient over `count` samples (row-major rows) and returns the mean loss.',
};

const HELPER_DOCS: Readonly<Record<Exclude<FunctionKind, 'entry'>, (entry: string) => string>> = {
  sample: (e) =>
    `Samples of \`${e}\` (one, or a block computed together): reads row offsets, accumulates into the caller's arrays.`,
  part: (e) => `Part of \`${e}\`, split off to stay under V8's optimization size limit.`,
  loop: (e) => `A loop of \`${e}\` in its own function, so V8 optimizes it on its own.`,
};

/** `xo2`: the row offset of the block's third sample. */
function paramDoc(p: string): string {
  const lane = /^(xo|to|oo)(\d+)$/.exec(p);
  if (lane)
    return `${PARAM_DOCS[lane[1]!]!.replace('this sample', `sample ${lane[2]} of the block`)}`;
  return PARAM_DOCS[p] ?? '';
}

/** Parameters that are numbers rather than arrays. */
const isNumberParam = (p: string) => /^(count|start|xo\d*|to\d*|oo\d*)$/.test(p);

const PARAM_DOCS: Readonly<Record<string, string>> = {
  params: '`model.paramCount` parameters (see `model.params` for the layout)',
  input: '`model.inputSize` features',
  target: '`model.outputSize` target values',
  output: 'receives `model.outputSize` values',
  inputs: '`count × model.inputSize` features, row-major',
  targets: '`count × model.outputSize` targets, row-major',
  outputs: 'receives `count × model.outputSize` values, row-major',
  count: 'number of samples',
  xo: "offset of this sample's row in `inputs`",
  to: "offset of this sample's row in `targets`",
  oo: "offset of this sample's row in `outputs`",
  start: 'first sample not yet done',
  grad: 'receives `model.paramCount` partial derivatives',
  dinput: 'receives `model.inputSize` partial derivatives of the loss by the input',
  work: 'scratch memory of `model.workSize` elements',
};

function jsDoc(lines: readonly string[]): string {
  const clean = lines.map((l) => l.trimEnd());
  if (clean.length === 1) return `/** ${clean[0]} */`;
  return `/**\n${clean.map((l) => ` * ${l}`).join('\n')}\n */`;
}

export function modelInfo(c: Compilation, workSize: number): Record<string, unknown> {
  const s = c.spec;
  return {
    name: s.name,
    description: s.description,
    inputSize: c.shapes.inputSize,
    outputSize: c.shapes.outputSize,
    inputShape: c.shapes.inputShape,
    outputShape: c.shapes.outputShape,
    paramCount: c.shapes.paramCount,
    workSize,
    precision: s.precision,
    loss: s.loss.name,
    // The packed layout, for models with several inputs or outputs (absent otherwise: one
    // input and one output, each the whole row, as before).
    ...(s.inputs.length > 1 || s.outputs.length > 1
      ? {
          inputs: s.inputs,
          outputs: s.outputs.map((o) => ({
            name: o.name,
            shape: o.shape,
            offset: o.offset,
            size: o.size,
            loss: o.loss.name,
            weight: o.weight,
          })),
        }
      : {}),
    layers: c.layers,
    params: c.params,
  };
}

function header(m: ModuleInput, what: string): string[] {
  const { c } = m;
  const what1 = (l: (typeof c.layers)[number]) =>
    `${l.type === 'dense' ? l.units : `${l.type} [${l.outputShape!.join('×')}]`} ${l.activation}`;
  // A graph reads as each layer with what it takes; a chain as the chain.
  const arch = c.layers.some((l) => l.from)
    ? c.layers.map((l) => `${l.name}(${l.from!.join(', ')}) ${what1(l)}`).join('; ')
    : c.layers.map(what1).join(' → ');
  const input =
    c.spec.inputs.length > 1
      ? c.spec.inputs.map((x) => `${x.name} [${x.shape.join('×')}]`).join(', ')
      : c.shapes.inputShape.length > 1
        ? `[${c.shapes.inputShape.join('×')}]`
        : c.shapes.inputSize;
  return [
    `// @generated by gradc ${commentText(m.version)} from ${commentText(m.source)}. ${what}`,
    `// ${commentText(`${input} → ${arch}; loss ${c.spec.loss.name}; ${c.spec.precision}.`)}`,
  ];
}

const MODEL_DOC =
  '/** Shapes and parameter layout (TF.js layouts, row-major: a dense kernel is `[inputs, units]`, y = x·W + b). */';

function arrayTypeOf(c: Compilation): string {
  return c.spec.precision === 'f32' ? 'Float32Array' : 'Float64Array';
}

function docLines(f: EmittedFunction, typed: boolean, arrayType: string): string[] {
  const typeOf = (p: string) => (isNumberParam(p) ? 'number' : arrayType);
  const paramDocs = f.signature.map((p) =>
    typed ? `@param ${p} ${paramDoc(p)}` : `@param {${typeOf(p)}} ${p} ${paramDoc(p)}`,
  );
  return f.kind === 'entry'
    ? [
        DOCS[f.name] ?? '',
        ...(typed ? [] : [`@returns {${f.returnsNumber ? 'number' : 'void'}}`]),
        ...paramDocs,
      ]
    : [HELPER_DOCS[f.kind](f.entry), ...(typed ? [] : paramDocs)];
}

export function emitModule(m: ModuleInput): string {
  const { c, format } = m;
  const ts = format === 'ts';
  const esm = format !== 'cjs';
  const arrayType = arrayTypeOf(c);
  const exp = esm ? 'export ' : '';
  const parts: string[] = [
    [
      ...header(m, 'Do not edit: recompile the model.'),
      '// Every function below allocates nothing: all memory is passed in by the caller.',
      ...(esm ? [] : ["'use strict';"]),
      MODEL_DOC,
      `${exp}const model = ${literal(modelInfo(c, m.workSize))}${ts ? ' as const' : ''};`,
    ].join('\n'),
  ];
  for (const f of m.functions) {
    const typeOf = (p: string) => (isNumberParam(p) ? 'number' : arrayType);
    const params = f.signature.map((p) => (ts ? `${p}: ${typeOf(p)}` : p)).join(', ');
    const ret = ts ? `: ${f.returnsNumber ? 'number' : 'void'}` : '';
    const arrays = new Set(f.signature.filter((p) => !isNumberParam(p)));
    const body = ts ? assertIndexed(f.body, arrays) : f.body;
    const exported = f.kind === 'entry' ? exp : '';
    parts.push(
      `${jsDoc(docLines(f, ts, arrayType))}\n${exported}function ${f.name}(${params})${ret} {\n${body}\n}`,
    );
  }
  if (!esm) {
    const names = ['model', ...m.functions.filter((f) => f.kind === 'entry').map((f) => f.name)];
    parts.push(`module.exports = { ${names.join(', ')} };`);
  }
  return `${parts.join('\n\n')}\n`;
}

/**
 * The `.d.ts` (`.d.mts`, `.d.cts`) beside JavaScript output: the exact `model` type and the
 * entry points' signatures, self-contained (a consumer needs no gradc package for it).
 */
export function emitDeclarations(m: ModuleInput): string {
  const { c } = m;
  const arrayType = arrayTypeOf(c);
  const parts: string[] = [
    [
      ...header(m, 'Types of the module beside this file.'),
      MODEL_DOC,
      `export declare const model: ${typeLiteral(modelInfo(c, m.workSize))};`,
    ].join('\n'),
  ];
  for (const f of m.functions) {
    if (f.kind !== 'entry') continue;
    const params = f.signature
      .map((p) => `${p}: ${isNumberParam(p) ? 'number' : arrayType}`)
      .join(', ');
    parts.push(
      `${jsDoc(docLines(f, true, arrayType))}\nexport declare function ${f.name}(${params}): ${f.returnsNumber ? 'number' : 'void'};`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}
