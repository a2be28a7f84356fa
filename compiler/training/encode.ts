// From a table to numbers and back: which columns are features and targets, the class list
// of a label column (one-hot), feature standardization, and the sidecar file that carries
// all of that from `gradc train` to `gradc predict` (the weights file holds only numbers).
import fs from 'node:fs';
import { layoutHash, type ModelInfo } from '@gradc/runtime';
import { GradcError, quote } from '../format/errors.ts';
import { columnIndices, numericCell, rowError, type Table } from './data.ts';
import { writeAtomic } from '../io/files.ts';

const META_FORMAT = 'gradc-train-meta';

/** What predict needs to read new data the way train read its data. */
export interface DataMeta {
  readonly format: typeof META_FORMAT;
  readonly version: 1;
  readonly model: string;
  /** Layout hash of the model the weights were trained for (hex), as in the weights header. */
  readonly layoutHash: string;
  readonly features: readonly string[];
  /** Per-feature mean and standard deviation of the training rows, or null (raw features). */
  readonly normalize: { readonly mean: readonly number[]; readonly std: readonly number[] } | null;
  /** Classification: the label column and its classes in output order (sorted unique values). */
  readonly label?: string;
  readonly classes?: readonly string[];
  /** Regression: the target columns in output order. */
  readonly targets?: readonly string[];
}

export interface ColumnChoice {
  readonly label?: string;
  readonly targets?: readonly string[];
  /** Default: every column that is not the label or a target, in file order. */
  readonly features?: readonly string[];
}

/** Sorted unique values; numerically when every value is a number ("2" before "10"). */
export function sortedClasses(values: readonly string[]): string[] {
  const unique = [...new Set(values)];
  const numeric = unique.every((v) => v !== '' && Number.isFinite(Number(v)));
  return numeric
    ? unique.sort((a, b) => Number(a) - Number(b))
    : unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Decides features, classes or targets for `model` from the table; normalization is
 * filled in later from the training rows (see `fitNormalization`).
 */
export function planColumns(table: Table, model: ModelInfo, choice: ColumnChoice): DataMeta {
  const { label, targets } = choice;
  if ((label === undefined) === (targets === undefined)) {
    throw new GradcError(
      table.file,
      '--label',
      'give either --label COL (classification) or --target COL[,COL…] (regression)',
    );
  }
  const outputs = label !== undefined ? [label] : targets!;
  columnIndices(table, outputs, label !== undefined ? '--label' : '--target');
  const features = choice.features ?? table.columns.filter((c) => !outputs.includes(c));
  columnIndices(table, features, '--features');
  const clash = features.find((f) => outputs.includes(f));
  if (clash !== undefined) {
    throw new GradcError(
      table.file,
      '--features',
      `column ${quote(clash)} is both a feature and a target`,
    );
  }
  if (features.length !== model.inputSize) {
    throw new GradcError(
      table.file,
      `${table.unit} 1`,
      `${features.length} feature columns (${features.map((f) => quote(f)).join(', ')}), but model ${quote(model.name)} takes ${model.inputSize} inputs; choose columns with --features`,
    );
  }
  const base = {
    format: META_FORMAT,
    version: 1,
    model: model.name,
    layoutHash: layoutHash(model).toString(16).padStart(16, '0'),
    features,
    normalize: null,
  } as const;
  if (targets !== undefined) {
    if (targets.length !== model.outputSize) {
      throw new GradcError(
        table.file,
        '--target',
        `${targets.length} target columns, but model ${quote(model.name)} has ${model.outputSize} outputs`,
      );
    }
    return { ...base, targets };
  }
  const [col] = columnIndices(table, [label!], '--label');
  const classes = sortedClasses(table.rows.map((r) => r[col!]!));
  // One sigmoid output learns two classes: target 1 means the second class.
  const fits =
    classes.length === model.outputSize || (model.outputSize === 1 && classes.length === 2);
  if (!fits) {
    throw new GradcError(
      table.file,
      '--label',
      `column ${quote(label!)} has ${classes.length} classes, but model ${quote(model.name)} has ${model.outputSize} outputs`,
    );
  }
  return { ...base, label, classes };
}

export interface Encoded {
  readonly inputs: Float64Array;
  /** Absent when the table lacks the label/target columns (predict on unlabeled data). */
  readonly targets: Float64Array | undefined;
  readonly count: number;
}

/** Numbers for every row: raw features (normalize later) and one-hot or numeric targets. */
export function encodeTable(table: Table, meta: DataMeta, outputSize: number): Encoded {
  const fIdx = columnIndices(table, meta.features, 'features');
  const outNames = meta.label !== undefined ? [meta.label] : (meta.targets ?? []);
  const hasTargets = outNames.every((c) => table.columns.includes(c));
  const tIdx = hasTargets ? columnIndices(table, outNames, 'targets') : [];
  const count = table.rows.length;
  const inputs = new Float64Array(count * fIdx.length);
  const targets = hasTargets ? new Float64Array(count * outputSize) : undefined;
  for (let r = 0; r < count; r++) {
    fIdx.forEach((c, j) => (inputs[r * fIdx.length + j] = numericCell(table, r, c)));
    if (targets === undefined) continue;
    if (meta.classes !== undefined) {
      const value = table.rows[r]![tIdx[0]!]!;
      const k = meta.classes.indexOf(value);
      if (k < 0) {
        throw rowError(
          table,
          r,
          `column ${quote(meta.label!)}: unknown class ${quote(value, 30)}; the model knows ${meta.classes.map((c) => quote(c)).join(', ')}`,
        );
      }
      if (outputSize === 1) targets[r] = k;
      else targets[r * outputSize + k] = 1;
    } else {
      tIdx.forEach((c, j) => (targets[r * outputSize + j] = numericCell(table, r, c)));
    }
  }
  return { inputs, targets, count };
}

/** Mean and standard deviation per feature over `rows` (a constant feature gets std 1). */
export function fitNormalization(
  inputs: Float64Array,
  width: number,
  rows: ArrayLike<number>,
): { mean: number[]; std: number[] } {
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  const n = rows.length;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < width; j++) mean[j]! += inputs[rows[i]! * width + j]! / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < width; j++) std[j]! += (inputs[rows[i]! * width + j]! - mean[j]!) ** 2 / n;
  }
  return { mean, std: std.map((v) => (v > 1e-24 ? Math.sqrt(v) : 1)) };
}

