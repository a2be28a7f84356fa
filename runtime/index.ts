// The runtime's public API for Node (`gradc/runtime`): the browser-safe part plus weights
// on disk. Browser bundles should import `runtime/browser.ts` instead, which has no node:fs.

export * from './browser.ts';
export {
  loadBundle,
  loadWeights,
  loadOptimizerState,
  loadWeightsInto,
  saveOptimizerState,
  saveWeights,
  type SaveOptions,
  type WeightsFormat,
} from './weights-fs.ts';
