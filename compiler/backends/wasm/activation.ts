// Hidden activations on WebAssembly: each one a vector loop over a chunk's rows, in f64x2.
// The kernels are not written by hand per activation: the activation's own IR (the one the JS
// backend compiles, from frontend/activations.ts or a custom expression) is built for one
// scalar z, and its derivative comes from the compiler's reverse mode on g·act(z) (so the
// backward kernel computes g·act'(z) with the compiler's tie rules: relu6, hardSigmoid,
// leakyRelu, elu at 0). Each node is then one or a few vector instructions; exp, expm1, tanh,
// sigmoid and softplus are the polynomial kernels of math.ts. An activation that uses an op
// without a vector form (log, pow, sin, ...) is refused, and the model stays on JS.
//
// relu and linear never come here: the gemm epilogue fuses them (plan.ts).
import { vjpGraph } from '../../autodiff/reverse.ts';
import type { FunctionSpec } from '../../format/model.ts';
import { activate, type Compilation } from '../../frontend/model.ts';
import { Builder } from '../../ir/builder.ts';
import { constValue, topoOrder, type Node } from '../../ir/node.ts';
import type { Ins, ValType, WasmFunction } from './encode.ts';
import type { Precision } from './gemm.ts';
import { f64x2, vectorForm, type Vec } from './math.ts';

interface Graphs {
  readonly z: Node;
  readonly g: Node;
  readonly forward: Node;
  /** g·act'(z); null where act does not depend on z. */
  readonly backward: Node | null;
}

function graphs(fn: FunctionSpec): Graphs {
  const B = new Builder();
  const z = B.input([1]);
  const g = B.target([1]);
  const forward = activate(B, fn, z);
  // vjpGraph reads only the compilation's builder; this graph has no model around it.
  const c = { B } as unknown as Compilation;
  const backward = vjpGraph(c, B.mul(forward, g), [z]).get(z) ?? null;
  return { z, g, forward, backward };
}

const get = (l: number): Ins => ['local.get', l];
const set = (l: number): Ins => ['local.set', l];

const BINARY: Readonly<Record<string, string>> = {
  add: 'f64x2.add',
  sub: 'f64x2.sub',
  mul: 'f64x2.mul',
  div: 'f64x2.div',
  // Both propagate NaN and order −0 < +0, as Math.max / Math.min.
  max: 'f64x2.max',
  min: 'f64x2.min',
};
const UNARY: Readonly<Record<string, string>> = {
  neg: 'f64x2.neg',
  abs: 'f64x2.abs',
  sqrt: 'f64x2.sqrt',
  floor: 'f64x2.floor',
};
/** Size-1 views are the value itself. */
const VIEWS = new Set(['stop', 'reshape', 'bcast']);

function supported(op: string): boolean {
  return (
    op in BINARY ||
    op in UNARY ||
    vectorForm(op) !== undefined ||
    VIEWS.has(op) ||
    ['const', 'input', 'target'].includes(op)
  );
}

/** Why `fn` has no WebAssembly kernel, or null. */
export function activationRefusal(fn: FunctionSpec): string | null {
  let gs: Graphs;
  try {
    gs = graphs(fn);
  } catch (e) {
    return `its IR could not be built here (${e instanceof Error ? e.message : String(e)})`;
  }
  const roots = gs.backward ? [gs.forward, gs.backward] : [gs.forward];
  for (const n of topoOrder(roots)) {
    if (!supported(n.op)) return `it uses ${n.op}, which has no WebAssembly kernel`;
    if (n.size !== 1) return `it builds a ${n.op} of ${n.size} elements (elementwise only)`;
  }
  return null;
}

