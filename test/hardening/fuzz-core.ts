// The fuzzer's pieces: a fast-check generator of random networks (every activation, custom
// expressions, every loss, both precisions) and `checkCase`, which compiles one network and
// checks the emitted code against the IR interpreter, central finite differences and the
// dot-product test. A case is a model file plus a seed for parameters and data, so a failing
// case is saved as a plain JSON file (test/hardening/regressions/) and replayed by `npm test`.
import fc from 'fast-check';
import { evaluateCompiled } from '../../compiler/cli/load.ts';
import { interpret, type Results } from '../../compiler/ir/interpret.ts';
import { compileSpec } from '../../compiler/pipeline.ts';
import { validateModel } from '../../compiler/format/parse.ts';
import {
  checkGradient,
  checkTrainingGradient,
  dotProductTest,
  trainingDotProductTest,
} from '../../runtime/check.ts';
import { interpretBatch } from '../../compiler/ir/interpret-batch.ts';
import { topoOrder } from '../../compiler/ir/node.ts';
import type { Program } from '../../compiler/ir/program.ts';
import { initParams } from '../../runtime/init.ts';
import { Rng } from '../../runtime/random.ts';
import type { FloatArray, GeneratedModule } from '../../runtime/types.ts';

export type Fn = string | { readonly name: string; readonly [p: string]: number | string };
export type Activation = Fn | { readonly expr: string };
/** A layer object as written in a model file (dense, conv, pooling, reshape...). */
export interface FuzzLayer {
  readonly type: string;
  readonly activation?: Activation;
  readonly [option: string]: unknown;
}
export interface FuzzModel {
  readonly name: string;
  readonly input: number | readonly number[];
  readonly layers: readonly FuzzLayer[];
  readonly loss: Fn | { readonly expr: string };
  readonly precision: 'f64' | 'f32';
  readonly inputGradient?: boolean;
}
export interface FuzzCase {
  readonly model: FuzzModel;
  /** Seeds the parameters, the input and the target. */
  readonly seed: number;
}

const HIDDEN = [
  'linear',
  'relu',
  'leakyRelu',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'softplus',
  'softsign',
  'swish',
  'gelu',
  'geluNew',
  'mish',
  'relu6',
  'hardSigmoid',
] as const;

/** Expressions in x that are finite and differentiable almost everywhere for any finite x. */
export function exprArb(v = 'x'): fc.Arbitrary<string> {
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(v),
      fc.constantFrom('0.5', '2', '1.5', '3', 'pi'),
      fc
        .tuple(
          fc.constantFrom(
            'tanh(#)',
            'sigmoid(#)',
            'softplus(#)',
            'sin(#)',
            'cos(#)',
            'abs(#)',
            'sqrt(1 + (#)^2)',
            'log(1 + (#)^2)',
            'log1p(abs(#))',
            'exp(-abs(#))',
            'expm1(tanh(#))',
            'sign(#) * (#)',
            '-(#)',
            '(#)^2',
            'pow(sigmoid(#), 3)',
            'erf(#)',
            'atan(#)',
            'cosh(tanh(#))',
          ),
          tie('expr'),
        )
        .map(([f, a]) => f.replaceAll('#', a)),
      fc
        .tuple(
          fc.constantFrom(
            '(#) + (@)',
            '(#) - (@)',
            '(#) * (@)',
            '(#) / (1 + abs(@))',
            'max(#, @)',
            'min(#, @)',
          ),
          tie('expr'),
          tie('expr'),
        )
        .map(([f, a, b]) => f.replace('#', a).replace('@', b)),
    ),
  }));
  const uses = new RegExp(`\\b${v}\\b`);
  return expr.filter((e) => uses.test(e) && e.length < 400);
}

export function activationArb(): fc.Arbitrary<Activation> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...HIDDEN) },
    {
      weight: 1,
      arbitrary: fc
        .double({ min: 0, max: 0.5, noNaN: true })
        .map((alpha) => ({ name: 'leakyRelu', alpha })),
    },
    {
      weight: 1,
      arbitrary: fc
        .double({ min: 0.1, max: 2, noNaN: true })
        .map((alpha) => ({ name: 'elu', alpha })),
    },
    { weight: 3, arbitrary: exprArb().map((expr) => ({ expr })) },
  );
}

const LOSS_EXPRS = [
  '(y - t)^2',
  'abs(y - t)',
  'log(1 + (y - t)^2)',
  'softplus(y) - t * y',
  'max(y, t) - min(y, t)',
  'sqrt(1 + (y - t)^2)',
];

