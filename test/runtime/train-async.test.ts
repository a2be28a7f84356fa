// trainAsync: the same loop as train, pausing between batches.
import { describe, expect, it } from 'vitest';
import { initParams } from '../../runtime/init.ts';
import { adam } from '../../runtime/optimizers.ts';
import { train } from '../../runtime/train.ts';
import { trainAsync, type Progress } from '../../runtime/train-async.ts';
import { blobs, classifierModule } from './fixtures/models.ts';

const net = classifierModule();
const data = blobs(200);
const options = { epochs: 20, batchSize: 16, seed: 3, validationSplit: 0.2 } as const;

describe('trainAsync', () => {
  it('gives exactly the weights and history of train', async () => {
    const a = initParams(net.model, { seed: 1 });
    const b = initParams(net.model, { seed: 1 });
    const sync = train(net, a, data, { ...options, optimizer: adam({ lr: 0.01 }) });
    const progress: Progress[] = [];
    const async_ = await trainAsync(net, b, data, {
      ...options,
      optimizer: adam({ lr: 0.01 }),
      onProgress: (p) => progress.push(p),
    });
    expect(Array.from(b)).toEqual(Array.from(a));
    // Epoch times are measured, so they differ; everything else is identical.
    const untimed = (h: typeof sync) => ({ ...h, epochs: h.epochs.map((e) => ({ ...e, ms: 0 })) });
    expect(untimed(async_)).toEqual(untimed(sync));
    expect(progress.map((p) => p.epoch)).toEqual(sync.epochs.map((e) => e.epoch));
    expect(progress.at(-1)?.fraction).toBe(1);
    expect(sync.epochs.at(-1)!.loss).toBeLessThan(sync.epochs[0]!.loss);
  });

  it('lets the event loop run between batches (yieldMs 0: after every batch)', async () => {
    const params = initParams(net.model, { seed: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let batches = 0;
    let ticksAtFirstBatch = -1;
    try {
      await trainAsync(net, params, data, {
        ...options,
        yieldMs: 0,
        onBatchEnd: () => {
          if (batches++ === 0) ticksAtFirstBatch = ticks;
        },
      });
    } finally {
      clearInterval(timer);
    }
    expect(batches).toBe(20 * 10);
    // Timers fired while training was under way, not only after it.
    expect(ticks).toBeGreaterThan(ticksAtFirstBatch);
    expect(ticks).toBeGreaterThan(1);
  });

  it('stops on an abort signal with its reason', async () => {
    const params = initParams(net.model, { seed: 1 });
    const ac = new AbortController();
    let epochs = 0;
    const run = trainAsync(net, params, data, {
      ...options,
      epochs: 1000,
      yieldMs: 0,
      signal: ac.signal,
      onEpochEnd: () => {
        if (++epochs === 3) ac.abort(new Error('enough'));
      },
    });
    await expect(run).rejects.toThrow('enough');
    expect(epochs).toBeLessThan(5);
  });
});
