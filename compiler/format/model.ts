// The validated, normalized form of a model file that the rest of the compiler consumes.
import type { Expr } from './expr.ts';

export interface FunctionSpec {
  /** A built-in name, or `custom` for an expression. */
  readonly name: string;
  /** Parameters with defaults filled in (`alpha`, `delta`). */
  readonly params: Readonly<Record<string, number>>;
  readonly expr?: Expr;
}

export interface LayerSpec {
  readonly type: 'dense';
  readonly units: number;
  readonly activation: FunctionSpec;
  /** False freezes the layer: zero gradient, no backward work for it. */
  readonly trainable: boolean;
}

export interface ModelSpec {
  readonly name: string;
  readonly description?: string;
  readonly input: number;
  readonly layers: readonly LayerSpec[];
  readonly loss: FunctionSpec;
  readonly precision: 'f64' | 'f32';
  /** Emit `inputGradient` as well. */
  readonly inputGradient: boolean;
}

export function paramCountOf(input: number, units: readonly number[]): number {
  let count = 0;
  let fanIn = input;
  for (const u of units) {
    count += fanIn * u + u;
    fanIn = u;
  }
  return count;
}

/** Upper estimate of `workSize` from the shapes alone (checked before compiling): 4 slots per
 * input and unit; the memory planner needs at most about 2.5 per unit on dense networks. */
export function workEstimate(input: number, units: readonly number[]): number {
  let total = input;
  for (const u of units) total += u;
  return 4 * total;
}
