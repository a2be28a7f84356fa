// Training runs here, off the page's thread: `train` is synchronous and would freeze the page.
// Each epoch's loss is posted as it is computed; afterwards the worker answers predictions.
import {
  adam,
  createPredictor,
  initParams,
  layoutHash,
  train,
  type Predictor,
} from '@gradc/runtime';
import * as net from '../iris.model.json?gradc';
import { loadIris } from './iris-data.ts';

export type FromWorker =
  | {
      readonly type: 'epoch';
      readonly epoch: number;
      readonly loss: number;
      readonly epochs: number;
    }
  | { readonly type: 'trained'; readonly accuracy: number; readonly ms: number }
  | { readonly type: 'prediction'; readonly label: string; readonly probabilities: number[] };
export type ToWorker = { readonly type: 'predict'; readonly features: number[] };

const post = (m: FromWorker) => postMessage(m);
const EPOCHS = 150;

// The module runs its batched entry points on WebAssembly where the page allows it (a
// cross-origin isolated page: shared memory); init() falls back to its JavaScript otherwise.
await net.init();
const data = loadIris();
const params = initParams(net.model, { seed: 1 });
const started = performance.now();
const history = train(net, params, data, {
  epochs: EPOCHS,
  batchSize: 16,
  seed: 1,
  optimizer: adam({ lr: 0.01 }),
  diagnostics: false,
  onEpochEnd: (s) => post({ type: 'epoch', epoch: s.epoch, loss: s.loss, epochs: EPOCHS }),
});
const predictor: Predictor = createPredictor(net, params, {
  format: 'gradc-train-meta',
  version: 2,
  model: net.model.name,
  layoutHash: layoutHash(net.model).toString(16).padStart(16, '0'),
  features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  normalize: { mean: data.mean, std: data.std },
  label: 'species',
  classes: data.classes,
});
post({
  type: 'trained',
  accuracy: history.epochs.at(-1)?.accuracy ?? 0,
  ms: performance.now() - started,
});

onmessage = (e: MessageEvent<ToWorker>) => {
  const probabilities = Array.from(predictor.predict(e.data.features));
  post({ type: 'prediction', label: predictor.predictClass(e.data.features), probabilities });
};
