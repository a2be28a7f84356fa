// Hash-consed IR. Every value is a vector of `size` float elements (a scalar has size 1).
// Structurally equal nodes are the same object, so common-subexpression elimination is
// structural and the backward pass reuses forward values for free.

export interface Attrs {
  /** `const`: the value. */
  readonly value?: number;
  /** `param`: offset into the flat parameter array. */
  readonly offset?: number;
  /** Leaves (`param`, `input`, `target`) and `bcast`: the vector length. */
  readonly len?: number;
  /** Linear-algebra ops: the matrix is `n × m`, row-major. */
  readonly n?: number;
  readonly m?: number;
}

/** Metadata that is not part of a node's identity: the first writer wins. */
export interface Meta {
  /** Readable base name for emitted variables (`z0`, `gz1`, `loss`); never user text. */
  name?: string;
  /** Section of the generated code this node belongs to (`dense0/forward`, `loss`, ...). */
  section?: string;
}

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly args: readonly Node[];
  readonly attrs: Attrs;
  readonly size: number;
  readonly key: string;
  readonly meta: Meta;
}

function numKey(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

export function attrsKey(a: Attrs): string {
  let s = '';
  if (a.value !== undefined) s += `v${numKey(a.value)}`;
  if (a.offset !== undefined) s += `o${a.offset}`;
  if (a.len !== undefined) s += `l${a.len}`;
  if (a.n !== undefined) s += `n${a.n}`;
  if (a.m !== undefined) s += `m${a.m}`;
  return s;
}

export function isConst(n: Node, value?: number): boolean {
  return n.op === 'const' && (value === undefined || Object.is(n.attrs.value, value));
}

export function constValue(n: Node): number {
  if (n.op !== 'const' || n.attrs.value === undefined) throw new Error(`not a const: %${n.id}`);
  return n.attrs.value;
}

/** All nodes reachable from `roots`, in topological order (ids grow along every edge). */
export function topoOrder(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const stack: Node[] = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const a of n.args) if (!seen.has(a)) stack.push(a);
  }
  return [...seen].sort((a, b) => a.id - b.id);
}
