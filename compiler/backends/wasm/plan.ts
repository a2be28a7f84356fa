// What the WebAssembly backend computes, and where: the batched entry points of a chain of
// dense, convolution, pooling and flatten layers, one layer at a time over chunks of CHUNK
// samples. Each dense layer's contraction (forward, kernel gradient, bias gradient, backward)
// is one gemm kernel with a fused bias/relu epilogue (a large relu layer's kernel gradient
// also has a sparse form that skips the inactive samples of each unit, gemm.ts
// sparseGradient, and the first chunk writes grad instead of adding to it where the dense
// layers cover every parameter); a convolution is im2col + the same gemm
// (conv.ts), a pooling layer its own loop nest (pool.ts), a flatten nothing (a view: the
// rows are already in that order). The last (dense) layer's activation and the loss (tiny:
// a softmax of 10) are compiled by the ordinary pipeline as a "head" model, so their math and
// derivative are the compiler's own, and its per-sample programs are rendered from the loop
// IR (head.ts, program.ts, loops.ts); where that renderer has no form for an op, the head
// stays in JavaScript. Everything else stays on the JS backend.
//
// The backend owns this lowering of contractions; it takes the layer list, not the graph IR.
// The loop IR's own kernel of a dense layer (its 4-sample block, rendered by loops.ts) runs
// 2.3× slower than the gemm here (bench/wasm-loop-ir.ts): the gemm keeps 2 rows × 4 vectors
// of sums in registers across the whole reduction, the loop IR's axpy form re-reads and
// re-writes its output rows for every input element.
import type { Compilation } from '../../frontend/model.ts';
import type { FunctionSpec, LayerSpec, ModelSpec } from '../../format/model.ts';
import type { Node } from '../../ir/node.ts';
import { clear, gemm, sparseGradient, sparseLists, transpose, type Precision } from './gemm.ts';
import { encodeModule, type WasmFunction } from './encode.ts';
import { activationBackward, activationForward, activationRefusal } from './activation.ts';
import { convKernels, reluMask } from './conv.ts';
import { patchSize, positions, windowGeometry, type ConvGeometry } from './window.ts';
import { avgPoolBackward, maxPoolBackward, poolForward } from './pool.ts';
import { sgdKernel } from './update.ts';
import { renderHead } from './head.ts';

/** Samples per chunk: the activations of a chunk live in the module's scratch memory. */
export const CHUNK = 32;

/**
 * The cost rule: WebAssembly pays where one call does enough work to amortize the calls and
 * the JS-side head. Below this many multiply-adds per sample (the largest layer's in × out)
 * the unrolled JS body wins at batch 1. Measured by bench/wasm-threshold.ts (js and wasm side
 * by side in one process, f32 and f64): at 16–64 (2-8-1, 4-8-3, 8-8-3) wasm loses at batch 1
 * (0.5–0.96× JS); from 128 (8-16-3) it wins at every batch (1.07–2.7× at batch 1, 4–10× at
 * 16 and 32); see the README.
 * A model with a convolution goes to wasm whatever its size (measured:
 * bench/wasm-cost-rule.ts).
 */
export const MIN_MACS = 128;

/**
 * The sparse kernel gradient (gemm.ts sparseGradient) pays from this many multiply-adds per
 * sample (the layer's in × out): measured by bench/wasm-ab.ts at batch 32 on n-h-10 relu nets
 * (f32 / f64, old ÷ new training step): 16×16 0.95 / 0.98, 32×32 0.95 / 0.99, 64×32 1.00 /
 * 1.08, 64×64 1.02 / 1.07, 128×64 1.07 / 1.17, 256×128 1.14 / 1.14, 784×128 1.23 / 1.28.
 */
export const SPARSE_MIN_MACS = 4096;
/** ...and from this many samples in the chunk: below, its per-unit epilogue (a lane store
 * per element of gW) outweighs the skipped half. 784-128-10 f32, old ÷ new training step with
 * the dense / the sparse kernel gradient: batch 4 1.20 / 0.99, 6 1.17 / –, 8 1.10 / 1.14–1.16,
 * 16 1.08 / 1.13, 32 – / 1.23 (bench/wasm-ab.ts). */
export const SPARSE_MIN_ROWS = 8;