export function lossArb(): fc.Arbitrary<FuzzModel['loss']> {
  return fc.oneof(
    fc.constantFrom<FuzzModel['loss']>(
      'mse',
      'mae',
      'huber',
      'binaryCrossEntropy',
      'categoricalCrossEntropy',
    ),
    fc.double({ min: 0.1, max: 3, noNaN: true }).map((delta) => ({ name: 'huber', delta })),
    fc
      .oneof(
        fc.constantFrom(...LOSS_EXPRS),
        exprArb('y').map((e) => `(${e}) - t * y`),
      )
      .map((expr) => ({ expr })),
  );
}

export function caseArb(opts: { maxWidth: number; maxInput: number }): fc.Arbitrary<FuzzCase> {
  const width = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.min(8, opts.maxWidth) }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: opts.maxWidth }) },
  );
  const layer = fc.record({ units: width, activation: activationArb() });
  return fc
    .record({
      input: fc.integer({ min: 1, max: opts.maxInput }),
      layers: fc.array(layer, { minLength: 1, maxLength: 5 }),
      last: fc.oneof(activationArb(), fc.constantFrom<Activation>('softmax', 'sigmoid', 'linear')),
      loss: lossArb(),
      precision: fc.constantFrom<'f64' | 'f32'>('f64', 'f32'),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    })
    .map(({ input, layers, last, loss, precision, seed }) => {
      const ls: FuzzLayer[] = layers.map((l) => ({ type: 'dense', ...l }));
      const n = ls.length - 1;
      // softmax only on the last layer, with at least two units; so does CCE.
      const needsTwo = last === 'softmax' || loss === 'categoricalCrossEntropy';
      const width = layers[n]!.units;
      const units = needsTwo ? Math.max(2, width) : width;
      ls[n] = { type: 'dense', units, activation: last };
      return { model: { name: 'fuzz', input, layers: ls, loss, precision }, seed };
    });
}

/** Parameters, input and target for a case: Glorot/He init plus random biases and statistics. */
export function dataFor(m: GeneratedModule, c: FuzzCase) {
  const rng = new Rng(c.seed);
  const info = m.model;
  const params = initParams(info, { seed: c.seed });
  // Biases, shifts and moving statistics away from their trivial initial values (a variance
  // stays positive).
  const draw: Partial<Record<string, () => number>> = {
    bias: () => rng.normal(0, 0.3),
    beta: () => rng.normal(0, 0.3),
    gamma: () => 1 + rng.normal(0, 0.2),
    movingMean: () => rng.normal(0, 0.3),
    movingVariance: () => 0.5 + rng.uniform(),
  };
  for (const p of info.params) {
    const d = draw[p.role];
    if (d) for (let k = 0; k < p.size; k++) params[p.offset + k] = d();
  }
  const Arr = info.precision === 'f32' ? Float32Array : Float64Array;
  const input = new Arr(info.inputSize).map(() => rng.range(-2, 2));
  const loss = c.model.loss;
  const name = typeof loss === 'string' ? loss : 'name' in loss ? loss.name : 'custom';
  const target = new Arr(info.outputSize);
  if (name === 'categoricalCrossEntropy') {
    target[rng.int(target.length)] = 1;
  } else if (name === 'binaryCrossEntropy') {
    for (let k = 0; k < target.length; k++) target[k] = rng.uniform();
  } else {
    for (let k = 0; k < target.length; k++) target[k] = rng.range(-1, 1);
  }
  return { params, input, target };
}

function close(a: number, b: number, rel: number, abs: number): boolean {
  return Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));
}

