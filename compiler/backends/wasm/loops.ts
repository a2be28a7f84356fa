// WebAssembly rendering of loop IR: the second renderer beside backends/js/loops.ts. A kernel
// (lower/loop-ir.ts) becomes one function whose parameters are byte addresses in linear
// memory: the result of each lane, then each argument of each lane (a shared argument gets
// the same address for every lane, a summed result the same result address). Where those
// live is the caller's business, as for the JS renderer.
//
// Types. The loop IR is untyped; here loop variables and index arithmetic are i32 and values
// are f64 in registers whatever the model's precision: an f32 kernel loads f32, widens, and
// rounds once when it stores, as the JavaScript backend's f32 modules do (JS numbers are
// doubles, rounded when written to a Float32Array). So a scalar kernel computes what the JS
// renderer's code computes, bit for bit, except the transcendentals (math.ts's polynomials,
// within their documented bounds of Math.*).
//
// Vectors. An innermost loop runs W = 16 bytes / element at a time (f32x4 for f32 models,
// f64x2 for f64), then one element at a time for the rest, when its body is lets and stores
// at one index contiguous in the loop variable, over loads that are contiguous or invariant
// (splatted once, before the loop), and its iterations are independent: the lowering hints
// it `vector` (an axpy, a clear), or it reads its result only at the element it stores.
// Other loops stay scalar. A vector loop that needs a transcendental (or gt, select, sign)
// runs in f64x2 also for f32 data, two elements widened at a time, with math.ts's kernels. An
// f32x4 loop computes in f32 (each operation rounded): the one place where results may
// differ from the JS renderer's, by a few f32 ulps.
//
// What has no WebAssembly form here is refused with a reason (`LoopRefusal`): the elementwise
// ops pow, sin, cos and atan (no polynomial kernel in math.ts yet). The caller keeps such a
// kernel on JS. A float used as an index (a loaded id, which the lowering has checked is
// whole and in range) is truncated to i32.
import { getOp } from '../../ops/registry.ts';
import { allExprs, someExpr, type Kernel, type LExpr, type LStmt } from '../../lower/loop-ir.ts';
import type { Ins, ValType, WasmFunction } from './encode.ts';
import type { Precision } from './gemm.ts';
import { TRANSCENDENTALS, vectorForm, type Vec } from './math.ts';

/** Why a kernel has no WebAssembly form. */
export class LoopRefusal extends Error {}

/** Elementwise ops with a scalar f64 instruction. */
const UNARY: Readonly<Record<string, string>> = {
  neg: 'f64.neg',
  abs: 'f64.abs',
  sqrt: 'f64.sqrt',
  floor: 'f64.floor',
};
const BINARY: Readonly<Record<string, string>> = {
  add: 'f64.add',
  sub: 'f64.sub',
  mul: 'f64.mul',
  div: 'f64.div',
  // NaN-propagating, −0 < +0: Math.max / Math.min exactly.
  max: 'f64.max',
  min: 'f64.min',
};
const BIN_OP: Readonly<Record<string, string>> = {
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  max: 'max',
  min: 'min',
};
const F_CMP: Readonly<Record<string, string>> = {
  '<': 'f64.lt',
  '<=': 'f64.le',
  '>': 'f64.gt',
  '>=': 'f64.ge',
  '==': 'f64.eq',
};
const I_CMP: Readonly<Record<string, string>> = {
  '<': 'i32.lt_s',
  '<=': 'i32.le_s',
  '>': 'i32.gt_s',
  '>=': 'i32.ge_s',
  '==': 'i32.eq',
};
/** Ops a vector loop computes lane-wise (the suffix of f32x4.* / f64x2.*). */
const VECTOR_OPS = new Set([
  'add',
  'sub',
  'mul',
  'div',
  'max',
  'min',
  'neg',
  'abs',
  'sqrt',
  'floor',
]);
/** Why `op` (an elementwise op) has no WebAssembly form, or null. */
export function elemRefusal(op: string): string | null {
  if (op in UNARY || op in BINARY || vectorForm(op)) return null;
  return `the elementwise op ${op} has no WebAssembly kernel`;
}

/** Integer (`i`), float (`f`), a comparison's i32 0/1 (`b`), or an integer literal that takes
 * the type its context asks for (`n`). */
type Ty = 'i' | 'f' | 'b' | 'n';

