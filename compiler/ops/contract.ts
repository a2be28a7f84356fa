// The general contraction: one bilinear op over two shaped operands, described by an
// einsum-like spec. y = x·W (a dense layer), h = W·g (its input gradient) and the outer
// product x ⊗ g (its kernel gradient) are instances, and each one's derivatives are the others
// by the transpose rule, not by hand-paired ops. The math only: the loop nests are in
// `compiler/lower/linalg.ts`; whether they are unrolled is the backend's policy.
import { attrStr, sameShape, type Attrs, type Node } from '../ir/node.ts';
import type { Builder } from '../ir/builder.ts';
import type { LinalgOp } from './types.ts';

/**
 * `a,b->out`: the axis labels of each operand and of the result, one letter per axis. A label
 * absent from the result is summed; a label in both operands and the result is a batch axis
 * (an elementwise product along it).
 */
export interface ContractSpec {
  readonly a: string;
  readonly b: string;
  readonly out: string;
}

/**
 * Canonical labels, in order of first appearance: `i,ij->j` is y = x·W whatever it was written
 * with. All 26 letters, so any spec the parser takes can be renamed.
 */
const LABELS = 'ijklmnopqrstuvwxyzabcdefgh';

export function parseSpec(spec: string): ContractSpec {
  const m = /^([a-z]*),([a-z]*)->([a-z]*)$/.exec(spec);
  if (!m) throw new Error(`contract: bad spec ${JSON.stringify(spec)} (want labels like i,ij->j)`);
  return { a: m[1]!, b: m[2]!, out: m[3]! };
}

export function specText(s: ContractSpec): string {
  return `${s.a},${s.b}->${s.out}`;
}

/**
 * The spec with labels renamed by first appearance, after checking it: distinct labels within
 * each operand and the result, every result label from an operand, and every operand label in
 * the other operand or the result (a label only one operand has and that is summed away would
 * make its transpose a broadcast, not a contraction). Equal contractions thus get equal
 * attributes, so hash-consing sees them as one node.
 */
export function canonicalSpec(s: ContractSpec): string {
  const where = `contract ${specText(s)}`;
  for (const [what, ls] of [
    ['operand 0', s.a],
    ['operand 1', s.b],
    ['the result', s.out],
  ] as const) {
    if (new Set(ls).size !== ls.length) throw new Error(`${where}: ${what} repeats a label`);
  }
  for (const l of s.out)
    if (!s.a.includes(l) && !s.b.includes(l))
      throw new Error(`${where}: result label ${l} is in neither operand`);
  for (const [ls, other] of [
    [s.a, s.b],
    [s.b, s.a],
  ] as const) {
    for (const l of ls)
      if (!other.includes(l) && !s.out.includes(l))
        throw new Error(`${where}: label ${l} is in one operand only and summed`);
  }
  const names = new Map<string, string>();
  for (const l of s.a + s.b) if (!names.has(l)) names.set(l, LABELS[names.size]!);
  const rename = (ls: string) => [...ls].map((l) => names.get(l)!).join('');
  return specText({ a: rename(s.a), b: rename(s.b), out: rename(s.out) });
}

/** The spec of a contract node. */
export function specOf(attrs: Attrs): ContractSpec {
  return parseSpec(attrStr(attrs, 'spec', 'contract'));
}

/** Each label's size, from the operand shapes; throws where they disagree. */
export function labelSizes(
  s: ContractSpec,
  shapes: readonly (readonly number[])[],
): Map<string, number> {
  const sizes = new Map<string, number>();
  [s.a, s.b].forEach((ls, i) => {
    const shape = shapes[i]!;
    if (shape.length !== ls.length)
      throw new Error(
        `contract ${specText(s)}: operand ${i} has shape [${shape.join(',')}], want ${ls.length} axes (${ls})`,
      );
    [...ls].forEach((l, k) => {
      const d = shape[k]!;
      const had = sizes.get(l);
      if (had !== undefined && had !== d)
        throw new Error(`contract ${specText(s)}: label ${l} is ${had} and ${d} long`);
      sizes.set(l, d);
    });
  });
  return sizes;
}

/** The summed labels: in the operands, not in the result (in order of first appearance). */
export function summedLabels(s: ContractSpec): string[] {
  return [...new Set(s.a + s.b)].filter((l) => !s.out.includes(l));
}

/** Row-major strides of `labels` in an array laid out as `axes`, 0 for a label it lacks. */
export function stridesOf(
  axes: string,
  labels: readonly string[],
  sizes: ReadonlyMap<string, number>,
): number[] {
  const own = new Map<string, number>();
  let stride = 1;
  for (let k = axes.length - 1; k >= 0; k--) {
    own.set(axes[k]!, stride);
    stride *= sizes.get(axes[k]!)!;
  }
  return labels.map((l) => own.get(l) ?? 0);
}

