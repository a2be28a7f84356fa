// `gradc export`: a compiled module plus the trained weights and gradc train's column
// description, as one standalone module with `predict(features, out?)`. It imports nothing:
// it runs anywhere the compiled module does (Node, browsers, workers), with zero
// dependencies. `predict` normalizes exactly as `gradc predict` does (in doubles, then stored
// in the model's precision), so both give identical outputs for the same rows.
import type { FloatArray } from '@gradc/runtime';
import type { Compiled } from '../pipeline.ts';
import { commentText, literal, num } from './code.ts';
import type { OutputFormat } from './module.ts';
import { typeLiteral } from './type-literal.ts';

/** What `gradc train` recorded beside the weights (see compiler/training/encode.ts). */
export interface TrainedColumns {
  readonly features: readonly string[];
  readonly normalize: { readonly mean: readonly number[]; readonly std: readonly number[] } | null;
  readonly label?: string;
  readonly classes?: readonly string[];
  readonly targets?: readonly string[];
}

export interface ExportInput {
  readonly compiled: Compiled;
  readonly format: OutputFormat;
  readonly params: FloatArray;
  readonly columns: TrainedColumns;
  /** The weights file's base name, for a comment. */
  readonly weightsSource: string;
}

function numbers(values: ArrayLike<number>): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 8) {
    const row: string[] = [];
    for (let j = i; j < Math.min(i + 8, values.length); j++) row.push(num(values[j]!));
    lines.push(`  ${row.join(', ')},`);
  }
  return `[\n${lines.join('\n')}\n]`;
}

function trainedInfo(columns: TrainedColumns): Record<string, unknown> {
  return {
    features: columns.features,
    label: columns.label,
    classes: columns.classes,
    targets: columns.targets,
    normalize: columns.normalize,
  };
}

const PREDICT_DOC = [
  '/**',
  ' * Outputs for one row of raw features, in `trained.features` order, normalized as in',
  ' * training: class probabilities (one sigmoid output: the probability of `trained.classes[1]`)',
  ' * or target values. Allocates nothing when `out` (`model.outputSize` elements) is given.',
  ' */',
].join('\n');

export function exportModule(m: ExportInput): { code: string; declarations?: string } {
  const { compiled, format, params, columns } = m;
  const c = compiled.c;
  const ts = format === 'ts';
  const esm = format !== 'cjs';
  const exp = esm ? 'export ' : '';
  const arrayType = c.spec.precision === 'f32' ? 'Float32Array' : 'Float64Array';
  const { inputSize, outputSize, paramCount } = c.shapes;
  if (params.length !== paramCount)
    throw new Error(`internal: ${params.length} weights for ${paramCount} parameters`);
  const bang = ts ? '!' : '';
  const norm = columns.normalize;
  const classes = columns.classes;
  const out: string[] = [
    `// --- trained: weights from ${commentText(m.weightsSource)} and the columns gradc train recorded ---`,
    `const trainedParams = new ${arrayType}(${numbers(params)});`,
    '/** Feature columns (input order), their normalization, and class names or target columns. */',
    `${exp}const trained = ${literal(trainedInfo(columns))}${ts ? ' as const' : ''};`,
  ];
  if (norm !== null) {
    out.push(
      `const normMean${ts ? ': readonly number[]' : ''} = [${norm.mean.map(num).join(', ')}];`,
    );
    out.push(
      `const normStd${ts ? ': readonly number[]' : ''} = [${norm.std.map(num).join(', ')}];`,
    );
  }
  out.push(
    `const predictInput = new ${arrayType}(${inputSize});`,
    `const predictOutput = new ${arrayType}(${outputSize});`,
    `const predictWork = new ${arrayType}(${compiled.workSize});`,
    PREDICT_DOC,
    ts
      ? `${exp}function predict(features: ArrayLike<number>, out?: ${arrayType}): ${arrayType} {`
      : `${exp}function predict(features, out) {`,
    `  if (features.length !== ${inputSize}) throw new RangeError("expected ${inputSize} features, got " + features.length);`,
    `  const y = out === undefined ? new ${arrayType}(${outputSize}) : out;`,
    norm !== null
      ? `  for (let i = 0; i < ${inputSize}; i++) predictInput[i] = (features[i]${bang} - normMean[i]${bang}) / normStd[i]${bang};`
      : `  for (let i = 0; i < ${inputSize}; i++) predictInput[i] = features[i]${bang};`,
    `  forward(trainedParams, predictInput, y, predictWork);`,
    '  return y;',
    '}',
  );
  const names = ['trained', 'predict'];
  if (classes !== undefined) {
    names.push('predictClass');
    out.push(
      '/** The most probable class of one row of raw features (allocates nothing). */',
      ts
        ? `${exp}function predictClass(features: ArrayLike<number>): string {`
        : `${exp}function predictClass(features) {`,
      '  const y = predict(features, predictOutput);',
      outputSize === 1
        ? `  return trained.classes[y[0]${bang} >= 0.5 ? 1 : 0];`
        : [
            '  let k = 0;',
            `  for (let j = 1; j < ${outputSize}; j++) if (y[j]${bang} > y[k]${bang}) k = j;`,
            `  return trained.classes[k]${bang};`,
          ].join('\n'),
      '}',
    );
  }
  let code = compiled.code;
  if (!esm) {
    // Put the new names into the CommonJS export list (the module's last line).
    code = code.replace(/^module\.exports = \{ (.*) \};\n$/m, (_, list: string) => {
      out.push(`module.exports = { ${list}, ${names.join(', ')} };`);
      return '';
    });
  }
  code = `${code.replace(/\n+$/, '')}\n\n${out.join('\n')}\n`;
  if (compiled.declarations === undefined) return { code };
  const declarations = [
    compiled.declarations.replace(/\n+$/, ''),
    '',
    '/** Feature columns (input order), their normalization, and class names or target columns. */',
    `export declare const trained: ${typeLiteral(trainedInfo(columns))};`,
    PREDICT_DOC,
    `export declare function predict(features: ArrayLike<number>, out?: ${arrayType}): ${arrayType};`,
    ...(classes !== undefined
      ? [
          '/** The most probable class of one row of raw features (allocates nothing). */',
          `export declare function predictClass(features: ArrayLike<number>): ${classes.map((k) => literal(k)).join(' | ')};`,
        ]
      : []),
    '',
  ].join('\n');
  return { code, declarations };
}