function compare(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rel: number,
  abs: number,
) {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} ≠ ${want.length}`);
  for (let k = 0; k < got.length; k++) {
    const a = got[k]!;
    const b = want[k]!;
    if (!(Number.isFinite(a) && Number.isFinite(b)) ? !Object.is(a, b) : !close(a, b, rel, abs))
      throw new Error(`${what}[${k}]: emitted ${a}, reference ${b}`);
  }
}

// maxPooling / globalMaxPooling: the max switches between window elements.
const NON_SMOOTH = /relu|leakyRelu|elu|selu|abs|max|Max|min|sign|mae|huber|CrossEntropy/;

/** Compiles a case and runs every check; throws an Error describing the first failure. */
export async function checkCase(c: FuzzCase): Promise<void> {
  const spec = await validateModel(c.model, 'fuzz.model.json');
  const compiled = compileSpec(spec, { format: 'js', source: 'fuzz.model.json' });
  // The generated module's optional entry point, present when the model asks for it.
  const m = evaluateCompiled(compiled) as GeneratedModule & {
    inputGradient?(
      params: FloatArray,
      input: FloatArray,
      target: FloatArray,
      dinput: FloatArray,
      work: FloatArray,
    ): number;
  };
  // Under `auto`, networks above the cost rule run their batched entry points on WebAssembly.
  await m.init?.();
  const info = m.model;
  const { params, input, target } = dataFor(m, c);
  const f32 = info.precision === 'f32';
  const Arr = f32 ? Float32Array : Float64Array;
  const work = new Arr(info.workSize);
  const output = new Arr(info.outputSize);
  const grad = new Arr(info.paramCount);
  // Dropout or batch statistics: gradient and gradientBatch are training mode, so they are
  // checked against the training-mode gradient program, batches against the batch
  // interpreter, and finite differences taken of gradientBatch's own batch loss.
  const gradientProgram = compiled.c.programs.find((p) => p.name === 'gradient')!;
  const training = hasTrainingMode(gradientProgram);
  const seed = c.seed | 0;
  m.forward(params, input, output, work);
  const loss = m.loss(params, input, target, work);
  // The training step writes new moving statistics: it gets a copy.
  const stepped = Arr.from(params);
  const gLoss = m.gradient(stepped, input, target, grad, work, seed);

  // 1. The emitted code against the IR interpreter (in f64, on the same stored values).
  const b = { params, input, target, seed };
  const ref: Results = {};
  for (const p of compiled.c.programs)
    if (p.name !== 'gradient') Object.assign(ref, interpret(p, b, info.paramCount));
  const refGrad = interpret(gradientProgram, b, info.paramCount);
  // f64: a few ulps, scaled by the size of the values (loops sum in another order);
  // f32: every stored value is rounded to 24 bits, and the errors compound through layers.
  // BCE/CCE after a non-matching activation clip to 1 − 1e-7, which f32 stores as 1 − 1.19e-7
  // (as Keras in float32 does): −log(1 − p) then differs by up to 0.18 from the f64 oracle.
  const lossName = typeof c.model.loss === 'string' ? c.model.loss : '';
  const lastAct = c.model.layers[c.model.layers.length - 1]!.activation ?? 'linear';
  const clipped =
    (lossName === 'binaryCrossEntropy' && lastAct !== 'sigmoid') ||
    (lossName === 'categoricalCrossEntropy' && lastAct !== 'softmax');
  const [rel, abs] = f32 ? (clipped ? [3e-2, 1e-3] : [2e-3, 1e-4]) : [1e-11, 1e-13];
  compare('forward', output, ref.output!, rel, abs);
  compare('loss', [loss], [ref.loss!], rel, abs);
  compare('gradient loss', [gLoss], [refGrad.loss!], rel, abs);
  compare(
    'gradient',
    grad,
    refGrad.grad ?? new Float64Array(info.paramCount),
    rel,
    abs * Math.max(1, Math.abs(refGrad.loss!)),
  );
  compare('params after gradient', stepped, refGrad.params ?? params, rel, abs);
  if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}`);
  for (let k = 0; k < grad.length; k++)
    if (!Number.isFinite(grad[k]!)) throw new Error(`grad[${k}] is ${grad[k]}`);
  for (const p of info.params)
    if (p.trainable === false)
      for (let k = 0; k < p.size; k++)
        if (grad[p.offset + k] !== 0)
          throw new Error(`${p.name}[${k}] is frozen but its gradient is ${grad[p.offset + k]}`);
  if (c.model.inputGradient) {
    if (!m.inputGradient) throw new Error('inputGradient was asked for but not emitted');
    const dinput = new Arr(info.inputSize);
    const l = m.inputGradient(params, input, target, dinput, work);
    compare('inputGradient loss', [l], [ref.loss!], rel, abs);
    compare('inputGradient', dinput, ref.dinput!, rel, abs * Math.max(1, Math.abs(ref.loss!)));
  }
  if (training) trainingBatchOk(m, c, gradientProgram, { params, input, target, output }, rel, abs);
  else batchOk(m, c, { params, input, target, output, grad, loss }, rel, abs);

  // 2. Central differences and 3. the dot-product test (f64: f32 differences are too noisy to
  // judge a gradient by; the interpreter check above covers f32).
  if (f32) return;
  const nonSmooth = NON_SMOOTH.test(JSON.stringify(c.model));
  if (training) {
    const err = trainingGradientOk(m, c, params, input, target, nonSmooth);
    if (err) throw new Error(err);
    return;
  }
  const fd = gradientOk(m, params, input, target, nonSmooth);
  if (fd) throw new Error(fd);
  const dot = dotProductTest(m, params, input, target, { seed: c.seed, tolerance: 1e-5 });
  if (!dot.ok) {
    // A direction may cross a kink of a non-smooth function; try a smaller step before failing.
    const again = nonSmooth
      ? dotProductTest(m, params, input, target, { seed: c.seed, eps: 1e-8, tolerance: 1e-4 })
      : dot;
    if (!again.ok) throw new Error(`dot-product test: max relative error ${dot.maxRelError}`);
  }
}

