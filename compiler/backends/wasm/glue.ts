// The JavaScript side of a WebAssembly-backed module: the embedded bytes, init(), alloc()
// and the batched entry points that drive the kernels chunk by chunk. Plain text, like the
// rest of the module shell; `ts` adds the annotations a strict TypeScript consumer needs.
import { CHUNK, MAX_PAGES, SPARSE_MIN_ROWS, type WasmPlan } from './plan.ts';

export interface GlueInput {
  readonly plan: WasmPlan;
  readonly ts: boolean;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly paramCount: number;
  readonly headWorkSize: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** What the runtime part of the glue needs of a module: its bytes and memory layout. */
export interface WasmImage {
  readonly bytes: Uint8Array;
  /** The same with relaxed-SIMD multiply-adds (equal to `bytes` where there is none). */
  readonly fmaBytes: Uint8Array;
  readonly pages: number;
  /** First byte past scratch: alloc starts here. */
  readonly scratchEnd: number;
  readonly precision: 'f32' | 'f64';
  readonly bytesPerElement: number;
  /** Scratch elements [from, to) that init() sets to 1 (the plan's row of ones). */
  readonly ones: readonly [number, number] | null;
}

/** Top-level declarations of the layer plan's modules: the runtime (emitRuntime), the JS
 * head's arrays where the head is not on WebAssembly, and the chunk helpers. */
export function emitGlue(g: GlueInput, exp: string): string {
  const { plan, ts } = g;
  const T = (t: string) => (ts ? `: ${t}` : '');
  const nn = ts ? '!' : '';
  const arr = plan.precision === 'f32' ? 'Float32Array' : 'Float64Array';
  const u = g.outputSize;
  const kernelType = '(...args: number[]) => void';
  const e = plan.bytesPerElement;
  const image: WasmImage = { ...plan, ones: [plan.ones / e, plan.ones / e + CHUNK] };
  return `${emitRuntime(image, ts, exp)}
${
  plan.wasmHead
    ? ''
    : `/** The head's arrays: the last layer's pre-activation, target and gradient of one sample;
 * its work ends with the sample's loss. */
const headIn = new ${arr}(${u});
const headTarget = new ${arr}(${u});
const headOut = new ${arr}(${u});
const headParams = new ${arr}(0);
const headWork = new ${arr}(${g.headWorkSize});
`
}
/** Runs the layers forward over rows [s0, s0 + r) of \`inputs\`. */
function wasmForwardChunk(k${T(`Record<string, ${kernelType}>`)}, p${T('number')}, x${T('number')}, r${T('number')})${T('void')} {
${plan.layers
  .map((l) => {
    const src = l.index === 0 ? 'x' : String(plan.layers[l.index - 1]!.out);
    const bias = l.bias === null ? '0' : `p + ${l.bias * plan.bytesPerElement}`;
    const kernel = `p + ${l.kernel * plan.bytesPerElement}`;
    if (l.kind === 'conv')
      return `  k.cfwd${l.index}${nn}(${l.out}, ${src}, ${kernel}, ${bias}, r);`;
    if (l.kind !== 'dense')
      return `  k.pool${l.index}${nn}(${l.out}, ${l.argmax ?? 0}, ${src}, r);`;
    const fwd = `  k.fwd${l.index}${nn}(${l.pre ?? l.out}, ${src}, ${kernel}, ${bias}, r, ${l.inputs});`;
    if (l.pre === null) return fwd;
    return `${fwd}\n  k.act${l.index}${nn}(${l.out}, ${l.pre}, 0, 0, r * ${l.units});`;
  })
  .join('\n')}
}

${headChunk(g)}`;
}

/** The runtime of every WebAssembly-backed module: the embedded bytes, the state, init(),
 * alloc(), the optional vector sgd, and the memory test (exported by the `exp` prefix). */
export function emitRuntime(image: WasmImage, ts: boolean, exp: string): string {
  const plan = image;
  const T = (t: string) => (ts ? `: ${t}` : '');
  const nn = ts ? '!' : '';
  const arr = plan.precision === 'f32' ? 'Float32Array' : 'Float64Array';
  const kernelType = '(...args: number[]) => void';
  return `/** The WebAssembly kernels (${plan.bytes.length} bytes, base64): see \`gradc inspect --after wasm\`. */
const wasmBytes = '${base64(plan.bytes)}';
${
  sameBytes(plan.bytes, plan.fmaBytes)
    ? ''
    : `/** The same kernels with relaxed-SIMD multiply-adds (rounding may differ between machines). */
const wasmBytesFma = '${base64(plan.fmaBytes)}';
`
}
/** Set by init(): the kernels, the shared memory, and the buffers alloc() handed out. */
let wasmKernels${T(`Record<string, ${kernelType}> | null`)} = null;
let wasmMemory${T('WebAssembly.Memory | null')} = null;
let wasmScratch${T(`${arr} | null`)} = null;
let wasmTop = ${plan.scratchEnd};
let wasmReady = false;
const wasmBuffers${T('ArrayBufferLike[]')} = [];
/** The loss of a gradientBatch call, summed chunk by chunk. */
const wasmLoss = new Float64Array(1);

/** Base64 → bytes. (No return annotation: TS ≥ 5.7 infers the Uint8Array<ArrayBuffer> that
 * WebAssembly.validate wants, and older TS has no such generic.) */
function wasmDecode(text${T('string')}) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Compiles and instantiates the embedded WebAssembly. Await it once before the first call.
 * Uses relaxed-SIMD multiply-adds where the engine validates them (Node 20 needs
 * --experimental-wasm-relaxed-simd): faster, but their rounding may differ between machines;
 * \`{ relaxedSimd: false }\` keeps results bit-for-bit reproducible.
 * Needs WebAssembly SIMD and shared memory (alloc grows the memory; a shared memory's arrays
 * survive growth); where either is missing, the module runs on its JavaScript code (same
 * results, slower). A Content-Security-Policy must allow 'wasm-unsafe-eval'.
 */
${exp}async function init(options${ts ? '?: { relaxedSimd?: boolean }' : ''})${T('Promise<void>')} {
  if (wasmReady) return;
  wasmReady = true;
  if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer !== 'function') return;
  const fma = ${sameBytes(plan.bytes, plan.fmaBytes) ? 'null' : 'options?.relaxedSimd === false ? null : wasmDecode(wasmBytesFma)'};
  const bytes = fma && WebAssembly.validate(fma) ? fma : wasmDecode(wasmBytes);
  if (!WebAssembly.validate(bytes)) return;
  let memory${T('WebAssembly.Memory')};
  try {
    memory = new WebAssembly.Memory({ initial: ${plan.pages}, maximum: ${MAX_PAGES}, shared: true });
  } catch {
    return;
  }
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  wasmKernels = instance.exports${ts ? ` as unknown as Record<string, ${kernelType}>` : ''};
  wasmMemory = memory;
  wasmBuffers.push(memory.buffer);
  wasmScratch = new ${arr}(memory.buffer, 0, ${plan.scratchEnd / plan.bytesPerElement});${plan.ones ? `\n  wasmScratch.fill(1, ${plan.ones[0]}, ${plan.ones[1]});` : ''}
}

/**
 * A zeroed array of \`length\` elements in the module's memory, where the entry points read
 * and write it without copying (the memory grows here, and only here). Arrays from elsewhere
 * work too, on the slower JavaScript path. Before init(), or without WebAssembly: a plain array.
 */
${exp}function alloc(length${T('number')})${T(arr)} {
  if (!wasmMemory) return new ${arr}(length);
  const at = wasmTop;
  const end = Math.ceil((at + length * ${plan.bytesPerElement} + 16) / 16) * 16;
  const short = end - wasmMemory.buffer.byteLength;
  if (short > 0) wasmMemory.grow(Math.ceil(short / 65536));
  wasmTop = end;
  const buffer = wasmMemory.buffer;
  if (!wasmBuffers.includes(buffer)) wasmBuffers.push(buffer);
  return new ${arr}(buffer, at, length);
}

/**
 * The SGD update \`params -= lr · grad\` over min(params.length, grad.length) elements: one
 * vector pass in WebAssembly when both arrays come from alloc(), else the same loop in
 * JavaScript. Optional in the contract (only WebAssembly-backed modules export it). In f32
 * the kernel rounds lr to f32 and rounds after the multiply and after the subtraction (a
 * JavaScript Float32Array loop rounds once): the results differ by at most an ulp or two.
 */
${exp}function sgd(params${T(arr)}, grad${T(arr)}, lr${T('number')})${T('void')} {
  const k = wasmKernels;
  const n = Math.min(params.length, grad.length);
  if (k && wasmHas(params) && wasmHas(grad)) {
    k.sgd${nn}(params.byteOffset, grad.byteOffset, n, lr);
    return;
  }
  for (let i = 0; i < n; i++) params[i] = params[i]${nn} - lr * grad[i]${nn};
}

/** True when \`a\` lives in the module's memory (the kernels can address it). */
function wasmHas(a${T(arr)})${T('boolean')} {
  return wasmBuffers.includes(a.buffer);
}

function wasmNotReady(entry${T('string')})${T('never')} {
  throw new Error(\`gradc: await init() before calling \${entry}: this module runs WebAssembly\`);
}
`;
}

/** Bodies of the wasm-backed forwardBatch and gradientBatch (the JS ones renamed *_js). */
export function forwardBody(g: GlueInput): string {
  const { plan, ts } = g;
  const nn = ts ? '!' : '';
  const e = plan.bytesPerElement;
  const last = plan.layers[plan.layers.length - 1]!;
  const u = g.outputSize;
  return `  const k = wasmKernels;
  if (!wasmReady) wasmNotReady('forwardBatch');
  if (!k || !wasmHas(params) || !wasmHas(inputs)) return forwardBatch_js(params, inputs, outputs, count, work);
  const z = wasmScratch${nn};
${
  plan.wasmHead
    ? `  // The head runs in WebAssembly, into outputs where they live in the memory, else into
  // scratch rows copied out.
  const direct = wasmHas(outputs);
  for (let s0 = 0; s0 < count; s0 += ${CHUNK}) {
    const r = Math.min(${CHUNK}, count - s0);
    wasmForwardChunk(k, params.byteOffset, inputs.byteOffset + s0 * ${g.inputSize * e}, r);
    if (direct) k.headf${nn}(${last.out}, outputs.byteOffset + s0 * ${u * e}, r);
    else {
      k.headf${nn}(${last.out}, ${plan.wasmHead.outputs}, r);
      const o = s0 * ${u};
      for (let j = 0; j < r * ${u}; j++) outputs[o + j] = z[${plan.wasmHead.outputs / e} + j]${nn};
    }
  }`
    : `  for (let s0 = 0; s0 < count; s0 += ${CHUNK}) {
    const r = Math.min(${CHUNK}, count - s0);
    wasmForwardChunk(k, params.byteOffset, inputs.byteOffset + s0 * ${g.inputSize * e}, r);
    for (let i = 0; i < r; i++) {
      const zi = ${last.out / e} + i * ${u};
      for (let j = 0; j < ${u}; j++) headIn[j] = z[zi + j]${nn};
      head_forward(headParams, headIn, headOut, headWork);
      const o = (s0 + i) * ${u};
      for (let j = 0; j < ${u}; j++) outputs[o + j] = headOut[j]${nn};
    }
  }`
}`;
}

/** The backward calls of a convolution or pooling layer over one chunk (see conv.ts and
 * pool.ts for the kernels); relu′ of the layer before is a separate mask pass. */
function windowBackward(
  plan: WasmPlan,
  l: number,
  x: string,
  nn: string,
  dzOf: (l: number) => number,
): string[] {
  const e = plan.bytesPerElement;
  const layer = plan.layers[l]!;
  const lines: string[] = [];
  if (layer.kind === 'conv') {
    const g = layer.geometry!;
    if (layer.trainable) {
      lines.push(`    k.cgw${l}${nn}(g + ${layer.kernel * e}, ${x}, ${dzOf(l)}, r);`);
      if (layer.bias !== null)
        lines.push(
          `    k.gb${l}${nn}(g + ${layer.bias * e}, ${plan.ones}, ${dzOf(l)}, 0, 1, r * ${g.OH * g.OW});`,
        );
    }
    if (l > 0)
      lines.push(`    k.cdx${l}${nn}(${dzOf(l - 1)}, ${dzOf(l)}, ${layer.transposed}, r);`);
  } else if (l > 0)
    lines.push(`    k.poolb${l}${nn}(${dzOf(l - 1)}, ${dzOf(l)}, ${layer.argmax ?? 0}, r);`);
  const prev = plan.layers[l - 1];
  if (prev?.relu) lines.push(`    k.mask${nn}(${dzOf(l - 1)}, ${prev.out}, r * ${prev.units});`);
  return lines;
}

export function gradientBody(g: GlueInput): string {
  const { plan, ts } = g;
  const nn = ts ? '!' : '';
  const e = plan.bytesPerElement;
  const L = plan.layers;
  // The chunk's dZ of layer l lives in dz[(L-1-l) % 2]: the buffers alternate going back.
  const dzOf = (l: number) => plan.dz[(L.length - 1 - l) % 2]!;
  /** The backward calls of one chunk; `first`: the first chunk's, writing grad. */
  const backward = (first: boolean): string[] => {
    const lines: string[] = [];
    const w = first ? 'w' : '';
    for (let l = L.length - 1; l >= 0; l--) {
      const layer = L[l]!;
      const x = l === 0 ? 'x' : String(L[l - 1]!.out);
      if (layer.kind !== 'dense') {
        lines.push(...windowBackward(plan, l, x, nn, dzOf));
        continue;
      }
      if (layer.trainable) {
        const gw = `g + ${layer.kernel * e}, ${x}, ${dzOf(l)}`;
        const dense = `k.gw${l}${w}${nn}(${gw}, 0, ${layer.inputs}, r);`;
        if (layer.lists === null) lines.push(`    ${dense}`);
        else
          lines.push(
            `    if (r >= ${SPARSE_MIN_ROWS}) k.gws${l}${w}${nn}(${gw}, ${layer.lists}, 0, r);`,
            `    else ${dense}`,
          );
        if (layer.bias !== null)
          lines.push(
            `    k.gb${l}${w}${nn}(g + ${layer.bias * e}, ${plan.ones}, ${dzOf(l)}, 0, 1, r);`,
          );
      }
      if (l > 0) {
        const prev = L[l - 1]!;
        lines.push(
          `    k.dx${l}${nn}(${dzOf(l - 1)}, ${dzOf(l)}, ${layer.transposed}, ${prev.out}, r, ${layer.units});`,
        );
        if (prev.pre !== null)
          lines.push(
            `    k.dact${l - 1}${nn}(${dzOf(l - 1)}, ${prev.pre}, ${dzOf(l - 1)}, ${prev.out}, r * ${prev.units});`,
          );
      }
    }
    return lines;
  };
  // With firstWrites the first chunk's kernels write every parameter's gradient: no clear.
  const chunkLines = plan.firstWrites
    ? [
        '    if (s0 === 0) {',
        ...backward(true).map((l) => `  ${l}`),
        '    } else {',
        ...backward(false).map((l) => `  ${l}`),
        '    }',
      ]
    : backward(false);
  const clearLine = plan.firstWrites
    ? `  if (!(count > 0)) k.clear${nn}(g, ${g.paramCount * e});`
    : `  k.clear${nn}(g, ${g.paramCount * e});`;
  return `  const k = wasmKernels;
  if (!wasmReady) wasmNotReady('gradientBatch');
  if (!k || !wasmHas(params) || !wasmHas(inputs) || !wasmHas(grad))
    return gradientBatch_js(params, inputs, targets, count, grad, work);
  const z = wasmScratch${nn};
  const p = params.byteOffset;
  const g = grad.byteOffset;
${clearLine}
${L.filter((l) => l.transposed !== null)
  .map((l) => `  k.tr${l.index}${nn}(${l.transposed}, p + ${l.kernel * e});`)
  .join('\n')}
  wasmLoss[0] = 0;
  // The mean is taken on dz (wasmHeadChunk), before the contractions: no pass over grad
  // afterwards.
  for (let s0 = 0; s0 < count; s0 += ${CHUNK}) {
    const r = Math.min(${CHUNK}, count - s0);
    const x = inputs.byteOffset + s0 * ${g.inputSize * e};
    wasmForwardChunk(k, p, x, r);
    wasmHeadChunk(z, targets, s0, r, count);
${chunkLines.join('\n')}
  }
  return count > 0 ? wasmLoss[0]${nn} / count : 0;`;
}

/** The head over one chunk: dZ of the last layer, and the chunk's loss (which the head adds
 * to its last work slot) into wasmLoss: no double is returned, so none is boxed. */
function headChunk(g: GlueInput): string {
  const { plan, ts } = g;
  const nn = ts ? '!' : '';
  const e = plan.bytesPerElement;
  const L = plan.layers;
  const last = L[L.length - 1]!;
  const u = g.outputSize;
  const arr = plan.precision === 'f32' ? 'Float32Array' : 'Float64Array';
  const T = (t: string) => (ts ? `: ${t}` : '');
  const h = plan.wasmHead;
  if (h)
    return `function wasmHeadChunk(z${T(arr)}, targets${T(arr)}, s0${T('number')}, r${T('number')}, count${T('number')})${T('void')} {
  // The head in WebAssembly: targets read in place where they live in the memory, else the
  // chunk's rows are copied to scratch first.
  let t = ${h.targets};
  if (wasmHas(targets)) t = targets.byteOffset + s0 * ${u * e};
  else for (let j = 0, o = s0 * ${u}; j < r * ${u}; j++) z[${h.targets / e} + j] = targets[o + j]${nn};
  const k = wasmKernels${nn};
  k.headg${nn}(${last.out}, t, ${plan.dz[0]}, r, count);
  wasmLoss[0] = wasmLoss[0]${nn} + z[${h.lossIndex}]${nn};
  z[${h.lossIndex}] = 0;
}`;
  return `function wasmHeadChunk(z${T(arr)}, targets${T(arr)}, s0${T('number')}, r${T('number')}, count${T('number')})${T('void')} {
  // 1 / count here, not passed in: a double argument would be boxed.
  const inv = 1 / count;
  for (let i = 0; i < r; i++) {
      const zi = ${last.out / e} + i * ${u};
      const di = ${plan.dz[0] / e} + i * ${u};
      const ti = (s0 + i) * ${u};
      for (let j = 0; j < ${u}; j++) {
        headIn[j] = z[zi + j]${nn};
        headTarget[j] = targets[ti + j]${nn};
      }
      head_inputGradient(headParams, headIn, headTarget, headOut, headWork);
      for (let j = 0; j < ${u}; j++) z[di + j] = headOut[j]${nn} * inv;
    }
  wasmLoss[0] = wasmLoss[0]${nn} + headWork[${g.headWorkSize - 1}]${nn};
  headWork[${g.headWorkSize - 1}] = 0;
}`;
}
