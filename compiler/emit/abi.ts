// The generated module's ABI, defined once: every exported function with its parameters
// (name, kind, doc), its return type, its doc line and which modules have it. The emitted
// signatures (emit/body.ts, emit/batch.ts), the doc comments and the `.d.ts`
// (emit/module.ts) read it; test/compiler/abi.test.ts checks that the runtime's
// `GeneratedModule` type (runtime/types.ts, another package) says the same.

export interface AbiParam {
  readonly name: string;
  /** `array`: the model's float array type; `number`: a plain number. */
  readonly kind: 'array' | 'number';
  readonly doc: string;
  /**
   * `seed`: only in modules of models with a seeded training mode (dropout), last, and
   * optional (an omitted seed is 0). The runtime passes a new one every step.
   */
  readonly only?: 'seed';
}

export interface AbiEntry {
  readonly name: string;
  readonly params: readonly AbiParam[];
  readonly returns: 'number' | 'void';
  readonly doc: string;
  /** `always`, or only in modules of models that set `inputGradient: true`. */
  readonly presence: 'always' | 'inputGradient';
}

const arr = (name: string, doc: string): AbiParam => ({ name, kind: 'array', doc });

const P = {
  params: arr('params', '`model.paramCount` parameters (see `model.params` for the layout)'),
  input: arr('input', '`model.inputSize` features'),
  target: arr('target', '`model.outputSize` target values'),
  output: arr('output', 'receives `model.outputSize` values'),
  inputs: arr('inputs', '`count × model.inputSize` features, row-major'),
  targets: arr('targets', '`count × model.outputSize` targets, row-major'),
  outputs: arr('outputs', 'receives `count × model.outputSize` values, row-major'),
  count: { name: 'count', kind: 'number', doc: 'number of samples' } as AbiParam,
  grad: arr('grad', 'receives `model.paramCount` partial derivatives'),
  dinput: arr('dinput', 'receives `model.inputSize` partial derivatives of the loss by the input'),
  work: arr('work', 'scratch memory of `model.workSize` elements'),
  seed: {
    name: 'seed',
    kind: 'number',
    doc: "optional: 32-bit integer keying the training step's dropout masks (0 when omitted)",
    only: 'seed',
  } as AbiParam,
};

export const ABI: readonly AbiEntry[] = [
  {
    name: 'forward',
    params: [P.params, P.input, P.output, P.work],
    returns: 'void',
    doc: 'Writes the network output for one sample into `output`.',
    presence: 'always',
  },
  {
    name: 'loss',
    params: [P.params, P.input, P.target, P.work],
    returns: 'number',
    doc: 'Returns the loss for one sample.',
    presence: 'always',
  },
  {
    name: 'gradient',
    params: [P.params, P.input, P.target, P.grad, P.work, P.seed],
    returns: 'number',
    // Training mode (README "Modes"): the loss with dropout masks and batch statistics (of
    // one sample); moving statistics are written into params. Kept short: every module's
    // doc comment says it, models without such layers included.
    doc: 'Overwrites `grad` with dLoss/dparams for one sample and returns the loss.',
    presence: 'always',
  },
  {
    name: 'inputGradient',
    params: [P.params, P.input, P.target, P.dinput, P.work],
    returns: 'number',
    doc: 'Overwrites `dinput` with dLoss/dinput for one sample and returns the loss.',
    presence: 'inputGradient',
  },
  {
    name: 'forwardBatch',
    params: [P.params, P.inputs, P.outputs, P.count, P.work],
    returns: 'void',
    doc: 'Writes the outputs of `count` samples (row-major `count × inputSize` inputs) into `outputs`.',
    presence: 'always',
  },
  {
    name: 'gradientBatch',
    params: [P.params, P.inputs, P.targets, P.count, P.grad, P.work, P.seed],
    returns: 'number',
    doc: 'Overwrites `grad` with the mean gradient over `count` samples (row-major rows) and returns the mean loss.',
    presence: 'always',
  },
];

export function abiEntry(name: string): AbiEntry | undefined {
  return ABI.find((e) => e.name === name);
}

/** What a model's module needs beyond the fixed parameters. */
export interface AbiNeeds {
  /** The model has dropout: `gradient` and `gradientBatch` take a trailing `seed`. */
  readonly seed?: boolean;
}

/** The parameter names of entry point `name`, in order, for a model with `needs`. */
export function signatureOf(name: string, needs: AbiNeeds = {}): readonly string[] {
  const e = abiEntry(name);
  if (!e) throw new Error(`internal: ${name} is not in the module ABI`);
  return e.params.filter((p) => p.only === undefined || needs[p.only]).map((p) => p.name);
}

/** Whether parameter `param` of entry point `name` may be left out by a caller. */
export function isOptionalParam(name: string, param: string): boolean {
  return abiEntry(name)?.params.find((p) => p.name === param)?.only !== undefined;
}

/**
 * The module's lifecycle functions, beside the entry points: every module has them, JS-only
 * ones included (emit/module.ts `jsContract`, backends/wasm/glue.ts). Their parameters are
 * options, not model arrays, so they are listed by name with the declaration the `.d.ts`
 * carries (`T` the model's float array type).
 */
export const LIFECYCLE = [
  { name: 'init', declaration: 'init(options?: { relaxedSimd?: boolean }): Promise<void>' },
  { name: 'alloc', declaration: 'alloc(length: number): T' },
] as const;

/**
 * Exports only some modules have (optional in the runtime's `GeneratedModule`): `only` says
 * which. The WebAssembly glue defines them (backends/wasm/glue.ts); the runtime's `sgd()`
 * optimizer uses `sgd` where it exists (runtime/optimizers.ts `useVectorSgd`).
 */
export const OPTIONAL_EXPORTS = [
  {
    name: 'sgd',
    only: 'wasm',
    doc: "The SGD update params -= lr · grad, one vector pass in the module's memory for alloc() arrays (a JS loop for others).",
    declaration: 'sgd(params: T, grad: T, lr: number): void',
  },
] as const;
