// Loop nests over sliding windows (shared by the convolution and pooling kernels): loops over
// the output positions, then over the window taps, with the padding checks only on axes where
// a tap can fall outside the input (none for `valid` windows).
import type { Window } from '../ops/window.ts';
import {
  add,
  cmp,
  let_,
  loop,
  mul,
  num,
  skipIf,
  sub,
  sum,
  v,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';

/** Row-major flat index of `vars` in `dims`. */
export function flat(vars: readonly LExpr[], dims: readonly number[]): LExpr {
  let e: LExpr = num(0);
  vars.forEach((x, d) => {
    e = add(mul(e, num(dims[d]!)), x);
  });
  return e;
}

/** Loops over every output position; `body` gets its flat index. */
export function outputLoops(w: Window, body: (o: LExpr) => LStmt[]): LStmt[] {
  const r = w.spatialOut.length;
  const vars = Array.from({ length: r }, (_, d) => v(`o${d}`));
  let stmts = body(flat(vars, w.spatialOut));
  for (let d = r - 1; d >= 0; d--) stmts = [loop(`o${d}`, 0, w.spatialOut[d]!, stmts)];
  return stmts;
}

/** Whether some tap on axis `d` falls into the padding. */
function needsCheck(w: Window, d: number): boolean {
  const lo = -w.padBefore[d]!;
  const hi =
    (w.spatialOut[d]! - 1) * w.strides[d]! + (w.kernel[d]! - 1) * w.dilation[d]! - w.padBefore[d]!;
  return lo < 0 || hi >= w.spatialIn[d]!;
}

/**
 * Loops over the taps of the window at the output position held in the loop variables
 * `o0..`, skipping those in the padding; `body` gets the flat tap and input indices. `tag`
 * keeps the variable names of two tap nests in one scope apart.
 */
export function tapLoops(w: Window, body: (k: LExpr, x: LExpr) => LStmt[], tag = ''): LStmt[] {
  const r = w.spatialIn.length;
  const kv = Array.from({ length: r }, (_, d) => v(`k${tag}${d}`));
  const iv = Array.from({ length: r }, (_, d) => v(`i${tag}${d}`));
  let stmts = body(flat(kv, w.kernel), flat(iv, w.spatialIn));
  for (let d = r - 1; d >= 0; d--) {
    const pos = sub(
      add(mul(v(`o${d}`), num(w.strides[d]!)), mul(kv[d]!, num(w.dilation[d]!))),
      num(w.padBefore[d]!),
    );
    const head: LStmt[] = [let_(`i${tag}${d}`, pos)];
    if (needsCheck(w, d)) {
      head.push(skipIf(cmp('<', iv[d]!, num(0))));
      head.push(skipIf(cmp('>=', iv[d]!, num(w.spatialIn[d]!))));
    }
    stmts = [loop(`k${tag}${d}`, 0, w.kernel[d]!, [...head, ...stmts])];
  }
  return stmts;
}

export { sum };

/** Loops over every tap of the window (no padding checks); `body` gets the flat tap index. */
export function kernelLoops(w: Window, body: (k: LExpr) => LStmt[]): LStmt[] {
  const r = w.kernel.length;
  const kv = Array.from({ length: r }, (_, d) => v(`k${d}`));
  let stmts = body(flat(kv, w.kernel));
  for (let d = r - 1; d >= 0; d--) stmts = [loop(`k${d}`, 0, w.kernel[d]!, stmts)];
  return stmts;
}

/**
 * Loops over the output positions that read the tap held in the loop variables `k0..`,
 * skipping those whose input falls into the padding; `body` gets the flat output and input
 * indices. The transpose of `tapLoops`: a kernel gradient sums over these.
 */
export function positionLoops(w: Window, body: (o: LExpr, x: LExpr) => LStmt[]): LStmt[] {
  const r = w.spatialIn.length;
  const ov = Array.from({ length: r }, (_, d) => v(`o${d}`));
  const iv = Array.from({ length: r }, (_, d) => v(`i${d}`));
  let stmts = body(flat(ov, w.spatialOut), flat(iv, w.spatialIn));
  for (let d = r - 1; d >= 0; d--) {
    const pos = sub(
      add(mul(ov[d]!, num(w.strides[d]!)), mul(v(`k${d}`), num(w.dilation[d]!))),
      num(w.padBefore[d]!),
    );
    const head: LStmt[] = [let_(`i${d}`, pos)];
    if (needsCheck(w, d)) {
      head.push(skipIf(cmp('<', iv[d]!, num(0))));
      head.push(skipIf(cmp('>=', iv[d]!, num(w.spatialIn[d]!))));
    }
    stmts = [loop(`o${d}`, 0, w.spatialOut[d]!, [...head, ...stmts])];
  }
  return stmts;
}

/** Loops over every input position (variables `p0..`); `body` gets its flat index. */
export function inputLoops(w: Window, body: (p: LExpr) => LStmt[]): LStmt[] {
  const r = w.spatialIn.length;
  const pv = Array.from({ length: r }, (_, d) => v(`p${d}`));
  let stmts = body(flat(pv, w.spatialIn));
  for (let d = r - 1; d >= 0; d--) stmts = [loop(`p${d}`, 0, w.spatialIn[d]!, stmts)];
  return stmts;
}

/**
 * For a stride-1 window, at the input position held in `p0..`: loops over the taps that
 * read it, skipping those whose output position falls outside the output; `body` gets the
 * flat tap and output indices. The gather form of a convolution's input gradient: each
 * input element is summed in one place instead of scattered into from every tap.
 */
export function gatherTaps(w: Window, body: (k: LExpr, o: LExpr) => LStmt[]): LStmt[] {
  const r = w.spatialIn.length;
  if (w.strides.some((s) => s !== 1)) throw new Error('internal: gather loops need stride 1');
  const kv = Array.from({ length: r }, (_, d) => v(`k${d}`));
  const ov = Array.from({ length: r }, (_, d) => v(`o${d}`));
  let stmts = body(flat(kv, w.kernel), flat(ov, w.spatialOut));
  for (let d = r - 1; d >= 0; d--) {
    const pos = sub(add(v(`p${d}`), num(w.padBefore[d]!)), mul(kv[d]!, num(w.dilation[d]!)));
    const head: LStmt[] = [let_(`o${d}`, pos)];
    // Checks only where some tap can leave the output.
    const lo = w.padBefore[d]! - (w.kernel[d]! - 1) * w.dilation[d]!;
    const hi = w.spatialIn[d]! - 1 + w.padBefore[d]!;
    if (lo < 0) head.push(skipIf(cmp('<', ov[d]!, num(0))));
    if (hi >= w.spatialOut[d]!) head.push(skipIf(cmp('>=', ov[d]!, num(w.spatialOut[d]!))));
    stmts = [loop(`k${d}`, 0, w.kernel[d]!, [...head, ...stmts])];
  }
  return stmts;
}