/** Hidden activations fused into the gemm epilogue; the others run as a vector pass over the
 * chunk after it (activation.ts), while the chunk is in cache. */
const FUSED = new Set(['relu', 'linear']);
const fused = (l: LayerSpec) => FUSED.has(l.activation.name) && !l.activation.expr;

/** Layer types with a WebAssembly lowering besides dense (flatten is a view). */
const CONV = new Set(['conv1d', 'conv2d']);
const MAX_POOL = new Set(['maxPooling1d', 'maxPooling2d']);
const AVG_POOL = new Set(['averagePooling1d', 'averagePooling2d']);

export type WasmLayerKind = 'dense' | 'conv' | 'maxPool' | 'avgPool';

export interface WasmLayer {
  /** Position among the lowered layers (flatten layers are left out). */
  readonly index: number;
  readonly kind: WasmLayerKind;
  /** Elements of one sample's input and output. */
  readonly inputs: number;
  readonly units: number;
  /** The window of a convolution or pooling layer. */
  readonly geometry: ConvGeometry | null;
  /** Byte address in scratch of a max pool's argmax indices (an element per output, its
   * low 32 bits the index). */
  readonly argmax: number | null;
  readonly relu: boolean;
  /** Byte address of the pre-activation rows when the activation is a pass of its own
   * (act<i> forward, dact<i> on the way back); null when fused or for the last layer. */
  readonly pre: number | null;
  readonly activation: FunctionSpec;
  readonly kernel: number;
  /** Offset of the bias in params, or null without one. */
  readonly bias: number | null;
  readonly trainable: boolean;
  /** Byte addresses in scratch: the layer's output rows (the pre-activation for the last
   * layer, read by the head) and, past the first layer, its kernel transposed. */
  readonly out: number;
  readonly transposed: number | null;
  /** Byte address of the sparse kernel gradient's per-unit lists (gemm.ts sparseGradient),
   * where this layer's dZ comes masked by its relu′ (a dense relu layer before a dense one);
   * null where gw<i> is the dense gemm. */
  readonly lists: number | null;
}

export interface WasmPlan {
  readonly precision: Precision;
  readonly bytesPerElement: number;
  readonly layers: readonly WasmLayer[];
  /** Byte addresses in scratch: a row of CHUNK ones (bias gradient), the two dZ buffers. */
  readonly ones: number;
  /** Whether the module has the shared relu′ `mask` kernel (a pool or col2im before it). */
  readonly mask: boolean;
  /** Byte address of the convolutions' patch matrix (one sample's), 0 without a conv. */
  readonly patches: number;
  readonly dz: readonly [number, number];
  /** Whether the first chunk's gradient kernels write (gw<i>w, gb<i>w) instead of adding to
   * a cleared grad: every parameter is a trainable dense layer's, so they cover grad. */
  readonly firstWrites: boolean;
  /** First byte past scratch: alloc starts here. */
  readonly scratchEnd: number;
  readonly pages: number;
  readonly functions: readonly WasmFunction[];
  readonly bytes: Uint8Array;
  /** The same kernels with relaxed_madd (fused where the engine has FMA): chosen at init()
   * when the engine validates them, unless init({ relaxedSimd: false }). */
  readonly fmaBytes: Uint8Array;
  /** The ModelSpec of the last activation and the loss. */
  readonly head: ModelSpec;
  /** The head on WebAssembly (head.ts): its loss element in scratch and the byte addresses
   * of the chunk's target and output rows for arrays from outside the memory; null (see
   * `headRefusal`) where it stays in JavaScript. */
  readonly wasmHead: {
    readonly lossIndex: number;
    readonly targets: number;
    readonly outputs: number;
  } | null;
  readonly headRefusal: string | null;
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
    const last = i === spec.layers.length - 1;
    if (last && l.type !== 'dense')
      return `the last layer (${l.type}) is not dense (its activation runs in the JS head)`;
    if (l.type === 'flatten' || MAX_POOL.has(l.type) || AVG_POOL.has(l.type)) continue;
    if (l.type !== 'dense' && !CONV.has(l.type))
      return `layer ${i} (${l.type}) has no WebAssembly lowering yet (dense, conv, pooling and flatten only)`;
    if (l.type === 'dense' && l.inputShape.length !== 1)
      return `layer ${i} takes a rank-${l.inputShape.length} input`;
    if (CONV.has(l.type) && !last && !fused(l))
      return `layer ${i}'s activation ${l.activation.name} is not fused (relu or linear only after a convolution)`;
    const why = last || fused(l) ? null : activationRefusal(l.activation);
    if (why) return `layer ${i}'s activation ${l.activation.name}: ${why}`;
  }
  // A convolution goes to wasm at any size: the JS backend runs it as loops, not unrolled
  // code (bench/wasm-cost-rule.ts: 4×4×1 through one 3×3 filter trains 2.3× faster on wasm).
  if (spec.layers.some((l) => CONV.has(l.type))) return null;
  const macs = Math.max(...spec.layers.map(layerMacs));
  if (costRule && macs < MIN_MACS)
    return `the largest layer has ${macs} multiply-adds per sample, under the cost rule's ${MIN_MACS}`;
  return null;
}

