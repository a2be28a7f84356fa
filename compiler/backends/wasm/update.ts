// The SGD update params -= lr·grad as one vector pass in the module's memory, behind the
// optional `sgd` export (glue.ts). A training step's update is a pass over every parameter;
// in JavaScript V8 runs it as a scalar loop with a bounds check per access (101,770 f32
// parameters of 784-128-10: ~110 µs, a third of the step), here it is f32x4 / f64x2, four
// vectors a loop turn (~9 µs; one a turn, ~13 µs, was half loop overhead).
import type { Ins, ValType, WasmFunction } from './encode.ts';
import type { Precision } from './gemm.ts';

/** sgd(p, g, n, lr): p[i] -= lr·g[i] for i < n, p and g byte addresses (16-byte aligned, as
 * alloc hands them out), n elements; lr in the model's precision. */
export function sgdKernel(name: string, precision: Precision): WasmFunction {
  const f64 = precision === 'f64';
  const e = f64 ? 8 : 4;
  const t = f64 ? 'f64' : 'f32';
  const v = f64 ? 'f64x2' : 'f32x4';
  const al = f64 ? 3 : 2;
  const params: ValType[] = ['i32', 'i32', 'i32', t];
  const [P, G, N, LR] = [0, 1, 2, 3];
  const [end, tail, lrv, end4] = [4, 5, 6, 7];
  /** p[at] -= lr·g[at] for one vector at byte offset `at`. */
  const vector = (at: number): Ins[] => [
    get(P),
    get(P),
    ['v128.load', al, at],
    get(lrv),
    get(G),
    ['v128.load', al, at],
    [`${v}.mul`],
    [`${v}.sub`],
    ['v128.store', al, at],
  ];
  const get = (l: number): Ins => ['local.get', l];
  const set = (l: number): Ins => ['local.set', l];
  const step = (bytes: number): Ins[] => [
    get(P),
    ['i32.const', bytes],
    ['i32.add'],
    set(P),
    get(G),
    ['i32.const', bytes],
    ['i32.add'],
    set(G),
  ];
  const body: Ins[] = [
    get(LR),
    [`${v}.splat`],
    set(lrv),
    // tail = p + n·e; end = p + (n rounded down to whole vectors)·e.
    get(P),
    get(N),
    ['i32.const', e],
    ['i32.mul'],
    ['i32.add'],
    set(tail),
    get(P),
    get(N),
    ['i32.const', -(16 / e)],
    ['i32.and'],
    ['i32.const', e],
    ['i32.mul'],
    ['i32.add'],
    set(end),
    // end4 = p + (n rounded down to groups of 4 vectors)·e.
    get(P),
    get(N),
    ['i32.const', -(64 / e)],
    ['i32.and'],
    ['i32.const', e],
    ['i32.mul'],
    ['i32.add'],
    set(end4),
    // Four vectors per iteration: one vector a turn spent half its time on the loop itself.
    ['block'],
    ['loop'],
    get(P),
    get(end4),
    ['i32.ge_u'],
    ['br_if', 1],
    ...vector(0),
    ...vector(16),
    ...vector(32),
    ...vector(48),
    ...step(64),
    ['br', 0],
    ['end'],
    ['end'],
    ['block'],
    ['loop'],
    get(P),
    get(end),
    ['i32.ge_u'],
    ['br_if', 1],
    ...vector(0),
    ...step(16),
    ['br', 0],
    ['end'],
    ['end'],
    // The last n mod lanes elements one at a time.
    ['block'],
    ['loop'],
    get(P),
    get(tail),
    ['i32.ge_u'],
    ['br_if', 1],
    get(P),
    get(P),
    [`${t}.load`, al, 0],
    get(LR),
    get(G),
    [`${t}.load`, al, 0],
    [`${t}.mul`],
    [`${t}.sub`],
    [`${t}.store`, al, 0],
    ...step(e),
    ['br', 0],
    ['end'],
    ['end'],
  ];
  return { name, params, locals: ['i32', 'i32', 'v128', 'i32'], body };
}