const join = (a: Ty, b: Ty): Ty => {
  if (a === 'f' || b === 'f') return 'f';
  if (a === 'n') return b === 'b' ? 'i' : b;
  if (b === 'n') return a === 'b' ? 'i' : a;
  return 'i';
};

/** The types of a kernel's locals: loop variables are integers; a local is a float if any
 * assignment to it is (iterated: an accumulator starts at the literal 0). */
function localTypes(
  body: readonly LStmt[],
  external: ReadonlySet<string> = new Set(),
): Map<string, 'i' | 'f'> {
  const assigns: [string, LExpr][] = [];
  const types = new Map<string, 'i' | 'f'>([...external].map((n) => [n, 'f'] as const));
  const walk = (list: readonly LStmt[]): void => {
    for (const s of list) {
      if (s.k === 'for') {
        types.set(s.v, 'i');
        walk(s.body);
      } else if (s.k === 'if') walk(s.then);
      else if (s.k === 'let' || s.k === 'set') assigns.push([s.name, s.value]);
    }
  };
  walk(body);
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, value] of assigns) {
      const t = typeOf(value, types, true);
      const was = types.get(name);
      const now = t === 'f' || was === 'f' ? 'f' : t === 'n' ? was : 'i';
      if (now !== undefined && now !== was) {
        types.set(name, now);
        changed = true;
      }
    }
  }
  // Only literals assigned: a float (0 as an accumulator's start is the common case).
  for (const [name] of assigns) if (!types.has(name)) types.set(name, 'f');
  return types;
}

function typeOf(e: LExpr, vars: ReadonlyMap<string, 'i' | 'f'>, loose = false): Ty {
  switch (e.k) {
    case 'num':
      return Number.isInteger(e.v) && Math.abs(e.v) < 2 ** 31 ? 'n' : 'f';
    case 'var': {
      const t = vars.get(e.name);
      if (t === undefined) {
        if (loose) return 'n';
        throw new LoopRefusal(`${e.name} is read before it is set`);
      }
      return t;
    }
    case 'load':
    case 'loadOut':
    case 'elem':
      return 'f';
    case 'sum':
      return e.terms.map((t) => typeOf(t, vars, loose)).reduce(join);
    case 'bin':
      // The loop IR's division is a float division even of integers.
      return e.op === '/' ? 'f' : join(typeOf(e.a, vars, loose), typeOf(e.b, vars, loose));
    case 'cmp':
      return 'b';
    case 'sel':
      return join(typeOf(e.a, vars, loose), typeOf(e.b, vars, loose));
  }
}

/** The coefficient of loop variable `j` in an integer index expression (affine in j), or null. */
function coefficient(e: LExpr, j: string): number | null {
  switch (e.k) {
    case 'num':
      return 0;
    case 'var':
      return e.name === j ? 1 : 0;
    case 'sum': {
      let c = 0;
      for (const t of e.terms) {
        const x = coefficient(t, j);
        if (x === null) return null;
        c += x;
      }
      return c;
    }
    case 'bin': {
      const a = coefficient(e.a, j);
      const b = coefficient(e.b, j);
      if (a === null || b === null) return null;
      if (e.op === '+') return a + b;
      if (e.op === '-') return a - b;
      if (e.op === '*') {
        if (a === 0 && b === 0) return 0;
        if (e.a.k === 'num') return e.a.v * b;
        if (e.b.k === 'num') return a * e.b.v;
        return null;
      }
      return a === 0 && b === 0 ? 0 : null;
    }
    default:
      return null;
  }
}

/** Whether `e` reads any of the variables `names` (a loop variable and what depends on it). */
function uses(e: LExpr, names: ReadonlySet<string> | string): boolean {
  const has = (n: string) => (typeof names === 'string' ? n === names : names.has(n));
  return someExpr(e, (x) => x.k === 'var' && has(x.name));
}

/** The variables the statements read. */
function varsRead(list: readonly LStmt[]): Set<string> {
  const found = new Set<string>();
  for (const e of allExprs(list)) if (e.k === 'var') found.add(e.name);
  return found;
}

/**
 * Whether `name` is read anywhere but inside `skip` before a `let` or `set` of it in the same
 * scope gives it a value again (the vector form of `skip` leaves its scalar local stale).
 */
