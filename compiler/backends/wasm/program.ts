// A whole scheduled program (one sample's forward, gradient or input gradient) as WebAssembly,
// every step's kernel rendered from the loop IR by loops.ts. The JavaScript emitter
// (emit/body.ts) renders the same schedule as JS; this is its WebAssembly counterpart, with
// the same memory plan:
//
// - The program is one function whose parameters are the byte addresses of its regions
//   (REGIONS: params, input, target, output, grad, dinput, work): the steps' kernels one after
//   another, each with its result's address in a local.
// - A step's loads are rewritten from "argument i at index k" into "region r at offset + k'",
//   through the views between the argument and its storage (stop, reshape, a batch mean of
//   one sample, a broadcast or slice at a constant index, or one that is an offset); constants
//   become numbers. Values the JS backend keeps in locals (unrolled code) are f64 locals
//   here too, one per element, set by one step and read by the later ones.
// - Program outputs stored elsewhere (views, leaves) are copied, as the JS emitter does, and
//   the loss is added into the work slot `lossSlot` (so no double is returned).
//
// A broadcast or a strided slice read at a loop index splits the index into coordinates
// (the loop IR's `idiv` / `mod`). What it cannot express is refused (LoopRefusal):
// training-mode leaves (batch statistics, dropout masks) and the state and statistics
// outputs of training mode.
import { attrNum, constValue, type Attrs, type Node } from '../../ir/node.ts';
import { broadcastIndex, strides } from '../../ir/shape.ts';
import { sliceIndex, splitAt } from '../../ops/slicing.ts';
import { stepKernel } from '../../lower/step.ts';
import {
  bin,
  let_,
  load,
  mapStmtExprs,
  loop,
  num,
  set,
  store,
  v,
  type Kernel,
  type LExpr,
  type LStmt,
} from '../../lower/loop-ir.ts';
import type { Schedule, Storage } from '../../schedule/schedule.ts';
import type { Ins, ValType, WasmFunction } from './encode.ts';
import type { Precision } from './gemm.ts';
import type { FnBuilder } from './fn.ts';
import { LoopRefusal, mathHelper, renderLoopKernel, transcendentalsOf } from './loops.ts';

/** The driver's parameters, in order. */
export const REGIONS = ['params', 'input', 'target', 'output', 'grad', 'dinput', 'work'] as const;
export type Region = (typeof REGIONS)[number];

const R = (r: Region): number => REGIONS.indexOf(r);

export interface WasmProgram {
  /** The program's function (calls only the math helpers, by the indices given). */
  readonly fn: WasmFunction;
  /** Work elements the program needs: the plan's and the loss slot. */
  readonly workSize: number;
  /** The work slot the loss is added to, or null without a loss. */
  readonly lossSlot: number | null;
}

/**
 * Renders schedule `s` as the function `name`. Throws LoopRefusal for what has no
 * WebAssembly form here.
 */