/**
 * forwardBatch / gradientBatch on a few samples (the case's own first, so a block of 4 and a
 * remainder both run) against forward / gradient sample by sample.
 */
function batchOk(
  m: GeneratedModule,
  c: FuzzCase,
  one: {
    params: FloatArray;
    input: FloatArray;
    target: FloatArray;
    output: FloatArray;
    grad: FloatArray;
    loss: number;
  },
  rel: number,
  abs: number,
): void {
  if (!m.forwardBatch || !m.gradientBatch) throw new Error('forwardBatch/gradientBatch missing');
  const info = m.model;
  const Arr = info.precision === 'f32' ? Float32Array : Float64Array;
  const count = 6;
  const rng = new Rng(c.seed ^ 0x5bd1e995);
  const nIn = info.inputSize;
  const nOut = info.outputSize;
  const inputs = new Arr(count * nIn).map(() => rng.range(-2, 2));
  const targets = new Arr(count * nOut);
  inputs.set(one.input);
  for (let s = 0; s < count; s++) {
    if (s === 0) targets.set(one.target);
    else for (let k = 0; k < nOut; k++) targets[s * nOut + k] = one.target[(k + s) % nOut]!;
  }
  const work = new Arr(info.workSize);
  const outputs = new Arr(count * nOut);
  m.forwardBatch(one.params, inputs, outputs, count, work);
  const bgrad = new Arr(info.paramCount);
  const bloss = m.gradientBatch(one.params, inputs, targets, count, bgrad, work);
  const out = new Arr(nOut);
  const g = new Arr(info.paramCount);
  const meanGrad = new Float64Array(info.paramCount);
  let meanLoss = 0;
  for (let s = 0; s < count; s++) {
    const x = inputs.subarray(s * nIn, (s + 1) * nIn);
    const t = targets.subarray(s * nOut, (s + 1) * nOut);
    m.forward(one.params, x, out, work);
    compare(`forwardBatch sample ${s}`, outputs.subarray(s * nOut, (s + 1) * nOut), out, rel, abs);
    meanLoss += m.gradient(one.params, x, t, g, work) / count;
    for (let k = 0; k < g.length; k++) meanGrad[k]! += g[k]! / count;
  }
  compare('gradientBatch loss', [bloss], [meanLoss], rel, abs);
  const scale = Math.max(1, Math.abs(meanLoss));
  compare('gradientBatch', bgrad, meanGrad, rel, abs * scale);
}

function hasTrainingMode(p: Program): boolean {
  return topoOrder(p.outputs.map((o) => o.node)).some(
    (n) => n.op === 'batchMean' || n.op === 'dropoutMask',
  );
}

/** A batch of `count` rows, the case's own sample first. */
function batchFor(
  m: GeneratedModule,
  c: FuzzCase,
  one: { input: FloatArray; target: FloatArray },
  count: number,
): { inputs: FloatArray; targets: FloatArray } {
  const info = m.model;
  const Arr = info.precision === 'f32' ? Float32Array : Float64Array;
  const rng = new Rng(c.seed ^ 0x5bd1e995);
  const nOut = info.outputSize;
  const inputs = new Arr(count * info.inputSize).map(() => rng.range(-2, 2));
  const targets = new Arr(count * nOut);
  inputs.set(one.input);
  for (let s = 0; s < count; s++) {
    if (s === 0) targets.set(one.target);
    else for (let k = 0; k < nOut; k++) targets[s * nOut + k] = one.target[(k + s) % nOut]!;
  }
  return { inputs, targets };
}

/**
 * Training mode: gradientBatch over 6 samples (a block of 4 and a remainder where blocks
 * run) against the batch interpreter, the moving statistics after the step included; and
 * forwardBatch against forward sample by sample (inference).
 */
