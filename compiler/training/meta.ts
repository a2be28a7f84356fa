// The `.meta.json` file `gradc train` writes beside the weights: how to read new data (columns,
// normalization, classes) and what it belongs to. zod validates every field on load (the
// file may have been edited or damaged), then `checkBinding` ties it to the model and to the
// weights file:
// - `modelHash`: SHA-256 of the model's meaning: the input shape; for every layer its type, its
//   validated options (canonical JSON: kernel size, strides, padding, units, ...), its input
//   and output shapes and its activation with parameters or expression; the loss with its
//   parameters or expression; the precision. Names (of the model and its layers),
//   description, `trainable` and `inputGradient` do not change what the weights compute and
//   are not covered.
// - `layoutHash`: the weights header's hash (runtime/weights.ts: parameter names, shapes and
//   offsets, each layer's activation name and the loss name).
// - `weights.sha256` / `weights.bytes`: the exact weights file written with it. The metadata
//   is renamed after the weights, so a run killed between the two renames (or weights copied
//   from another run) is detected on load instead of pairing new weights with old columns.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { layoutHash, type ModelInfo } from '@gradc/runtime';
import { escapeText, GradcError, hasControls, jsonPath, quote } from '../format/errors.ts';
import type { ModelSpec } from '../format/model.ts';
import { readBounded } from '../io/read.ts';

export const META_FORMAT = 'gradc-train-meta';
export const META_VERSION = 2;
/** A metadata file lists columns and classes; 64 MB holds millions of them. */
const MAX_META_BYTES = 64 << 20;

