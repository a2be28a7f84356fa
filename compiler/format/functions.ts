// Schema fragments for activations and losses: a built-in name, a name with parameters, or a
// custom mathjs expression. Shared by the model schema and by the layer records.
import { z } from 'zod';
import { activationNames } from '../frontend/activations.ts';
import { lossNames } from '../frontend/losses.ts';

export const expr = z.strictObject({
  expr: z.string().describe('A formula in mathjs syntax'),
});

export const names = (list: readonly string[]) => z.enum(list as [string, ...string[]]);

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
