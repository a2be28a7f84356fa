// The model-file format. zod gives validation with paths and the JSON Schema that ships in
// the package (compiler/format/model.schema.json) from one definition.
import { z } from 'zod';
import { activationNames } from '../frontend/activations.ts';
import { lossNames } from '../frontend/losses.ts';

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

const expr = z.strictObject({
  expr: z.string().describe('A formula in mathjs syntax'),
});

const names = (list: readonly string[]) => z.enum(list as [string, ...string[]]);

export const activationSchema = z
  .union([
    names(activationNames),
    z.strictObject({ name: names(activationNames), alpha: z.number().optional() }),
    expr.describe('Custom activation in x, e.g. "x / (1 + exp(-x))"'),
  ])
  .describe('Activation applied after the weighted sum');

export const lossSchema = z
  .union([
    names(lossNames),
    z.strictObject({ name: names(lossNames), delta: z.number().optional() }),
    expr.describe('Custom loss in y (prediction) and t (target), averaged over the outputs'),
  ])
  .describe('Loss for one sample');

export const layerSchema = z.strictObject({
  type: z.literal('dense').describe('Layer type (only "dense" for now)'),
  units: size('units'),
  activation: activationSchema.optional(),
  trainable: z
    .boolean()
    .optional()
    .describe('false freezes the layer: its gradient is zero and nothing is computed for it'),
});

export const modelSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1).max(LIMITS.maxNameLength).optional(),
    description: z.string().max(LIMITS.maxDescriptionLength).optional(),
    input: size('input'),
    layers: z.array(layerSchema).min(1).max(LIMITS.maxLayers),
    loss: lossSchema,
    precision: z.enum(['f64', 'f32']).optional(),
    inputGradient: z
      .boolean()
      .optional()
      .describe(
        'Also emit inputGradient(): dLoss/dinput (saliency, adversarial examples, chaining)',
      ),
  })
  .describe('A gradc model: dense layers, activations and a loss');

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
