// Dense linear algebra on a row-major n × m matrix W (the Keras kernel layout, y = x·W).
// Small instances are unrolled into straight-line code; large ones become loops with
// constant bounds, the inner loop unrolled by 4 (measured on Node 20: ~0.6 ns per multiply-add for the unrolled-by-4 loop; see the SCHEDULE comments in compiler/schedule/schedule.ts).
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
  return ct.size === len ? ct : B.bcast(ct, [len]);
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

function laneList(ctx: EmitContext): number[] {
  return Array.from({ length: ctx.lanes }, (_, l) => l);
}

/** Emits `emit`'s one-sample loop once per lane (blocking would gain nothing here). Loop
 * results are in arrays, so each lane writes its own slots (or adds to the shared one). */
function perLane(ctx: EmitContext, emit: (c: EmitContext) => void): void {
  if (ctx.lanes === 1) {
    emit(ctx);
    return;
  }
  for (let l = 0; l < ctx.lanes; l++) {
    emit({
      ...ctx,
      lanes: 1,
      arg: (i, idx) => ctx.arg(i, idx, l),
      slot: (idx) => ctx.slot(idx, l),
      store: (idx, exprOf) => ctx.line(`${ctx.slot(idx, l)} ${ctx.init} ${exprOf(0)};`),
    });
  }
}

/** `{` ... `}` around `body`, indented. */
function block(ctx: EmitContext, head: string, body: () => void): void {
  ctx.line(`${head} {`);
  ctx.indent();
  body();
  ctx.dedent();
  ctx.line('}');
}

/** y = x·W for one sample, row by row (axpy), the inner loop unrolled by 4. */
function matvecLoop(ctx: EmitContext, n: number, m: number): void {
  const body = m - (m % 4);
  ctx.line(
    `for (let j = 0; j < ${m}; j++) ${ctx.slot('j')} ${ctx.init} ${ctx.arg(0, 0)} * ${ctx.arg(1, 'j')};`,
  );
  block(ctx, `for (let i = 1; i < ${n}; i++)`, () => {
    ctx.line(`const xi = ${ctx.arg(0, 'i')};`);
    ctx.line(`const r = i * ${m};`);
    if (body > 0) {
      block(ctx, `for (let j = 0; j < ${body}; j += 4)`, () => {
        for (let u = 0; u < 4; u++)
          ctx.line(`${ctx.slot(plus('j', u))} += xi * ${ctx.arg(1, plus('r + j', u))};`);
      });
    }
    if (body < m)
      ctx.line(
        `for (let j = ${body}; j < ${m}; j++) ${ctx.slot('j')} += xi * ${ctx.arg(1, 'r + j')};`,
      );
  });
}

/** h = W·g for one sample: a contiguous dot product per row. */
function matvecTLoop(ctx: EmitContext, n: number, m: number): void {
  block(ctx, `for (let i = 0; i < ${n}; i++)`, () => {
    ctx.line(`const r = i * ${m};`);
    const total = dotLoop(
      ctx,
      m,
      (j) => ctx.arg(0, `r + ${j}`),
      (j) => ctx.arg(1, j),
    );
    ctx.line(`${ctx.slot('i')} ${ctx.init} ${total};`);
  });
}

/** H = x ⊗ g for one sample. */
function outerLoop(ctx: EmitContext, n: number, m: number): void {
  block(ctx, `for (let i = 0; i < ${n}; i++)`, () => {
    ctx.line(`const xi = ${ctx.arg(0, 'i')};`);
    ctx.line(`const r = i * ${m};`);
    ctx.line(
      `for (let j = 0; j < ${m}; j++) ${ctx.slot('r + j')} ${ctx.init} xi * ${ctx.arg(1, 'j')};`,
    );
  });
}