export function applyNormalization(inputs: Float64Array, meta: DataMeta): void {
  const norm = meta.normalize;
  if (norm === null) return;
  const width = meta.features.length;
  for (let i = 0; i < inputs.length; i++) {
    const j = i % width;
    inputs[i] = (inputs[i]! - norm.mean[j]!) / norm.std[j]!;
  }
}

/** The sidecar of a weights file. */
export function metaPath(weights: string): string {
  return `${weights}.meta.json`;
}

export function writeMeta(weights: string, meta: DataMeta): void {
  writeAtomic(metaPath(weights), `${JSON.stringify(meta, null, 2)}\n`);
}

export function readMeta(weights: string, model: ModelInfo): DataMeta {
  const file = metaPath(weights);
  let meta: DataMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as DataMeta;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new GradcError(
      file,
      '--weights',
      `cannot read the column description that gradc train writes beside the weights (${why})`,
    );
  }
  const ok =
    meta !== null &&
    meta.format === META_FORMAT &&
    meta.version === 1 &&
    Array.isArray(meta.features) &&
    meta.features.every((f) => typeof f === 'string') &&
    (meta.classes === undefined ||
      (Array.isArray(meta.classes) && meta.classes.every((c) => typeof c === 'string'))) &&
    (meta.normalize === null ||
      (Array.isArray(meta.normalize?.mean) &&
        Array.isArray(meta.normalize?.std) &&
        meta.normalize.mean.length === meta.features.length &&
        meta.normalize.std.length === meta.features.length));
  if (!ok) throw new GradcError(file, '$', `not a ${META_FORMAT} version 1 file`);
  const expected = layoutHash(model).toString(16).padStart(16, '0');
  if (meta.layoutHash !== expected || meta.features.length !== model.inputSize) {
    throw new GradcError(
      file,
      '$.layoutHash',
      `was written for a different model than ${quote(model.name)}`,
    );
  }
  return meta;
}
