// `gradc predict`: run trained weights over a CSV/JSON file. Columns are found by the names
// `gradc train` recorded in the weights' sidecar, so extra columns (an id, the label) are
// ignored; when the label or target columns are present, the score is printed too.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import {
  evaluate,
  loadWeights,
  predict,
  WeightsError,
  type FloatArray,
  type GeneratedModule,
} from '@gradc/runtime';
import { GradcError, quote } from '../format/errors.ts';
import type { ModelSpec } from '../format/model.ts';
import { MAX_DATA_BYTES, readTable, rowError } from '../training/data.ts';
import {
  applyNormalization,
  encodeTable,
  type Columns,
  type DataMeta,
} from '../training/encode.ts';
import { checkBinding, metaPath, readMeta } from '../training/meta.ts';
import { checkOutputs, readModelFile, writeAtomic } from '../io/files.ts';
import { decodeWeightsFile, readWeightsBytes } from '../training/weights-file.ts';
import { wroteLine } from '../io/report-line.ts';
import { importCompiled } from './load.ts';

/** A compiled (or exported) JavaScript module given instead of a model file. */
const isModule = (file: string) => /\.[cm]?js$/i.test(file);

/** The module to run: a compiled one as it is (no compiler loaded), or compiled now. */
/** The module to run, and the model spec when `model` is a model file (a compiled module
 * carries only its metadata, so its weights are bound by their layout hash alone). */
async function moduleFor(model: string): Promise<{ module: GeneratedModule; spec?: ModelSpec }> {
  if (isModule(model)) {
    try {
      const module = (await import(pathToFileURL(path.resolve(model)).href)) as GeneratedModule;
      await module.init?.();
      return { module };
    } catch (e) {
      throw new GradcError(model, '<model>', `cannot import the module: ${quote(oneLine(e), 120)}`);
    }
  }
  const { compileBytes } = await import('../index.ts');
  const compiled = await compileBytes(readModelFile(model), model, 'js');
  return { module: await importCompiled(compiled), spec: compiled.c.spec };
}

function oneLine(e: unknown): string {
  return String((e as Error).message ?? e).split('\n')[0]!;
}

export interface PredictConfig {
  readonly model: string;
  readonly weights: string;
  readonly data: string;
  readonly out?: string;
  /** Bound on the data file (default MAX_DATA_BYTES). */
  readonly maxDataBytes?: number;
}

export interface PredictResult {
  readonly csv: string;
  readonly count: number;
  /** Present when the data had the label / target columns. */
  readonly score?: { readonly loss: number; readonly accuracy: number; readonly mae: number };
  readonly meta: DataMeta;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * RFC 4180 quoting, plus the usual defence against formula injection: a cell a spreadsheet
 * would evaluate (starting with `=`, `+`, `-`, `@`, a tab or a carriage return, and not a plain
 * number like `-1.5`) gets a leading `'` and is quoted, so Excel, LibreOffice and Sheets show
 * it as text. Hand-written because it is four rules, not worth a dependency.
 */
export function csvField(s: string): string {
  const formula = /^[=+\-@\t\r]/.test(s) && !NUMBER.test(s);
  const text = formula ? `'${s}` : s;
  return formula || /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(7))) : String(x);
}

/** Index of the largest entry of `out[from, from + width)` (a loop: no spread of a long row). */
function argmax(out: FloatArray, from: number, width: number): number {
  let k = 0;
  for (let j = 1; j < width; j++) if (out[from + j]! > out[from + k]!) k = j;
  return k;
}

