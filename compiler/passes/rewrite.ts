// Bottom-up rewriting to a fixpoint. Rebuilding a node through the builder re-hash-conses it,
// so every rewrite is followed by structural CSE for free, and unreachable nodes simply stop
// being referenced (DCE is reachability from the program outputs).
import type { Compilation } from '../frontend/model.ts';
import type { Builder } from '../ir/builder.ts';
import { topoOrder, type Node } from '../ir/node.ts';
import { mapProgram } from '../ir/program.ts';

/** Returns a replacement for `n` (whose arguments are already rewritten), or null. */
export type Rule = (B: Builder, n: Node) => Node | null;

const MAX_ROUNDS = 8;

function rewriteOnce(c: Compilation, rules: readonly Rule[]): { c: Compilation; changed: boolean } {
  const { B } = c;
  const memo = new Map<Node, Node>();
  let changed = false;
  const roots = c.programs.flatMap((p) => p.outputs.map((o) => o.node));
  for (const old of topoOrder(roots)) {
    const args = old.args.map((a) => memo.get(a)!);
    B.section = old.meta.section;
    let n = args.every((a, i) => a === old.args[i]) ? old : B.make(old.op, args, old.attrs);
    for (let guard = 0; guard < 16; guard++) {
      let next: Node | null = null;
      for (const rule of rules) {
        next = rule(B, n);
        if (next) break;
      }
      if (!next || next === n) break;
      // A replacement must keep the node's length; a scalar is broadcast back.
      if (next.size !== n.size) {
        if (next.size !== 1) break;
        next = B.bcast(next, n.shape);
      } else if (next.size > 1) next = B.reshape(next, n.shape);
      n = next;
    }
    if (n !== old) {
      changed = true;
      if (old.meta.name) B.named(n, old.meta.name);
    }
    memo.set(old, n);
  }
  B.section = undefined;
  return {
    c: { ...c, programs: c.programs.map((p) => mapProgram(p, (n) => memo.get(n)!)) },
    changed,
  };
}

export function rewrite(c: Compilation, rules: readonly Rule[]): Compilation {
  let cur = c;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const r = rewriteOnce(cur, rules);
    cur = r.c;
    if (!r.changed) break;
  }
  return cur;
}
