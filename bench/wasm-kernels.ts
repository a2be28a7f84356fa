// Times each WebAssembly kernel of a model's plan on one chunk (warmed up, the fastest of 15 rounds: the machine is shared):
// where a wasm training step spends its time. `npx tsx bench/wasm-kernels.ts MODEL [f32|f64]`.
import { readFileSync } from 'node:fs';
import { parseModelBytes } from '../compiler/format/parse.ts';
import { lower } from '../compiler/pipeline.ts';
import { CHUNK, MAX_PAGES, planWasm } from '../compiler/backends/wasm/plan.ts';

const [file = 'examples/mnist-cnn.model.json', precision = 'f32'] = process.argv.slice(2);
const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const spec = await parseModelBytes(
  new TextEncoder().encode(JSON.stringify({ ...json, precision })),
  file,
);
const c = lower(spec);
const plan = planWasm(c);
const memory = new WebAssembly.Memory({
  initial: plan.pages + 64,
  maximum: MAX_PAGES,
  shared: true,
});
const instance = new WebAssembly.Instance(
  new WebAssembly.Module(plan.bytes as Uint8Array<ArrayBuffer>),
  { env: { memory } },
);
const k = instance.exports as Record<string, (...a: number[]) => void>;
const e = plan.bytesPerElement;
const Arr = e === 4 ? Float32Array : Float64Array;
const params = plan.scratchEnd;
const P = c.shapes.paramCount;
const x = params + Math.ceil((P * e) / 16) * 16 + 16;
const grad = x + CHUNK * c.shapes.inputSize * e + 16;
const view = new Arr(memory.buffer);
for (let i = 0; i < P; i++) view[params / e + i] = Math.sin(i) * 0.1;
for (let i = 0; i < CHUNK * c.shapes.inputSize; i++) view[x / e + i] = Math.cos(i * 0.37);
view.fill(1, plan.ones / e, plan.ones / e + CHUNK);
const r = CHUNK;
const L = plan.layers;
const dzOf = (l: number) => plan.dz[(L.length - 1 - l) % 2]!;
const calls: [string, () => void][] = [];
const parts: [string, () => void][] = [];
for (const l of L) {
  const src = l.index === 0 ? x : L[l.index - 1]!.out;
  const W = params + l.kernel * e;
  const b = l.bias === null ? 0 : params + l.bias * e;
  if (l.kind === 'conv') {
    calls.push([`cfwd${l.index}`, () => k[`cfwd${l.index}`]!(l.out, src, W, b, r)]);
    // Its two halves (not summed): im2col of the chunk's samples, the gemm on one patch matrix.
    const g = l.geometry!;
    const inB = g.H * g.W * g.C * e;
    const K = g.KH * g.KW * g.C;
    const patches = plan.patches;
    parts.push([
      `  im2col${l.index}`,
      () => {
        for (let s = 0; s < r; s++) k[`im2col${l.index}`]!(patches, src + s * inB);
      },
    ]);
    parts.push([
      `  gemm${l.index}`,
      () => {
        for (let s = 0; s < r; s++) k[`convz${l.index}`]!(l.out, patches, W, b, g.OH * g.OW, K);
      },
    ]);
  } else if (l.kind === 'dense')
    calls.push([`fwd${l.index}`, () => k[`fwd${l.index}`]!(l.out, src, W, b, r, l.inputs)]);
  else calls.push([`pool${l.index}`, () => k[`pool${l.index}`]!(l.out, l.argmax ?? 0, src, r)]);
}
for (let i = L.length - 1; i >= 0; i--) {
  const l = L[i]!;
  const src = i === 0 ? x : L[i - 1]!.out;
  const gW = grad + l.kernel * e;
  if (l.kind === 'conv') {
    const g = l.geometry!;
    calls.push([`cgw${i}`, () => k[`cgw${i}`]!(gW, src, dzOf(i), r)]);
    if (l.bias !== null)
      calls.push([
        `gb${i}`,
        () => k[`gb${i}`]!(grad + l.bias! * e, plan.ones, dzOf(i), 0, 1, r * g.OH * g.OW),
      ]);
    if (i > 0) {
      calls.push([`cdx${i}`, () => k[`cdx${i}`]!(dzOf(i - 1), dzOf(i), l.transposed!, r)]);
      // Its halves: dP = dZ·Wᵀ per sample, col2im per sample.
      const M = g.OH * g.OW;
      parts.push([
        `  dp${i}`,
        () => {
          for (let s = 0; s < r; s++)
            k[`convdp${i}`]!(plan.patches, dzOf(i) + s * M * g.F * e, l.transposed!, 0, M, g.F);
        },
      ]);
      parts.push([
        `  col2im${i}`,
        () => {
          for (let s = 0; s < r; s++)
            k[`col2im${i}`]!(dzOf(i - 1) + s * g.H * g.W * g.C * e, plan.patches);
        },
      ]);
    }
  } else if (l.kind === 'dense') {
    // The kernels of a batch of one chunk: with firstWrites those that write grad (suffix w);
    // the sparse kernel gradient (a relu layer's masked dZ) takes its lists' scratch.
    const w = plan.firstWrites ? 'w' : '';
    calls.push([
      `gw${i}${w}`,
      l.lists === null
        ? () => k[`gw${i}${w}`]!(gW, src, dzOf(i), 0, l.inputs, r)
        : () => k[`gws${i}${w}`]!(gW, src, dzOf(i), l.lists!, 0, r),
    ]);
    if (l.bias !== null)
      calls.push([
        `gb${i}${w}`,
        () => k[`gb${i}${w}`]!(grad + l.bias! * e, plan.ones, dzOf(i), 0, 1, r),
      ]);
    if (i > 0) {
      calls.push([
        `dx${i}`,
        () => k[`dx${i}`]!(dzOf(i - 1), dzOf(i), l.transposed!, L[i - 1]!.out, r, l.units),
      ]);
      // Once per gradientBatch call, not per chunk: the kernel transposed for dx.
      calls.push([`tr${i}`, () => k[`tr${i}`]!(l.transposed!, params + l.kernel * e)]);
    }
  } else if (i > 0)
    calls.push([`poolb${i}`, () => k[`poolb${i}`]!(dzOf(i - 1), dzOf(i), l.argmax ?? 0, r)]);
  if (l.kind !== 'dense' && i > 0 && L[i - 1]!.relu)
    calls.push([`mask(${i - 1})`, () => k.mask!(dzOf(i - 1), L[i - 1]!.out, r * L[i - 1]!.units)]);
}
// Once per gradientBatch call: zeroing grad (not where the first chunk writes it).
if (!plan.firstWrites) calls.push(['clear', () => k.clear!(grad, P * e)]);
// Realistic dZ before timing: the last layer's as the head would leave it, then one pass of
// the calls in order, so each dx kernel masks its dZ by the relu′ of the forward rows (the
// sparse kernel gradient's cost depends on those zeros).
const last = L[L.length - 1]!;
for (let i = 0; i < CHUNK * last.units; i++) view[dzOf(L.length - 1) / e + i] = Math.sin(i) / CHUNK;
for (const [, f] of calls) f();
const time = (f: () => void) => {
  for (let i = 0; i < 20; i++) f();
  const ts: number[] = [];
  for (let round = 0; round < 15; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) f();
    ts.push(((performance.now() - t0) / 5) * 1000);
  }
  return Math.min(...ts);
};
let total = 0;
for (const [name, f] of calls) {
  const us = time(f);
  total += us;
  console.log(`${name.padEnd(10)} ${us.toFixed(0).padStart(7)} µs`);
}
console.log(
  `${'sum'.padEnd(10)} ${total.toFixed(0).padStart(7)} µs (chunk of ${CHUNK}, ${precision})`,
);
// Outside gradientBatch: the training step's SGD update, a JS pass over every parameter (the
// runtime's optimizer and the bench do it so; the hand-written reference fuses it).
const pView = new Arr(memory.buffer, params, P);
const gView = new Arr(memory.buffer, grad, P);
const sgd = () => {
  for (let i = 0; i < P; i++) pView[i] = pView[i]! - 1e-9 * gView[i]!;
};
console.log(`${'SGD (JS)'.padEnd(10)} ${time(sgd).toFixed(0).padStart(7)} µs (${P} parameters)`);
// The same update as the module's optional sgd export runs it.
const sgdWasm = () => k.sgd!(params, grad, P, 1e-9);
console.log(`${'sgd'.padEnd(10)} ${time(sgdWasm).toFixed(0).padStart(7)} µs (the sgd export)`);
for (const [name, f] of parts)
  console.log(`${name.padEnd(10)} ${time(f).toFixed(0).padStart(7)} µs`);
