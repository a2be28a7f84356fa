// From a table to numbers and back: which columns are features and targets, the class list
// of a label column (one-hot), feature standardization, and the sidecar file that carries
// all of that from `gradc train` to `gradc predict` (the weights file holds only numbers).
import { type ModelInfo } from '@gradc/runtime';
import { GradcError, hasControls, quote } from '../format/errors.ts';
import { columnIndices, numericCell, rowError, type Table } from './data.ts';
import { layoutHex, META_FORMAT, META_VERSION, type DataMeta } from './meta.ts';

export { metaPath, type DataMeta } from './meta.ts';

/** What planColumns decides: everything of the metadata but the bindings added when writing. */
export type ColumnPlan = Omit<DataMeta, 'weights' | 'modelHash'>;

/** The part of the metadata that reading data needs. */
export type Columns = Pick<DataMeta, 'features' | 'normalize' | 'label' | 'classes' | 'targets'>;

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
 * The feature columns of a model with several named inputs, packed in the model's input
 * order: input `meta` takes the columns named `meta`, or starting with `meta_` or `meta.`, in
 * table order.
 */
function groupedFeatures(table: Table, model: ModelInfo, outputs: readonly string[]): string[] {
  return model.inputs!.flatMap((x) => {
    const cols = table.columns.filter(
      (c) =>
        !outputs.includes(c) &&
        (c === x.name || c.startsWith(`${x.name}_`) || c.startsWith(`${x.name}.`)),
    );
    if (cols.length !== x.size)
      throw new GradcError(
        table.file,
        `${table.unit} 1`,
        `input ${quote(x.name)} takes ${x.size} values, but ${cols.length} columns are named ${quote(x.name)}, ${quote(`${x.name}_…`)} or ${quote(`${x.name}.…`)}; choose columns with --features (in input order)`,
      );
    return cols;
  });
}

/**
 * Decides features, classes or targets for `model` from the table; normalization is
 * filled in later from the training rows (see `fitNormalization`).
 */
export function planColumns(table: Table, model: ModelInfo, choice: ColumnChoice): ColumnPlan {
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
  const features =
    choice.features ??
    (model.inputs && model.inputs.length > 1
      ? groupedFeatures(table, model, outputs)
      : table.columns.filter((c) => !outputs.includes(c)));
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
  const base: ColumnPlan = {
    format: META_FORMAT,
    version: META_VERSION,
    model: model.name,
    layoutHash: layoutHex(model),
    features: [...features],
    normalize: null,
  };
  if (targets !== undefined) {
    if (targets.length !== model.outputSize) {
      throw new GradcError(
        table.file,
        '--target',
        `${targets.length} target columns, but model ${quote(model.name)} has ${model.outputSize} outputs`,
      );
    }
    return { ...base, targets: [...targets] };
  }
  const [col] = columnIndices(table, [label!], '--label');
  const classes = sortedClasses(table.rows.map((r) => r[col!]!));
  const unprintable = classes.find((c) => hasControls(c, true));
  if (unprintable !== undefined) {
    const row = table.rows.findIndex((r) => r[col!] === unprintable);
    // Class names are printed by predict (CSV on a terminal): no control characters.
    throw rowError(
      table,
      row,
      `column ${quote(label!)}: class ${quote(unprintable, 30)} has a control character`,
    );
  }
  if (classes.length < 2) {
    throw new GradcError(
      table.file,
      '--label',
      `column ${quote(label!)} has only ${classes.length === 0 ? 'no class' : `one class, ${quote(classes[0]!, 30)}`}; a classifier needs at least 2`,
    );
  }
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
  return { ...base, label: label!, classes };
}

export interface Encoded {
  readonly inputs: Float64Array;
  /** Absent when the table lacks the label/target columns (predict on unlabeled data). */
  readonly targets: Float64Array | undefined;
  readonly count: number;
}

/** Numbers for every row: raw features (normalize later) and one-hot or numeric targets. */
export function encodeTable(table: Table, meta: Columns, outputSize: number): Encoded {
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

/**
 * Mean and standard deviation per feature over `rows` (a constant feature gets std 1). Each
 * feature is scaled by its largest magnitude first and summed in two passes, so values near
 * the float range (1e200) neither overflow the squares nor lose the spread to rounding.
 */
export function fitNormalization(
  inputs: Float64Array,
  width: number,
  rows: ArrayLike<number>,
): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  const n = rows.length;
  for (let j = 0; j < width; j++) {
    let scale = 0;
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(inputs[rows[i]! * width + j]!));
    if (scale === 0 || n === 0) {
      mean.push(0);
      std.push(1);
      continue;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += inputs[rows[i]! * width + j]! / scale;
    const m = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (inputs[rows[i]! * width + j]! / scale - m) ** 2;
    const s = Math.sqrt(sq / n);
    mean.push(m * scale);
    // Relative spread below 1e-12 is rounding noise of a constant column.
    std.push(s > 1e-12 ? s * scale : 1);
  }
  return { mean, std };
}

/**
 * Standardizes in place. A value that cannot be represented after it (a feature far beyond
 * the range the training rows had) is refused, naming the row, instead of becoming Infinity.
 */
export function applyNormalization(
  inputs: Float64Array,
  meta: Columns,
  where?: (row: number, feature: string) => GradcError,
): void {
  const norm = meta.normalize;
  if (norm === null) return;
  const width = meta.features.length;
  for (let i = 0; i < inputs.length; i++) {
    const j = i % width;
    const v = (inputs[i]! - norm.mean[j]!) / norm.std[j]!;
    if (!Number.isFinite(v)) {
      const f = meta.features[j]!;
      throw (
        where?.(Math.floor(i / width), f) ??
        new GradcError('--data', f, 'a value cannot be standardized (it overflows)')
      );
    }
    inputs[i] = v;
  }
}