export const linalgOps: LinalgOp[] = [
  {
    name: 'matvec',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'y[j] = Σ_i x[i]·W[i,j]  (x: n, W: n×m, y: m)',
    shape: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('matvec', args, [n, n * m]);
      return [m];
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
        ctx.store(j, (l) => {
          const terms: string[] = [];
          for (let i = 0; i < n; i++)
            terms.push(`${ctx.arg(0, i, l)} * ${ctx.arg(1, i * m + j, l)}`);
          return sumOf(terms);
        });
      }
    },
    // Row by row (axpy): W streams through once, y stays in L1. With several lanes and shared
    // weights, each weight is loaded once for the whole block.
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      if (ctx.lanes === 1 || !ctx.shared(1) || ctx.summed) {
        perLane(ctx, (c) => matvecLoop(c, n, m));
        return;
      }
      const L = laneList(ctx);
      block(ctx, `for (let j = 0; j < ${m}; j++)`, () => {
        ctx.line(`const w = ${ctx.arg(1, 'j')};`);
        for (const l of L) ctx.line(`${ctx.slot('j', l)} ${ctx.init} ${ctx.arg(0, 0, l)} * w;`);
      });
      block(ctx, `for (let i = 1; i < ${n}; i++)`, () => {
        for (const l of L) ctx.line(`const x${l} = ${ctx.arg(0, 'i', l)};`);
        ctx.line(`const r = i * ${m};`);
        block(ctx, `for (let j = 0; j < ${m}; j++)`, () => {
          ctx.line(`const w = ${ctx.arg(1, 'r + j')};`);
          for (const l of L) ctx.line(`${ctx.slot('j', l)} += x${l} * w;`);
        });
      });
    },
  },
  {
    name: 'matvecT',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'h[i] = Σ_j W[i,j]·g[j]  (W: n×m, g: m, h: n)',
    shape: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('matvecT', args, [n * m, m]);
      return [n];
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
        ctx.store(i, (l) => {
          const terms: string[] = [];
          for (let j = 0; j < m; j++)
            terms.push(`${ctx.arg(0, i * m + j, l)} * ${ctx.arg(1, j, l)}`);
          return sumOf(terms);
        });
      }
    },
    // A contiguous dot product per row; four accumulators hide the add latency. With several
    // lanes and shared weights the lanes are the independent accumulators.
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      if (ctx.lanes === 1 || !ctx.shared(0) || ctx.summed) {
        perLane(ctx, (c) => matvecTLoop(c, n, m));
        return;
      }
      const L = laneList(ctx);
      block(ctx, `for (let i = 0; i < ${n}; i++)`, () => {
        ctx.line(`const r = i * ${m};`);
        ctx.line(`let ${L.map((l) => `s${l} = 0`).join(', ')};`);
        block(ctx, `for (let j = 0; j < ${m}; j++)`, () => {
          ctx.line(`const w = ${ctx.arg(0, 'r + j')};`);
          for (const l of L) ctx.line(`s${l} += w * ${ctx.arg(1, 'j', l)};`);
        });
        for (const l of L) ctx.line(`${ctx.slot('i', l)} ${ctx.init} s${l};`);
      });
    },
  },
  {
    name: 'outer',
    kind: 'linalg',
    arity: 2,
    smooth: true,
    doc: 'H[i,j] = x[i]·g[j]  (x: n, g: m, H: n×m)',
    shape: (args, attrs) => {
      const { n, m } = dims(attrs);
      expect('outer', args, [n, m]);
      return [n, m];
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
          ctx.store(i * m + j, (l) => `${ctx.arg(0, i, l)} * ${ctx.arg(1, j, l)}`);
      }
    },
    // A batch's kernel gradient: every lane's outer product is added to the same gradient
    // element in one statement, so the gradient is read and written once per block.
    emitLoop: (ctx, attrs) => {
      const { n, m } = dims(attrs);
      if (ctx.lanes === 1 || !ctx.summed) {
        perLane(ctx, (c) => outerLoop(c, n, m));
        return;
      }
      const L = laneList(ctx);
      block(ctx, `for (let i = 0; i < ${n}; i++)`, () => {
        for (const l of L) ctx.line(`const x${l} = ${ctx.arg(0, 'i', l)};`);
        ctx.line(`const r = i * ${m};`);
        const sum = L.map((l) => `x${l} * ${ctx.arg(1, 'j', l)}`).join(' + ');
        ctx.line(`for (let j = 0; j < ${m}; j++) ${ctx.slot('r + j')} += ${sum};`);
      });
    },
  },
];
