// Window arithmetic shared by the layers' shape rules (what a model file may say) and the ops'
// shape rules. No imports: `gradc schema` and validation load it without the compiler.

/** Output extent of one axis: the positions where a dilated window fits in the padded input. */
export function outExtent(
  input: number,
  k: number,
  stride: number,
  dilation: number,
  before: number,
  after: number,
): number {
  return Math.floor((input + before + after - dilation * (k - 1) - 1) / stride) + 1;
}
