// The validated, normalized form of a model file that the rest of the compiler consumes.
import type { WeightSpec } from '../layers/types.ts';
import type { Expr } from './expr.ts';

export interface FunctionSpec {
  /** A built-in name, or `custom` for an expression. */
  readonly name: string;
  /** Parameters with defaults filled in (`alpha`, `delta`). */
  readonly params: Readonly<Record<string, number>>;
  readonly expr?: Expr;
}

export interface LayerSpec {
  /** TF.js Layers type name; the layer registry holds what it means. */
  readonly type: string;
  /** `dense0`, `conv2d1`, or the name given in the file. */
  readonly name: string;
  /** The layer object as validated by its record's schema. */
  readonly options: Readonly<Record<string, unknown>> & { readonly type: string };
  /** Elements of the layer's output for one sample. */
  readonly units: number;
  /** The layers or model inputs it takes, by name (one, except for merge layers). */
  readonly inputs: readonly string[];
  /** Shape of its first input. */
  readonly inputShape: readonly number[];
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShape: readonly number[];
  readonly weights: readonly WeightSpec[];
  /** Linear for layers without an activation. */
  readonly activation: FunctionSpec;
  /** False freezes the layer: zero gradient, no backward work for it. */
  readonly trainable: boolean;
}

/** One named part of the packed input or output array of one sample. */
export interface TensorSlot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** A model output: a layer's result at its place in `output` and `target`, with its loss. */
export interface OutputSpec extends TensorSlot {
  readonly loss: FunctionSpec;
  /** Factor of its loss in the total (Keras lossWeights). */
  readonly weight: number;
  /** The output layer's activation name (losses pair with sigmoid / softmax). */
  readonly activation: string;
}

export interface ModelSpec {
  readonly name: string;
  readonly description?: string;
  /** Elements of one input sample (all inputs, packed). */
  readonly input: number;
  /** Shape of one input sample (channels-last); `[n]` for a vector or for packed inputs. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Model inputs in declared order, packed into `input`; one called `input` by default. */
  readonly inputs: readonly TensorSlot[];
  /** Model outputs in declared order, packed into `output` and `target`. */
  readonly outputs: readonly OutputSpec[];
  readonly layers: readonly LayerSpec[];
  /** The loss of a single output; `weightedSum` (no expression) for several outputs. */
  readonly loss: FunctionSpec;
  readonly precision: 'f64' | 'f32';
  /** Emit `inputGradient` as well. */
  readonly inputGradient: boolean;
}
