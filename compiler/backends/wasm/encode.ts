// A small WebAssembly binary encoder and WAT printer over one instruction list, so that the
// bytes a module embeds and the text `gradc inspect --after wasm` prints cannot disagree.
// Only what the kernels use: i32 address arithmetic, f32/f64 scalars, SIMD (v128), blocks and
// loops, one imported memory. Deterministic: the same functions give the same bytes.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';

/** One instruction: its WAT name and immediates (memarg = [align log2, offset]). */
export type Ins = readonly [string, ...number[]];

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly locals: readonly ValType[];
  readonly body: readonly Ins[];
  /** What it returns (nothing when absent): only the scalar math helpers return a value. */
  readonly results?: readonly ValType[];
}

type Imm = 'none' | 'u32' | 's32' | 'f32' | 'f64' | 'mem' | 'memlane' | 'lane' | 'block' | 'v128';

/** WAT name → [opcode bytes, immediate kind]. SIMD ops are 0xFD followed by a u32 LEB. */
const OPS: Readonly<Record<string, readonly [readonly number[], Imm]>> = {
  block: [[0x02], 'block'],
  loop: [[0x03], 'block'],
  if: [[0x04], 'block'],
  else: [[0x05], 'none'],
  end: [[0x0b], 'none'],
  br: [[0x0c], 'u32'],
  br_if: [[0x0d], 'u32'],
  call: [[0x10], 'u32'],
  return: [[0x0f], 'none'],
  drop: [[0x1a], 'none'],
  select: [[0x1b], 'none'],
  'local.get': [[0x20], 'u32'],
  'local.set': [[0x21], 'u32'],
  'local.tee': [[0x22], 'u32'],
  'i32.load': [[0x28], 'mem'],
  'f32.load': [[0x2a], 'mem'],
  'f64.load': [[0x2b], 'mem'],
  'i32.store': [[0x36], 'mem'],
  'f32.store': [[0x38], 'mem'],
  'f64.store': [[0x39], 'mem'],
  'i32.const': [[0x41], 's32'],
  'f32.const': [[0x43], 'f32'],
  'f64.const': [[0x44], 'f64'],
  'i32.eqz': [[0x45], 'none'],
  'i32.lt_s': [[0x48], 'none'],
  'i32.lt_u': [[0x49], 'none'],
  'i32.gt_s': [[0x4a], 'none'],
  'i32.le_s': [[0x4c], 'none'],
  'i32.ge_s': [[0x4e], 'none'],
  'i32.ge_u': [[0x4f], 'none'],
  'f32.eq': [[0x5b], 'none'],
  'f32.ne': [[0x5c], 'none'],
  'f32.gt': [[0x5e], 'none'],
  'f64.eq': [[0x61], 'none'],
  'f64.ne': [[0x62], 'none'],
  'f64.gt': [[0x64], 'none'],
  'i32.add': [[0x6a], 'none'],
  'i32.sub': [[0x6b], 'none'],
  'i32.mul': [[0x6c], 'none'],
  'i32.div_s': [[0x6d], 'none'],
  'i32.rem_s': [[0x6f], 'none'],
  'i32.eq': [[0x46], 'none'],
  'i32.ne': [[0x47], 'none'],
  'f64.lt': [[0x63], 'none'],
  'f64.le': [[0x65], 'none'],
  'f64.ge': [[0x66], 'none'],
  'i32.shl': [[0x74], 'none'],
  'f64.abs': [[0x99], 'none'],
  'f64.neg': [[0x9a], 'none'],
  'f64.floor': [[0x9c], 'none'],
  'f64.sqrt': [[0x9f], 'none'],
  'f64.min': [[0xa4], 'none'],
  'f64.max': [[0xa5], 'none'],
  'f32.demote_f64': [[0xb6], 'none'],
  'f64.promote_f32': [[0xbb], 'none'],
  'i32.and': [[0x71], 'none'],
  'i32.or': [[0x72], 'none'],
  'f32.add': [[0x92], 'none'],
  'f32.sub': [[0x93], 'none'],
  'f32.mul': [[0x94], 'none'],
  'f32.div': [[0x95], 'none'],
  'f64.add': [[0xa0], 'none'],
  'f64.sub': [[0xa1], 'none'],
  'f64.mul': [[0xa2], 'none'],
  'f64.div': [[0xa3], 'none'],
  'f32.convert_i32_s': [[0xb2], 'none'],
  'f64.convert_i32_s': [[0xb7], 'none'],
  'i64.extend_i32_s': [[0xac], 'none'],
  'memory.fill': [[0xfc, 0x0b, 0x00], 'none'],
  'i32.trunc_sat_f64_s': [[0xfc, 0x02], 'none'],
  'v128.load': [[0xfd, 0x00], 'mem'],
  'v128.load32_splat': [[0xfd, 0x09], 'mem'],
  'v128.load64_splat': [[0xfd, 0x0a], 'mem'],
  'v128.store': [[0xfd, 0x0b], 'mem'],
  'v128.load64_zero': [[0xfd, 0x5d], 'mem'],
  'v128.const': [[0xfd, 0x0c], 'v128'],
  'i32x4.splat': [[0xfd, 0x11], 'none'],
  'i64x2.splat': [[0xfd, 0x12], 'none'],
  'f32x4.splat': [[0xfd, 0x13], 'none'],
  'f64x2.splat': [[0xfd, 0x14], 'none'],
  'f32x4.extract_lane': [[0xfd, 0x1f], 'lane'],
  'f64x2.extract_lane': [[0xfd, 0x21], 'lane'],
  'f32x4.eq': [[0xfd, 0x41], 'none'],
  'f32x4.ne': [[0xfd, 0x42], 'none'],
  'f32x4.gt': [[0xfd, 0x44], 'none'],
  'f64x2.eq': [[0xfd, 0x47], 'none'],
  'f64x2.ne': [[0xfd, 0x48], 'none'],
  'f64x2.lt': [[0xfd, 0x49], 'none'],
  'f64x2.gt': [[0xfd, 0x4a], 'none'],
  'v128.and': [[0xfd, 0x4e], 'none'],
  'v128.or': [[0xfd, 0x50], 'none'],
  'v128.bitselect': [[0xfd, 0x52], 'none'],
  'f32x4.demote_f64x2_zero': [[0xfd, 0x5e], 'none'],
  'f64x2.promote_low_f32x4': [[0xfd, 0x5f], 'none'],
  'f32x4.floor': [[0xfd, 0x68], 'none'],
  'f64x2.floor': [[0xfd, 0x75], 'none'],
  'f64x2.nearest': [[0xfd, 0x94, 0x01], 'none'],
  'i64x2.shl': [[0xfd, 0xcb, 0x01], 'none'],
  'i64x2.shr_s': [[0xfd, 0xcc, 0x01], 'none'],
  'i64x2.sub': [[0xfd, 0xd1, 0x01], 'none'],
  'v128.store32_lane': [[0xfd, 0x5a], 'memlane'],
  'v128.store64_lane': [[0xfd, 0x5b], 'memlane'],
  'i32x4.add': [[0xfd, 0xae, 0x01], 'none'],
  'i64x2.add': [[0xfd, 0xce, 0x01], 'none'],
  'f32x4.add': [[0xfd, 0xe4, 0x01], 'none'],
  'f32x4.sub': [[0xfd, 0xe5, 0x01], 'none'],
  'f32x4.mul': [[0xfd, 0xe6, 0x01], 'none'],
  'f32x4.div': [[0xfd, 0xe7, 0x01], 'none'],
  'f32x4.min': [[0xfd, 0xe8, 0x01], 'none'],
  'f32x4.max': [[0xfd, 0xe9, 0x01], 'none'],
  'f32x4.pmax': [[0xfd, 0xeb, 0x01], 'none'],
  'f32x4.abs': [[0xfd, 0xe0, 0x01], 'none'],
  'f32x4.neg': [[0xfd, 0xe1, 0x01], 'none'],
  'f32x4.sqrt': [[0xfd, 0xe3, 0x01], 'none'],
  'f64x2.abs': [[0xfd, 0xec, 0x01], 'none'],
  'f64x2.neg': [[0xfd, 0xed, 0x01], 'none'],
  'f64x2.sqrt': [[0xfd, 0xef, 0x01], 'none'],
  'f64x2.add': [[0xfd, 0xf0, 0x01], 'none'],
  'f64x2.sub': [[0xfd, 0xf1, 0x01], 'none'],
  'f64x2.mul': [[0xfd, 0xf2, 0x01], 'none'],
  'f64x2.div': [[0xfd, 0xf3, 0x01], 'none'],
  'f64x2.min': [[0xfd, 0xf4, 0x01], 'none'],
  'f64x2.max': [[0xfd, 0xf5, 0x01], 'none'],
  'f64x2.pmax': [[0xfd, 0xf7, 0x01], 'none'],
  // Relaxed SIMD (fused or unfused at the engine's choice): used only behind a feature test.
  'f32x4.relaxed_madd': [[0xfd, 0x85, 0x02], 'none'],
  'f64x2.relaxed_madd': [[0xfd, 0x87, 0x02], 'none'],
};

const TYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

function u32(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function s32(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  u32(bytes.length, out);
  out.push(...bytes);
}

/** out += bytes, without spreading them into arguments (a large function's body would
 * overflow the stack). */
function append(out: number[], bytes: readonly number[]): void {
  for (const b of bytes) out.push(b);
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  u32(content.length, out);
  append(out, content);
}

function encodeIns(ins: Ins, out: number[]): void {
  const [op, ...imm] = ins;
  const rec = OPS[op];
  if (!rec) throw new Error(`internal: unknown wasm instruction ${op}`);
  const [code, kind] = rec;
  out.push(...code);
  switch (kind) {
    case 'none':
      return;
    case 'u32':
      return u32(imm[0]!, out);
    case 's32':
      return s32(imm[0]!, out);
    case 'block':
      out.push(0x40);
      return;
    case 'f32':
      out.push(...new Uint8Array(new Float32Array([imm[0]!]).buffer));
      return;
    case 'f64':
      out.push(...new Uint8Array(new Float64Array([imm[0]!]).buffer));
      return;
    case 'mem':
      u32(imm[0]!, out);
      return u32(imm[1]!, out);
    case 'memlane':
      u32(imm[0]!, out);
      u32(imm[1]!, out);
      out.push(imm[2]!);
      return;
    case 'lane':
      out.push(imm[0]!);
      return;
    case 'v128':
      // Four 32-bit words, little-endian (enough for the masks and zeros the kernels need).
      out.push(...new Uint8Array(new Uint32Array(imm.slice(0, 4)).buffer));
      return;
  }
}

export interface EncodedModule {
  readonly bytes: Uint8Array;
}

/**
 * A module importing `env.memory` (min `pages`, max `maxPages`, shared) and exporting every
 * function under its name. All functions return nothing.
 */
export function encodeModule(
  fns: readonly WasmFunction[],
  pages: number,
  maxPages: number,
): EncodedModule {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // One type per distinct parameter list.
  const sigs: string[] = [];
  const typeOf = fns.map((f) => {
    const key = `${f.params.join(',')}->${(f.results ?? []).join(',')}`;
    let i = sigs.indexOf(key);
    if (i < 0) i = sigs.push(key) - 1;
    return i;
  });
  const types: number[] = [];
  u32(sigs.length, types);
  for (const key of sigs) {
    const [params, results] = key
      .split('->')
      .map((l) => (l === '' ? [] : (l!.split(',') as ValType[])));
    types.push(0x60);
    u32(params!.length, types);
    for (const p of params!) types.push(TYPE_CODE[p]);
    u32(results!.length, types);
    for (const r of results!) types.push(TYPE_CODE[r]);
  }
  section(1, types, out);
  const imports: number[] = [0x01];
  name('env', imports);
  name('memory', imports);
  // Memory limits flag 0x03: shared, with a maximum (alloc's arrays survive growth).
  imports.push(0x02, 0x03);
  u32(pages, imports);
  u32(maxPages, imports);
  section(2, imports, out);
  const funcs: number[] = [];
  u32(fns.length, funcs);
  for (const t of typeOf) u32(t, funcs);
  section(3, funcs, out);
  const exports: number[] = [];
  u32(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    u32(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  u32(fns.length, code);
  for (const f of fns) {
    const body: number[] = [];
    // Locals as runs of one type, in declaration order.
    const runs: [number, ValType][] = [];
    for (const l of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l) last[0]++;
      else runs.push([1, l]);
    }
    u32(runs.length, body);
    for (const [n, t] of runs) {
      u32(n, body);
      body.push(TYPE_CODE[t]);
    }
    for (const ins of f.body) encodeIns(ins, body);
    body.push(0x0b);
    u32(body.length, code);
    append(code, body);
  }
  section(10, code, out);
  return { bytes: Uint8Array.from(out) };
}

/** A v128 constant as WAT: two equal doubles (the math kernels' constants) as f64x2, the
 * rest (zeros, bit masks, integer lanes) as i32x4 words. */
function v128Text(words: readonly number[]): string {
  const v = new Float64Array(new Uint32Array(words).buffer);
  const normal = Math.abs(v[0]!) >= 2.2250738585072014e-308 && Number.isFinite(v[0]!);
  if (words[0] === words[2] && words[1] === words[3] && normal) return `f64x2 ${v[0]} ${v[1]}`;
  return `i32x4 ${words.map((w) => `0x${w.toString(16)}`).join(' ')}`;
}

/** The text form of one function, indented by block depth; `names` (the module's functions
 * in order) prints a `call` by its callee's name. */
export function printWat(f: WasmFunction, names: readonly string[] = []): string {
  const sig = [
    ...f.params.map((p, i) => `(param $${i} ${p})`),
    ...(f.results ?? []).map((r) => `(result ${r})`),
    ...f.locals.map((l, i) => `(local $${f.params.length + i} ${l})`),
  ];
  const lines = [`(func $${f.name} (export "${f.name}") ${sig.join(' ')}`];
  let depth = 1;
  for (const [op, ...imm] of f.body) {
    if (op === 'end' || op === 'else') depth--;
    const kind = OPS[op]?.[1];
    let args = '';
    if (kind === 'mem' || kind === 'memlane') {
      const [align, offset, lane] = imm;
      args = `${offset ? ` offset=${offset}` : ''} align=${2 ** align!}${lane !== undefined ? ` ${lane}` : ''}`;
    } else if (kind === 'u32' && op.startsWith('local.')) args = ` $${imm[0]}`;
    else if (op === 'call') args = ` $${names[imm[0]!] ?? imm[0]}`;
    else if (kind === 'v128') args = ` ${v128Text(imm as number[])}`;
    else if (imm.length) args = ` ${imm.join(' ')}`;
    lines.push(`${'  '.repeat(depth)}${op}${args}`);
    if (op === 'block' || op === 'loop' || op === 'if' || op === 'else') depth++;
  }
  lines.push(')');
  return lines.join('\n');
}
