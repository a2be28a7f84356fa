// jaxpr-like text form of a program: `%12:f64[8] = mul %3 %7`.
import { topoOrder, type Attrs, type Node } from './node.ts';
import type { Program } from './program.ts';

function fmtAttrs(a: Attrs): string {
  const parts: string[] = [];
  if (a.offset !== undefined) parts.push(`offset=${a.offset}`);
  if (a.len !== undefined) parts.push(`len=${a.len}`);
  if (a.n !== undefined) parts.push(`n=${a.n}`);
  if (a.m !== undefined) parts.push(`m=${a.m}`);
  return parts.length ? `[${parts.join(',')}]` : '';
}

export function typeOf(n: Node, dtype = 'f64'): string {
  return n.size === 1 ? dtype : `${dtype}[${n.size}]`;
}

export function printNode(n: Node, dtype = 'f64'): string {
  const rhs =
    n.op === 'const'
      ? `const ${Object.is(n.attrs.value, -0) ? '-0' : String(n.attrs.value)}`
      : `${n.op}${fmtAttrs(n.attrs)}${n.args.map((a) => ` %${a.id}`).join('')}`;
  const name = n.meta.name ? `  # ${n.meta.name}` : '';
  return `%${n.id}:${typeOf(n, dtype)} = ${rhs}${name}`;
}

export function printProgram(p: Program, dtype = 'f64'): string {
  const nodes = topoOrder(p.outputs.map((o) => o.node));
  const lines = [`{ ${p.name}  (${nodes.length} nodes)`];
  let section: string | undefined;
  for (const n of nodes) {
    if (n.meta.section !== section && n.op !== 'const') {
      section = n.meta.section;
      if (section) lines.push(`  -- ${section}`);
    }
    lines.push(`  ${printNode(n, dtype)}`);
  }
  lines.push(`  in ${p.outputs.map((o) => `${o.label}=%${o.node.id}`).join(' ')}`);
  lines.push('}');
  return lines.join('\n');
}
