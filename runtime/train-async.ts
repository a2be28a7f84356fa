// `trainAsync`: the same training loop as `train`, handing control back to the event loop
// between batches, so a page stays responsive and a server keeps answering while a model
// trains on the main thread. Results are identical to `train` with the same options.
import type { Dataset } from './data.ts';
import { trainSteps, type EpochStats, type History, type TrainOptions } from './train.ts';
import type { FloatArray, GeneratedModule } from './types.ts';

export interface Progress {
  /** 0-based epoch just finished. */
  readonly epoch: number;
  readonly epochs: number;
  /** 0..1 of the requested epochs. */
  readonly fraction: number;
  readonly stats: EpochStats;
}

export interface TrainAsyncOptions extends TrainOptions {
  /** Hand control back when this many milliseconds passed since the last pause (checked
   * between batches). Default 8 (a frame stays smooth); 0 pauses after every batch. */
  readonly yieldMs?: number;
  /** Called after every epoch, after `onEpochEnd`. */
  readonly onProgress?: (p: Progress) => void;
  /** Stops training between batches; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** One turn of the event loop: a macrotask, so timers, I/O and rendering get their turn. */
function pause(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else {
      // Browsers: a message posts a task without setTimeout's 4 ms clamp.
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(0);
    }
  });
}

export async function trainAsync(
  module: GeneratedModule,
  params: FloatArray,
  data: Dataset,
  options: TrainAsyncOptions,
): Promise<History> {
  const { yieldMs = 8, onProgress, signal } = options;
  const onEpochEnd = options.onEpochEnd;
  const wrapped: TrainOptions = {
    ...options,
    onEpochEnd: (stats, p) => {
      const go = onEpochEnd?.(stats, p);
      onProgress?.({
        epoch: stats.epoch,
        epochs: options.epochs,
        fraction: (stats.epoch + 1) / options.epochs,
        stats,
      });
      return go;
    },
  };
  signal?.throwIfAborted();
  const steps = trainSteps(module, params, data, wrapped, true);
  let last = Date.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (Date.now() - last >= yieldMs) {
      await pause();
      signal?.throwIfAborted();
      last = Date.now();
    }
  }
}
