// Elementwise ops fused into the kernel that produces their input: the bias add and the
// activation after a convolution are applied to each result element as it is stored, so the
// convolution's raw output never goes through memory. Only kernels that store every result
// element exactly once, with `=` (no clearing pass, no accumulation in the result), qualify.
import {
  elem,
  let_,
  load,
  num,
  set,
  store,
  v,
  type Kernel,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';

/** Ops whose lowering writes each result element once, with its final value. */
export const STORES_ONCE: ReadonlySet<string> = new Set(['conv']);

export interface EpilogueOp {
  readonly op: string;
  /** Per argument: the value so far (`'prev'`), the kernel argument whose element at the
   * stored index is read, or (`{ channel }`) the kernel argument holding one value per
   * channel, read at the store's channel (a bias, without computing `index mod C`), or
   * (`{ scalar }`) the kernel argument of one element (a constant), read at 0. */
  readonly args: readonly (
    number | 'prev' | { readonly channel: number } | { readonly scalar: number }
  )[];
}

/** Whether every store of `k` names its channel, so that per-channel arguments can be read
 * there. */
export function storesChannels(k: Kernel): boolean {
  const all = (list: readonly LStmt[]): boolean =>
    list.every((s) =>
      s.k === 'for' ? all(s.body) : s.k === 'if' ? all(s.then) : s.k !== 'store' || !!s.channel,
    );
  return all(k.body);
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
          const channel = s.channel;
          const read = (a: EpilogueOp['args'][number]): LExpr => {
            if (a === 'prev') return v(fv);
            if (typeof a === 'number') return load(a, v(fi));
            if ('scalar' in a) return load(a.scalar, num(0));
            if (!channel)
              throw new Error('internal: a per-channel epilogue on a store without one');
            return load(a.channel, channel);
          };
          const steps = ops.map((o) => set(fv, elem(o.op, o.args.map(read))));
          return [let_(fi, s.index), let_(fv, s.value), ...steps, store(v(fi), v(fv))];
        }
        default:
          return [s];
      }
    });
  return { size: k.size, body: rewrite(k.body) };
}
