// Elementwise ops fused into the kernel that produces their input: the bias add and the
// activation after a convolution are applied to each result element as it is stored, so the
// convolution's raw output never goes through memory. Only kernels that store every result
// element exactly once, with `=` (no clearing pass, no accumulation in the result), qualify.
import { elem, let_, load, set, store, v, type Kernel, type LExpr, type LStmt } from './loop-ir.ts';

/** Ops whose lowering writes each result element once, with its final value. */
export const STORES_ONCE: ReadonlySet<string> = new Set(['conv']);

export interface EpilogueOp {
  readonly op: string;
  /** Per argument: the value so far (`'prev'`), or the kernel argument whose element at the
   * stored index is read. */
  readonly args: readonly (number | 'prev')[];
}

/** `k` with `ops` applied, in order, to every value it stores. */
export function withEpilogue(k: Kernel, ops: readonly EpilogueOp[]): Kernel {
  let n = 0;
  const rewrite = (list: readonly LStmt[]): LStmt[] =>
    list.flatMap((s): LStmt[] => {
      switch (s.k) {
        case 'for':
          return [{ ...s, body: rewrite(s.body) }];
        case 'if':
          return [{ ...s, then: rewrite(s.then) }];
        case 'store': {
          if (s.add) throw new Error('internal: an epilogue on an accumulating store');
          // Distinct names: several stores may share one scope.
          const fi = `fi${n}`;
          const fv = `fv${n++}`;
          const steps = ops.map((o) =>
            set(
              fv,
              elem(
                o.op,
                o.args.map((a): LExpr => (a === 'prev' ? v(fv) : load(a, v(fi)))),
              ),
            ),
          );
          return [let_(fi, s.index), let_(fv, s.value), ...steps, store(v(fi), v(fv))];
        }
        default:
          return [s];
      }
    });
  return { size: k.size, body: rewrite(k.body) };
}