function readElsewhere(
  list: readonly LStmt[],
  name: string,
  skip: LStmt,
  covered = false,
): boolean {
  const r = (e: LExpr): boolean => !covered && uses(e, name);
  for (const s of list) {
    if (s === skip) continue;
    switch (s.k) {
      case 'for':
        if (readElsewhere(s.body, name, skip, covered)) return true;
        break;
      case 'if':
        if (r(s.cond) || readElsewhere(s.then, name, skip, covered)) return true;
        break;
      case 'let':
      case 'set':
        if (r(s.value)) return true;
        if (s.name === name) covered = true;
        break;
      case 'store':
        if (r(s.index) || r(s.value) || (s.channel !== undefined && r(s.channel))) return true;
        break;
      case 'skipIf':
        if (r(s.cond)) return true;
        break;
    }
  }
  return false;
}

export interface LoopFunction {
  readonly fn: WasmFunction;
  /** The local holding each IR variable (a caller inlining the body maps them: program.ts). */
  readonly bound: ReadonlyMap<string, number>;
  /** Loops rendered with vectors (f32x4 / f64x2). */
  readonly vectorLoops: number;
}

/**
 * The WebAssembly function of kernel `k`: parameters (all i32 byte addresses) are the result
 * of lanes 0..L−1, then argument 0 of lanes 0..L−1, argument 1 ..., for `args` arguments.
 * Throws LoopRefusal for a kernel it cannot render.
 */
export function renderLoopKernel(
  name: string,
  k: Kernel,
  precision: Precision,
  args: number,
  o: {
    /** False renders every loop scalar: f32 results then equal the JS renderer's. */
    readonly vectors?: boolean;
    /** The function index of the scalar helper (mathHelper) of a transcendental op, which a
     * scalar evaluation then calls instead of inlining the polynomial; absent: inline. */
    readonly helper?: (op: string) => number | undefined;
    /** Float variables the kernel reads that another kernel set (inlined one after another
     * into one function, they share the local: program.ts). */
    readonly external?: ReadonlySet<string>;
  } = {},
): LoopFunction {
  return new Renderer(
    name,
    k,
    precision,
    args,
    o.vectors ?? true,
    o.helper,
    o.external ?? new Set(),
  ).render();
}

/** The transcendental ops a kernel's expressions apply (which mathHelper functions it may call). */
export function transcendentalsOf(k: Kernel): Set<string> {
  const found = new Set<string>();
  for (const e of allExprs(k.body)) if (e.k === 'elem' && e.op in TRANSCENDENTALS) found.add(e.op);
  return found;
}

/** `m_<op>(x: f64) -> f64` for each transcendental op: one copy of each polynomial that the
 * scalar code of many kernels calls (unrolled code would otherwise inline it per element). */
export function mathHelper(op: string): WasmFunction {
  const f = TRANSCENDENTALS[op];
  if (!f) throw new Error(`internal: ${op} has no WebAssembly kernel`);
  const body: Ins[] = [];
  const locals: ValType[] = [];
  const V: Vec = {
    local: () => 1 + locals.push('v128') - 1,
    emit: (...ins) => body.push(...ins),
  };
  const x = V.local();
  body.push(['local.get', 0], ['f64x2.splat'], ['local.set', x]);
  const r = f(V, x);
  body.push(['local.get', r], ['f64x2.extract_lane', 0]);
  return { name: `m_${op}`, params: ['f64'], results: ['f64'], locals, body };
}

/** The parameter index of argument `arg`'s address for `lane` in an L-lane kernel. */
export const argParam = (lanes: number, arg: number, lane: number): number =>
  lanes + arg * lanes + lane;

/** A block on the label stack: `body` is the target of a `skipIf` (the rest of the body). */
type Label = 'body' | 'other';

class Renderer {
  private readonly code: Ins[] = [];
  private readonly locals: ValType[] = [];
  private readonly params: ValType[];
  private readonly lanes: number;
  private readonly e: number;
  private readonly f32: boolean;
  private readonly vars: Map<string, 'i' | 'f'>;
  /** The wasm local holding each IR variable. */
  private readonly bound = new Map<string, number>();
  private readonly free: Record<ValType, number[]> = { i32: [], f32: [], f64: [], v128: [] };
  private readonly labels: Label[] = [];
  private vectorLoops = 0;

  constructor(
    private readonly name: string,
    private readonly k: Kernel,
    precision: Precision,
    private readonly args: number,
    private readonly vectors: boolean,
    private readonly helper: ((op: string) => number | undefined) | undefined,
    external: ReadonlySet<string>,
  ) {
    this.lanes = k.lanes ?? 1;
    this.f32 = precision === 'f32';
    this.e = this.f32 ? 4 : 8;
    this.params = Array.from({ length: this.lanes * (1 + args) }, () => 'i32' as const);
    this.vars = localTypes(k.body, external);
  }

