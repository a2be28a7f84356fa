/**
 * A hand-written, allocation-free network: what a skilled engineer writes without a compiler.
 * Samples are addressed by offset into row-major batch arrays, so no views are needed.
 * Parameters use gradc's flat layout: per dense layer the kernel [inputs, units] row-major,
 * then the bias [units].
 */
export interface Baseline {
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly paramCount: number;
  forward(p: Float64Array, x: Float64Array, xOff: number, out: Float64Array, outOff: number): void;
  loss(p: Float64Array, x: Float64Array, xOff: number, t: Float64Array, tOff: number): number;
  /** Overwrites `grad` with dLoss/dparams for one sample and returns the loss. */
  gradient(
    p: Float64Array,
    x: Float64Array,
    xOff: number,
    t: Float64Array,
    tOff: number,
    grad: Float64Array,
  ): number;
  /** `count` forwards over row-major `inputs`, outputs row-major. */
  forwardBatch(p: Float64Array, inputs: Float64Array, outputs: Float64Array, count: number): void;
  /**
   * One SGD step on the mean gradient of the batch. Returns nothing, so the call never boxes a
   * double; the mean loss before the step lands in `lastLoss[0]`.
   */
  trainStep(
    p: Float64Array,
    inputs: Float64Array,
    targets: Float64Array,
    count: number,
    lr: number,
  ): void;
  readonly lastLoss: Float64Array;
}
