// Register-block shapes and k-unrolling of the gemm kernel on 784-128-10's two large
// contractions (forward x·W over a chunk of 32, kernel gradient xᵀ·dZ), one module, every
// variant interleaved in rounds, medians: `npx tsx bench/gemm-variants.ts [rounds]`.
import { encodeModule, type WasmFunction } from '../compiler/backends/wasm/encode.ts';
import {
  gemm,
  sparseGradient,
  sparseLists,
  type GemmSpec,
} from '../compiler/backends/wasm/gemm.ts';
import { measureInterleaved } from './timing.ts';

const rounds = Number(process.argv[2] ?? 31);
const [M, K, N] = [32, 784, 128];
const base = {
  precision: 'f32',
  accumulate: false,
  bias: false,
  relu: false,
  mask: false,
  fma: false,
} as const;
const fwd = (o: Partial<GemmSpec>): GemmSpec => ({
  ...base,
  name: '',
  n: N,
  aRow: K,
  aCol: 1,
  ldb: N,
  ldc: N,
  bias: true,
  relu: true,
  ...o,
});
const gw = (o: Partial<GemmSpec>): GemmSpec => ({
  ...base,
  name: '',
  n: N,
  aRow: 1,
  aCol: K,
  ldb: N,
  ldc: N,
  accumulate: true,
  ...o,
});
const shapes: [string, Partial<GemmSpec>][] = [
  ['2x4', {}],
  ['4x2', { rows: 4, vecs: 2 }],
];
const unused: [string, Partial<GemmSpec>][] = [
  ['2x4', {}],
  ['2x4u2', { unroll: 2 }],
  ['2x4u4', { unroll: 4 }],
  ['4x2', { rows: 4, vecs: 2 }],
  ['3x4', { rows: 3, vecs: 4 }],
  ['4x3', { rows: 4, vecs: 3 }],
  ['1x8', { rows: 1, vecs: 8 }],
  ['2x6', { rows: 2, vecs: 6 }],
  ['2x5', { rows: 2, vecs: 5 }],
];
void unused;
const fns: WasmFunction[] = [];
for (const [name, o] of shapes) {
  fns.push(gemm(fwd({ ...o, name: `fwd_${name}` })), gemm(gw({ ...o, name: `gw_${name}` })));
}
for (const vecs of [4, 5, 6, 7, 8])
  fns.push(
    sparseGradient({
      name: `gws_${vecs}`,
      precision: 'f32',
      inputs: K,
      units: N,
      chunk: M,
      accumulate: true,
      vecs,
    }),
  );
for (const vecs of [4, 5, 6, 7])
  fns.push(
    sparseGradient({
      name: `gws_write${vecs}`,
      precision: 'f32',
      inputs: K,
      units: N,
      chunk: M,
      accumulate: false,
      vecs,
    }),
  );