  render(): LoopFunction {
    // The whole body is a block, so that a `skipIf` outside any loop ends the kernel.
    this.emit(['block']);
    this.labels.push('body');
    this.stmts(this.k.body);
    this.labels.pop();
    this.emit(['end']);
    return {
      fn: { name: this.name, params: this.params, locals: this.locals, body: this.code },
      bound: this.bound,
      vectorLoops: this.vectorLoops,
    };
  }

  private emit(...ins: Ins[]): void {
    for (const i of ins) this.code.push(i);
  }

  private local(t: ValType): number {
    const reuse = this.free[t].pop();
    if (reuse !== undefined) return reuse;
    return this.params.length + this.locals.push(t) - 1;
  }

  private release(t: ValType, l: number): void {
    this.free[t].push(l);
  }

  /** The wasm local of IR variable `name` (allocated on first use; never released: a
   * variable may be read after the loop that set it). */
  private varLocal(name: string): number {
    let l = this.bound.get(name);
    if (l === undefined) {
      l = this.params.length + this.locals.push(this.vars.get(name) === 'i' ? 'i32' : 'f64') - 1;
      this.bound.set(name, l);
    }
    return l;
  }

  private outParam(lane: number | undefined): number {
    return this.laneOf(lane);
  }

  private argParamOf(arg: number, lane: number | undefined): number {
    if (!Number.isInteger(arg) || arg < 0 || arg >= this.args)
      throw new Error(`internal: argument ${arg} of a ${this.args}-argument kernel`);
    return argParam(this.lanes, arg, this.laneOf(lane));
  }

  private laneOf(lane: number | undefined): number {
    const l = lane ?? 0;
    if (!Number.isInteger(l) || l < 0 || l >= this.lanes)
      throw new Error(`internal: lane ${l} of a ${this.lanes}-lane kernel`);
    return l;
  }

  // ---- statements ----

  private stmts(list: readonly LStmt[]): void {
    for (const s of list) this.stmt(s);
  }

  private stmt(s: LStmt): void {
    switch (s.k) {
      case 'for':
        if (s.to <= s.from) return;
        if (this.vectors) {
          const mode = this.vectorMode(s);
          if (mode) return this.vectorLoop(s, mode);
        }
        return this.loop(s.v, s.from, s.to, s.body);
      case 'let':
      case 'set': {
        const t = this.vars.get(s.name)!;
        this.value(s.value, t);
        this.emit(['local.set', this.varLocal(s.name)]);
        return;
      }
      case 'store':
        return this.store(s.index, s.lane, s.add, () => this.value(s.value, 'f'));
      case 'skipIf': {
        this.cond(s.cond);
        this.emit(['br_if', this.skipDepth()]);
        return;
      }
      case 'if':
        this.cond(s.cond);
        this.emit(['if']);
        this.labels.push('other');
        this.stmts(s.then);
        this.labels.pop();
        this.emit(['end']);
        return;
    }
  }

  /** The branch depth of the innermost `body` block. */
  private skipDepth(): number {
    const at = this.labels.lastIndexOf('body');
    return this.labels.length - 1 - at;
  }

  /** for (v = from; v < to; v++) body, as block { loop { exit test; block { body } v++ } }. */
  private loop(name: string, from: number, to: number, body: readonly LStmt[], step = 1): void {
    const i = this.varLocal(name);
    this.emit(['i32.const', from], ['local.set', i], ['block'], ['loop']);
    this.labels.push('other', 'other');
    this.emit(['local.get', i], ['i32.const', to], ['i32.ge_s'], ['br_if', 1], ['block']);
    this.labels.push('body');
    this.stmts(body);
    this.labels.pop();
    this.emit(['end']);
    this.emit(['local.get', i], ['i32.const', step], ['i32.add'], ['local.set', i], ['br', 0]);
    this.labels.pop();
    this.labels.pop();
    this.emit(['end'], ['end']);
  }

  /** Pushes the byte address of element `index` of the array at parameter `p`, and returns
   * the constant part folded into the memory offset. */
  private address(p: number, index: LExpr): number {
    const [rest, c] = splitConstant(index);
    this.emit(['local.get', p]);
    if (rest) {
      this.value(rest, 'i');
      this.emit(['i32.const', Math.log2(this.e)], ['i32.shl'], ['i32.add']);
    }
    return c * this.e;
  }