const product = (ls: Iterable<string>, sizes: ReadonlyMap<string, number>): number => {
  let p = 1;
  for (const l of ls) p *= sizes.get(l)!;
  return p;
};

/**
 * A contraction whose operands come in the order of a matrix product: the result's labels are
 * the first operand's kept labels then the second's, and the summed labels end the first
 * operand and begin the second (x·W, W·g, x ⊗ g). The transpose rule prefers this order.
 */
function productOrder(a: string, b: string, out: string): boolean {
  const keptA = [...a].filter((l) => out.includes(l)).join('');
  const keptB = [...b].filter((l) => out.includes(l) && !a.includes(l)).join('');
  const sumA = [...a].filter((l) => !out.includes(l)).join('');
  const sumB = [...b].filter((l) => !out.includes(l)).join('');
  return out === keptA + keptB && a.endsWith(sumA) && b.startsWith(sumB) && sumA === sumB;
}

/** `contract(a, b)` by a spec in any labels; the node holds its canonical form. */
export function buildContract(B: Builder, a: Node, b: Node, spec: string): Node {
  return B.make('contract', [a, b], { spec: canonicalSpec(parseSpec(spec)) });
}

/**
 * The transpose rule: the cotangent of one operand (labels `want`) is the contraction of the
 * result's cotangent `g` (labels `gl`) with the other operand (labels `ol`). The two go in the
 * order of a matrix product where one of them is (so x·W gives W·ḡ and x ⊗ ḡ); otherwise
 * `g` takes the place of the operand it is the cotangent of.
 */
function transpose(
  B: Builder,
  g: Node,
  gl: string,
  other: Node,
  ol: string,
  want: string,
  gFirst: boolean,
): Node {
  const first = productOrder(gl, ol, want);
  const second = productOrder(ol, gl, want);
  const ctFirst = first === second ? gFirst : first;
  return ctFirst
    ? buildContract(B, g, other, `${gl},${ol}->${want}`)
    : buildContract(B, other, g, `${ol},${gl}->${want}`);
}

export const contractOps: LinalgOp[] = [
  {
    name: 'contract',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc:
      'y[out] = Σ_{summed labels} a[la]·b[lb], spec `la,lb->out` (einsum labels; a label not in ' +
      'out is summed, one in both operands and out is a batch axis). x·W is i,ij->j, W·g ' +
      'ij,j->i, x ⊗ g i,j->ij',
    shape: (args, attrs) => {
      const s = specOf(attrs);
      const canon = canonicalSpec(s);
      if (canon !== specText(s))
        throw new Error(`contract: spec ${specText(s)} is not canonical (${canon})`);
      const sizes = labelSizes(
        s,
        args.map((a) => a.shape),
      );
      return [...s.out].map((l) => sizes.get(l)!);
    },
    evaluate: ([a, b], attrs, out, shapes) => {
      const s = specOf(attrs);
      const sizes = labelSizes(s, shapes);
      // Result elements in row-major order, each one sum over the summed labels in row-major
      // order, added left to right: the order the unrolled lowering writes out.
      const labels = [...s.out, ...summedLabels(s)];
      const dims = labels.map((l) => sizes.get(l)!);
      const sa = stridesOf(s.a, labels, sizes);
      const sb = stridesOf(s.b, labels, sizes);
      const inner = product(summedLabels(s), sizes);
      const idx = labels.map(() => 0);
      let ia = 0;
      let ib = 0;
      for (let o = 0; o < out.length; o++) {
        let acc = 0;
        for (let t = 0; t < inner; t++) {
          acc += a![ia]! * b![ib]!;
          // Odometer over the labels, last fastest.
          for (let k = labels.length - 1; k >= 0; k--) {
            ia += sa[k]!;
            ib += sb[k]!;
            if (++idx[k]! < dims[k]!) break;
            ia -= sa[k]! * dims[k]!;
            ib -= sb[k]! * dims[k]!;
            idx[k] = 0;
          }
        }
        out[o] = acc;
      }
    },
    vjp: ({ B, ct, args: [a, b], y, needs }) => {
      const s = specOf(y.attrs);
      // A scalar cotangent stands for the same value everywhere; the operands need it whole.
      const g =
        ct.size !== y.size
          ? B.bcast(ct, y.shape)
          : sameShape(ct.shape, y.shape)
            ? ct
            : B.reshape(ct, y.shape);
      return [
        needs[0] ? transpose(B, g, s.out, b!, s.b, s.a, true) : null,
        needs[1] ? transpose(B, g, s.out, a!, s.a, s.b, false) : null,
      ];
    },
    cost: (node) => {
      const sizes = labelSizes(specOf(node.attrs), shapesOf(node));
      return product(sizes.keys(), sizes);
    },
    fanIn: (node) =>
      product(summedLabels(specOf(node.attrs)), labelSizes(specOf(node.attrs), shapesOf(node))),
  },
];

function shapesOf(node: Node): (readonly number[])[] {
  return node.args.map((a) => a.shape);
}
