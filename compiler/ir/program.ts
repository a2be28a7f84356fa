// A program is a set of named results computed from params, input and target.
import type { Node } from './node.ts';

/**
 * `dinput`: dLoss/dinput, for the optional `inputGradient` entry point. `state`: the new value
 * of a non-trainable parameter tensor (moving statistics), written into `params` at `offset`
 * after a training step. `stat`: a per-sample value whose batch mean a batched entry point
 * sums into `work[offset ..]` (one phase of batch/phases.ts).
 */
export type OutputKind = 'output' | 'loss' | 'grad' | 'dinput' | 'state' | 'stat';

export interface ProgramOutput {
  readonly kind: OutputKind;
  readonly node: Node;
  /**
   * For `grad`: where in the gradient array this parameter tensor's gradient goes; for
   * `output` and `dinput` of a model with several outputs or inputs: where in the packed array.
   */
  readonly offset?: number;
  /** For packed `output` / `dinput`: the length of the whole array. */
  readonly total?: number;
  /** `dense0.kernel` for a gradient, else the kind. */
  readonly label: string;
}

/** `trainLoss`: the training-mode loss and state updates, built only for models whose layers
 * train differently (dropout, batchNormalization); `differentiate` turns it into `gradient`. */
export type ProgramName = 'forward' | 'loss' | 'gradient' | 'inputGradient' | 'trainLoss';

export interface Program {
  readonly name: ProgramName;
  readonly outputs: readonly ProgramOutput[];
}

export interface Shapes {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly paramCount: number;
}

export function programRoots(p: Program): Node[] {
  return p.outputs.map((o) => o.node);
}

/** The same program with every output node mapped through `f` (what a pass does). */
export function mapProgram(p: Program, f: (n: Node) => Node): Program {
  return { name: p.name, outputs: p.outputs.map((o) => ({ ...o, node: f(o.node) })) };
}
