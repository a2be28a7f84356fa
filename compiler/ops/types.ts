// The shape of a primitive op record: evaluation, shape rule, derivative rule and traits.
// Math only: how an op becomes code is in `compiler/lower/` and `compiler/backends/`.
import type { Attrs, Node } from '../ir/node.ts';
import type { Builder } from '../ir/builder.ts';

export type OpKind = 'leaf' | 'view' | 'elementwise' | 'reduce' | 'linalg' | 'structured';

export interface VjpContext {
  readonly B: Builder;
  /** The node being differentiated. Derivative rules may reuse it (`exp' = y`). */
  readonly y: Node;
  readonly args: readonly Node[];
  /** Cotangent of `y`: same size as `y`, or size 1 meaning "the same value everywhere". */
  readonly ct: Node;
  /** `needs[i]` is false when arg i leads to no requested gradient: build nothing for it. */
  readonly needs: readonly boolean[];
}

interface OpBase {
  readonly name: string;
  readonly kind: OpKind;
  /** Number of arguments; for a variadic op, the least number. */
  readonly arity: number;
  /** Takes `arity` or more arguments (concat). */
  readonly variadic?: boolean;
  readonly commutative?: boolean;
  /** False for ops with kinks or steps: their derivative is a documented subgradient. */
  readonly smooth: boolean;
  readonly doc: string;
  /**
   * Batching rule (batch/axis.ts): `row` for a leaf that holds one row per sample (the input,
   * the target, a sample's dropout mask), `mean` for an op whose result is the mean over the
   * batch axis (batchMean). Absent: a leaf is shared by every sample, any other op's result
   * has the batch axis when one of its arguments has it.
   */
  readonly batch?: 'row' | 'mean';
  /** Result shape (row-major), or throws with what is wrong: the op's shape rule. */
  shape(args: readonly Node[], attrs: Attrs): readonly number[];
  /** Evaluation for the graph interpreter (f64, row-major); `shapes` are the arguments'. */
  evaluate(
    args: readonly Float64Array[],
    attrs: Attrs,
    out: Float64Array,
    shapes: readonly (readonly number[])[],
  ): void;
  /** Reverse-mode rule: one cotangent per argument, or null for "no contribution". */
  vjp(ctx: VjpContext): (Node | null)[];
}

export interface LeafOp extends OpBase {
  readonly kind: 'leaf';
}

/** Ops that produce no code: reading them reads (part of) their argument. */
export interface ViewOp extends OpBase {
  readonly kind: 'view';
}

export interface ElementwiseOp extends OpBase {
  readonly kind: 'elementwise';
  scalar(...xs: number[]): number;
}

export interface ReduceOp extends OpBase {
  readonly kind: 'reduce';
}

export interface LinalgOp extends OpBase {
  readonly kind: 'linalg';
  /** Scalar multiply-adds: the cost the scheduler weighs. */
  cost(node: Node): number;
  /** The longest dot product inside: large ones are emitted as loops. */
  fanIn(node: Node): number;
}

/**
 * Ops over shaped tensors whose code is a loop nest (convolutions, windowed reductions):
 * the record holds the math; `compiler/lower/` turns each into loop IR, and a backend
 * renders that. Always scheduled as loops.
 */
export interface StructuredOp extends OpBase {
  readonly kind: 'structured';
  /**
   * Its kernel clears its result in its first statement and only adds (`+=`) after that, so
   * where the result is added into a sum (a batch's gradient) the clear is left out and the
   * kernel writes in place: the work is the rows it touches, not the whole result.
   */
  readonly scatter?: boolean;
  /** Scalar multiply-adds (or comparisons): the cost the scheduler weighs. */
  cost(node: Node): number;
}

export type OpDef = LeafOp | ViewOp | ElementwiseOp | ReduceOp | LinalgOp | StructuredOp;