  private loadAt(p: number, index: LExpr): void {
    const offset = this.address(p, index);
    if (this.f32) this.emit(['f32.load', 2, offset], ['f64.promote_f32']);
    else this.emit(['f64.load', 3, offset]);
  }

  private store(index: LExpr, lane: number | undefined, add: boolean, value: () => void): void {
    const p = this.outParam(lane);
    const [rest, c] = splitConstant(index);
    const offset = c * this.e;
    let addr: number | null = null;
    if (rest) {
      addr = this.local('i32');
      this.emit(['local.get', p]);
      this.value(rest, 'i');
      this.emit(['i32.const', Math.log2(this.e)], ['i32.shl'], ['i32.add'], ['local.tee', addr]);
    } else this.emit(['local.get', p]);
    if (add) {
      this.emit(['local.get', addr ?? p]);
      if (this.f32) this.emit(['f32.load', 2, offset], ['f64.promote_f32']);
      else this.emit(['f64.load', 3, offset]);
      value();
      this.emit(['f64.add']);
    } else value();
    if (this.f32) this.emit(['f32.demote_f64'], ['f32.store', 2, offset]);
    else this.emit(['f64.store', 3, offset]);
    if (addr !== null) this.release('i32', addr);
  }

  // ---- expressions ----

  /** Pushes `e` as an i32 (`i`) or an f64 (`f`). */
  private value(e: LExpr, want: 'i' | 'f'): void {
    const t = typeOf(e, this.vars);
    if (want === 'i' && t === 'f') {
      // A data-dependent index (a loaded id): the kernel has checked it is a whole number in
      // range before it reaches here, and float arithmetic on it is exact.
      this.push(e, 'f');
      this.emit(['i32.trunc_sat_f64_s']);
      return;
    }
    const as = t === 'n' ? want : t === 'b' ? 'i' : t;
    this.push(e, as);
    if (as === 'i' && want === 'f') this.emit(['f64.convert_i32_s']);
  }

  /** Pushes `e` computed in type `t` (its own type, or `n` resolved). */
  private push(e: LExpr, t: 'i' | 'f'): void {
    switch (e.k) {
      case 'num':
        this.emit(t === 'i' ? ['i32.const', e.v] : ['f64.const', e.v]);
        return;
      case 'var':
        this.emit(['local.get', this.varLocal(e.name)]);
        return;
      case 'load':
        return this.loadAt(this.argParamOf(e.arg, e.lane), e.index);
      case 'loadOut':
        return this.loadAt(this.outParam(e.lane), e.index);
      case 'sum': {
        e.terms.forEach((term, n) => {
          this.value(term, t);
          if (n > 0) this.emit([t === 'i' ? 'i32.add' : 'f64.add']);
        });
        return;
      }
      case 'bin':
        if (t === 'i') return this.intBin(e.op, e.a, e.b);
        if (e.op === 'idiv' || e.op === 'mod') throw new LoopRefusal(`${e.op} of a float`);
        this.value(e.a, 'f');
        this.value(e.b, 'f');
        this.emit([BINARY[BIN_OP[e.op]!]!]);
        return;
      case 'cmp': {
        const ta = typeOf(e.a, this.vars);
        const tb = typeOf(e.b, this.vars);
        const float = ta === 'f' || tb === 'f';
        this.value(e.a, float ? 'f' : 'i');
        this.value(e.b, float ? 'f' : 'i');
        this.emit([float ? F_CMP[e.op]! : I_CMP[e.op]!]);
        return;
      }
      case 'sel': {
        // Lazy: the branch not taken may hold a load that is out of range.
        const type = t === 'i' ? 'i32' : 'f64';
        const r = this.local(type);
        this.cond(e.c);
        this.emit(['if']);
        this.value(e.a, t);
        this.emit(['local.set', r], ['else']);
        this.value(e.b, t);
        this.emit(['local.set', r], ['end'], ['local.get', r]);
        this.release(type, r);
        return;
      }
      case 'elem':
        return this.elem(e.op, e.args);
    }
  }

