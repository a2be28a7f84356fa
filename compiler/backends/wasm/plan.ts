// What the WebAssembly backend computes, and where: the batched entry points of a stack of
// dense layers, one layer at a time over chunks of CHUNK samples. Each layer's contraction
// (forward, kernel gradient, bias gradient, backward) is one gemm kernel with a fused
// bias/relu epilogue; the last layer's activation and the loss (rare, tiny: a softmax of 10)
// stay in JavaScript, compiled by the ordinary pipeline as a "head" model so their math and
// derivative are the compiler's own. Everything else stays on the JS backend.
//
// The backend owns this lowering of contractions; it takes the layer list, not the graph IR,
// so that it can later consume the loop IR's contraction kernels behind the same plan.
import type { Compilation } from '../../frontend/model.ts';
import type { LayerSpec, ModelSpec } from '../../format/model.ts';
import { clear, gemm, transpose, type Precision } from './gemm.ts';
import { encodeModule, type WasmFunction } from './encode.ts';
import { activationBackward, activationForward, activationRefusal } from './activation.ts';

/** Samples per chunk: the activations of a chunk live in the module's scratch memory. */
export const CHUNK = 32;

/**
 * The cost rule: WebAssembly pays where one call does enough work to amortize the calls and
 * the JS-side head. Below this many multiply-adds per sample (the largest layer's in × out)
 * the unrolled JS body wins at batch 1. Measured by bench/wasm-threshold.ts (js and wasm side
 * by side in one process, f32 and f64): at 16–64 (2-8-1, 4-8-3, 8-8-3) wasm loses at batch 1
 * (0.5–0.96× JS); from 128 (8-16-3) it wins at every batch (1.07–2.7× at batch 1, 4–10× at
 * 16 and 32); see the README.
 */
export const MIN_MACS = 128;

/** Hidden activations fused into the gemm epilogue; the others run as a vector pass over the
 * chunk after it (activation.ts), while the chunk is in cache. */
const FUSED = new Set(['relu', 'linear']);
const fused = (l: LayerSpec) => FUSED.has(l.activation.name) && !l.activation.expr;

export interface WasmLayer {
  readonly index: number;
  readonly inputs: number;
  readonly units: number;
  readonly relu: boolean;
  /** Byte address of the pre-activation rows when the activation is a pass of its own
   * (act<i> forward, dact<i> on the way back); null when fused or for the last layer. */
  readonly pre: number | null;
  readonly kernel: number;
  /** Offset of the bias in params, or null without one. */
  readonly bias: number | null;
  readonly trainable: boolean;
  /** Byte addresses in scratch: the layer's output rows (the pre-activation for the last
   * layer, read by the head) and, past the first layer, its kernel transposed. */
  readonly out: number;
  readonly transposed: number | null;
}

export interface WasmPlan {
  readonly precision: Precision;
  readonly bytesPerElement: number;
  readonly layers: readonly WasmLayer[];
  /** Byte addresses in scratch: a row of CHUNK ones (bias gradient), the two dZ buffers. */
  readonly ones: number;
  readonly dz: readonly [number, number];
  /** First byte past scratch: alloc starts here. */
  readonly scratchEnd: number;
  readonly pages: number;
  readonly functions: readonly WasmFunction[];
  readonly bytes: Uint8Array;
  /** The same kernels with relaxed_madd (fused where the engine has FMA): chosen at init()
   * when the engine validates them, unless init({ relaxedSimd: false }). */
  readonly fmaBytes: Uint8Array;
  /** The ModelSpec of the last activation and the loss, compiled to JS. */
  readonly head: ModelSpec;
}

/** Reserved address space (shared memory needs a maximum): 1 GiB. */
export const MAX_PAGES = 16384;

/** Why this model's batched entry points stay on JS, or null when they can use wasm. */
export function wasmRefusal(spec: ModelSpec, costRule = true): string | null {
  if (spec.layers.length === 0) return 'no layers';
  if (spec.inputs.length !== 1 || spec.outputs.length !== 1)
    return 'a graph with several inputs or outputs (a chain of layers only)';
  for (const [i, l] of spec.layers.entries()) {
    const from = i === 0 ? spec.inputs[0]!.name : spec.layers[i - 1]!.name;
    if (l.inputs.length !== 1 || l.inputs[0] !== from)
      return `layer ${i} does not take the layer before it (a chain of layers only)`;
    if (l.type !== 'dense')
      return `layer ${i} (${l.type}) has no WebAssembly lowering yet (dense layers only)`;
    if (l.inputShape.length !== 1) return `layer ${i} takes a rank-${l.inputShape.length} input`;
    const last = i === spec.layers.length - 1;
    const why = last || fused(l) ? null : activationRefusal(l.activation);
    if (why) return `layer ${i}'s activation ${l.activation.name}: ${why}`;
  }
  const macs = Math.max(...spec.layers.map((l) => l.inputShape[0]! * l.units));
  if (costRule && macs < MIN_MACS)
    return `the largest layer has ${macs} multiply-adds per sample, under the cost rule's ${MIN_MACS}`;
  return null;
}

