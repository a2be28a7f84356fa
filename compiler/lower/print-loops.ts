// Text form of loop IR, for `gradc inspect --after loops`: indented loops, `aI[...]` for the
// kernel's arguments and `out[...]` for its result, `@l` for a lane of a block, hints in
// brackets. Backend-neutral (no unrolling, no JS syntax): what every renderer starts from.
import type { Kernel, LExpr, LStmt } from './loop-ir.ts';

function expr(e: LExpr): string {
  switch (e.k) {
    case 'num':
      return Number.isNaN(e.v) ? 'NaN' : String(e.v);
    case 'var':
      return e.name;
    case 'load':
      return `a${e.arg}[${value(e.index)}]${lane(e.lane)}`;
    case 'loadOut':
      return `out[${value(e.index)}]${lane(e.lane)}`;
    case 'sum':
      // Products bind tighter than the sum: `(a * b + c * d)`.
      return `(${e.terms.map((t) => (t.k === 'bin' && t.op === '*' ? `${expr(t.a)} * ${expr(t.b)}` : expr(t))).join(' + ')})`;
    case 'bin':
      if (e.op === 'idiv' || e.op === 'mod')
        return `(${expr(e.a)} ${e.op === 'idiv' ? 'div' : 'mod'} ${expr(e.b)})`;
      return e.op === 'max' || e.op === 'min'
        ? `${e.op}(${expr(e.a)}, ${expr(e.b)})`
        : `(${expr(e.a)} ${e.op} ${expr(e.b)})`;
    case 'cmp':
      return `(${expr(e.a)} ${e.op} ${expr(e.b)})`;
    case 'sel':
      return `(${expr(e.c)} ? ${expr(e.a)} : ${expr(e.b)})`;
    case 'elem':
      return `${e.op}(${e.args.map(expr).join(', ')})`;
  }
}

const lane = (l: number | undefined): string => (l ? `@${l}` : '');

/** Without the outer parentheses of a statement's value. */
function value(e: LExpr): string {
  const s = expr(e);
  return (e.k === 'sum' || e.k === 'bin') && s.startsWith('(') ? s.slice(1, -1) : s;
}

function stmts(list: readonly LStmt[], depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  for (const s of list) {
    switch (s.k) {
      case 'for':
        out.push(`${pad}for ${s.v} in ${s.from}..${s.to}${s.hint ? ` [${s.hint}]` : ''}`);
        stmts(s.body, depth + 1, out);
        break;
      case 'let':
        out.push(`${pad}let ${s.name} = ${value(s.value)}`);
        break;
      case 'set':
        out.push(`${pad}${s.name} = ${value(s.value)}`);
        break;
      case 'store': {
        const ch = s.channel ? `  (channel ${value(s.channel)})` : '';
        out.push(
          `${pad}out[${value(s.index)}]${lane(s.lane)} ${s.add ? '+=' : '='} ${value(s.value)}${ch}`,
        );
        break;
      }
      case 'skipIf':
        out.push(`${pad}skip if ${value(s.cond)}`);
        break;
      case 'if':
        out.push(`${pad}if ${value(s.cond)}`);
        stmts(s.then, depth + 1, out);
        break;
    }
  }
}

export function printKernel(k: Kernel, depth = 0): string {
  const out: string[] = [];
  const lanes = k.lanes ?? 1;
  out.push(`${'  '.repeat(depth)}kernel out[${k.size}]${lanes > 1 ? ` × ${lanes} lanes` : ''}`);
  stmts(k.body, depth + 1, out);
  return out.join('\n');
}