export function renderProgram(
  name: string,
  s: Schedule,
  precision: Precision,
  /** Gradients are added to `grad` (a batch's sum), as the JS emitter's accumulating frames. */
  accumulate = false,
  /** The function index of each transcendental's scalar helper (loops.ts mathHelper). */
  helper?: (op: string) => number | undefined,
): WasmProgram {
  const e = precision === 'f32' ? 4 : 8;
  let workSize = s.workSize;
  const place = (st: Storage): [Region, number] => {
    if (st.kind === 'local') throw new Error('internal: a local has no region');
    if (st.kind === 'work') return ['work', st.offset];
    return [st.array, st.offset];
  };
  // Values the JS backend keeps in locals (unrolled code: constant indices) are f64 locals
  // here too, one per element, shared by the steps: `defined` names those set so far.
  const defined = new Set<string>();
  const localOf = (n: Node, k: LExpr): string => {
    if (k.k !== 'num') throw new LoopRefusal(`a local value %${n.id} read at a loop index`);
    return `%${n.id}[${k.v}]`;
  };

  /** The load of node `n` at index `idx`, through its views, as a load of a region. */
  const read = (n: Node, idx: LExpr): LExpr => {
    const at = n.size === 1 ? num(0) : idx;
    const constant = at.k === 'num' ? at.v : null;
    switch (n.op) {
      case 'const':
        return num(constValue(n));
      case 'param':
        return load(R('params'), offset(n.attrs.offset!, at));
      case 'input':
        return load(R('input'), offset(n.attrs.offset ?? 0, at));
      case 'target':
        return load(R('target'), offset(n.attrs.offset ?? 0, at));
      case 'stop':
      case 'reshape':
      case 'batchMean':
        return read(n.args[0]!, at);
      case 'bcast': {
        const from = n.args[0]!;
        if (constant !== null)
          return read(from, num(broadcastIndex(from.shape, n.shape, constant) as number));
        return read(from, broadcastAt(from.shape, n.shape, at));
      }
      case 'slice': {
        const from = n.args[0]!;
        if (constant !== null)
          return read(from, num(sliceIndex(from.shape, n.attrs, constant) as number));
        return read(from, sliceAt(from.shape, n.attrs, at));
      }
      case 'batchStat':
      case 'dropoutMask':
        throw new LoopRefusal(`${n.op} (training mode) has no WebAssembly program form`);
    }
    const step = s.byNode.get(n);
    if (!step) throw new LoopRefusal(`%${n.id} ${n.op} has no storage`);
    if (step.storage.kind === 'local') return v(localOf(n, at));
    const [region, off] = place(step.storage);
    return load(R(region), offset(off, at));
  };

  const calls: Ins[] = [];
  // The steps are inlined into one function, one after another: local 7 holds the step's
  // result address; the program's local values have a local each; each step's own locals map
  // onto a pool per type that the steps share (each sets a local before it reads it).
  const locals: ValType[] = ['i32'];
  const pool: Record<ValType, number[]> = { i32: [], f32: [], f64: [], v128: [] };
  const shared = new Map<string, number>();
  const OUT = REGIONS.length;
  /** Adds the step computing `k` into region `region` at `off` (null: into locals). */
  const addStep = (k: Kernel, at: [Region, number] | null, label: string): void => {
    const r = renderLoopKernel(`${name}_${label}`, k, precision, REGIONS.length, {
      helper,
      external: defined,
    });
    if (at)
      calls.push(
        ['local.get', R(at[0])],
        ['i32.const', at[1] * e],
        ['i32.add'],
        ['local.set', OUT],
      );
    const params = 1 + REGIONS.length;
    const named = new Map([...r.bound].map(([nm, l]) => [l, nm] as const));
    const taken: Record<ValType, number> = { i32: 0, f32: 0, f64: 0, v128: 0 };
    const map = r.fn.locals.map((t, j) => {
      const nm = named.get(params + j);
      if (nm?.startsWith('%')) {
        let l = shared.get(nm);
        if (l === undefined) shared.set(nm, (l = OUT + locals.push(t) - 1));
        return l;
      }
      const n = taken[t]++;
      if (n === pool[t].length) pool[t].push(OUT + locals.push(t) - 1);
      return pool[t][n]!;
    });
    for (const ins of r.fn.body) {
      const [op, idx] = ins;
      if (op === 'local.get' || op === 'local.set' || op === 'local.tee') {
        const at = idx!;
        calls.push([op, at === 0 ? OUT : at < params ? at - 1 : map[at - params]!]);
      } else calls.push(ins);
    }
  };

  s.steps.forEach((st, i) => {
    const { kernel, args } = stepKernel(st);
    const body = mapStmtExprs(kernel.body, (x) => {
      if (x.k !== 'load') return x;
      if (x.lane) throw new Error('internal: a lane in a one-sample program');
      return read(args[x.arg]!, x.index);
    });
    if (st.storage.kind !== 'local') {
      addStep({ size: kernel.size, body }, place(st.storage), `s${i}`);
      return;
    }
    // A value in locals: each store of element k sets the local of element k.
    const names: string[] = [];
    const toLocals = (list: readonly LStmt[]): LStmt[] =>
      list.map((x): LStmt => {
        if (x.k === 'for' || x.k === 'if')
          throw new LoopRefusal(`a local value %${st.node.id} computed in a loop`);
        if (x.k !== 'store') return x;
        const nm = localOf(st.node, x.index);
        names.push(nm);
        return x.add ? set(nm, { k: 'bin', op: '+', a: v(nm), b: x.value }) : let_(nm, x.value);
      });
    addStep({ size: kernel.size, body: toLocals(body) }, null, `s${i}`);
    for (const nm of names) defined.add(nm);
  });

  // Outputs stored elsewhere are copied (grad added, when the schedule accumulates).
  for (const [i, o] of s.program.outputs.entries()) {
    if (o.kind === 'loss') continue;
    if (o.kind !== 'output' && o.kind !== 'grad' && o.kind !== 'dinput')
      throw new LoopRefusal(`the ${o.kind} output (training mode) has no WebAssembly program form`);
    const st = s.byNode.get(o.node)?.storage;
    const offsetOut = o.offset ?? 0;
    if (st?.kind === 'array' && st.array === o.kind && st.offset === offsetOut) continue;
    const add = o.kind === 'grad' && accumulate;
    const size = o.node.size;
    // Unrolled (constant indices: any view resolves) up to 256 elements, else a loop.
    const body: LStmt[] =
      size <= 256
        ? Array.from({ length: size }, (_, k) => store(num(k), read(o.node, num(k)), add))
        : [loop('k', 0, size, [store(v('k'), read(o.node, v('k')), add)], 'vector')];
    addStep({ size, body }, [o.kind, offsetOut], `out${i}`);
  }
  const loss = s.program.outputs.find((o) => o.kind === 'loss');
  let lossSlot: number | null = null;
  if (loss) {
    lossSlot = workSize++;
    addStep(
      { size: 1, body: [store(num(0), read(loss.node, num(0)), true)] },
      ['work', lossSlot],
      'loss',
    );
  }
  const driver: WasmFunction = {
    name,
    params: REGIONS.map(() => 'i32' as const),
    locals,
    body: calls,
  };
  return { fn: driver, workSize, lossSlot };
}

