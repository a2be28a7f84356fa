// The Iris CSV (bundled as text) as arrays: features standardized, species one-hot in sorted
// order, as `gradc train --label species` does.
import csv from '../data/iris.csv?raw';

export interface IrisData {
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
  readonly count: number;
  readonly classes: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export function loadIris(): IrisData {
  const [, ...lines] = csv.trim().split(/\r?\n/);
  const rows = lines.map((l) => l.split(','));
  const classes = [...new Set(rows.map((r) => r[4]!))].sort();
  const count = rows.length;
  const inputs = new Float64Array(count * 4);
  const targets = new Float64Array(count * 3);
  rows.forEach((r, i) => {
    for (let j = 0; j < 4; j++) inputs[i * 4 + j] = Number(r[j]);
    targets[i * 3 + classes.indexOf(r[4]!)] = 1;
  });
  const mean = [0, 1, 2, 3].map((j) => rows.reduce((s, r) => s + Number(r[j]), 0) / count);
  const std = [0, 1, 2, 3].map((j) =>
    Math.sqrt(rows.reduce((s, r) => s + (Number(r[j]) - mean[j]!) ** 2, 0) / count),
  );
  for (let i = 0; i < inputs.length; i++) inputs[i] = (inputs[i]! - mean[i % 4]!) / std[i % 4]!;
  return { inputs, targets, count, classes, mean, std };
}