const hex = (digits: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${digits}}$`), `must be ${digits} lowercase hex digits`);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const name = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => !hasControls(s, true), 'must not hold control characters');
const unique = (what: string) =>
  z.array(name).refine((a) => new Set(a).size === a.length, `${what} must not repeat`);

export const metaSchema = z
  .strictObject({
    format: z.literal(META_FORMAT),
    version: z.literal(META_VERSION),
    model: z.string(),
    modelHash: hex(64),
    layoutHash: hex(16),
    weights: z.strictObject({
      bytes: z.number().int().nonnegative(),
      sha256: hex(64),
    }),
    features: unique('feature names').min(1),
    normalize: z
      .strictObject({
        mean: z.array(finite),
        std: z.array(finite.refine((v) => v > 0, 'must be greater than 0')),
      })
      .nullable(),
    label: name.optional(),
    classes: unique('class names').min(2, 'must list at least 2 classes').optional(),
    targets: unique('target names').min(1).optional(),
  })
  .superRefine((m, ctx) => {
    const classifier = m.label !== undefined || m.classes !== undefined;
    if (classifier && (m.label === undefined || m.classes === undefined))
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'label and classes go together' });
    if (classifier === (m.targets !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'give either label and classes (classification) or targets (regression)',
      });
    for (const key of ['mean', 'std'] as const) {
      const list = m.normalize?.[key];
      if (list !== undefined && list.length !== m.features.length)
        ctx.addIssue({
          code: 'custom',
          path: ['normalize', key],
          message: `has ${list.length} entries for ${m.features.length} features`,
        });
    }
  });

export type DataMeta = z.infer<typeof metaSchema>;

/** What planColumns decides before the weights exist. */
export type ColumnMeta = Omit<DataMeta, 'weights'>;

/** The sidecar of a weights file. */
export function metaPath(weights: string): string {
  return `${weights}.meta.json`;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** JSON with every object's keys sorted, so equal options hash equally in any key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/** SHA-256 of what changes the meaning of a model's weights (see the file comment). */
export function modelHash(spec: ModelSpec): string {
  const fn = (f: ModelSpec['loss']) => ({ name: f.name, params: f.params, expr: f.expr ?? null });
  return sha256(
    canonicalJson({
      inputShape: spec.inputShape,
      layers: spec.layers.map((l) => {
        // Every validated option (kernel size, strides, padding, pool size, axis, epsilon,
        // target shape, use of a bias, ...) but those that only name or freeze the layer.
        const { name: _name, trainable: _trainable, ...options } = l.options;
        return {
          type: l.type,
          options,
          inputShape: l.inputShape,
          outputShape: l.outputShape,
          activation: fn(l.activation),
        };
      }),
      loss: fn(spec.loss),
      precision: spec.precision,
    }),
  );
}

export function layoutHex(model: ModelInfo): string {
  return layoutHash(model).toString(16).padStart(16, '0');
}

/** The metadata text for `columns` and the encoded weights it is written with. */
export function metaText(columns: ColumnMeta, weights: Uint8Array): string {
  const meta: DataMeta = {
    ...columns,
    weights: { bytes: weights.length, sha256: sha256(weights) },
  };
  return `${JSON.stringify(meta, null, 2)}\n`;
}

function zodWhere(issue: z.core.$ZodIssue): string {
  return jsonPath(issue.path.map((p) => (typeof p === 'number' ? p : String(p))));
}

/** Reads and validates `<weights>.meta.json` (structure and content, not yet the binding). */
export function readMeta(weights: string, option = '--weights'): DataMeta {
  const file = metaPath(weights);
  let json: unknown;
  try {
    const text = readBounded(file, option, { bytes: MAX_META_BYTES }).toString('utf8');
    json = JSON.parse(text);
  } catch (e) {
    if (e instanceof GradcError && !e.detail.startsWith('cannot read')) throw e;
    const why = e instanceof GradcError ? e.detail : 'not valid JSON';
    throw new GradcError(
      file,
      option,
      `cannot read the column description that gradc train writes beside the weights (${why})`,
    );
  }
  const r = metaSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const top = json as { format?: unknown; version?: unknown } | null;
    if (top === null || typeof top !== 'object' || top.format !== META_FORMAT)
      throw new GradcError(file, '$', `not a ${META_FORMAT} file`);
    if (top.version !== META_VERSION)
      throw new GradcError(
        file,
        '$.version',
        `version ${quote(String(top.version))} is not ${META_VERSION}; train again with this gradc`,
      );
    // zod quotes unknown keys from the file: escape them.
    throw new GradcError(file, zodWhere(issue), escapeText(issue.message.replace(/\s+/g, ' ')));
  }
  return r.data;
}

/**
 * Ties validated metadata to the model and to the weights bytes; throws a one-line error
 * saying which binding does not hold.
 */
export function checkBinding(
  meta: DataMeta,
  file: string,
  /** Absent for a compiled module (no model file): then the layout hash is the binding. */
  spec: ModelSpec | undefined,
  model: ModelInfo,
  weights: Uint8Array,
): void {
  const fail = (where: string, detail: string) => {
    throw new GradcError(file, where, detail);
  };
  if (
    (spec !== undefined && meta.modelHash !== modelHash(spec)) ||
    meta.layoutHash !== layoutHex(model)
  )
    fail('$.modelHash', `was written for a different model than ${quote(model.name)}`);
  if (meta.features.length !== model.inputSize)
    fail(
      '$.features',
      `${meta.features.length} features, but the model takes ${model.inputSize} inputs`,
    );
  if (meta.classes !== undefined) {
    const fits =
      meta.classes.length === model.outputSize ||
      (model.outputSize === 1 && meta.classes.length === 2);
    if (!fits)
      fail(
        '$.classes',
        `${meta.classes.length} classes, but the model has ${model.outputSize} outputs`,
      );
  }
  if (meta.targets !== undefined && meta.targets.length !== model.outputSize)
    fail(
      '$.targets',
      `${meta.targets.length} targets, but the model has ${model.outputSize} outputs`,
    );
  if (meta.weights.bytes !== weights.length || meta.weights.sha256 !== sha256(weights))
    fail(
      '$.weights.sha256',
      'the weights file is not the one written with this file (an interrupted or separate write?); train again or restore both files',
    );
}
