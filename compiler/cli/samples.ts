// Seeded sample inputs and targets that fit a model's loss, for `gradc check` and tests.
import type { ModelInfo } from '@gradc/runtime';

/** A small LCG: reproducible, and independent of the runtime's PRNG. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

export function sampleInput(model: ModelInfo, rnd: () => number): Float64Array {
  return Float64Array.from({ length: model.inputSize }, () => rnd() * 2 - 1);
}

/** One-hot for categorical cross-entropy, values in (0, 1) for BCE, otherwise in (−1, 1). */
export function sampleTarget(model: ModelInfo, rnd: () => number): Float64Array {
  const t = new Float64Array(model.outputSize);
  if (model.loss === 'categoricalCrossEntropy') t[Math.floor(rnd() * t.length)] = 1;
  else if (model.loss === 'binaryCrossEntropy') for (let i = 0; i < t.length; i++) t[i] = rnd();
  else for (let i = 0; i < t.length; i++) t[i] = rnd() * 2 - 1;
  return t;
}