/** Emits the vector code of `root` given the locals of z and g; returns its local. */
function render(V: Vec, root: Node, leaves: ReadonlyMap<Node, number>): number {
  const at = new Map<Node, number>(leaves);
  const keep = (...ins: Ins[]): number => {
    const l = V.local();
    V.emit(...ins, set(l));
    return l;
  };
  for (const n of topoOrder([root])) {
    if (at.has(n)) continue;
    const a = n.args.map((x) => at.get(x)!);
    const op = n.op;
    let l: number;
    if (op === 'const') l = keep(f64x2(constValue(n)));
    else if (op === 'input' || op === 'target')
      throw new Error(`internal: stray leaf ${op} in an activation kernel`);
    else if (VIEWS.has(op)) l = a[0]!;
    else if (op in BINARY) l = keep(get(a[0]!), get(a[1]!), [BINARY[op]!]);
    else if (op in UNARY) l = keep(get(a[0]!), [UNARY[op]!]);
    else {
      const f = vectorForm(op);
      if (!f) throw new Error(`internal: ${op} has no WebAssembly kernel`);
      l = f(V, a);
    }
    at.set(n, l);
  }
  return at.get(root)!;
}

/**
 * A loop dst[i] = f(a[i], b[i], c[i]) for i < count, two elements per step in f64x2 (f32 data
 * is promoted two at a time and the result demoted). Arguments: byte addresses dst, a, b, c
 * (those past `arity` unused), then count. An odd count processes one element more: every
 * scratch buffer has 16 bytes of slack.
 */
export function mapKernel(
  name: string,
  precision: Precision,
  arity: 1 | 2 | 3,
  body: (V: Vec, args: readonly number[]) => number,
): WasmFunction {
  const f64 = precision === 'f64';
  const step = f64 ? 16 : 8;
  const params: ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32'];
  const D = 0;
  const N = 4;
  const inputs = [1, 2, 3].slice(0, arity);
  const locals: ValType[] = [];
  const local = (t: ValType) => params.length + locals.push(t) - 1;
  const end = local('i32');
  const code: Ins[] = [];
  const V: Vec = { local: () => local('v128'), emit: (...ins) => code.push(...ins) };
  const load = (p: number): number => {
    const l = V.local();
    if (f64) V.emit(get(p), ['v128.load', 3, 0], set(l));
    else V.emit(get(p), ['v128.load64_zero', 3, 0], ['f64x2.promote_low_f32x4'], set(l));
    return l;
  };
  V.emit(get(D), get(N), ['i32.const', f64 ? 8 : 4], ['i32.mul'], ['i32.add'], set(end));
  V.emit(['block'], ['loop'], get(D), get(end), ['i32.ge_s'], ['br_if', 1]);
  const r = body(V, inputs.map(load));
  if (f64) V.emit(get(D), get(r), ['v128.store', 3, 0]);
  else V.emit(get(D), get(r), ['f32x4.demote_f64x2_zero'], ['v128.store64_lane', 3, 0, 0]);
  for (const p of [D, ...inputs]) V.emit(get(p), ['i32.const', step], ['i32.add'], set(p));
  V.emit(['br', 0], ['end'], ['end']);
  return { name, params, locals, body: code };
}

/** act(z): dst = act(a). */
export function activationForward(name: string, precision: Precision, fn: FunctionSpec) {
  const gs = graphs(fn);
  return mapKernel(name, precision, 1, (V, [z]) => render(V, gs.forward, new Map([[gs.z, z!]])));
}

/**
 * dst = b·act'(a), the cotangent of the pre-activation a from that of the output (b), with c
 * the stored output act(a): a derivative written in terms of the output (tanh: 1 − y²,
 * sigmoid: y·(1 − y)) reads it instead of evaluating the activation again.
 */
export function activationBackward(name: string, precision: Precision, fn: FunctionSpec) {
  const gs = graphs(fn);
  return mapKernel(name, precision, 3, (V, [z, g, y]) => {
    if (gs.backward) {
      return render(
        V,
        gs.backward,
        new Map([
          [gs.z, z!],
          [gs.g, g!],
          [gs.forward, y!],
        ]),
      );
    }
    const l = V.local();
    V.emit(f64x2(0), set(l));
    return l;
  });
}