  private intBin(op: string, a: LExpr, b: LExpr): void {
    const native: Readonly<Record<string, string>> = {
      '+': 'i32.add',
      '-': 'i32.sub',
      '*': 'i32.mul',
      // Of non-negative indices: truncation is the floor.
      idiv: 'i32.div_s',
      mod: 'i32.rem_s',
    };
    if (op in native) {
      this.value(a, 'i');
      this.value(b, 'i');
      this.emit([native[op]!]);
      return;
    }
    if (op !== 'max' && op !== 'min') throw new LoopRefusal(`integer ${op}`);
    const x = this.local('i32');
    const y = this.local('i32');
    this.value(a, 'i');
    this.emit(['local.set', x]);
    this.value(b, 'i');
    this.emit(['local.set', y], ['local.get', x], ['local.get', y], ['local.get', x]);
    this.emit(['local.get', y], [op === 'max' ? 'i32.gt_s' : 'i32.lt_s'], ['select']);
    this.release('i32', x);
    this.release('i32', y);
  }

  /** Pushes an i32 that is non-zero where `c` holds (a float condition: `c != 0`, so NaN
   * holds, as in the interpreter). */
  private cond(c: LExpr): void {
    const t = typeOf(c, this.vars);
    if (t === 'f') {
      this.value(c, 'f');
      this.emit(['f64.const', 0], ['f64.ne']);
    } else this.value(c, 'i');
  }

  private elem(op: string, args: readonly LExpr[]): void {
    const def = getOp(op);
    if (def.kind !== 'elementwise') throw new Error(`internal: ${op} is not elementwise`);
    const why = elemRefusal(op);
    if (why) throw new LoopRefusal(why);
    for (const a of args) this.value(a, 'f');
    if (op in UNARY) return this.emit([UNARY[op]!]);
    if (op in BINARY) return this.emit([BINARY[op]!]);
    if (op === 'gt') return this.emit(['f64.gt'], ['f64.convert_i32_s']);
    if (op === 'select') {
      // select(c, a, b) = c != 0 ? a : b (both evaluated: they are values, not loads).
      const c = this.local('f64');
      const a = this.local('f64');
      const b = this.local('f64');
      this.emit(['local.set', b], ['local.set', a], ['local.set', c]);
      this.emit(['local.get', a], ['local.get', b], ['local.get', c], ['f64.const', 0]);
      this.emit(['f64.ne'], ['select']);
      for (const l of [c, a, b]) this.release('f64', l);
      return;
    }
    if (op === 'sign') {
      // Math.sign: 1 above zero, −1 below, the argument itself at ±0 and NaN.
      const x = this.local('f64');
      this.emit(['local.set', x]);
      this.emit(['f64.const', 1], ['f64.const', -1], ['local.get', x], ['local.get', x]);
      this.emit(['f64.const', 0], ['f64.lt'], ['select']);
      this.emit(['local.get', x], ['f64.const', 0], ['f64.gt'], ['select']);
      this.release('f64', x);
      return;
    }
    // A transcendental: a call to its helper, or the f64x2 polynomial kernel inline on a
    // splat, lane 0 taken back.
    const callee = this.helper?.(op);
    if (callee !== undefined) return this.emit(['call', callee]);
    const { V, done } = this.vectorLocals();
    const x = V.local();
    this.emit(['f64x2.splat'], ['local.set', x]);
    const r = TRANSCENDENTALS[op]!(V, x);
    this.emit(['local.get', r], ['f64x2.extract_lane', 0]);
    done();
  }

  /** A Vec for math.ts's kernels whose v128 locals come from the pool, and the call that
   * gives them back. */
  private vectorLocals(): { V: Vec; done: () => void } {
    const held: number[] = [];
    const V: Vec = {
      local: () => {
        const l = this.local('v128');
        held.push(l);
        return l;
      },
      emit: (...ins) => this.emit(...ins),
    };
    return { V, done: () => held.forEach((l) => this.release('v128', l)) };
  }

  // ---- vector loops ----

  /** The variables of the vector loop being rendered whose value differs per element: the
   * loop variable and its body's vector lets (bound to v128 locals in `vlocals`). */
  private vary: Set<string> = new Set();
  private readonly vlocals = new Map<string, number>();
  /** Invariant float locals of the vector loop being rendered, splatted before it. */
  private readonly splats = new Map<string, number>();

