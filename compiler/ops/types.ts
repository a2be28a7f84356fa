// The shape of a primitive op record: evaluation, derivative rule and emit rule together.
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

/**
 * Where emitted code reads an argument element and writes a result element. Code may compute
 * several samples at once ("lanes", register blocking): lane `l` of an argument is sample
 * `l`'s value, except for shared arguments (weights), which every lane reads alike.
 */
export interface EmitContext {
  /** Samples computed together; 1 for per-sample code. */
  readonly lanes: number;
  /** Code reading element `index` of argument `i` for sample `lane` (default 0); `index` is a
   * constant or a loop expression. */
  arg(i: number, index: number | string, lane?: number): string;
  /** Whether argument `i` is the same for every lane (a weight or constant). */
  shared(i: number): boolean;
  /** Writes the statements storing element `index` of the result, given its value per lane. */
  store(index: number | string, exprOf: (lane: number) => string): void;
  /** Element `index` of the result for `lane`, as an assignable array slot (only for results
   * stored in arrays). */
  slot(index: number | string, lane?: number): string;
  /** Operator for the first write of a result element: `=`, or `+=` when the result is
   * added to what its array holds. */
  readonly init: '=' | '+=';
  /** The result is one array that all lanes add into (a batch's gradient): lane sums go in
   * one statement. */
  readonly summed: boolean;
  /** Append a line of code at the current indentation. */
  line(code: string): void;
  indent(): void;
  dedent(): void;
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
  /** JS expression for one element from the argument expressions (identifiers or literals). */
  expr(...xs: string[]): string;
}

export interface ReduceOp extends OpBase {
  readonly kind: 'reduce';
  readonly init: string;
  combine(acc: string, x: string): string;
  /** One expression over all elements, for unrolled code. */
  combineAll(xs: readonly string[]): string;
}

export interface LinalgOp extends OpBase {
  readonly kind: 'linalg';
  /** Scalar multiply-adds: the cost the scheduler weighs. */
  cost(attrs: Attrs): number;
  /** The longest dot product inside: large ones are emitted as loops. */
  fanIn(attrs: Attrs): number;
  emitUnrolled(ctx: EmitContext, attrs: Attrs): void;
  emitLoop(ctx: EmitContext, attrs: Attrs): void;
}

/**
 * Ops over shaped tensors whose code is a loop nest (convolutions, windowed reductions):
 * the record holds the math; `compiler/lower/` turns each into loop IR, and a backend
 * renders that. Always scheduled as loops.
 */
export interface StructuredOp extends OpBase {
  readonly kind: 'structured';
  /** Scalar multiply-adds (or comparisons): the cost the scheduler weighs. */
  cost(node: Node): number;
}

export type OpDef = LeafOp | ViewOp | ElementwiseOp | ReduceOp | LinalgOp | StructuredOp;
