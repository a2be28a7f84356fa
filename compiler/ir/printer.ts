// jaxpr-like text form of a program: `%12:f64[8] = mul %3 %7`.
import { topoOrder, type Attrs, type Node } from './node.ts';
import type { Program } from './program.ts';

/** Parameters in name order; a leaf's shape is already in its type. */
function fmtAttrs(n: Node): string {
  const a: Attrs = n.attrs;
  const leaf = n.op === 'param' || n.op === 'input' || n.op === 'target';
  const parts = Object.keys(a)
    .filter((k) => a[k] !== undefined && k !== 'value' && !(leaf && k === 'shape'))
    .sort()
    .map((k) => {
      const v = a[k]!;
      // A contraction's spec reads as math: `contract[i,ij->j]`.
      if (k === 'spec') return String(v);
      return `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`;
    });
  return parts.length ? `[${parts.join(' ')}]` : '';
}

/** `f64` for a scalar, `f64[28,28,8]` for a tensor. */
export function typeOf(n: Node, dtype = 'f64'): string {
  return n.shape.length === 0 ? dtype : `${dtype}[${n.shape.join(',')}]`;
}

export function printNode(n: Node, dtype = 'f64'): string {
  const rhs =
    n.op === 'const'
      ? `const ${Object.is(n.attrs.value, -0) ? '-0' : String(n.attrs.value)}`
      : `${n.op}${fmtAttrs(n)}${n.args.map((a) => ` %${a.id}`).join('')}`;
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
