// Dense linear algebra on a row-major n × m matrix W (the Keras kernel layout, y = x·W): the
// math only. Their loop nests are in `compiler/lower/linalg.ts`; whether they are unrolled is
// the backend's policy.
import type { Attrs, Node } from '../ir/node.ts';
import type { Builder } from '../ir/builder.ts';
import type { LinalgOp } from './types.ts';

export function linalgDims(attrs: Attrs): { n: number; m: number } {
  const { n, m } = attrs;
  if (!n || !m || !Number.isInteger(n) || !Number.isInteger(m))
    throw new Error(`bad matrix dims ${n}×${m}`);
  return { n, m };
}

function expect(op: string, args: readonly Node[], sizes: number[]): void {
  args.forEach((a, i) => {
    if (a.size !== sizes[i])
      throw new Error(`${op}: argument ${i} has size ${a.size}, expected ${sizes[i]}`);
  });
}

/** A cotangent may be a scalar standing for "the same value everywhere"; matrices need it whole. */
function full(B: Builder, ct: Node, len: number): Node {
  return ct.size === len ? ct : B.bcast(ct, [len]);
}

export const linalgOps: LinalgOp[] = [
  {
    name: 'matvec',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'y[j] = Σ_i x[i]·W[i,j]  (x: n, W: n×m, y: m)',
    shape: (args, attrs) => {
      const { n, m } = linalgDims(attrs);
      expect('matvec', args, [n, n * m]);
      return [m];
    },
    evaluate: ([x, w], attrs, out) => {
      const { n, m } = linalgDims(attrs);
      out.fill(0);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j]! += x![i]! * w![i * m + j]!;
    },
    vjp: ({ B, ct, args: [x, w], y, needs }) => {
      const { n, m } = linalgDims(y.attrs);
      const g = full(B, ct, m);
      return [needs[0] ? B.matvecT(w!, g, n, m) : null, needs[1] ? B.outer(x!, g, n, m) : null];
    },
    cost: (attrs) => linalgDims(attrs).n * linalgDims(attrs).m,
    fanIn: (attrs) => linalgDims(attrs).n,
  },
  {
    name: 'matvecT',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'h[i] = Σ_j W[i,j]·g[j]  (W: n×m, g: m, h: n)',
    shape: (args, attrs) => {
      const { n, m } = linalgDims(attrs);
      expect('matvecT', args, [n * m, m]);
      return [n];
    },
    evaluate: ([w, g], attrs, out) => {
      const { n, m } = linalgDims(attrs);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += w![i * m + j]! * g![j]!;
        out[i] = s;
      }
    },
    vjp: ({ B, ct, args: [w, g], y, needs }) => {
      const { n, m } = linalgDims(y.attrs);
      const h = full(B, ct, n);
      return [needs[0] ? B.outer(h, g!, n, m) : null, needs[1] ? B.matvec(h, w!, n, m) : null];
    },
    cost: (attrs) => linalgDims(attrs).n * linalgDims(attrs).m,
    fanIn: (attrs) => linalgDims(attrs).m,
  },
  {
    name: 'outer',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'H[i,j] = x[i]·g[j]  (x: n, g: m, H: n×m)',
    shape: (args, attrs) => {
      const { n, m } = linalgDims(attrs);
      expect('outer', args, [n, m]);
      return [n, m];
    },
    evaluate: ([x, g], attrs, out) => {
      const { n, m } = linalgDims(attrs);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = x![i]! * g![j]!;
    },
    vjp: ({ B, ct, args: [x, g], y, needs }) => {
      const { n, m } = linalgDims(y.attrs);
      const h = full(B, ct, n * m);
      return [needs[0] ? B.matvecT(h, g!, n, m) : null, needs[1] ? B.matvec(x!, h, n, m) : null];
    },
    cost: (attrs) => linalgDims(attrs).n * linalgDims(attrs).m,
    fanIn: () => 1,
  },
];