  /**
   * How an innermost loop runs as vectors, or null when it stays scalar. Its body must be
   * lets and stores of lane-wise values, every store at the same index, contiguous in the
   * loop variable, over loads that are contiguous or invariant (splatted). A loop the
   * lowering hints `vector` is independent by construction; any other qualifies when it reads
   * its result only at the element it stores (a `+=`), so no iteration reads what another
   * writes (the memory plan never overlaps a step's result with a live argument).
   * `native` uses only ops of the element type's vectors (f32x4 / f64x2: arithmetic, min,
   * max, abs, sqrt, floor); `wide` also needs the f64x2 kernels (transcendentals, gt, select,
   * sign), so an f32 loop then runs two elements at a time in f64, rounding once at the
   * store, as its scalar form does.
   */
  private vectorMode(s: Extract<LStmt, { k: 'for' }>): 'native' | 'wide' | null {
    const j = s.v;
    const vary = new Set([j]);
    let wide = false;
    const ok = (e: LExpr): boolean => {
      if (!uses(e, vary)) return true;
      switch (e.k) {
        case 'var':
          return e.name !== j;
        case 'load':
        case 'loadOut':
          return coefficient(e.index, j) === 1 && !uses(e.index, varyLets());
        case 'sum':
          return e.terms.every(ok);
        case 'bin':
          return e.op in BIN_OP && ok(e.a) && ok(e.b);
        case 'elem':
          if (!VECTOR_OPS.has(e.op)) {
            if (!vectorForm(e.op)) return false;
            wide = true;
          }
          return e.args.every(ok);
        default:
          return false;
      }
    };
    const varyLets = () => new Set([...vary].filter((x) => x !== j));
    const stores = s.body.filter((st) => st.k === 'store');
    const first = stores[0];
    if (!first) return null;
    const key = (e: LExpr) => JSON.stringify(e);
    for (const st of s.body) {
      if (st.k === 'let') {
        // A let read after the loop keeps its scalar meaning: not vectorized.
        if (readElsewhere(this.k.body, st.name, s)) return null;
        if (!uses(st.value, vary)) continue;
        if (this.vars.get(st.name) !== 'f' || !ok(st.value)) return null;
        vary.add(st.name);
        continue;
      }
      if (st.k !== 'store') return null;
      if (key(st.index) !== key(first.index) || coefficient(st.index, j) !== 1) return null;
      if (uses(st.index, varyLets())) return null;
      if (st.channel !== undefined && uses(st.channel, vary)) return null;
      if (!ok(st.value)) return null;
    }
    if (s.hint !== 'vector') {
      // Without the hint: the result is read only where it is stored.
      for (const x of allExprs(s.body))
        if (x.k === 'loadOut' && key(x.index) !== key(first.index)) return null;
    }
    return wide ? 'wide' : 'native';
  }

  /** The vector type of the loop being rendered: f32x4 only for native f32 loops. */
  private vt: 'f32x4' | 'f64x2' = 'f64x2';

  private vectorLoop(s: Extract<LStmt, { k: 'for' }>, mode: 'native' | 'wide'): void {
    this.vt = this.f32 && mode === 'native' ? 'f32x4' : 'f64x2';
    const w = this.vt === 'f32x4' ? 4 : 2;
    const count = Math.floor((s.to - s.from) / w);
    const split = s.from + count * w;
    if (count > 0) {
      this.vectorLoops++;
      const i = this.varLocal(s.v);
      this.vary = new Set([s.v]);
      // Locals the body reads but does not set are splatted once, before the loop.
      this.splats.clear();
      const set = new Set(s.body.flatMap((st) => (st.k === 'let' ? [st.name] : [])));
      for (const name of varsRead(s.body))
        if (name !== s.v && !set.has(name) && this.vars.get(name) === 'f') {
          const l = this.params.length + this.locals.push('v128') - 1;
          this.emit(['local.get', this.varLocal(name)]);
          if (this.vt === 'f32x4') this.emit(['f32.demote_f64'], ['f32x4.splat']);
          else this.emit(['f64x2.splat']);
          this.emit(['local.set', l]);
          this.splats.set(name, l);
        }
      this.emit(['i32.const', s.from], ['local.set', i], ['block'], ['loop']);
      this.labels.push('other', 'other');
      this.emit(['local.get', i], ['i32.const', split], ['i32.ge_s'], ['br_if', 1]);
      for (const st of s.body) {
        if (st.k === 'store') this.vectorStore(st);
        else if (st.k === 'let' && uses(st.value, this.vary)) {
          let l = this.vlocals.get(st.name);
          if (l === undefined) {
            l = this.params.length + this.locals.push('v128') - 1;
            this.vlocals.set(st.name, l);
          }
          this.vector(st.value);
          this.emit(['local.set', l]);
          this.vary.add(st.name);
        } else this.stmt(st);
      }
      this.emit(['local.get', i], ['i32.const', w], ['i32.add'], ['local.set', i], ['br', 0]);
      this.labels.pop();
      this.labels.pop();
      this.emit(['end'], ['end']);
      this.vary = new Set();
      this.splats.clear();
    }
    if (split < s.to) this.loop(s.v, split, s.to, s.body);
  }

