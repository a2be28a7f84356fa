// Bad model files through the library API: every error is a GradcError with the file, the JSON
// path (or line:column for syntax errors) and a message saying what is wrong, on one line.
import { describe, expect, it } from 'vitest';
import { GradcError } from '../../compiler/format/errors.ts';
import {
  MAX_FILE_BYTES,
  parseModelBytes,
  parseModelText,
  validateModel,
} from '../../compiler/format/parse.ts';
import { LIMITS } from '../../compiler/format/schema.ts';

const FILE = 'net.model.json';

/** A valid model; cases override parts of it. */
const base = {
  input: 3,
  layers: [
    { type: 'dense', units: 4, activation: 'tanh' },
    { type: 'dense', units: 2, activation: 'sigmoid' },
  ],
  loss: 'mse',
};
const withLayer0 = (layer: Record<string, unknown>) => ({
  ...base,
  layers: [{ type: 'dense', units: 4, ...layer }, base.layers[1]],
});
const withAct = (activation: unknown) => withLayer0({ activation });
const without = (key: string) =>
  Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

async function errorOf(input: string | unknown): Promise<GradcError> {
  try {
    if (typeof input === 'string') await parseModelText(input, FILE);
    else await validateModel(input, FILE);
  } catch (e) {
    if (e instanceof GradcError) return e;
    throw new Error(`expected a GradcError, got ${(e as Error).name}: ${(e as Error).message}`);
  }
  throw new Error('expected the model to be rejected');
}

type Case = readonly [label: string, input: string | unknown, where: string, fragment: RegExp];

function expectError(e: GradcError, where: string, fragment: RegExp): void {
  expect(e.file).toBe(FILE);
  expect(e.where).toBe(where);
  expect(e.message.startsWith(`${FILE}: ${where}: `), e.message).toBe(true);
  expect(e.detail).toMatch(fragment);
  expect(e.message).not.toMatch(/[\r\n\u2028\u2029]/);
}

const JSON_CASES: readonly Case[] = [
  ['empty file', '', '$', /the file is empty/],
  ['only whitespace', '  \n\t\n', '$', /the file is empty/],
  [
    'missing colon',
    '{\n\n   "input"  3}',
    '3:13',
    /invalid JSON: Expected ':' after property name/,
  ],
  [
    'trailing comma in object',
    '{"input": 3,}',
    '1:13',
    /invalid JSON: Expected double-quoted property name/,
  ],
  ['truncated', '{"input": 3', '1:12', /invalid JSON: Expected ',' or '}'/],
  [
    'missing comma (line 4)',
    '{\n  "input": 3,\n  "layers": [\n    { "type": "dense" "units": 2 }\n  ]\n}',
    '4:23',
    /invalid JSON/,
  ],
  ['single quotes', "{'input': 3}", '1:2', /invalid JSON/],
  ['garbage after the object', '{"input": 3}}', '1:13', /invalid JSON/],
  [
    'control character in a string',
    '{"name": "a\u0001"}',
    '1:12',
    /invalid JSON: Bad control character/,
  ],
  ['not an object: array', '[1, 2]', '$', /expected object, got an array/],
  ['not an object: null', 'null', '$', /expected object, got null/],
  ['not an object: number', '42', '$', /expected object, got 42/],
];

