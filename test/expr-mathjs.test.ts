// gradc differentiates custom expressions with its own reverse mode on the IR. mathjs's
// symbolic `derivative()` is an independent check wherever it has the rules (it lacks
// sigmoid, softplus, log1p, max, ...): both derivatives must agree numerically.
import { derivative } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { vjpGraph } from '../compiler/autodiff/reverse.ts';
import { exprToIR } from '../compiler/frontend/expr.ts';
import type { Compilation } from '../compiler/frontend/model.ts';
import { Builder } from '../compiler/ir/builder.ts';
import { evaluateNodes } from '../compiler/ir/interpret.ts';
import { parseExpr } from '../compiler/format/expr.ts';

const EXPRESSIONS = [
  'x / (1 + exp(-x))',
  'x^3 - 2 * x + 1',
  'sin(x) * cos(x)',
  'log(1 + x^2)',
  'sqrt(x^2 + 1)',
  'exp(-x^2 / 2)',
  'tanh(x) * x',
  'x * exp(x) / (1 + x^2)',
  'abs(x) * x',
  '(x + 2)^(1.5)',
];

const POINTS = [-1.7, -0.4, 0.3, 1.1, 2.5];

describe('custom-expression derivatives agree with mathjs derivative()', () => {
  for (const src of EXPRESSIONS) {
    it(src, async () => {
      const e = await parseExpr(src, ['x']);
      const B = new Builder();
      const x = B.param(0, 1);
      const y = exprToIR(B, e, { x });
      // vjpGraph only needs the builder of a compilation.
      const g = vjpGraph({ B } as unknown as Compilation, y, [x]).get(x)!;
      const d = derivative(src, 'x');
      for (const v of POINTS) {
        if (src.startsWith('(x + 2)') && v + 2 <= 0) continue;
        const ours = evaluateNodes([g], { params: [v], input: [] }).get(g)![0]!;
        const theirs = d.evaluate({ x: v }) as number;
        expect(
          Math.abs(ours - theirs) / Math.max(1e-12, Math.abs(ours) + Math.abs(theirs)),
        ).toBeLessThan(1e-12);
      }
    });
  }
});