fns.push(
  // Only the lists: no columns at all.
  sparseGradient({
    name: `gws_lists`,
    precision: 'f32',
    inputs: 0,
    units: N,
    chunk: M,
    accumulate: false,
    vecs: 4,
  }),
);
const { bytes } = encodeModule(fns, 64, 64);
const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
  env: { memory },
});
const k = inst.exports as Record<string, (...a: number[]) => void>;
const f = new Float32Array(memory.buffer);
// Byte addresses: W (K×N), x (M×K), out/dz (M×N), b, gW (K×N).
const W = 1024;
const X = W + K * N * 4 + 64;
const Z = X + M * K * 4 + 64;
const Bv = Z + M * N * 4 + 64;
const G = Bv + N * 4 + 64;
for (let i = 0; i < K * N; i++) f[W / 4 + i] = Math.sin(i) * 0.1;
for (let i = 0; i < M * K; i++) f[X / 4 + i] = Math.cos(i * 0.37);
// dZ as a relu layer's: about half of it exactly zero.
const fillDz = () => {
  for (let i = 0; i < M * N; i++) {
    const h = Math.sin(i * 12.9898) * 43758.5453;
    f[Z / 4 + i] = h - Math.floor(h) < 0.5 ? 0 : Math.sin(i * 0.11);
  }
};
fillDz();
const ref = (name: string, at: number, n: number) => {
  const out = new Float32Array(n);
  out.set(f.subarray(at / 4, at / 4 + n));
  return [name, out] as const;
};
// Every shape must give the reference's numbers (the order of each sum is the same).
const check: (readonly [string, Float32Array])[] = [];
for (const [name] of shapes) {
  k[`fwd_${name}`]!(Z + 0, X, W, Bv, M, K);
  check.push(ref(`fwd_${name}`, Z, M * N));
  f.fill(0, G / 4, G / 4 + K * N);
  k[`gw_${name}`]!(G, X, Z, 0, K, M);
  check.push(ref(`gw_${name}`, G, K * N));
  fillDz();
}
const LIST = G + K * N * 4 + 64;
void sparseLists;
f.fill(0, G / 4, G / 4 + K * N);
k.gw_2x4!(G, X, Z, 0, K, M);
const dense = ref('dense', G, K * N)[1];
for (const vecs of [4, 5, 6, 7, 8]) {
  f.fill(0, G / 4, G / 4 + K * N);
  k[`gws_${vecs}`]!(G, X, Z, LIST, 0, M);
  const got = ref('', G, K * N)[1];
  const at = got.findIndex((x, i) => !Object.is(x, dense[i]));
  if (at >= 0) console.log(`sparse ${vecs}: differs at ${at}: ${got[at]} vs ${dense[at]}`);
}
for (const [name, out] of check) {
  const want = check.find(([n]) => n.split('_')[0] === name.split('_')[0])![1];
  const same = out.every((v, i) => Object.is(v, want[i]));
  if (!same) {
    const at = out.findIndex((v, i) => !Object.is(v, want[i]));
    console.log(`${name}: differs from ${shapes[0]![0]} at ${at}: ${out[at]} vs ${want[at]}`);
  }
}
const D = Z + M * N * 4 + 64; // a scratch output so dz stays put
const series: { key: string; run: () => void }[] = shapes.flatMap(([name]) => [
  { key: `fwd_${name}`, run: () => k[`fwd_${name}`]!(D, X, W, Bv, M, K) },
  { key: `gw_${name}`, run: () => k[`gw_${name}`]!(G, X, Z, 0, K, M) },
]);
void D;
for (const v of ['write4', 'write5', 'write6', 'write7', 'lists'])
  series.push({ key: `gws_${v}`, run: () => k[`gws_${v}`]!(G, X, Z, LIST, 0, M) });
for (const vecs of [4, 5, 6, 7, 8])
  series.push({ key: `gws_${vecs}`, run: () => k[`gws_${vecs}`]!(G, X, Z, LIST, 0, M) });
const stats = await measureInterleaved(series, {
  warmupMs: 300,
  budgetMs: 0,
  minRounds: rounds,
  maxRounds: rounds,
  blockMs: 2,
});
for (const vecs of [4, 5, 6, 7, 8])
  console.log(`sparse gw, ${vecs} vectors: ${stats.get(`gws_${vecs}`)!.medianUs.toFixed(1)} µs`);
for (const v of ['write4', 'write5', 'write6', 'write7', 'lists'])
  console.log(`sparse gw ${v}: ${stats.get(`gws_${v}`)!.medianUs.toFixed(1)} µs`);
for (const [name] of shapes) {
  const a = stats.get(`fwd_${name}`)!.medianUs;
  const b = stats.get(`gw_${name}`)!.medianUs;
  const gmacs = (M * K * N) / 1e3;
  console.log(
    `${name.padEnd(6)} fwd ${a.toFixed(1).padStart(6)} µs (${(gmacs / a).toFixed(1)} GMAC/s)  gw ${b.toFixed(1).padStart(6)} µs (${(gmacs / b).toFixed(1)} GMAC/s)`,
  );
}
