// The model-file format. zod gives validation with paths and the JSON Schema that ships in
// the package (compiler/format/model.schema.json) from one definition.
import { z } from 'zod';
import { layerSchema } from '../layers/registry.ts';
import { lossSchema } from './functions.ts';

export const LIMITS = {
  maxUnits: 1_000_000,
  maxLayers: 64,
  /** Refused before anything is allocated: 20M f64 parameters are 160 MB per array. */
  maxParams: 20_000_000,
  /**
   * Refused before anything is allocated: an upper estimate of the `work` array, 4 slots per
   * unit and input (measured: the planner needs at most ~2.5 per unit for dense networks).
   */
  maxWork: 16_000_000,
  /**
   * Checked on what is built (compiler/cost.ts): IR operations of one custom expression with
   * its derivative, of the whole differentiated model, and scalar operations in the emitted
   * code (the real `work` plan is checked against maxWork there too).
   */
  maxExprNodes: 2_000,
  maxIrNodes: 200_000,
  maxStatements: 250_000,
  maxNameLength: 200,
  maxDescriptionLength: 10_000,
} as const;

const size = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    // Range before integrality: 1e300 is "too large", not "not a whole number".
    .min(1, { error: `${what} must be at least 1` })
    .max(LIMITS.maxUnits, { error: `${what} must be at most ${LIMITS.maxUnits}` })
    .int({ error: `${what} must be a whole number` });

const shape = z
  .array(size('input'))
  .min(1)
  .max(4)
  .describe('Shape of one sample, channels-last: [28, 28, 1] for an image, [steps, features]');

const sampleShape = z.union([size('input'), shape]);

const output = z.strictObject({
  layer: z.string().min(1).describe('Name of the layer whose output this is'),
  loss: lossSchema,
  weight: z
    .number({ error: 'weight must be a number' })
    .positive({ error: 'weight must be greater than 0' })
    .max(1e6, { error: 'weight must be at most 1000000' })
    .optional()
    .describe('Factor of this loss in the total (default 1, as Keras lossWeights)'),
});

export const modelSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1).max(LIMITS.maxNameLength).optional(),
    description: z.string().max(LIMITS.maxDescriptionLength).optional(),
    input: z
      .union([size('input'), shape, z.record(z.string(), sampleShape)])
      .describe(
        'Input size (a vector), the shape of one sample, or named inputs {"image": [28, 28, 1], "meta": [4]} packed in this order',
      ),
    layers: z.array(layerSchema).min(1).max(LIMITS.maxLayers),
    loss: lossSchema.optional(),
    outputs: z
      .array(output)
      .min(1)
      .max(LIMITS.maxLayers)
      .optional()
      .describe(
        'Model outputs, each with its loss (then no top-level loss); packed in this order. Default: the last layer',
      ),
    precision: z.enum(['f64', 'f32']).optional(),
    inputGradient: z
      .boolean()
      .optional()
      .describe(
        'Also emit inputGradient(): dLoss/dinput (saliency, adversarial examples, chaining)',
      ),
  })
  .describe('A gradc model: a list of layers (TF.js Layers names and options) and a loss');

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A model as written in a file or passed to `defineModel` (readonly, so `as const` works). */
export type ModelInput = DeepReadonly<z.input<typeof modelSchema>>;

export function modelJsonSchema(): unknown {
  return z.toJSONSchema(modelSchema, { target: 'draft-2020-12' });
}