function trainingBatchOk(
  m: GeneratedModule,
  c: FuzzCase,
  program: Program,
  one: { params: FloatArray; input: FloatArray; target: FloatArray; output: FloatArray },
  rel: number,
  abs: number,
): void {
  if (!m.forwardBatch || !m.gradientBatch) throw new Error('forwardBatch/gradientBatch missing');
  const info = m.model;
  const Arr = info.precision === 'f32' ? Float32Array : Float64Array;
  const count = 6;
  const { inputs, targets } = batchFor(m, c, one, count);
  const work = new Arr(info.workSize);
  const nOut = info.outputSize;
  const outputs = new Arr(count * nOut);
  m.forwardBatch(one.params, inputs, outputs, count, work);
  const out = new Arr(nOut);
  for (let s = 0; s < count; s++) {
    m.forward(one.params, inputs.subarray(s * info.inputSize, (s + 1) * info.inputSize), out, work);
    compare(`forwardBatch sample ${s}`, outputs.subarray(s * nOut, (s + 1) * nOut), out, rel, abs);
  }
  const seed = (c.seed * 31 + 7) | 0;
  const bgrad = new Arr(info.paramCount);
  const after = Arr.from(one.params);
  const bloss = m.gradientBatch(after, inputs, targets, count, bgrad, work, seed);
  const want = interpretBatch(
    program,
    {
      params: one.params,
      inputs,
      targets,
      count,
      inputSize: info.inputSize,
      outputSize: nOut,
      seed,
    },
    info.paramCount,
  );
  compare('gradientBatch loss', [bloss], [want.loss!], rel, abs);
  const scale = Math.max(1, Math.abs(want.loss!));
  compare('gradientBatch', bgrad, want.grad ?? new Float64Array(info.paramCount), rel, abs * scale);
  compare('params after gradientBatch', after, want.params ?? one.params, rel, abs);
}

/** Training mode: central differences and the dot-product test of gradientBatch's batch loss. */
function trainingGradientOk(
  m: GeneratedModule,
  c: FuzzCase,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
  nonSmooth: boolean,
): string | undefined {
  const batch = { ...batchFor(m, c, { input, target }, 4), count: 4, seed: c.seed | 0 };
  const opts = { maxParams: 400, tolerance: 1e-5, absFloor: 1e-7 };
  let r = checkTrainingGradient(m, params, batch, opts);
  if (!r.ok && nonSmooth)
    r = checkTrainingGradient(m, params, batch, {
      ...opts,
      eps: 1e-7,
      richardson: false,
      tolerance: 1e-4,
    });
  if (!r.ok) {
    const w = r.worst;
    return `training-mode finite differences: ${w?.name} analytic ${w?.analytic}, numeric ${w?.numeric} (rel ${r.maxRelError}); loss error ${r.lossError}`;
  }
  let dot = trainingDotProductTest(m, params, batch, { seed: c.seed, tolerance: 1e-5 });
  if (!dot.ok && nonSmooth)
    dot = trainingDotProductTest(m, params, batch, { seed: c.seed, eps: 1e-8, tolerance: 1e-4 });
  if (!dot.ok) return `training-mode dot-product test: max relative error ${dot.maxRelError}`;
  return undefined;
}

function gradientOk(
  m: GeneratedModule,
  params: FloatArray,
  input: FloatArray,
  target: FloatArray,
  nonSmooth: boolean,
): string | undefined {
  // 1e-5: the default 1e-6 flags rounding noise on gradients near 1e-7 with curved activations.
  const r = checkGradient(m, params, input, target, {
    maxParams: 400,
    tolerance: 1e-5,
    // Gradients below ~1e-7 are at the level of the differences' rounding noise.
    absFloor: 1e-7,
  });
  if (r.ok) return undefined;
  // A step that crosses a kink (relu at 0, |e| = delta for huber, a clip bound) gives a wrong
  // numeric derivative; a much smaller step does not cross it.
  if (nonSmooth) {
    const r2 = checkGradient(m, params, input, target, {
      maxParams: 400,
      eps: 1e-7,
      richardson: false,
      tolerance: 1e-4,
      absFloor: 1e-7,
    });
    if (r2.ok) return undefined;
  }
  const w = r.worst;
  return `finite differences: ${w?.name} analytic ${w?.analytic}, numeric ${w?.numeric} (rel ${r.maxRelError}); loss error ${r.lossError}`;
}