  /** Whether vectors hold f32 data widened to f64x2 (two elements of an f32 array). */
  private get widened(): boolean {
    return this.f32 && this.vt === 'f64x2';
  }

  /** Pushes the vector at the address on the stack (+ offset). */
  private vload(offset: number): void {
    if (this.widened) this.emit(['v128.load64_zero', 3, offset], ['f64x2.promote_low_f32x4']);
    else this.emit(['v128.load', 0, offset]);
  }

  private vectorStore(st: Extract<LStmt, { k: 'store' }>): void {
    const offset = this.address(this.outParam(st.lane), st.index);
    if (st.add) {
      const addr = this.local('i32');
      this.emit(['local.tee', addr], ['local.get', addr]);
      this.vload(offset);
      this.vector(st.value);
      this.emit([`${this.vt}.add`]);
      this.release('i32', addr);
    } else this.vector(st.value);
    if (this.widened) this.emit(['f32x4.demote_f64x2_zero'], ['v128.store64_lane', 3, offset, 0]);
    else this.emit(['v128.store', 0, offset]);
  }

  /** Pushes `e` as a vector of consecutive iterations of the loop. */
  private vector(e: LExpr): void {
    if (e.k === 'var' && this.splats.has(e.name)) {
      this.emit(['local.get', this.splats.get(e.name)!]);
      return;
    }
    if (!uses(e, this.vary)) {
      // Invariant: the scalar value in every lane (rounded to f32 for an f32x4 loop, whose
      // arithmetic is in f32).
      this.value(e, 'f');
      if (this.vt === 'f32x4') this.emit(['f32.demote_f64'], ['f32x4.splat']);
      else this.emit(['f64x2.splat']);
      return;
    }
    switch (e.k) {
      case 'var':
        this.emit(['local.get', this.vlocals.get(e.name)!]);
        return;
      case 'load':
      case 'loadOut': {
        const p = e.k === 'load' ? this.argParamOf(e.arg, e.lane) : this.outParam(e.lane);
        this.vload(this.address(p, e.index));
        return;
      }
      case 'sum':
        e.terms.forEach((t, n) => {
          this.vector(t);
          if (n > 0) this.emit([`${this.vt}.add`]);
        });
        return;
      case 'bin':
        this.vector(e.a);
        this.vector(e.b);
        this.emit([`${this.vt}.${BIN_OP[e.op]!}`]);
        return;
      case 'elem':
        return this.vectorElem(e.op, e.args);
      default:
        throw new Error('internal: not a vector expression');
    }
  }

  private vectorElem(op: string, args: readonly LExpr[]): void {
    if (VECTOR_OPS.has(op)) {
      for (const a of args) this.vector(a);
      this.emit([`${this.vt}.${op}`]);
      return;
    }
    // The f64x2 kernels: operands in v128 locals, the result's local pushed.
    const { V, done } = this.vectorLocals();
    const xs = args.map((a) => {
      this.vector(a);
      const l = V.local();
      this.emit(['local.set', l]);
      return l;
    });
    this.emit(['local.get', vectorForm(op)!(V, xs)]);
    done();
  }
}

/** An index as (the rest, a non-negative constant term) so the constant goes into the
 * memory instruction's offset. */
function splitConstant(e: LExpr): [LExpr | null, number] {
  if (e.k === 'num') {
    if (Number.isInteger(e.v) && e.v >= 0) return [null, e.v];
    throw new LoopRefusal(`index ${e.v}`);
  }
  if (e.k === 'sum') {
    const c = e.terms.find((t) => t.k === 'num' && Number.isInteger(t.v) && t.v > 0);
    if (c && c.k === 'num') {
      const rest = e.terms.filter((t) => t !== c);
      return [rest.length === 1 ? rest[0]! : { k: 'sum', terms: rest }, c.v];
    }
  }
  if (e.k === 'bin' && e.op === '+') {
    if (e.b.k === 'num' && Number.isInteger(e.b.v) && e.b.v > 0) return [e.a, e.b.v];
    if (e.a.k === 'num' && Number.isInteger(e.a.v) && e.a.v > 0) return [e.b, e.a.v];
  }
  return [e, 0];
}
