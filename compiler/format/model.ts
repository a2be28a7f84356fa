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
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly weights: readonly WeightSpec[];
  /** Linear for layers without an activation. */
  readonly activation: FunctionSpec;
  /** False freezes the layer: zero gradient, no backward work for it. */
  readonly trainable: boolean;
}

export interface ModelSpec {
  readonly name: string;
  readonly description?: string;
  /** Elements of one input sample. */
  readonly input: number;
  /** Shape of one input sample (channels-last); `[n]` for a vector. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly layers: readonly LayerSpec[];
  readonly loss: FunctionSpec;
  readonly precision: 'f64' | 'f32';
  /** Emit `inputGradient` as well. */
  readonly inputGradient: boolean;
  /** Backend of the batched entry points (`auto` is `js` today). Absent means `auto`. */
  readonly backend?: 'auto' | 'js' | 'wasm';
}
