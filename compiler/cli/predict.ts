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
import { readTable } from '../training/data.ts';
import { applyNormalization, encodeTable, readMeta, type DataMeta } from '../training/encode.ts';
import { readModelFile, writeAtomic } from '../io/files.ts';
import { importCompiled } from './load.ts';

/** A compiled (or exported) JavaScript module given instead of a model file. */
const isModule = (file: string) => /\.[cm]?js$/i.test(file);

/** The module to run: a compiled one as it is (no compiler loaded), or compiled now. */
async function moduleFor(model: string): Promise<GeneratedModule> {
  if (isModule(model)) {
    try {
      return (await import(pathToFileURL(path.resolve(model)).href)) as GeneratedModule;
    } catch (e) {
      throw new GradcError(model, '<model>', `cannot import the module: ${quote(oneLine(e), 120)}`);
    }
  }
  const { compileBytes } = await import('../index.ts');
  return importCompiled(await compileBytes(readModelFile(model), model, 'js'));
}

function oneLine(e: unknown): string {
  return String((e as Error).message ?? e).split('\n')[0]!;
}

export interface PredictConfig {
  readonly model: string;
  readonly weights: string;
  readonly data: string;
  readonly out?: string;
}

export interface PredictResult {
  readonly csv: string;
  readonly count: number;
  /** Present when the data had the label / target columns. */
  readonly score?: { readonly loss: number; readonly accuracy: number; readonly mae: number };
  readonly meta: DataMeta;
}

/** RFC 4180 quoting; hand-written because it is three rules, not worth a dependency. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function num(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(7))) : String(x);
}

/** Header and rows: the predicted class and one probability column per class, or the targets. */
export function predictionsCsv(
  meta: DataMeta,
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
      const row = Array.from(outputs.subarray(r * width, (r + 1) * width));
      const k = width === 1 ? (row[0]! >= 0.5 ? 1 : 0) : row.indexOf(Math.max(...row));
      lines.push([csvField(classes[k]!), ...row.map(num)].join(','));
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
  const module = await moduleFor(cfg.model);
  const { model } = module;
  let params: FloatArray;
  try {
    params = loadWeights(cfg.weights, model);
  } catch (e) {
    if (!(e instanceof WeightsError)) throw e;
    const detail = e.message.startsWith(`${cfg.weights}: `)
      ? e.message.slice(cfg.weights.length + 2)
      : e.message;
    throw new GradcError(cfg.weights, '--weights', detail);
  }
  const meta = readMeta(cfg.weights, model);
  const table = readTable(cfg.data);
  const encoded = encodeTable(table, meta, model.outputSize);
  applyNormalization(encoded.inputs, meta);
  const outputs = predict(module, params, encoded.inputs, encoded.count);
  const csv = predictionsCsv(meta, outputs, encoded.count, model.outputSize);
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
    .action(async (model: string, o: { weights: string; data: string; out?: string }) => {
      const r = await runPredict({ model, ...o });
      const s = r.score;
      const scoreText =
        s === undefined
          ? ''
          : r.meta.classes !== undefined
            ? `accuracy ${(100 * s.accuracy).toFixed(1)}%, loss ${s.loss.toFixed(4)}`
            : `mean absolute error ${s.mae.toPrecision(4)}, loss ${s.loss.toPrecision(4)}`;
      if (o.out !== undefined) {
        writeAtomic(o.out, r.csv);
        out(
          `${r.count} predictions → ${o.out}${scoreText ? ` · ${scoreText} against the file's ${r.meta.label ?? 'targets'}` : ''}\n`,
        );
      } else {
        out(r.csv);
        // Standard output stays pure CSV; the score goes to stderr.
        if (scoreText) process.stderr.write(`gradc: ${scoreText} on ${r.count} rows\n`);
      }
    });
}
