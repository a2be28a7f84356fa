// Dense linear algebra on a row-major n × m matrix W (the Keras kernel layout, y = x·W).
// Small instances are unrolled into straight-line code; large ones become loops with
// constant bounds, the inner loop unrolled by 4 (see DESIGN.md §4 for the measurements).
import type { Attrs, Node } from '../ir/node.ts';
import type { Builder } from '../ir/builder.ts';
import type { EmitContext, LinalgOp } from './types.ts';

function dims(attrs: Attrs): { n: number; m: number } {
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
  return ct.size === len ? ct : B.bcast(ct, len);
}

/** `r + j + 1` without `+ 0` noise. */
function plus(base: string, k: number): string {
  return k === 0 ? base : `${base} + ${k}`;
}

/** Statements `s0 += a * b; s1 += ...` for a dot product unrolled by 4 with 4 accumulators. */
function dotLoop(
  ctx: EmitContext,
  len: number,
  a: (j: string) => string,
  b: (j: string) => string,
): string {
  const lanes = len >= 4 ? 4 : 1;
  // The 4-lane loop covers `body` elements; the rest (all of them when len < 4) is a tail.
  const body = lanes === 4 ? len - (len % 4) : 0;
  ctx.line(lanes === 4 ? 'let s0 = 0, s1 = 0, s2 = 0, s3 = 0;' : 'let s0 = 0;');
  if (lanes === 4) {
    ctx.line(`for (let j = 0; j < ${body}; j += 4) {`);
    ctx.indent();
    for (let u = 0; u < 4; u++) ctx.line(`s${u} += ${a(plus('j', u))} * ${b(plus('j', u))};`);
    ctx.dedent();
    ctx.line('}');
  }
  if (body < len) ctx.line(`for (let j = ${body}; j < ${len}; j++) s0 += ${a('j')} * ${b('j')};`);
  return lanes === 4 ? 's0 + s1 + s2 + s3' : 's0';
}

function sumOf(terms: string[]): string {
  return terms.join(' + ');
}

export const linalgOps: LinalgOp[] = [
  {
    name: 'matvec',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'y[j] = Σ_i x[i]·W[i,j]  (x: n, W: n×m, y: m)',
    size: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('matvec', args, [n, n * m]);
      return m;
    },
    evaluate: ([x, w], attrs, out) => {
      const { n, m } = dims(attrs);
      out.fill(0);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j]! += x![i]! * w![i * m + j]!;
    },
    vjp: ({ B, ct, args: [x, w], y, needs }) => {
      const { n, m } = dims(y.attrs);
      const g = full(B, ct, m);
      return [needs[0] ? B.matvecT(w!, g, n, m) : null, needs[1] ? B.outer(x!, g, n, m) : null];
    },
    cost: (attrs) => dims(attrs).n * dims(attrs).m,
    fanIn: (attrs) => dims(attrs).n,
    emitUnrolled: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      for (let j = 0; j < m; j++) {
        const terms: string[] = [];
        for (let i = 0; i < n; i++) terms.push(`${ctx.arg(0, i)} * ${ctx.arg(1, i * m + j)}`);
        ctx.line(ctx.store(j, sumOf(terms)));
      }
    },
    // Row by row (axpy): W streams through once, y stays in L1.
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      const body = m - (m % 4);
      ctx.line(
        `for (let j = 0; j < ${m}; j++) ${ctx.slot('j')} ${ctx.init} ${ctx.arg(0, 0)} * ${ctx.arg(1, 'j')};`,
      );
      ctx.line(`for (let i = 1; i < ${n}; i++) {`);
      ctx.indent();
      ctx.line(`const xi = ${ctx.arg(0, 'i')};`);
      ctx.line(`const r = i * ${m};`);
      if (body > 0) {
        ctx.line(`for (let j = 0; j < ${body}; j += 4) {`);
        ctx.indent();
        for (let u = 0; u < 4; u++)
          ctx.line(`${ctx.slot(plus('j', u))} += xi * ${ctx.arg(1, plus('r + j', u))};`);
        ctx.dedent();
        ctx.line('}');
      }
      if (body < m)
        ctx.line(
          `for (let j = ${body}; j < ${m}; j++) ${ctx.slot('j')} += xi * ${ctx.arg(1, 'r + j')};`,
        );
      ctx.dedent();
      ctx.line('}');
    },
  },
  {
    name: 'matvecT',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'h[i] = Σ_j W[i,j]·g[j]  (W: n×m, g: m, h: n)',
    size: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('matvecT', args, [n * m, m]);
      return n;
    },
    evaluate: ([w, g], attrs, out) => {
      const { n, m } = dims(attrs);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += w![i * m + j]! * g![j]!;
        out[i] = s;
      }
    },
    vjp: ({ B, ct, args: [w, g], y, needs }) => {
      const { n, m } = dims(y.attrs);
      const h = full(B, ct, n);
      return [needs[0] ? B.outer(h, g!, n, m) : null, needs[1] ? B.matvec(h, w!, n, m) : null];
    },
    cost: (attrs) => dims(attrs).n * dims(attrs).m,
    fanIn: (attrs) => dims(attrs).m,
    emitUnrolled: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      for (let i = 0; i < n; i++) {
        const terms: string[] = [];
        for (let j = 0; j < m; j++) terms.push(`${ctx.arg(0, i * m + j)} * ${ctx.arg(1, j)}`);
        ctx.line(ctx.store(i, sumOf(terms)));
      }
    },
    // A contiguous dot product per row; four accumulators hide the add latency.
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      ctx.line(`for (let i = 0; i < ${n}; i++) {`);
      ctx.indent();
      ctx.line(`const r = i * ${m};`);
      const total = dotLoop(
        ctx,
        m,
        (j) => ctx.arg(0, `r + ${j}`),
        (j) => ctx.arg(1, j),
      );
      ctx.line(`${ctx.slot('i')} ${ctx.init} ${total};`);
      ctx.dedent();
      ctx.line('}');
    },
  },
  {
    name: 'outer',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'H[i,j] = x[i]·g[j]  (x: n, g: m, H: n×m)',
    size: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('outer', args, [n, m]);
      return n * m;
    },
    evaluate: ([x, g], attrs, out) => {
      const { n, m } = dims(attrs);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = x![i]! * g![j]!;
    },
    vjp: ({ B, ct, args: [x, g], y, needs }) => {
      const { n, m } = dims(y.attrs);
      const h = full(B, ct, n * m);
      return [needs[0] ? B.matvecT(h, g!, n, m) : null, needs[1] ? B.matvec(x!, h, n, m) : null];
    },
    cost: (attrs) => dims(attrs).n * dims(attrs).m,
    fanIn: () => 1,
    emitUnrolled: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++)
          ctx.line(ctx.store(i * m + j, `${ctx.arg(0, i)} * ${ctx.arg(1, j)}`));
      }
    },
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      ctx.line(`for (let i = 0; i < ${n}; i++) {`);
      ctx.indent();
      ctx.line(`const xi = ${ctx.arg(0, 'i')};`);
      ctx.line(`const r = i * ${m};`);
      ctx.line(
        `for (let j = 0; j < ${m}; j++) ${ctx.slot('r + j')} ${ctx.init} xi * ${ctx.arg(1, 'j')};`,
      );
      ctx.dedent();
      ctx.line('}');
    },
  },
];
