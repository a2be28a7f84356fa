// The hand-written baseline, adapted to the harness interface.

import { BASELINES } from './baselines/index.ts';
import type { ImplFactory, Prepared } from './impl.ts';

export const BASELINE_NAME = 'hand-written';

export const baselineImpl: ImplFactory = {
  name: BASELINE_NAME,
  async prepare(c, data, lr) {
    const net = BASELINES[c.spec.name]();
    const p = new Float64Array(net.paramCount);
    const grad = new Float64Array(net.paramCount);
    const outs = new Float64Array(c.batch * net.outputSize);
    // Losses land in a typed array so the timed closures never box a double.
    const sink = new Float64Array(1);
    const { inputs, targets } = data;
    const prepared: Prepared = {
      precision: 'f64',
      load: (params) => p.set(params),
      infer: () => net.forwardBatch(p, inputs, outs, c.batch),
      readOutputs(out) {
        net.forwardBatch(p, inputs, outs, c.batch);
        out.set(outs);
      },
      trainStep: () => net.trainStep(p, inputs, targets, c.batch, lr),
      readParams: (out) => out.set(p),
      forward1: () => net.forward(p, inputs, 0, outs, 0),
      gradient1: () => {
        sink[0] = net.gradient(p, inputs, 0, targets, 0, grad);
      },
      readGradient1(out) {
        const loss = net.gradient(p, inputs, 0, targets, 0, grad);
        out.set(grad);
        return loss;
      },
      dispose() {},
    };
    return prepared;
  },
};
