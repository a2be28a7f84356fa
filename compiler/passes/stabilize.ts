// Numerical stabilization: rewrites formulas that overflow or cancel into equivalent stable
// ones. Run on the forward graph before differentiation, so that the derivative of the stable
// form is what gets emitted (softmax + cross-entropy then differentiates to p − t).
import type { Compilation } from '../frontend/model.ts';
import { isConst } from '../ir/node.ts';
import { rewrite, type Rule } from './rewrite.ts';

const stabilizeRule: Rule = (B, n) => {
  const [a] = n.args;
  if (n.op === 'log') {
    // log(e^u / s) → u − log(s): log-softmax, no overflow or log(0) for large logits.
    if (a!.op === 'div' && a!.args[0]!.op === 'exp')
      return B.sub(a!.args[0]!.args[0]!, B.unary('log', a!.args[1]!));
    // log(e^u) → u: exact where e^u is finite, and finite where it is not.
    if (a!.op === 'exp') return a!.args[0]!;
    // log(σ(z)) → −softplus(−z), log(1 − σ(z)) → −softplus(z): binary cross-entropy from logits.
    if (a!.op === 'sigmoid') return B.neg(B.unary('softplus', B.neg(a!.args[0]!)));
    if (a!.op === 'sub' && isConst(a!.args[0]!, 1) && a!.args[1]!.op === 'sigmoid') {
      return B.neg(B.unary('softplus', a!.args[1]!.args[0]!));
    }
    // log(1 + x) → log1p(x): no cancellation for small x.
    if (a!.op === 'add' && a!.size === n.size) {
      if (isConst(a!.args[0]!, 1)) return B.unary('log1p', a!.args[1]!);
      if (isConst(a!.args[1]!, 1)) return B.unary('log1p', a!.args[0]!);
    }
  }
  // e^x − 1 → expm1(x).
  if (n.op === 'sub' && a!.op === 'exp' && isConst(n.args[1]!, 1))
    return B.unary('expm1', a!.args[0]!);
  return null;
};

export function stabilize(c: Compilation): Compilation {
  return rewrite(c, [stabilizeRule]);
}
