// The module shell: header, `model` metadata, doc comments and function headers around the
// bodies, in three formats: TypeScript, ESM JavaScript and CommonJS, plus the `.d.ts` for the
// JavaScript ones. Plain text: the shell is a few fixed shapes, not worth a code model (and
// its dependency tree) at run time.
import type { Compilation } from '../frontend/model.ts';
import { ABI, isOptionalParam, LIFECYCLE, OPTIONAL_EXPORTS } from './abi.ts';
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
  /** A WebAssembly-backed module's state, init() and alloc(); absent: the JS-only ones. */
  readonly wasm?: (exp: string) => string;
}

const DOCS: Readonly<Record<string, string>> = Object.fromEntries(ABI.map((e) => [e.name, e.doc]));

const HELPER_DOCS: Readonly<Record<Exclude<FunctionKind, 'entry'>, (entry: string) => string>> = {
  sample: (e) =>
    `Samples of \`${e}\` (one, or a block computed together): reads row offsets, accumulates into the caller's arrays.`,
  part: (e) => `Part of \`${e}\`, split off to stay under V8's optimization size limit.`,
  fallback: (e) =>
    `\`${e}\` in JavaScript: for arrays outside the module's memory, or without WebAssembly.`,
  loop: (e) => `A loop of \`${e}\` in its own function, so V8 optimizes it on its own.`,
  mask: () =>
    'Dropout mask element: 0 if the hash of (seed, sample key, layer salt, element) is below `threshold`, else `scale`.',
};

/** `xo2`: the row offset of the block's third sample. */
function paramDoc(p: string): string {
  const lane = /^(xo|to|oo)(\d+)$/.exec(p);
  if (lane)
    return `${PARAM_DOCS[lane[1]!]!.replace('this sample', `sample ${lane[2]} of the block`)}`;
  return PARAM_DOCS[p] ?? '';
}

const ENTRY_PARAMS = new Map(ABI.flatMap((e) => e.params.map((p) => [p.name, p] as const)));

/** Parameters that are numbers rather than arrays (the helpers' row offsets among them). */
const isNumberParam = (p: string) =>
  ENTRY_PARAMS.get(p)?.kind === 'number' ||
  /^(start|xo\d*|to\d*|oo\d*|key|salt|k|threshold|scale)$/.test(p);

/** The entry points' parameters from the ABI table, and the helpers' own. */
const PARAM_DOCS: Readonly<Record<string, string>> = {
  ...Object.fromEntries([...ENTRY_PARAMS].map(([n, p]) => [n, p.doc])),
  xo: "offset of this sample's row in `inputs`",
  to: "offset of this sample's row in `targets`",
  oo: "offset of this sample's row in `outputs`",
  start: 'first sample not yet done',
  key: "the sample's key (its input row offset)",
  salt: 'the layer',
  k: 'the element',
  threshold: 'hashes below it drop the element (rate × 2^32)',
  scale: '1 / (1 − rate)',
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

const INIT_DOC =
  '/** Resolves at once: this module is plain JavaScript. Every gradc module has it; await it before the first call. */';
const ALLOC_DOC =
  '/** A zeroed array of `length` elements for the entry points (a plain typed array in a JS-only module). */';

/** The `.d.ts` line of a lifecycle function, from the ABI table. */
function lifecycleDeclaration(name: (typeof LIFECYCLE)[number]['name'], arrayType: string): string {
  const l = LIFECYCLE.find((x) => x.name === name)!;
  return `export declare function ${l.declaration.replace(/\bT$/, arrayType)};`;
}

/** init() and alloc() of a JS-only module: the contract every generated module keeps. */
function jsContract(ts: boolean, exp: string, arrayType: string): string {
  return [
    INIT_DOC,
    `${exp}async function init(options${ts ? '?: { relaxedSimd?: boolean }' : ''})${ts ? ': Promise<void>' : ''} {}`,
    '',
    ALLOC_DOC,
    `${exp}function alloc(length${ts ? ': number' : ''})${ts ? `: ${arrayType}` : ''} {`,
    `  return new ${arrayType}(length);`,
    '}',
  ].join('\n');
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
    m.wasm ? m.wasm(exp) : jsContract(ts, exp, arrayType),
  ];
  for (const f of m.functions) {
    const typeOf = (p: string) => (isNumberParam(p) ? 'number' : arrayType);
    // An optional ABI parameter (the seed) defaults to 0 in the exported function.
    const dflt = (p: string) => (f.kind === 'entry' && isOptionalParam(f.name, p) ? ' = 0' : '');
    const params = f.signature
      .map((p) => (ts ? `${p}: ${typeOf(p)}${dflt(p)}` : `${p}${dflt(p)}`))
      .join(', ');
    const ret = ts ? `: ${f.returnsNumber ? 'number' : 'void'}` : '';
    const arrays = new Set(f.signature.filter((p) => !isNumberParam(p)));
    const body = ts ? assertIndexed(f.body, arrays) : f.body;
    const exported = f.kind === 'entry' ? exp : '';
    parts.push(
      `${jsDoc(docLines(f, ts, arrayType))}\n${exported}function ${f.name}(${params})${ret} {\n${body}\n}`,
    );
  }
  if (!esm) {
    const names = [
      'model',
      ...m.functions.filter((f) => f.kind === 'entry').map((f) => f.name),
      'init',
      'alloc',
    ];
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
    [
      "/** Instantiates the module's WebAssembly, if any (resolves at once otherwise). Await it before the first call. */",
      lifecycleDeclaration('init', arrayType),
      ALLOC_DOC,
      lifecycleDeclaration('alloc', arrayType),
    ].join('\n'),
  ];
  // The WebAssembly glue's optional export (compiler/backends/wasm/glue.ts).
  if (m.wasm)
    for (const o of OPTIONAL_EXPORTS)
      parts.push(
        `/** ${o.doc} */\nexport declare function ${o.declaration.replace(/\bT\b/g, arrayType)};`,
      );
  for (const f of m.functions) {
    if (f.kind !== 'entry') continue;
    const params = f.signature
      .map(
        (p) =>
          `${p}${isOptionalParam(f.name, p) ? '?' : ''}: ${isNumberParam(p) ? 'number' : arrayType}`,
      )
      .join(', ');
    parts.push(
      `${jsDoc(docLines(f, true, arrayType))}\nexport declare function ${f.name}(${params}): ${f.returnsNumber ? 'number' : 'void'};`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}
