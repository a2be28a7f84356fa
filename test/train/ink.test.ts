// The ink LSTM (examples/ink-lstm.model.json) on the MNIST row-ink series: a short slice of
// the full run (npm run example:ink: 4,000 digits, 10 epochs; the README reports that run).
// Here 300 training digits (6,000 windows), 2 epochs, scored on 300 held-out digits.
import { expect, it } from 'vitest';
import { loadInk, persistence, rmse, WINDOW } from '../../examples/ink/series.ts';
import { trainInk } from '../../examples/ink/train.ts';

it('windows hold consecutive rows of one digit and the row after them', () => {
  const { train } = loadInk(3, 1);
  expect(train.count).toBe(3 * (28 - WINDOW));
  // The target of window k is the last input of window k + 1 (same digit).
  for (let k = 0; k + 1 < 28 - WINDOW; k++)
    expect(train.inputs[(k + 1) * WINDOW + WINDOW - 1]).toBe(train.targets[k]);
  expect(rmse(train, persistence(train))).toBeGreaterThan(0);
});

it('a short LSTM run forecasts the next row better than persistence', async () => {
  const r = await trainInk({ epochs: 2, trainDigits: 300, testDigits: 300 });
  console.log(
    `ink (slice): LSTM RMSE ${r.lstmRmse.toFixed(4)}, persistence ${r.persistenceRmse.toFixed(4)} (${(r.ms / 1000).toFixed(1)} s)`,
  );
  expect(r.testCount).toBe(300 * (28 - WINDOW));
  expect(r.lstmRmse).toBeLessThan(0.9 * r.persistenceRmse);
});
