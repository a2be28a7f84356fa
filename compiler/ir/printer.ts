// jaxpr-like text form of a program: `%12:f64[8] = mul %3 %7`.
import { topoOrder, type Attrs, type Node } from './node.ts';
import type { Program, ProgramOutput } from './program.ts';

/** A contraction's spec over the batch axis: the arguments with the axis and the result get
 * its label in front (`n`, or the first free letter after it): `i,ij->j` reads `ni,ij->nj`. */
function batchedSpec(spec: string, args: readonly boolean[]): string {
  const free = 'nopqrstuvwxyzabcdefghijklm'.split('').find((l) => !spec.includes(l))!;
  const [ins, out] = spec.split('->') as [string, string];
  const parts = ins.split(',').map((p, i) => (args[i] ? free + p : p));
  return `${parts.join(',')}->${free}${out}`;
}

/** Parameters in name order; a leaf's shape is already in its type. */
function fmtAttrs(n: Node, batch?: BatchView): string {
  const a: Attrs = n.attrs;
  const leaf = n.op === 'param' || n.op === 'input' || n.op === 'target';
  const parts = Object.keys(a)
    .filter((k) => a[k] !== undefined && k !== 'value' && !(leaf && k === 'shape'))
    .sort()
    .map((k) => {
      const v = a[k]!;
      // A contraction's spec reads as math: `contract[i,ij->j]`.
      if (k === 'spec')
        return batch?.rows(n) ? batchedSpec(String(v), n.args.map(batch.rows)) : String(v);
      return `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`;
    });
  return parts.length ? `[${parts.join(' ')}]` : '';
}

/** `f64` for a scalar, `f64[28,28,8]` for a tensor; with a batch axis, `f64[n,28,28,8]`. */
export function typeOf(n: Node, dtype = 'f64', batched = false): string {
  const dims = batched ? ['n', ...n.shape] : n.shape;
  return dims.length === 0 ? dtype : `${dtype}[${dims.join(',')}]`;
}

/** How a batched program's values and outputs print (batch/axis.ts): which values have the
 * batch axis `n`, and each output's reduction over it. */
export interface BatchView {
  readonly title: string;
  readonly rows: (n: Node) => boolean;
  readonly reduce: (o: ProgramOutput) => string;
}

export function printNode(n: Node, dtype = 'f64', batch?: BatchView): string {
  const rhs =
    n.op === 'const'
      ? `const ${Object.is(n.attrs.value, -0) ? '-0' : String(n.attrs.value)}`
      : `${n.op}${fmtAttrs(n, batch)}${n.args.map((a) => ` %${a.id}`).join('')}`;
  const name = n.meta.name ? `  # ${n.meta.name}` : '';
  return `%${n.id}:${typeOf(n, dtype, batch?.rows(n))} = ${rhs}${name}`;
}

export function printProgram(p: Program, dtype = 'f64', batch?: BatchView): string {
  const nodes = topoOrder(p.outputs.map((o) => o.node));
  const lines = [`{ ${batch?.title ?? p.name}  (${nodes.length} nodes)`];
  let section: string | undefined;
  for (const n of nodes) {
    if (n.meta.section !== section && n.op !== 'const') {
      section = n.meta.section;
      if (section) lines.push(`  -- ${section}`);
    }
    lines.push(`  ${printNode(n, dtype, batch)}`);
  }
  const result = (o: ProgramOutput) =>
    batch ? `${batch.reduce(o)}(%${o.node.id})` : `%${o.node.id}`;
  lines.push(`  in ${p.outputs.map((o) => `${o.label}=${result(o)}`).join(' ')}`);
  lines.push('}');
  return lines.join('\n');
}
