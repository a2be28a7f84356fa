// Constant folding and algebraic simplification. Every rule is exact in IEEE arithmetic
// except where a comment names the caveat. Never folded: x·0 → 0 (wrong for NaN and ±Inf),
// x − x → 0 (same), and reassociation of constants (changes rounding).
import type { Compilation } from '../frontend/model.ts';
import type { Builder } from '../ir/builder.ts';
import { constValue, isConst, type Node } from '../ir/node.ts';
import { getOp } from '../ops/registry.ts';
import { rewrite, type Rule } from './rewrite.ts';

const fold: Rule = (B, n) => {
  if (n.args.length === 0 || n.size !== 1 || !n.args.every((a) => isConst(a))) return null;
  const def = getOp(n.op);
  if (def.kind !== 'elementwise' && def.kind !== 'reduce' && n.op !== 'stop') return null;
  const out = new Float64Array(1);
  def.evaluate(
    n.args.map((a) => Float64Array.of(constValue(a))),
    n.attrs,
    out,
    n.args.map((a) => a.shape),
  );
  return B.const(out[0]!);
};

/** The other argument when one argument of a binary node is the constant `v`. */
function otherThan(n: Node, v: number, commutes: boolean): Node | null {
  if (isConst(n.args[1]!, v)) return n.args[0]!;
  if (commutes && isConst(n.args[0]!, v)) return n.args[1]!;
  return null;
}

const algebra: Rule = (B: Builder, n: Node) => {
  const [a, b] = n.args;
  switch (n.op) {
    case 'add': {
      // x + 0 → x. Caveat: -0 + 0 is +0, so the sign of a zero may change.
      const x = otherThan(n, 0, true) ?? otherThan(n, -0, true);
      if (x) return x;
      if (b!.op === 'neg') return B.sub(a!, b!.args[0]!);
      if (a!.op === 'neg') return B.sub(b!, a!.args[0]!);
      return null;
    }
    case 'sub':
      if (isConst(b!, 0)) return a!;
      if (isConst(a!, 0)) return B.neg(b!); // 0 − x → −x; caveat: 0 − 0 is +0, −0 is −0.
      if (b!.op === 'neg') return B.add(a!, b!.args[0]!);
      return null;
    case 'mul': {
      const x = otherThan(n, 1, true);
      if (x) return x;
      const y = otherThan(n, -1, true);
      if (y) return B.neg(y);
      if (a!.op === 'neg' && b!.op === 'neg') return B.mul(a!.args[0]!, b!.args[0]!);
      return null;
    }
    case 'div':
      if (isConst(b!, 1)) return a!;
      if (isConst(b!, -1)) return B.neg(a!);
      return null;
    case 'neg':
      if (a!.op === 'neg') return a!.args[0]!;
      // −(x − y) → y − x. Caveat: for x = y the result is +0 instead of −0.
      if (a!.op === 'sub') return B.sub(a!.args[1]!, a!.args[0]!);
      return null;
    case 'pow':
      if (isConst(b!, 1)) return a!;
      if (isConst(b!, 2)) return B.mul(a!, a!); // V8's Math.pow(x, 2) is exactly x·x.
      return null;
    case 'select': {
      const [c, x, y] = n.args;
      if (x === y) return x!;
      if (isConst(c!)) return constValue(c!) !== 0 ? x! : y!;
      return null;
    }
    case 'sum':
      return a!.size === 1 ? a! : null;
    case 'stop':
      return a!.op === 'stop' || a!.op === 'const' ? a! : null;
    case 'bcast':
      return n.size === 1 ? a! : null;
    default:
      return null;
  }
};

export const simplifyRules: readonly Rule[] = [fold, algebra];

export function simplify(c: Compilation): Compilation {
  return rewrite(c, simplifyRules);
}
