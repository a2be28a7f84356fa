// What a layer record is. One file per layer type holds its schema fragment (TF.js Layers
// factory name, camelCase options, TF.js defaults), its weight tensors, its shape rule and
// its build into IR. Nothing outside compiler/layers/ names a layer type.
import type { z } from 'zod';
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import type { FunctionSpec } from '../format/model.ts';
import type { InitKind, ParamRole } from '@gradc/runtime';

/** A weight tensor a layer owns, in TF.js `getWeights()` order. */
export interface WeightSpec {
  /** TF.js weight name: `kernel`, `bias`, `gamma`, ... */
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: ParamRole;
  readonly init: InitKind;
  /** Fan-in and fan-out for variance-scaling initializers (TF's receptive-field rule). */
  readonly fanIn: number;
  readonly fanOut: number;
  /** False for state such as moving statistics: never differentiated, never optimized. */
  readonly trainable?: boolean;
}

/** A layer's shapes, known before anything is built (limits and errors come from these). */
export interface LayerShapes {
  readonly outputShape: readonly number[];
  readonly weights: readonly WeightSpec[];
}

/** Thrown by a shape rule: `path` is relative to the layer object (`["kernelSize"]`). */
export class LayerError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

export interface BuildContext {
  readonly B: Builder;
  /** The layer's input (one sample); its first input for a merge layer. */
  readonly x: Node;
  /** All of the layer's inputs, in the order its `inputs` names them. */
  readonly xs: readonly Node[];
  /** The layer's weights by TF.js name, as declared by `shapes`. */
  readonly weights: Readonly<Record<string, Node>>;
  readonly outputShape: readonly number[];
  /** The layer's activation (linear when it has none), as IR applied to `z`. */
  activate(z: Node): Node;
  /** Names the layer's intermediate values in the generated code (`z0`, `a0`). */
  named(n: Node, role: string): Node;
}

/** What a training-mode build gets beyond the inference build's context. */
export interface TrainContext extends BuildContext {
  /** A number unique to this layer in the model: it keys the layer's dropout masks. */
  readonly salt: number;
}

/** A training-mode build: the output, and new values for the layer's state tensors. */
export interface TrainBuild {
  readonly y: Node;
  /** Non-trainable weights (by TF.js name) and what a training step writes into them. */
  readonly state?: Readonly<Record<string, Node>>;
}

/** The fields every layer has, whatever its type. */
export interface CommonOptions {
  readonly type: string;
  readonly name?: string;
  readonly inputs?: readonly string[];
  readonly trainable?: boolean;
}

export interface LayerRecord<S extends z.ZodType = z.ZodType> {
  /** TF.js Layers factory name. */
  readonly type: string;
  /** One line for the README's layer table and the JSON Schema. */
  readonly doc: string;
  /** The layer object as written in a model file (`type` literal included). */
  readonly schema: S;
  /** Whether the layer takes an `activation` option (dense, conv...). */
  readonly activation: 'optional' | 'required' | 'none';
  /** `many` for merge layers (two inputs or more); others take exactly one. */
  readonly inputs?: 'many';
  /** The activation when the layer object names none (default linear; tanh for recurrences). */
  readonly defaultActivation?: string;
  /** False when the layer's output is not `activation(z)` (a recurrent layer's h): a loss
   * must not pair with the activation then (BCE after sigmoid skips its clipping). */
  readonly outputIsActivation?: boolean;
  /**
   * Shape rule: output shape and weights for an input shape (the first input's, and all of
   * them in `inputShapes`), or a LayerError.
   */
  shapes(
    options: z.output<S>,
    inputShape: readonly number[],
    inputShapes: readonly (readonly number[])[],
  ): LayerShapes;
  /** Forward build into IR for one sample (inference mode). */
  build(ctx: BuildContext, options: z.output<S>): Node;
  /**
   * The training-mode build (`gradient`, `gradientBatch`), for layers that differ there
   * (dropout's mask, batch statistics); layers without it train as they infer.
   */
  train?(ctx: TrainContext, options: z.output<S>): TrainBuild;
  /** A short description for section comments and reports (`conv2d 3×3×8, same`). */
  describe(options: z.output<S>, inputShape: readonly number[]): string;
}

/** Type-erased record, for the registry. */
export type AnyLayerRecord = LayerRecord<z.ZodType>;

/** Keeps each record's option type checked against its own schema. */
export function defineLayer<S extends z.ZodType>(r: LayerRecord<S>): AnyLayerRecord {
  return r as unknown as AnyLayerRecord;
}

export type { FunctionSpec };
