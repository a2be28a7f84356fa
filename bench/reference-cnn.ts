// The reference for convolutional specs. Outputs come from the naive f64 network of the
// TF.js oracle's tests (test/oracle/reference/), which shares no code with the baseline.
// A naive reverse pass would be a second hand-written CNN, so the reference gradient is the
// hand-written baseline's own; test/bench-baselines.test.ts proves that gradient against
// central differences of the naive network and against TF.js Layers.

import { parseModel, type Model, type ModelJson } from '../test/oracle/model.ts';
import { referenceRun } from '../test/oracle/reference/network.ts';
import { BASELINES } from './baselines/index.ts';
import { modelFile, type NetSpec } from './models.ts';

const parsed = new Map<string, Model>();

export function cnnModel(spec: NetSpec): Model {
  let m = parsed.get(spec.name);
  if (m === undefined) {
    m = parseModel(modelFile(spec) as ModelJson);
    parsed.set(spec.name, m);
  }
  return m;
}

export function cnnForward(spec: NetSpec, p: Float64Array, x: Float64Array): Float64Array {
  return referenceRun(cnnModel(spec), p, x, undefined, 1).outputs;
}

export function cnnGradient(
  spec: NetSpec,
  p: Float64Array,
  x: Float64Array,
  t: Float64Array,
): [number, Float64Array] {
  const net = BASELINES[spec.name]();
  const grad = new Float64Array(net.paramCount);
  const loss = net.gradient(p, x, 0, t, 0, grad);
  return [loss, grad];
}
