// The loop-IR renderer (backends/wasm/loops.ts) against the backend's hand-structured gemm
// (backends/wasm/gemm.ts) on the largest contraction of 784-128-10: y = x·W for 32 samples,
// f32, side by side in one process (interleaved rounds, medians). The loop IR's kernel is the
// scheduler's 4-sample block (`i,ij->j`: an axpy over the 128 outputs per input element,
// vectorized along them); the gemm keeps 2 rows × 4 vectors of accumulators in registers
// across the whole reduction. Why the plan keeps the gemm for contractions: see the README.
//   npx tsx bench/wasm-loop-ir.ts
import { encodeModule } from '../compiler/backends/wasm/encode.ts';
import { gemm } from '../compiler/backends/wasm/gemm.ts';
import { argParam, renderLoopKernel } from '../compiler/backends/wasm/loops.ts';
import { MAX_PAGES } from '../compiler/backends/wasm/plan.ts';
import { Builder } from '../compiler/ir/builder.ts';
import { lowerLinalg } from '../compiler/lower/linalg.ts';

const [n, m, samples] = [784, 128, 32];
const B = new Builder();
const node = B.matvec(B.input([n]), B.param(0, [n, m]), n, m);
const lanes = 4;
const kernel = lowerLinalg(node, { mode: 'loop', lanes, summed: false, shared: [false, true] });
const loopFn = renderLoopKernel('loopir', kernel, 'f32', 2).fn;
const gemmFn = gemm({
  name: 'gemm',
  precision: 'f32',
  n: m,
  aRow: n,
  aCol: 1,
  ldb: m,
  ldc: m,
  accumulate: false,
  bias: false,
  relu: false,
  mask: false,
  fma: false,
});
const pages = 64;
const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
const { bytes } = encodeModule([loopFn, gemmFn], pages, MAX_PAGES);
const inst = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(bytes)), {
  env: { memory },
});
const ex = inst.exports as Record<string, (...a: number[]) => void>;
const X = 64;
const W = X + samples * n * 4 + 64;
const Y1 = W + n * m * 4 + 64;
const Y2 = Y1 + samples * m * 4 + 64;
const f = (at: number, len: number) => new Float32Array(memory.buffer, at, len);
f(X, samples * n).forEach((_, i, a) => (a[i] = Math.sin(i)));
f(W, n * m).forEach((_, i, a) => (a[i] = Math.cos(i) * 0.05));

const runLoop = () => {
  for (let s = 0; s < samples; s += lanes) {
    const addrs = new Array<number>(lanes * 3);
    for (let l = 0; l < lanes; l++) {
      addrs[l] = Y1 + (s + l) * m * 4;
      addrs[argParam(lanes, 0, l)] = X + (s + l) * n * 4;
      addrs[argParam(lanes, 1, l)] = W;
    }
    ex.loopir!(...addrs);
  }
};
const runGemm = () => ex.gemm!(Y2, X, W, 0, samples, n);
runLoop();
runGemm();
let diff = 0;
const y1 = f(Y1, samples * m);
const y2 = f(Y2, samples * m);
for (let i = 0; i < y1.length; i++) diff = Math.max(diff, Math.abs(y1[i]! - y2[i]!));
const times: [number[], number[]] = [[], []];
for (let r = 0; r < 31; r++)
  for (const k of r % 2 ? [0, 1] : [1, 0]) {
    const fn = k === 0 ? runLoop : runGemm;
    const t0 = performance.now();
    let it = 0;
    while (performance.now() - t0 < 30) {
      fn();
      it++;
    }
    times[k]!.push(((performance.now() - t0) / it) * 1000);
  }
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
const [tl, tg] = [med(times[0]), med(times[1])];
console.log(`784×128 forward, ${samples} samples, f32 (max |difference| ${diff.toExponential(1)})`);
console.log(`  loop IR kernel (4-sample blocks, f32x4 axpy): ${tl.toFixed(1)} µs`);
console.log(`  hand gemm (2 rows × 4 vectors in registers):  ${tg.toFixed(1)} µs`);
console.log(`  loop IR ÷ gemm: ${(tl / tg).toFixed(2)}×`);
