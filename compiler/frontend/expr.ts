// Custom-expression AST → IR, applied elementwise to whole vectors.
import type { Builder } from '../ir/builder.ts';
import type { Node } from '../ir/node.ts';
import type { Expr } from '../format/expr.ts';

export function exprToIR(B: Builder, e: Expr, env: Readonly<Record<string, Node>>): Node {
  switch (e.k) {
    case 'num':
      return B.const(e.v);
    case 'var': {
      const v = env[e.name];
      if (!v) throw new Error(`unbound variable ${e.name}`);
      return v;
    }
    case 'op':
      return B.make(
        e.op,
        e.args.map((a) => exprToIR(B, a, env)),
      );
  }
}
