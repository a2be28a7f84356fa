// The hand-written WebAssembly SIMD reference (bench/baselines/mnist-wasm.ts), adapted to the
// harness interface: 784-128-10 only, f32.
import { createHandWasmMnist, MAX_BATCH } from './baselines/mnist-wasm.ts';
import type { ImplFactory, Prepared } from './impl.ts';

export const handWasmImpl: ImplFactory = {
  name: 'hand wasm f32',
  async prepare(c, data, lr) {
    if (c.spec.name !== 'mnist-mlp' || c.spec.conv !== undefined)
      return { unavailable: 'written for 784-128-10 only' };
    if (c.batch % 2 !== 0 || c.batch > MAX_BATCH)
      return { unavailable: `even batches up to ${MAX_BATCH} only` };
    const net = await createHandWasmMnist();
    const B = c.batch;
    net.inputs.set(data.inputs);
    net.targets.set(data.targets);
    const prepared: Prepared = {
      precision: 'f32',
      load: (p) => net.params.set(p),
      infer: () => net.forward(B),
      readOutputs(out) {
        net.forward(B);
        out.set(net.probs.subarray(0, out.length));
      },
      trainStep: () => net.trainStep(B, lr),
      readParams: (out) => out.set(net.params),
      dispose() {},
    };
    return prepared;
  },
};