/** Multiply-adds per sample of a dense layer (in × out); pooling and flatten do none. */
function layerMacs(l: LayerSpec): number {
  return l.type === 'dense' ? l.inputShape[0]! * l.units : 0;
}

/** The window node (conv, poolMax, poolAvg) each layer built, by layer name. */
function windowNodes(c: Compilation): Map<string, Node> {
  const found = new Map<string, Node>();
  const seen = new Set<Node>();
  const stack = c.programs
    .filter((p) => p.name === 'forward')
    .flatMap((p) => p.outputs.map((o) => o.node));
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if ((n.op === 'conv' || n.op === 'poolMax' || n.op === 'poolAvg') && n.meta.section)
      found.set(n.meta.section, n);
    stack.push(...n.args);
  }
  return found;
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
  const nodes = windowNodes(c);
  const stages = spec.layers.flatMap((l, i) => (l.type === 'flatten' ? [] : [{ l, i }]));
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  // A layer's input gradient is its predecessor's output gradient: the units bound both.
  const maxUnits = Math.max(...stages.map(({ l }) => l.units));
  const dz: [number, number] = [take(CHUNK * maxUnits), take(CHUNK * maxUnits)];
  const layers = stages.map(({ l, i: layer }, index): WasmLayer => {
    const param = (role: string) => c.params.find((p) => p.layer === layer && p.role === role);
    const kind: WasmLayerKind = CONV.has(l.type)
      ? 'conv'
      : MAX_POOL.has(l.type)
        ? 'maxPool'
        : AVG_POOL.has(l.type)
          ? 'avgPool'
          : 'dense';
    const node = nodes.get(l.name);
    if (kind !== 'dense' && !node) throw new Error(`internal: no window node for ${l.name}`);
    const geometry = node ? windowGeometry(node) : null;
    const inputs = size(l.inputShape);
    const units = size(l.outputShape);
    const weighted = kind === 'dense' || kind === 'conv';
    const hidden = layer < spec.layers.length - 1;
    const next = index + 1 < stages.length ? stages[index + 1]!.l : null;
    const relu = hidden && fused(l) && l.activation.name === 'relu';
    // dZ of a relu layer is masked (zero for every inactive unit) by the next dense layer's
    // dx kernel: the kernel gradient runs only the active samples of each unit.
    const sparse =
      kind === 'dense' &&
      relu &&
      next?.type === 'dense' &&
      l.trainable &&
      inputs * units >= SPARSE_MIN_MACS;
    return {
      index,
      kind,
      inputs,
      units,
      geometry,
      argmax: kind === 'maxPool' ? take(CHUNK * units) : null,
      relu,
      pre: hidden && kind === 'dense' && !fused(l) ? take(CHUNK * units) : null,
      activation: l.activation,
      kernel: weighted ? param('kernel')!.offset : 0,
      bias: param('bias')?.offset ?? null,
      trainable: weighted && l.trainable,
      out: take(CHUNK * units),
      transposed:
        index > 0 && weighted
          ? take(kind === 'conv' ? patchSize(geometry!) * geometry!.F : inputs * units)
          : null,
      lists: sparse ? take(Math.ceil(sparseLists(precision, units, CHUNK).bytes / e)) : null,
    };
  });
  const convs = layers.filter((l) => l.kind === 'conv');
  const patches = convs.length
    ? take(Math.max(...convs.map((l) => positions(l.geometry!) * patchSize(l.geometry!))))
    : 0;
  const mask = layers.some((l) => l.kind !== 'dense' && l.index > 0 && layers[l.index - 1]!.relu);
  const covered = layers.reduce(
    (n, l) => n + l.inputs * l.units + (l.bias === null ? 0 : l.units),
    0,
  );
  const firstWrites =
    layers.every((l) => l.kind === 'dense' && l.trainable) && covered === c.shapes.paramCount;
  const kernels = (fma: boolean) => {
    const functions: WasmFunction[] = [];
    const base = { precision, accumulate: false, bias: false, relu: false, mask: false, fma };
    for (const l of layers) {
      const name = String(l.index);
      const g = l.geometry;
      if (l.kind === 'conv' && g) {
        convKernels(functions, {
          name,
          precision,
          g,
          bias: l.bias !== null,
          relu: l.relu,
          fma,
          patches,
          backInput: l.index > 0,
        });
        if (l.index > 0) functions.push(transpose(`tr${name}`, precision, patchSize(g), g.F));
        continue;
      }
      if ((l.kind === 'maxPool' || l.kind === 'avgPool') && g) {
        const max = l.kind === 'maxPool';
        functions.push(poolForward(`pool${name}`, precision, g, max));
        if (l.index > 0)
          functions.push(
            max
              ? maxPoolBackward(`poolb${name}`, precision, g)
              : avgPoolBackward(`poolb${name}`, precision, g),
          );
        continue;
      }
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
              activationForward(`act${l.index}`, precision, l.activation),
              activationBackward(`dact${l.index}`, precision, l.activation),
            ]),
      );
      // The gradient kernels, adding to grad; with firstWrites also a variant that writes
      // (suffix w, the first chunk's).
      for (const accumulate of firstWrites ? [true, false] : [true]) {
        const suffix = accumulate ? '' : 'w';
        functions.push(
          // Kernel gradient: gW[i, j] += Σ_r x[r, i]·dz[r, j]; the sparse one (gws) beside
          // it where the chunk has enough rows (SPARSE_MIN_ROWS).
          gemm({
            ...base,
            name: `gw${l.index}${suffix}`,
            n: l.units,
            aRow: 1,
            aCol: inStride,
            ldb: l.units,
            ldc: l.units,
            accumulate,
          }),
          ...(l.lists === null
            ? []
            : [
                sparseGradient({
                  name: `gws${l.index}${suffix}`,
                  precision,
                  inputs: l.inputs,
                  units: l.units,
                  chunk: CHUNK,
                  accumulate,
                }),
              ]),
          // Bias gradient: gb[j] += Σ_r 1·dz[r, j].
          gemm({
            ...base,
            name: `gb${l.index}${suffix}`,
            n: l.units,
            aRow: 0,
            aCol: 1,
            ldb: l.units,
            ldc: l.units,
            accumulate,
          }),
        );
      }
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
    if (mask) functions.push(reluMask('mask', precision));
    functions.push(clear('clear'), sgdKernel('sgd', precision));
    return functions;
  };
  const core = kernels(false);
  // The head's kernels come after the others (their calls are by index), the same in both
  // variants: it has no multiply-add to fuse.
  const head = headSpec(spec);
  const rendered = renderHead(head, precision, core.length, take);
  const wasmHead =
    'refusal' in rendered
      ? null
      : {
          lossIndex: rendered.lossIndex,
          targets: take(CHUNK * head.input),
          outputs: take(CHUNK * head.input),
        };
  const headFunctions = 'refusal' in rendered ? [] : rendered.functions;
  const functions = [...core, ...headFunctions];
  const scratchEnd = align16(at);
  const pages = Math.ceil(scratchEnd / 65536) + 1;
  const { bytes } = encodeModule(functions, pages, MAX_PAGES);
  const fmaBytes = encodeModule([...kernels(true), ...headFunctions], pages, MAX_PAGES).bytes;
  return {
    precision,
    bytesPerElement: e,
    layers,
    ones,
    mask,
    patches,
    dz,
    firstWrites,
    scratchEnd,
    pages,
    functions,
    bytes,
    fmaBytes,
    head,
    wasmHead,
    headRefusal: 'refusal' in rendered ? rendered.refusal : null,
  };
}
