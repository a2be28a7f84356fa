import type { Baseline } from './types.ts';
import { createXorBaseline } from './xor.ts';
import { createIrisBaseline } from './iris.ts';
import { createMnistBaseline } from './mnist.ts';
import { createMnistCnnBaseline } from './mnist-cnn.ts';

export type { Baseline } from './types.ts';

/** Baselines by model name (the `name` of the NetSpec / generated module). */
export const BASELINES: Readonly<Record<string, () => Baseline>> = {
  xor: createXorBaseline,
  iris: createIrisBaseline,
  'mnist-mlp': createMnistBaseline,
  'mnist-cnn': createMnistCnnBaseline,
};