// Node 20 reports "Unexpected token" errors without a position. These cases found the
// compiler pointing at the end of the file instead, and cutting the message mid-quote for a
// token followed by a newline (fixed since: compiler/format/json-position.ts).
const JSON_POSITION_CASES: readonly Case[] = [
  ['unexpected token (one line)', '{"input": x}', '1:11', /invalid JSON: Unexpected token 'x'/],
  [
    'unexpected token (line 3)',
    '{\n  "input": 3,\n  "layers": [,]\n}',
    '3:14',
    /invalid JSON: Unexpected token ','/,
  ],
  // V8 names the newline after `tru`; the message is then cut after "Unexpected token '".
  [
    'unexpected token before a newline',
    '{\n "input": 3,\n "loss": tru\n}',
    '3:13',
    /^invalid JSON: Unexpected token (?!'$)/,
  ],
];

/** An image model; cases replace its layers. */
const image = (layers: Record<string, unknown>[], input: unknown = [6, 6, 1]) => ({
  input,
  layers: [...layers, { type: 'flatten' }, { type: 'dense', units: 2 }],
  loss: 'mse',
});
const conv = (o: Record<string, unknown> = {}) => ({
  type: 'conv2d',
  filters: 2,
  kernelSize: 3,
  ...o,
});

const ids = (layers: Record<string, unknown>[], input: unknown = [5]) => ({
  input,
  layers: [...layers, { type: 'flatten' }, { type: 'dense', units: 1 }],
  loss: 'mse',
});
const emb = (o: Record<string, unknown> = {}) => ({
  type: 'embedding',
  inputDim: 10,
  outputDim: 3,
  ...o,
});
const two = (layer: Record<string, unknown>, input: unknown = { a: [2, 3], b: [2, 3] }) => ({
  input,
  layers: [{ ...layer, inputs: ['a', 'b'] }, { type: 'flatten' }],
  loss: 'mse',
});

// Shaped layers (issue 8): every field of every record, and the shape rules.
/** A sequence model: [steps, features] in; cases give its layers. */
const sequence = (layers: Record<string, unknown>[], input: unknown = [10, 3]) => ({
  input,
  layers,
  loss: 'mse',
});

const LAYER_CASES: readonly Case[] = [
  [
    'embedding without inputDim',
    ids([emb({ inputDim: undefined })]),
    '$.layers[0].inputDim',
    /required field is missing/,
  ],
  ['embedding inputDim 0', ids([emb({ inputDim: 0 })]), '$.layers[0].inputDim', /at least 1/],
  [
    'embedding inputDim fractional',
    ids([emb({ inputDim: 2.5 })]),
    '$.layers[0].inputDim',
    /whole number/,
  ],
  [
    'embedding inputDim too large',
    ids([emb({ inputDim: 2e6 })]),
    '$.layers[0].inputDim',
    /at most 1000000/,
  ],
  [
    'embedding outputDim missing',
    ids([emb({ outputDim: undefined })]),
    '$.layers[0].outputDim',
    /required field is missing/,
  ],
  [
    'embedding maskZero true',
    ids([emb({ maskZero: true })]),
    '$.layers[0].maskZero',
    /not supported/,
  ],
  [
    'embedding inputLength mismatch',
    ids([emb({ inputLength: 4 })]),
    '$.layers[0].inputLength',
    /input is \[5\]/,
  ],
  [
    'embedding unknown option',
    ids([emb({ embeddingsRegularizer: 'l2' })]),
    '$.layers[0].embeddingsRegularizer',
    /unknown field/,
  ],
  [
    'concatenate axis not a whole number',
    two({ type: 'concatenate', axis: 1.5 }),
    '$.layers[0].axis',
    /integer|whole/i,
  ],
  [
    'concatenate axis -3 on rank 2',
    two({ type: 'concatenate', axis: -3 }),
    '$.layers[0].axis',
    /outside inputs of rank 2/,
  ],
  [
    'concatenate unequal off-axis',
    two({ type: 'concatenate', axis: 1 }, { a: [2, 3], b: [2, 2] }),
    '$.layers[0].inputs',
    /equal shapes except along axis 1/,
  ],
  [
    'average of shapes that do not broadcast',
    two({ type: 'average' }, { a: [2, 3], b: [3, 3] }),
    '$.layers[0].inputs',
    /do not broadcast/,
  ],
  [
    'maximum with an option it lacks',
    two({ type: 'maximum', axis: 1 }),
    '$.layers[0].axis',
    /unknown field/,
  ],
  [
    'inputs not a list',
    { input: 3, layers: [{ type: 'dense', units: 1, inputs: 'input' }], loss: 'mse' },
    '$.layers[0].inputs',
    /expected array/,
  ],
  [
    'lstm on a vector input',
    sequence([{ type: 'lstm', units: 4 }], 8),
    '$.layers[0].type',
    /lstm needs a sequence input \[steps, features\], got \[8\] \(one vector: a recurrent layer before it needs returnSequences: true/,
  ],
  [
    'gru on an image',
    sequence([{ type: 'gru', units: 4 }], [4, 4, 2]),
    '$.layers[0].type',
    /gru needs a sequence input \[steps, features\], got \[4, 4, 2\]$/,
  ],
  [
    'a recurrent layer after returnSequences false',
    sequence([
      { type: 'simpleRNN', units: 4 },
      { type: 'lstm', units: 2 },
    ]),
    '$.layers[1].type',
    /got \[4\] \(one vector: a recurrent layer before it needs returnSequences: true/,
  ],
  [
    'lstm option typo',
    sequence([{ type: 'lstm', units: 4, returnSequence: true }]),
    '$.layers[0].returnSequence',
    /did you mean "returnSequences"/,
  ],
  [
    'gru Keras spelling',
    sequence([{ type: 'gru', units: 4, reset_after: true }]),
    '$.layers[0].reset_after',
    /did you mean "resetAfter"/,
  ],
  [
    'lstm without units',
    sequence([{ type: 'lstm' }]),
    '$.layers[0].units',
    /required field is missing/,
  ],
  [
    'recurrentActivation expression',
    sequence([{ type: 'lstm', units: 2, recurrentActivation: { expr: 'x' } }]),
    '$.layers[0].recurrentActivation',
    /./,
  ],
  [
    'recurrentInitializer typo',
    sequence([{ type: 'gru', units: 2, recurrentInitializer: 'orthogonl' }]),
    '$.layers[0].recurrentInitializer',
    /did you mean "orthogonal"/,
  ],
  [
    'bidirectional mergeMode typo',
    sequence([{ type: 'bidirectional', mergeMode: 'avg', layer: { type: 'lstm', units: 4 } }]),
    '$.layers[0].mergeMode',
    /did you mean "ave"/,
  ],
  [
    'bidirectional around a dense layer',
    sequence([{ type: 'bidirectional', layer: { type: 'dense', units: 4 } }]),
    '$.layers[0].layer.type',
    /layer type not allowed here: "dense"; expected one of simpleRNN, lstm, gru$/,
  ],
  [
    'bidirectional without a layer',
    sequence([{ type: 'bidirectional' }]),
    '$.layers[0].layer',
    /required field is missing/,
  ],
  [
    'bidirectional inner option typo',
    sequence([{ type: 'bidirectional', layer: { type: 'gru', units: 2, unit: 3 } }]),
    '$.layers[0].layer.unit',
    /did you mean "units"/,
  ],
  [
    'an expression activation inside a wrapper',
    sequence([
      { type: 'bidirectional', layer: { type: 'gru', units: 2, activation: { expr: 'x' } } },
    ]),
    '$.layers[0].layer.activation',
    /custom activation expressions are not supported inside a wrapper/,
  ],
  [
    'timeDistributed on a vector',
    sequence([{ type: 'timeDistributed', layer: { type: 'dense', units: 4 } }], 6),
    '$.layers[0].type',
    /timeDistributed needs an input of \[steps, \.\.\.\]/,
  ],
  [
    'unknown kernelInitializer',
    image([conv({ kernelSize: 3, kernelInitializer: 'he_normal' })]),
    '$.layers[0].kernelInitializer',
    /heNormal/,
  ],
  [
    'biasInitializer that only kernels have',
    { input: 2, layers: [{ type: 'dense', units: 1, biasInitializer: 'heNormal' }], loss: 'mse' },
    '$.layers[0].biasInitializer',
    /zeros/,
  ],
  [
    'conv2d without filters',
    image([{ type: 'conv2d', kernelSize: 3 }]),
    '$.layers[0].filters',
    /required field is missing/,
  ],
  [
    'conv2d option typo',
    image([conv({ kernelsize: 3 })]),
    '$.layers[0].kernelsize',
    /unknown field "kernelsize" \(did you mean "kernelSize"\?\)/,
  ],
  [
    'conv2d trainabel typo',
    image([conv({ trainabel: false })]),
    '$.layers[0].trainabel',
    /did you mean "trainable"/,
  ],
  [
    'conv2d filters 0',
    image([conv({ filters: 0 })]),
    '$.layers[0].filters',
    /filters must be at least 1, got 0/,
  ],
  [
    'conv2d filters fractional',
    image([conv({ filters: 2.5 })]),
    '$.layers[0].filters',
    /filters must be a whole number/,
  ],
  [
    'conv2d kernel larger than its input',
    image([conv({ kernelSize: 7 })]),
    '$.layers[0].kernelSize',
    /a window of 7 does not fit in the input's 6/,
  ],
  [
    'conv2d kernelSize with 3 entries',
    image([conv({ kernelSize: [3, 3, 3] })]),
    '$.layers[0].kernelSize',
    /needs 2 entries, got 3/,
  ],
  [
    'conv2d padding word',
    image([conv({ padding: 'full' })]),
    '$.layers[0].padding',
    /unknown padding "full"; expected one of valid, same/,
  ],
  [
    'conv2d strides and dilation together',
    image([conv({ strides: 2, dilationRate: 2 })]),
    '$.layers[0].dilationRate',
    /strides > 1 together with dilationRate > 1/,
  ],
  [
    'conv2d on a vector',
    { input: 8, layers: [conv(), { type: 'dense', units: 2 }], loss: 'mse' },
    '$.layers[0].type',
    /conv2d needs an input of rank 3/,
  ],
  [
    'conv1d on an image',
    image([{ type: 'conv1d', filters: 2, kernelSize: 2 }]),
    '$.layers[0].type',
    /conv1d needs an input of rank 2/,
  ],
  [
    'maxPooling2d leaving nothing',
    image([{ type: 'maxPooling2d', poolSize: 7 }]),
    '$.layers[0].poolSize',
    /a pool of 7 leaves nothing of the input's 6/,
  ],
  [
    'maxPooling2d on a vector',
    { input: 8, layers: [{ type: 'maxPooling2d' }, { type: 'dense', units: 2 }], loss: 'mse' },
    '$.layers[0].type',
    /maxPooling2d needs an input of rank 3/,
  ],
  [
    'pooling option typo',
    image([{ type: 'averagePooling2d', poolsize: 2 }]),
    '$.layers[0].poolsize',
    /did you mean "poolSize"/,
  ],
  [
    'flatten of a vector',
    { input: 8, layers: [{ type: 'flatten' }, { type: 'dense', units: 2 }], loss: 'mse' },
    '$.layers[0].type',
    /flatten needs an input of rank 2 or more, got \[8\]/,
  ],
  [
    'reshape to a different size',
    image([{ type: 'reshape', targetShape: [5, 7] }]),
    '$.layers[0].targetShape',
    /cannot reshape \[6, 6, 1\] \(36 elements\) to \[5, 7\]/,
  ],
  [
    'reshape with two -1',
    image([{ type: 'reshape', targetShape: [-1, -1] }]),
    '$.layers[0].targetShape',
    /at most one entry may be -1/,
  ],
  [
    'input shape with a 0',
    image([conv()], [6, 0, 1]),
    '$.input[1]',
    /input must be at least 1, got 0/,
  ],
  ['input shape of rank 5', image([conv()], [2, 2, 2, 2, 2]), '$.input', /at most 4 item/],
  [
    'softmax on an image',
    { input: [4, 4, 1], layers: [conv({ activation: 'softmax', kernelSize: 1 })], loss: 'mse' },
    '$.layers[0].activation',
    /softmax needs a vector output/,
  ],
  [
    'two layers with one name',
    image([conv({ name: 'c' }), conv({ name: 'c', kernelSize: 1 })]),
    '$.layers[1].name',
    /the layer name "c" is used twice/,
  ],
  [
    'a name that is not an identifier',
    image([conv({ name: 'a b' })]),
    '$.layers[0].name',
    /must start with a letter/,
  ],
  [
    'layerNormalization epsilon 0',
    image([{ type: 'layerNormalization', epsilon: 0 }]),
    '$.layers[0].epsilon',
    /epsilon must be greater than 0/,
  ],
  [
    'layerNormalization over one feature',
    image([{ type: 'layerNormalization' }]),
    '$.layers[0].type',
    /at least 2 features/,
  ],
  [
    'dropout rate 1',
    image([{ type: 'dropout', rate: 1 }]),
    '$.layers[0].rate',
    /rate must be less than 1/,
  ],
  [
    'batchNormalization momentum above 1',
    image([{ type: 'batchNormalization', momentum: 2 }]),
    '$.layers[0].momentum',
    /momentum must be at most 1/,
  ],
  [
    'batchNormalization on another axis',
    image([{ type: 'batchNormalization', axis: 2 }]),
    '$.layers[0].axis',
    /-1/,
  ],
  [
    'too many parameters in a convolution',
    {
      input: [8, 8, 1000],
      layers: [conv({ filters: 3000 }), { type: 'flatten' }, { type: 'dense', units: 2 }],
      loss: 'mse',
    },
    '$.layers',
    /more than the limit of 20000000/,
  ],
];

const SCHEMA_CASES: readonly Case[] = [
  // Unknown names, with "did you mean".
  [
    'unknown layer type',
    withLayer0({ type: 'dens' }),
    '$.layers[0].type',
    /unknown layer type "dens" \(did you mean "dense"\?\)/,
  ],
  [
    'unknown layer type, no hint',
    withLayer0({ type: 'transformer' }),
    '$.layers[0].type',
    /unknown layer type "transformer"; expected one of dense/,
  ],
  [
    'unknown activation',
    withAct('rlu'),
    '$.layers[0].activation',
    /unknown activation "rlu" \(did you mean "relu"\?\); expected one of linear, relu/,
  ],
  [
    'unknown activation, wrong case',
    withAct('Tanh'),
    '$.layers[0].activation',
    /unknown activation "Tanh" \(did you mean "tanh"\?\)/,
  ],
  [
    'unknown activation in an object',
    withAct({ name: 'leakyRelU', alpha: 0.1 }),
    '$.layers[0].activation.name',
    /unknown activation "leakyRelU" \(did you mean "leakyRelu"\?\)/,
  ],
  [
    'unknown loss',
    { ...base, loss: 'msee' },
    '$.loss',
    /unknown loss "msee" \(did you mean "mse"\?\); expected one of mse, mae, huber/,
  ],
  [
    'unknown loss, far from any',
    { ...base, loss: 'hinge' },
    '$.loss',
    /unknown loss "hinge"; expected one of/,
  ],
  ['unknown precision', { ...base, precision: 'f16' }, '$.precision', /unknown precision "f16"/],
  // Wrong types.
  [
    'input as a string',
    { ...base, input: '3' },
    '$.input',
    /input must be a number, got the string "3"/,
  ],
  ['input null', { ...base, input: null }, '$.input', /input must be a number, got null/],
  [
    'units as a string',
    withLayer0({ units: '4' }),
    '$.layers[0].units',
    /units must be a number, got the string "4"/,
  ],
  [
    'layers as an object',
    { ...base, layers: { type: 'dense', units: 2 } },
    '$.layers',
    /expected array, got an object/,
  ],
  ['a layer that is null', { ...base, layers: [null] }, '$.layers[0]', /expected object, got null/],
  [
    'activation as a number',
    withAct(5),
    '$.layers[0].activation',
    /expected a name, an object \{"name": \.\.\.\} or \{"expr": \.\.\.\}, got 5/,
  ],
  [
    'activation parameter as a string',
    withAct({ name: 'leakyRelu', alpha: 'x' }),
    '$.layers[0].activation.alpha',
    /expected number, got the string "x"/,
  ],
  [
    'huber delta as a string',
    { ...base, loss: { name: 'huber', delta: '1' } },
    '$.loss.delta',
    /expected number, got the string "1"/,
  ],
  ['expr not a string', { ...base, loss: { expr: 5 } }, '$.loss.expr', /expected string, got 5/],
  ['name as a number', { ...base, name: 5 }, '$.name', /expected string, got 5/],
  // Missing fields.
  ['missing input', without('input'), '$.input', /required field is missing/],
  ['missing layers', without('layers'), '$.layers', /required field is missing/],
  [
    'missing units',
    { ...base, layers: [{ type: 'dense' }] },
    '$.layers[0].units',
    /required field is missing/,
  ],
  // Extra fields.
  ['extra top-level field', { ...base, lr: 0.1 }, '$.lr', /unknown field "lr"/],
  [
    'misspelt top-level field',
    { ...base, layer: [] },
    '$.layer',
    /unknown field "layer" \(did you mean "layers"\?\)/,
  ],
  [
    'extra layer field',
    withLayer0({ unit: 3 }),
    '$.layers[0].unit',
    /unknown field "unit" \(did you mean "units"\?\)/,
  ],
  [
    '__proto__ as a field',
    JSON.parse(
      '{"__proto__": {"input": 3}, "input": 3, "layers": [{"type":"dense","units":1}], "loss": "mse"}',
    ),
    '$.__proto__',
    /unknown field "__proto__"/,
  ],
  [
    'parameter the activation does not take',
    withAct({ name: 'relu', alpha: 0.1 }),
    '$.layers[0].activation.alpha',
    /relu takes no parameter "alpha"/,
  ],
  [
    'parameter the loss does not take',
    { ...base, loss: { name: 'mse', delta: 1 } },
    '$.loss.delta',
    /mse takes no parameter "delta"/,
  ],
  // Sizes.
  ['zero input', { ...base, input: 0 }, '$.input', /input must be at least 1, got 0/],
  ['zero units', withLayer0({ units: 0 }), '$.layers[0].units', /units must be at least 1, got 0/],
  [
    'negative units',
    withLayer0({ units: -4 }),
    '$.layers[0].units',
    /units must be at least 1, got -4/,
  ],
  [
    'fractional units',
    withLayer0({ units: 2.5 }),
    '$.layers[0].units',
    /units must be a whole number, got 2\.5/,
  ],
  [
    'fractional input',
    { ...base, input: 0.5 },
    '$.input',
    /input must be (a whole number|at least 1)/,
  ],
  [
    'fractional input above 1',
    { ...base, input: 2.5 },
    '$.input',
    /input must be a whole number, got 2\.5/,
  ],
  [
    'huge units',
    withLayer0({ units: 1e9 }),
    '$.layers[0].units',
    /units must be at most 1000000, got 1000000000/,
  ],
  ['huge input', { ...base, input: 1e7 }, '$.input', /input must be at most 1000000, got 10000000/],
  ['no layers', { ...base, layers: [] }, '$.layers', /must have at least 1 item/],
  [
    'too many layers',
    {
      ...base,
      layers: Array.from({ length: LIMITS.maxLayers + 1 }, () => ({ type: 'dense', units: 1 })),
    },
    '$.layers',
    /must have at most 64 item/,
  ],
  [
    'too many parameters',
    { ...base, input: 100_000, layers: [{ type: 'dense', units: 1000 }] },
    '$.layers',
    /the model would have 100001000 parameters, more than the limit of 20000000/,
  ],
  ['empty name', { ...base, name: '' }, '$.name', /at least 1 character|must not be empty/],
  [
    'huber delta 0',
    { ...base, loss: { name: 'huber', delta: 0 } },
    '$.loss.delta',
    /must be greater than 0/,
  ],
  [
    'huber delta negative',
    { ...base, loss: { name: 'huber', delta: -1 } },
    '$.loss.delta',
    /must be greater than 0/,
  ],
  // Structure rules.
  [
    'softmax not last',
    withAct('softmax'),
    '$.layers[0].activation',
    /softmax is only allowed on the last layer/,
  ],
  [
    'softmax on 1 unit',
    { ...base, layers: [{ type: 'dense', units: 1, activation: 'softmax' }] },
    '$.layers[0].activation',
    /softmax needs at least 2 units/,
  ],
  [
    'CCE on 1 unit',
    {
      ...base,
      layers: [{ type: 'dense', units: 1, activation: 'sigmoid' }],
      loss: 'categoricalCrossEntropy',
    },
    '$.loss',
    /categoricalCrossEntropy needs at least 2 output units \(the last layer has 1\); use binaryCrossEntropy/,
  ],
  // Custom expressions.
  [
    'expression that does not parse',
    withAct({ expr: 'x +* 2' }),
    '$.layers[0].activation.expr',
    /does not parse/,
  ],
  [
    'unbalanced parenthesis',
    withAct({ expr: '(x + 1' }),
    '$.layers[0].activation.expr',
    /does not parse/,
  ],
  [
    'unknown variable in an activation',
    withAct({ expr: 'x + y' }),
    '$.layers[0].activation.expr',
    /unknown variable "y" \(expected x\)/,
  ],
  [
    'unknown variable in a loss',
    { ...base, loss: { expr: '(y - z)^2' } },
    '$.loss.expr',
    /unknown variable "z" \(expected y or t\)/,
  ],
  [
    'activation variable in a loss',
    { ...base, loss: { expr: '(x - t)^2' } },
    '$.loss.expr',
    /unknown variable "x"/,
  ],
  [
    'unknown function',
    withAct({ expr: 'gamma(x)' }),
    '$.layers[0].activation.expr',
    /unknown function "gamma" \(known: exp, /,
  ],
  [
    'prototype name as a function',
    { ...base, loss: { expr: 'constructor(y)' } },
    '$.loss.expr',
    /unknown function "constructor"/,
  ],
  [
    'wrong arity',
    withAct({ expr: 'max(x)' }),
    '$.layers[0].activation.expr',
    /max takes 2 arguments, got 1/,
  ],
  [
    'divide by constant zero',
    withAct({ expr: 'x / 0' }),
    '$.layers[0].activation.expr',
    /divides by zero/,
  ],
  [
    'divide by a constant that folds to zero',
    withAct({ expr: 'x / (1 - 1)' }),
    '$.layers[0].activation.expr',
    /divides by zero/,
  ],
  [
    'nested too deep',
    withAct({ expr: `${'('.repeat(40)}x${')'.repeat(40)}` }),
    '$.layers[0].activation.expr',
    /nested deeper than 32 levels/,
  ],
  [
    'nested too deep with signs',
    withAct({ expr: `${'-'.repeat(40)}x` }),
    '$.layers[0].activation.expr',
    /nested deeper than 32/,
  ],
  [
    'too long',
    { ...base, loss: { expr: `y${' + y'.repeat(400)}` } },
    '$.loss.expr',
    /longer than 1000 characters/,
  ],
  [
    'empty expression',
    withAct({ expr: '  ' }),
    '$.layers[0].activation.expr',
    /expression is empty/,
  ],
  ['no variable', withAct({ expr: '2 + 3' }), '$.layers[0].activation.expr', /does not use x/],
  [
    'assignment',
    { ...base, loss: { expr: 'y = t' } },
    '$.loss.expr',
    /assignment syntax is not supported/,
  ],
  [
    'conditional',
    { ...base, loss: { expr: 'y > t ? y : t' } },
    '$.loss.expr',
    /conditional syntax is not supported/,
  ],
  ['matrix', { ...base, loss: { expr: '[y, t]' } }, '$.loss.expr', /array syntax is not supported/],
  [
    'comparison operator',
    { ...base, loss: { expr: 'y > t' } },
    '$.loss.expr',
    /operator ">" is not supported/,
  ],
  [
    'string constant',
    { ...base, loss: { expr: 'y + "a"' } },
    '$.loss.expr',
    /unsupported constant/,
  ],
];

// These found message bugs (fixed since): a missing field that is a union or a literal said
// "got undefined" (a word that does not exist in JSON) instead of "required field is
// missing"; a size of 1e300 was "not a whole number"; an expression object with an extra
// "name" was told "did you mean "name"?" for "name".
const MESSAGE_CASES: readonly Case[] = [
  ['missing loss', without('loss'), '$.loss', /required field is missing/],
  [
    'missing layer type',
    { ...base, layers: [{ units: 2 }] },
    '$.layers[0].type',
    /required field is missing/,
  ],
  // Integers beyond 2^53 (zod's int() wants a safe integer) are called "not a whole number".
  ['input 1e300', { ...base, input: 1e300 }, '$.input', /input must be at most 1000000/],
  [
    'units 2^53',
    withLayer0({ units: 2 ** 53 }),
    '$.layers[0].units',
    /units must be at most 1000000/,
  ],
  [
    'expression object with a name',
    { ...base, loss: { expr: 'y', name: 'mse' } },
    '$.loss.name',
    /unknown field "name"(?! \(did you mean "name"\?\))/,
  ],
];

// Names inherited from Object.prototype were taken for named constants (`name in
// namedConstants` in compiler/format/expr.ts): the function or object reached the IR as a
// "constant" and the emitter printed its source text into the generated code (fixed since).
const PROTOTYPE_CASES: readonly Case[] = [
  'toString',
  'constructor',
  'valueOf',
  'hasOwnProperty',
  '__proto__',
].map(
  (name) =>
    [
      `${name} as a variable`,
      withAct({ expr: `x + ${name}` }),
      '$.layers[0].activation.expr',
      new RegExp(`unknown variable "${name}"`),
    ] as const,
);

describe('syntax errors give line:column', () => {
  it.each(JSON_CASES)('%s', async (_l, input, where, fragment) =>
    expectError(await errorOf(input), where, fragment),
  );
  it.each(JSON_POSITION_CASES)('%s', async (_l, input, where, fragment) =>
    expectError(await errorOf(input), where, fragment),
  );
});

describe('schema errors give the JSON path', () => {
  it.each([...SCHEMA_CASES, ...LAYER_CASES])('%s', async (_l, input, where, fragment) =>
    expectError(await errorOf(input), where, fragment),
  );
  it.each(MESSAGE_CASES)('%s', async (_l, input, where, fragment) =>
    expectError(await errorOf(input), where, fragment),
  );
  it.each(PROTOTYPE_CASES)('%s is rejected', async (_l, input, where, fragment) =>
    expectError(await errorOf(input), where, fragment),
  );
});

describe('bytes', () => {
  it('rejects an empty file, a file over the size limit and invalid UTF-8', async () => {
    const fail = async (bytes: Uint8Array) => {
      try {
        await parseModelBytes(bytes, FILE);
      } catch (e) {
        if (e instanceof GradcError) return e;
      }
      throw new Error('expected a GradcError');
    };
    expectError(await fail(new Uint8Array(0)), '$', /the file is empty/);
    expectError(
      await fail(new Uint8Array(MAX_FILE_BYTES + 1).fill(0x20)),
      '$',
      /more than the limit of 1000000/,
    );
    expectError(await fail(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), '$', /not valid UTF-8/);
  });

  it('accepts a byte-order mark', async () => {
    const text = `\ufeff${JSON.stringify(base)}`;
    const spec = await parseModelBytes(new TextEncoder().encode(text), FILE);
    expect(spec.input).toBe(3);
  });
});

describe('valid models are normalized', () => {
  it('fills in defaults', async () => {
    const spec = await validateModel(
      {
        $schema: '../compiler/format/model.schema.json',
        input: 2,
        layers: [
          { type: 'dense', units: 3 },
          { type: 'dense', units: 3, activation: { name: 'leakyRelu' } },
          { type: 'dense', units: 2, activation: { name: 'elu', alpha: 0.5 } },
        ],
        loss: { name: 'huber' },
      },
      FILE,
    );
    expect(spec.name).toBe('model');
    expect(spec.precision).toBe('f64');
    expect(spec.layers.map((l) => l.activation.name)).toEqual(['linear', 'leakyRelu', 'elu']);
    expect(spec.layers[1]!.activation.params).toEqual({ alpha: 0.2 });
    expect(spec.layers[2]!.activation.params).toEqual({ alpha: 0.5 });
    expect(spec.loss).toEqual({ name: 'huber', params: { delta: 1 } });
  });

  it('parses custom expressions with constants, unary plus and ^', async () => {
    const spec = await validateModel(
      { ...withAct({ expr: '+x * pi + e^x' }), loss: { expr: '(y - t)^2 / 2' } },
      FILE,
    );
    expect(spec.layers[0]!.activation.name).toBe('custom');
    expect(spec.layers[0]!.activation.expr).toBeDefined();
    expect(spec.loss.name).toBe('custom');
  });

  it('the error class is usable without instanceof across realms: name and fields', async () => {
    const e = await errorOf({ ...base, input: 0 });
    expect(e.name).toBe('GradcError');
    expect(e).toBeInstanceOf(Error);
    expect(e.detail).toBe('input must be at least 1, got 0');
  });
});
