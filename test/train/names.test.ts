// The names GRU (examples/names-gru.model.json) on the real first-name lists: a short slice
// of the full run (npm run example:names trains on all 6,402 training names for 15 epochs;
// the README reports that run). Here: 1,500 training names, 3 epochs, all 1,601 held-out
// names scored, against the majority class and the bigram logistic-regression baseline.
import { expect, it } from 'vitest';
import { encodeSequences, loadNames, MAX_LEN, ALPHABET } from '../../examples/names/data.ts';
import { trainNames } from '../../examples/names/train.ts';

it('the split drops names on both lists and keeps train and held-out names apart', () => {
  const s = loadNames(1);
  expect(s.dropped).toBeGreaterThan(300);
  const train = new Set(s.train.map((n) => n.name));
  expect(s.test.some((n) => train.has(n.name))).toBe(false);
  expect(s.test.length / (s.test.length + s.train.length)).toBeCloseTo(0.2, 2);
  // Front padding: the last row is the name's last letter.
  const { inputs } = encodeSequences([{ name: 'ann', female: 1 }]);
  const row = (k: number) => [...inputs.subarray(k * ALPHABET.length, (k + 1) * ALPHABET.length)];
  expect(row(MAX_LEN - 1)[ALPHABET.indexOf('n')]).toBe(1);
  expect(row(MAX_LEN - 3)[ALPHABET.indexOf('a')]).toBe(1);
  expect(row(0).every((v) => v === 0)).toBe(true);
});

it('a short GRU run learns the names far above the majority class', async () => {
  const r = await trainNames({ epochs: 3, limit: 1500, baselineEpochs: 20 });
  console.log(
    `names (slice): GRU ${(100 * r.gruAccuracy).toFixed(1)} %, bigram logistic ${(100 * r.baselineAccuracy).toFixed(1)} %, majority ${(100 * r.majority).toFixed(1)} % (${(r.gruMs / 1000).toFixed(1)} s)`,
  );
  expect(r.testCount).toBe(1601);
  expect(r.gruAccuracy).toBeGreaterThan(r.majority + 0.1);
  expect(r.baselineAccuracy).toBeGreaterThan(r.majority + 0.1);
});
