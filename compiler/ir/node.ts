// Hash-consed IR. Every value is a shaped tensor of f64 elements, row-major (a scalar has
// shape [] and size 1). Structurally equal nodes are the same object, so common-subexpression
// elimination is structural and the backward pass reuses forward values for free.

/** An op parameter: a number, a word, or a list of numbers (window sizes, strides, shapes). */
export type AttrValue = number | string | readonly number[];

/**
 * Op parameters: an open record, keyed canonically (sorted names, exact numbers), so a new op
 * can add any parameter without a central list that a key function could forget. The named
 * fields are the ones shared by several ops.
 */
export interface Attrs {
  readonly [key: string]: AttrValue | undefined;
  /** `const`: the value. */
  readonly value?: number;
  /** `param`: offset into the flat parameter array. */
  readonly offset?: number;
  /** Leaves, `bcast` and `reshape`: the result's shape. */
  readonly shape?: readonly number[];
  /** `contract`: its einsum-like spec, `i,ij->j` (see `ops/contract.ts`). */
  readonly spec?: string;
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
  /** Row-major dimensions; [] for a scalar. */
  readonly shape: readonly number[];
  /** Number of elements: the product of `shape`. */
  readonly size: number;
  readonly key: string;
  readonly meta: Meta;
}

function numKey(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

function valueKey(v: AttrValue): string {
  if (typeof v === 'number') return numKey(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return `[${v.map(numKey).join(',')}]`;
}

/** Canonical text of a parameter record: every field, sorted by name. */
export function attrsKey(a: Attrs): string {
  return Object.keys(a)
    .filter((k) => a[k] !== undefined)
    .sort()
    .map((k) => `${k}=${valueKey(a[k]!)}`)
    .join(';');
}

/** The attribute `key` as a number, or a thrown error naming the op. */
export function attrNum(a: Attrs, key: string, op: string): number {
  const v = a[key];
  if (typeof v !== 'number') throw new Error(`${op}: attribute ${key} is not a number`);
  return v;
}

/** The attribute `key` as a list of whole numbers, or a thrown error naming the op. */
export function attrInts(a: Attrs, key: string, op: string): readonly number[] {
  const v = a[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
    throw new Error(`${op}: attribute ${key} is not a list of integers`);
  return v;
}

export function attrStr(a: Attrs, key: string, op: string): string {
  const v = a[key];
  if (typeof v !== 'string') throw new Error(`${op}: attribute ${key} is not a word`);
  return v;
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
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
