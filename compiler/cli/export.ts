// `gradc export`: model + trained weights (+ their .meta.json) → one standalone module with
// `predict(features, out?)`; see compiler/emit/export.ts.
import path from 'node:path';
import { loadWeights, WeightsError, type ModelInfo } from '@gradc/runtime';
import { compileBytes, declarationsPathFor, formatFor } from '../index.ts';
import { exportModule } from '../emit/export.ts';
import { modelInfo } from '../emit/module.ts';
import { GradcError } from '../format/errors.ts';
import { checkOutputPath, readModelFile, writeAtomic } from '../io/files.ts';
import fs from 'node:fs';
import { checkBinding, metaPath, readMeta } from '../training/meta.ts';

export interface ExportConfig {
  readonly model: string;
  readonly weights: string;
  readonly out: string;
}

/** Writes the module (and its .d.ts for JavaScript); returns the files written. */
export async function runExport(cfg: ExportConfig): Promise<string[]> {
  const format = formatFor(cfg.out);
  const dts = format === 'ts' ? undefined : declarationsPathFor(cfg.out);
  checkOutputPath(cfg.out, cfg.model);
  if (dts !== undefined) checkOutputPath(dts, cfg.model);
  const compiled = await compileBytes(readModelFile(cfg.model), cfg.model, format);
  // The same description of the model the compiled module exports as `model`.
  const info = modelInfo(compiled.c, compiled.workSize) as unknown as ModelInfo;
  let params;
  try {
    params = loadWeights(cfg.weights, info);
  } catch (e) {
    if (!(e instanceof WeightsError)) throw e;
    const detail = e.message.startsWith(`${cfg.weights}: `)
      ? e.message.slice(cfg.weights.length + 2)
      : e.message;
    throw new GradcError(cfg.weights, '--weights', detail);
  }
  const meta = readMeta(cfg.weights);
  // The pair must belong together and to this model, as for predict.
  checkBinding(meta, metaPath(cfg.weights), compiled.c.spec, info, fs.readFileSync(cfg.weights));
  const { code, declarations } = exportModule({
    compiled,
    format,
    params,
    columns: meta,
    weightsSource: path.basename(cfg.weights),
  });
  if (dts !== undefined && declarations !== undefined) writeAtomic(dts, declarations);
  writeAtomic(cfg.out, code);
  return dts !== undefined ? [cfg.out, dts] : [cfg.out];
}
