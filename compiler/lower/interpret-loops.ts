// The loop-IR interpreter: runs a lowered kernel on plain arrays. Beside the graph
// interpreter (which checks the math), it checks the lowering: a kernel must compute what its
// op's `evaluate` computes.
import { getOp } from '../ops/registry.ts';
import type { Kernel, LExpr, LStmt } from './loop-ir.ts';

export function runKernel(k: Kernel, args: readonly ArrayLike<number>[], out: Float64Array): void {
  runKernelLanes(
    k,
    (i) => args[i]!,
    () => out,
  );
}

/**
 * Runs a kernel over a block of samples: `arg(i, lane)` is argument `i` of sample `lane`
 * (the same array for every lane where the argument is shared), `out(lane)` its result
 * (the same array for every lane where the block sums into one result).
 */
export function runKernelLanes(
  k: Kernel,
  arg: (i: number, lane: number) => ArrayLike<number>,
  result: (lane: number) => Float64Array,
): void {
  const lanes = k.lanes ?? 1;
  const laneOf = (l: number | undefined): number => {
    const lane = l ?? 0;
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes)
      throw new Error(`loop IR: lane ${lane} of a ${lanes}-lane kernel`);
    return lane;
  };
  const env = new Map<string, number>();
  const val = (e: LExpr): number => {
    switch (e.k) {
      case 'num':
        return e.v;
      case 'var': {
        const x = env.get(e.name);
        if (x === undefined) throw new Error(`loop IR: ${e.name} read before it is set`);
        return x;
      }
      case 'load': {
        const a = arg(e.arg, laneOf(e.lane));
        const i = val(e.index);
        if (!Number.isInteger(i) || i < 0 || i >= a.length)
          throw new Error(`loop IR: argument ${e.arg} read at ${i} (length ${a.length})`);
        return a[i]!;
      }
      case 'loadOut': {
        const out = result(laneOf(e.lane));
        return out[index(e.index, out)]!;
      }
      case 'sum': {
        let total = val(e.terms[0]!);
        for (let t = 1; t < e.terms.length; t++) total += val(e.terms[t]!);
        return total;
      }
      case 'bin': {
        const a = val(e.a);
        const b = val(e.b);
        switch (e.op) {
          case '+':
            return a + b;
          case '-':
            return a - b;
          case '*':
            return a * b;
          case '/':
            return a / b;
          case 'max':
            return Math.max(a, b);
          case 'min':
            return Math.min(a, b);
          case 'idiv':
            return Math.floor(a / b);
          case 'mod':
            return a - b * Math.floor(a / b);
        }
        break;
      }
      case 'cmp': {
        const a = val(e.a);
        const b = val(e.b);
        const r = { '<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b, '==': a === b }[e.op];
        return r ? 1 : 0;
      }
      case 'sel':
        return val(e.c) !== 0 ? val(e.a) : val(e.b);
      case 'elem': {
        const def = getOp(e.op);
        if (def.kind !== 'elementwise') throw new Error(`loop IR: ${e.op} is not elementwise`);
        return def.scalar(...e.args.map(val));
      }
    }
    throw new Error('loop IR: bad expression');
  };
  const index = (e: LExpr, out: Float64Array): number => {
    const i = val(e);
    if (!Number.isInteger(i) || i < 0 || i >= out.length)
      throw new Error(`loop IR: result written at ${i} (length ${out.length})`);
    return i;
  };
  /** Runs statements; returns true when a `skipIf` fired (the rest of the body is skipped). */
  const run = (stmts: readonly LStmt[]): boolean => {
    for (const s of stmts) {
      switch (s.k) {
        case 'for':
          for (let i = s.from; i < s.to; i++) {
            env.set(s.v, i);
            run(s.body);
          }
          env.delete(s.v);
          break;
        case 'let':
        case 'set':
          env.set(s.name, val(s.value));
          break;
        case 'store': {
          const out = result(laneOf(s.lane));
          const i = index(s.index, out);
          out[i] = s.add ? out[i]! + val(s.value) : val(s.value);
          break;
        }
        case 'skipIf':
          if (val(s.cond) !== 0) return true;
          break;
        case 'if':
          if (val(s.cond) !== 0 && run(s.then)) return true;
          break;
      }
    }
    return false;
  };
  run(k.body);
}
