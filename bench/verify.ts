// Before anything is timed, each implementation must produce the reference outputs and,
// after one training step, the reference parameters. The gradient it used is recovered as
// (p_before − p_after) / lr and compared with the reference gradient.

import type { Prepared } from './impl.ts';
import type { BenchCase, CaseData } from './models.ts';
import { outputSize } from './models.ts';
import { refForward, refGradient, refSgdStep } from './reference.ts';

export interface Verification {
  readonly ok: boolean;
  /** max |actual − expected| / max |expected|, over the batch outputs. */
  readonly outputError: number;
  /** Same, over the gradient recovered from one training step (absent if it cannot train). */
  readonly gradientError?: number;
  /** Same, over the per-sample `gradient` entry point (sample 0), when there is one. */
  readonly sampleGradientError?: number;
  readonly tolerance: number;
  /** Set when the expected outputs or gradient are all zero, so agreement proves little. */
  readonly vacuous?: string;
  /** What the figures were checked against. */
  readonly against: string;
}

// f32 peers accumulate in f32 (sums of up to 784 products) and the recovered gradient loses
// a few more bits to cancellation; layout or formula mistakes give errors of order 1.
const TOLERANCE = { f32: 2e-3, f64: 1e-9 } as const;

/** What convolutional cases are checked against (see reference-cnn.ts). */
export const CNN_REFERENCE =
  'outputs: the naive f64 network of test/oracle/reference; gradient: the hand-written ' +
  "baseline's, itself tested against central differences and TF.js Layers " +
  '(test/bench-baselines.test.ts)';

export function normalizedError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    // NaN must fail, and Math.max would drop it.
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

export function verify(impl: Prepared, c: BenchCase, data: CaseData, lr: number): Verification {
  const sem = impl.semantics ?? { spec: c.spec, update: 'mean' as const };
  const { spec } = sem;
  const I = spec.inputSize;
  const O = outputSize(spec);
  const P = data.params.length;

  const expectedOut = new Float64Array(c.batch * O);
  for (let s = 0; s < c.batch; s++)
    expectedOut.set(refForward(spec, data.params, data.inputs.subarray(s * I, (s + 1) * I)), s * O);
  const out = new Float64Array(c.batch * O);
  impl.load(data.params);
  impl.readOutputs(out);
  const outputError = normalizedError(out, expectedOut);

  if (impl.trainUnavailable !== undefined) {
    impl.load(data.params);
    const tolerance = TOLERANCE[impl.precision];
    const vacuous = expectedOut.every((v) => v === 0) ? 'expected outputs are all zero' : undefined;
    return {
      ok: outputError <= tolerance && vacuous === undefined,
      vacuous,
      outputError,
      tolerance,
      against: `reference (case model), outputs only: ${impl.trainUnavailable}`,
    };
  }

  const expectedAfter = refSgdStep(
    spec,
    data.params,
    data.inputs,
    data.targets,
    c.batch,
    lr,
    sem.update,
  );
  const after = new Float64Array(P);
  impl.load(data.params);
  impl.trainStep();
  impl.readParams(after);
  const recovered = new Float64Array(P);
  const expectedGrad = new Float64Array(P);
  for (let k = 0; k < P; k++) {
    recovered[k] = (data.params[k] - after[k]) / lr;
    expectedGrad[k] = (data.params[k] - expectedAfter[k]) / lr;
  }
  const gradientError = normalizedError(recovered, expectedGrad);

  let sampleGradientError: number | undefined;
  if (impl.readGradient1 !== undefined) {
    impl.load(data.params);
    const g = new Float64Array(P);
    const loss = impl.readGradient1(g);
    const [refLoss, refGrad] = refGradient(
      spec,
      data.params,
      data.inputs.subarray(0, I),
      data.targets.subarray(0, O),
    );
    sampleGradientError = Math.max(normalizedError(g, refGrad), normalizedError([loss], [refLoss]));
  }
  impl.load(data.params);

  const allZero = (a: Float64Array): boolean => a.every((v) => v === 0);
  const vacuous =
    allZero(expectedOut) || allZero(expectedGrad)
      ? 'expected outputs or gradient are all zero'
      : undefined;
  const tolerance = TOLERANCE[impl.precision];
  const errors = [outputError, gradientError, sampleGradientError ?? 0];
  return {
    ok: errors.every((e) => e <= tolerance) && vacuous === undefined,
    vacuous,
    outputError,
    gradientError,
    sampleGradientError,
    tolerance,
    against:
      impl.semantics !== undefined
        ? `reference for the variant: ${impl.semantics.note}`
        : c.spec.conv !== undefined
          ? CNN_REFERENCE
          : 'reference (case model)',
  };
}