function headSpec(spec: ModelSpec): ModelSpec {
  const last = spec.layers[spec.layers.length - 1]!;
  const u = last.units;
  const layer: LayerSpec = {
    type: 'activation',
    name: 'head',
    options: { type: 'activation', activation: last.activation.name },
    units: u,
    inputs: ['input'],
    inputShape: [u],
    inputShapes: [[u]],
    outputShape: [u],
    weights: [],
    activation: last.activation,
    trainable: true,
  };
  return {
    name: `${spec.name}-head`,
    input: u,
    inputShape: [u],
    outputShape: [u],
    layers: [layer],
    inputs: [{ name: 'input', shape: [u], offset: 0, size: u }],
    outputs: [{ ...spec.outputs[0]!, name: 'head', shape: [u], offset: 0, size: u }],
    loss: spec.loss,
    precision: spec.precision,
    inputGradient: true,
  };
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

export function planWasm(c: Compilation): WasmPlan {
  const spec = c.spec;
  const precision = spec.precision;
  const e = precision === 'f64' ? 8 : 4;
  // Every buffer is followed by 16 bytes of slack: a partial vector's load may read past
  // the end of a row (never its store).
  let at = 64;
  const take = (elements: number) => {
    const start = at;
    at = align16(at + elements * e + 16);
    return start;
  };
  const ones = take(CHUNK);
  const maxUnits = Math.max(...spec.layers.map((l) => l.units));
  const dz: [number, number] = [take(CHUNK * maxUnits), take(CHUNK * maxUnits)];
  const layers = spec.layers.map((l, index): WasmLayer => {
    const param = (role: string) => c.params.find((p) => p.layer === index && p.role === role);
    const inputs = l.inputShape[0]!;
    const hidden = index < spec.layers.length - 1;
    return {
      index,
      inputs,
      units: l.units,
      relu: hidden && fused(l) && l.activation.name === 'relu',
      pre: hidden && !fused(l) ? take(CHUNK * l.units) : null,
      kernel: param('kernel')!.offset,
      bias: param('bias')?.offset ?? null,
      trainable: l.trainable,
      out: take(CHUNK * l.units),
      transposed: index > 0 ? take(inputs * l.units) : null,
    };
  });
  const kernels = (fma: boolean) => {
    const functions: WasmFunction[] = [];
    const base = { precision, accumulate: false, bias: false, relu: false, mask: false, fma };
    for (const l of layers) {
      // Forward: out[r, j] = act(b[j] + Σ_i x[r, i]·W[i, j]).
      const inStride = l.index === 0 ? spec.input : layers[l.index - 1]!.units;
      functions.push(
        gemm({
          ...base,
          name: `fwd${l.index}`,
          n: l.units,
          aRow: inStride,
          aCol: 1,
          ldb: l.units,
          ldc: l.units,
          bias: l.bias !== null,
          relu: l.relu,
        }),
        ...(l.pre === null
          ? []
          : [
              activationForward(`act${l.index}`, precision, spec.layers[l.index]!.activation),
              activationBackward(`dact${l.index}`, precision, spec.layers[l.index]!.activation),
            ]),
        // Kernel gradient: gW[i, j] += Σ_r x[r, i]·dz[r, j].
        gemm({
          ...base,
          name: `gw${l.index}`,
          n: l.units,
          aRow: 1,
          aCol: inStride,
          ldb: l.units,
          ldc: l.units,
          accumulate: true,
        }),
        // Bias gradient: gb[j] += Σ_r 1·dz[r, j].
        gemm({
          ...base,
          name: `gb${l.index}`,
          n: l.units,
          aRow: 0,
          aCol: 1,
          ldb: l.units,
          ldc: l.units,
          accumulate: true,
        }),
      );
      if (l.index > 0) {
        const prev = layers[l.index - 1]!;
        // Backward: dzPrev[r, i] = (Σ_j dz[r, j]·W[i, j]) · relu'(prev) through Wᵀ (other
        // activations' derivatives follow in dact<prev>).
        functions.push(
          gemm({
            ...base,
            name: `dx${l.index}`,
            n: l.inputs,
            aRow: l.units,
            aCol: 1,
            ldb: l.inputs,
            ldc: l.inputs,
            mask: prev.relu,
          }),
          transpose(`tr${l.index}`, precision, l.inputs, l.units),
        );
      }
    }
    functions.push(clear('clear'));
    return functions;
  };
  const functions = kernels(false);
  const scratchEnd = align16(at);
  const pages = Math.ceil(scratchEnd / 65536) + 1;
  const { bytes } = encodeModule(functions, pages, MAX_PAGES);
  const fmaBytes = encodeModule(kernels(true), pages, MAX_PAGES).bytes;
  return {
    precision,
    bytesPerElement: e,
    layers,
    ones,
    dz,
    scratchEnd,
    pages,
    functions,
    bytes,
    fmaBytes,
    head: headSpec(spec),
  };
}