/** The index into a broadcast's argument for result index `idx` (row-major, trailing axes
 * aligned): Σ over kept axes of ((idx div stride) mod dim)·argument stride. */
function broadcastAt(from: readonly number[], to: readonly number[], idx: LExpr): LExpr {
  const fromSize = from.reduce((a, b) => a * b, 1);
  const toSize = to.reduce((a, b) => a * b, 1);
  if (fromSize === 1) return num(0);
  if (fromSize === toSize) return idx;
  const aligned = [...new Array<number>(to.length - from.length).fill(1), ...from];
  const ts = strides(to);
  const fs = strides(aligned);
  const terms: LExpr[] = [];
  for (let k = 0; k < to.length; k++) {
    if (aligned[k] === 1) continue;
    const q = ts[k] === 1 ? idx : bin('idiv', idx, num(ts[k]!));
    const c = k === 0 ? q : bin('mod', q, num(to[k]!));
    terms.push(fs[k] === 1 ? c : bin('*', c, num(fs[k]!)));
  }
  return terms.length === 1 ? terms[0]! : { k: 'sum', terms };
}

/** The index into a slice's argument for slice index `idx` (as ops/slicing.ts sliceIndex). */
function sliceAt(from: readonly number[], attrs: Attrs, idx: LExpr): LExpr {
  const axis = attrNum(attrs, 'axis', 'slice');
  const { outer, dim, inner } = splitAt(from, axis, 'slice');
  const run = attrNum(attrs, 'size', 'slice') * inner;
  const shift = attrNum(attrs, 'start', 'slice') * inner;
  // A slice of the leading axes is an offset.
  if (outer === 1) return offset(shift, idx);
  return {
    k: 'sum',
    terms: [
      bin('*', bin('idiv', idx, num(run)), num(dim * inner)),
      num(shift),
      bin('mod', idx, num(run)),
    ],
  };
}

/** `base + idx` with constants folded. */
function offset(base: number, idx: LExpr): LExpr {
  if (base === 0) return idx;
  if (idx.k === 'num') return num(base + idx.v);
  return { k: 'bin', op: '+', a: idx, b: num(base) };
}

/**
 * One scalar helper (loops.ts mathHelper) per transcendental that the programs' kernels use
 * (an unrolled softmax calls exp per unit), to be placed from function index `base`, and the
 * index of each op's helper for renderProgram.
 */
export function programHelpers(
  programs: readonly Schedule[],
  base: number,
): { functions: WasmFunction[]; helper: (op: string) => number | undefined } {
  const ops = [
    ...new Set(
      programs.flatMap((p) =>
        p.steps.flatMap((st) => [...transcendentalsOf(stepKernel(st).kernel)]),
      ),
    ),
  ].sort();
  return {
    functions: ops.map(mathHelper),
    helper: (op) => {
      const i = ops.indexOf(op);
      return i < 0 ? undefined : base + i;
    },
  };
}

/** Calls program `index` from `f`: the regions given push their address, `work` is the
 * work region's byte address, the others 0. */
export function callProgram(
  f: FnBuilder,
  index: number,
  regions: Partial<Record<Region, () => void>>,
  work: number,
): void {
  for (const r of REGIONS) {
    const push = regions[r];
    if (push) push();
    else f.i32(r === 'work' ? work : 0);
  }
  f.emit(['call', index]);
}
