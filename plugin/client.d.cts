// Types of `*.model.json?gradc` imports for TypeScript: add "gradc/plugin/client" to
// `compilerOptions.types` (or `/// <reference types="gradc/plugin/client" />`). The exact
// sizes are only known once the model is compiled; these are the shapes every module has.
// A .d.cts file, so that it is a script (in a "type": "module" package every .d.ts is a
// module, where a wildcard `declare module` is not allowed).
declare module '*?gradc' {
  import type { FloatArray, ModelInfo } from '@gradc/runtime';
  export const model: ModelInfo;
  /** Instantiates the module's WebAssembly (resolves at once for a JS-only module): await it
   * before the first call. */
  export function init(options?: { relaxedSimd?: boolean }): Promise<void>;
  /** A zeroed array in the module's memory (a plain typed array for a JS-only module). */
  export function alloc(length: number): FloatArray;
  export function forward(
    params: FloatArray,
    input: FloatArray,
    output: FloatArray,
    work: FloatArray,
  ): void;
  export function loss(
    params: FloatArray,
    input: FloatArray,
    target: FloatArray,
    work: FloatArray,
  ): number;
  export function gradient(
    params: FloatArray,
    input: FloatArray,
    target: FloatArray,
    grad: FloatArray,
    work: FloatArray,
  ): number;
  export function forwardBatch(
    params: FloatArray,
    inputs: FloatArray,
    outputs: FloatArray,
    count: number,
    work: FloatArray,
  ): void;
  export function gradientBatch(
    params: FloatArray,
    inputs: FloatArray,
    targets: FloatArray,
    count: number,
    grad: FloatArray,
    work: FloatArray,
  ): number;
}