/** Header and rows: the predicted class and one probability column per class, or the targets. */
export function predictionsCsv(
  meta: Columns,
  outputs: FloatArray,
  count: number,
  width: number,
): string {
  const lines: string[] = [];
  const classes = meta.classes;
  if (classes !== undefined) {
    // One sigmoid output is the probability of the second class.
    const probs = width === 1 ? [classes[1]!] : classes;
    lines.push(['predicted', ...probs.map((c) => `p(${c})`)].map(csvField).join(','));
    for (let r = 0; r < count; r++) {
      const k = width === 1 ? (outputs[r]! >= 0.5 ? 1 : 0) : argmax(outputs, r * width, width);
      const cells = [csvField(classes[k]!)];
      for (let j = 0; j < width; j++) cells.push(num(outputs[r * width + j]!));
      lines.push(cells.join(','));
    }
  } else {
    lines.push((meta.targets ?? []).map(csvField).join(','));
    for (let r = 0; r < count; r++) {
      lines.push(Array.from(outputs.subarray(r * width, (r + 1) * width), num).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function runPredict(cfg: PredictConfig): Promise<PredictResult> {
  const outputs = cfg.out !== undefined ? [{ file: cfg.out, option: '--out' }] : [];
  checkOutputs(
    [
      { file: cfg.model, option: '<model>' },
      { file: cfg.weights, option: '--weights' },
      { file: metaPath(cfg.weights), option: '--weights (.meta.json)' },
      { file: cfg.data, option: '--data' },
    ],
    outputs,
  );
  const { module, spec } = await moduleFor(cfg.model);
  const { model } = module;
  const bytes = readWeightsBytes(cfg.weights, '--weights', model);
  const meta = readMeta(cfg.weights);
  const params = decodeWeightsFile(cfg.weights, '--weights', bytes, model);
  checkBinding(meta, metaPath(cfg.weights), spec, model, bytes);
  const table = readTable(cfg.data, cfg.maxDataBytes);
  const encoded = encodeTable(table, meta, model.outputSize);
  applyNormalization(encoded.inputs, meta, (r, f) =>
    rowError(
      table,
      r,
      `column ${quote(f)}: the value cannot be standardized with the training rows' mean and deviation (it overflows)`,
    ),
  );
  const out = predict(module, params, encoded.inputs, encoded.count);
  const width = model.outputSize;
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) {
      throw rowError(
        table,
        Math.floor(i / width),
        `the model's output ${i % width} is ${out[i]} (the weights or this row are out of range); no predictions written`,
      );
    }
  }
  const csv = predictionsCsv(meta, out, encoded.count, width);
  const score =
    encoded.targets !== undefined && encoded.count > 0
      ? evaluate(module, params, {
          inputs: encoded.inputs,
          targets: encoded.targets,
          count: encoded.count,
        })
      : undefined;
  return { csv, count: encoded.count, meta, ...(score !== undefined ? { score } : {}) };
}

function positiveInt(option: string, v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1)
    throw new GradcError(option, v, 'must be an integer ≥ 1');
  return n;
}

export function registerPredict(program: Command, out: (s: string) => void): void {
  program
    .command('predict')
    .description('run trained weights over a CSV or JSON data file; prints CSV predictions')
    .argument('<model>', 'model file (JSON), or a module compiled from it (.js, .mjs, .cjs)')
    .requiredOption(
      '--weights <file>',
      'weights written by gradc train (with its .meta.json beside it)',
    )
    .requiredOption('--data <file>', 'CSV with a header line, or a JSON array of records')
    .option('--out <file>', 'write the predictions here instead of standard output')
    .option('--max-data-bytes <n>', 'refuse larger data files', String(MAX_DATA_BYTES))
    .option('--quiet', 'with --out, print nothing on success')
    .action(
      async (
        model: string,
        o: { weights: string; data: string; out?: string; maxDataBytes: string; quiet?: boolean },
      ) => {
        const r = await runPredict({
          model,
          weights: o.weights,
          data: o.data,
          ...(o.out !== undefined ? { out: o.out } : {}),
          maxDataBytes: positiveInt('--max-data-bytes', o.maxDataBytes),
        });
        const s = r.score;
        const scoreText =
          s === undefined
            ? ''
            : r.meta.classes !== undefined
              ? `accuracy ${(100 * s.accuracy).toFixed(1)}%, loss ${s.loss.toFixed(4)}`
              : `mean absolute error ${s.mae.toPrecision(4)}, loss ${s.loss.toPrecision(4)}`;
        if (o.out !== undefined) {
          writeAtomic(o.out, r.csv, '--out');
          if (!o.quiet) {
            const against = scoreText
              ? ` · ${scoreText} against the file's ${r.meta.label !== undefined ? quote(r.meta.label) : 'targets'}`
              : '';
            out(`${wroteLine([o.out]).trimEnd()}: ${r.count} predictions${against}\n`);
          }
        } else {
          out(r.csv);
          // Standard output stays pure CSV; the score goes to stderr.
          if (scoreText) process.stderr.write(`gradc: ${scoreText} on ${r.count} rows\n`);
        }
      },
    );
}
