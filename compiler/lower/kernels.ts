// Lowering of structured ops into loop IR: one function per op, with the loop order chosen
// for contiguous inner loops (channels last, so the innermost loop runs over output
// channels). The graph interpreter's `evaluate` is the reference these must match (the loop
// interpreter checks it, op by op).
import { attrInts, attrNum, type Node } from '../ir/node.ts';
import { alongAxis, concatOffsets, splitAt } from '../ops/slicing.ts';
import { strides } from '../ir/shape.ts';
import { convGeometry } from '../ops/conv.ts';
import { poolGeometry } from '../ops/pool.ts';
import { gatherGeometry } from '../ops/gather.ts';
import type { Window } from '../ops/window.ts';
import { scanLowerings } from './scan.ts';
import {
  add,
  bin,
  cmp,
  elem,
  fadd,
  fmul,
  if_,
  let_,
  load,
  loop,
  mul,
  num,
  sel,
  set,
  store,
  storeChannel,
  v,
  type Kernel,
  type LExpr,
  type LStmt,
} from './loop-ir.ts';
import {
  gatherTaps,
  inputLoops,
  kernelLoops,
  outputLoops,
  positionLoops,
  tapLoops,
} from './window-loops.ts';

const zero = (size: number): LStmt => loop('z', 0, size, [store(v('z'), num(0))]);

/** idx·stride + offset, for channel-interleaved indices. */
const at = (idx: LExpr, stride: number, offset: LExpr): LExpr => add(mul(idx, num(stride)), offset);

/** Output channels accumulated in locals at once: up to 16 in one block, else blocks of 8. */
const WIDE_BLOCK = 16;
const BLOCK = 8;

/**
 * Splits `co` output channels into blocks whose partial sums live in locals `s0..` instead
 * of being read and written back in memory on every multiply-add; `body` gets the first
 * channel of a block and its width.
 */
function channelBlocks(co: number, body: (base: LExpr, width: number) => LStmt[]): LStmt[] {
  if (co <= WIDE_BLOCK) return body(num(0), co);
  const full = Math.floor(co / BLOCK);
  const out = [loop('cb', 0, full, body(mul(v('cb'), num(BLOCK)), BLOCK))];
  if (co % BLOCK) out.push(...body(num(full * BLOCK), co % BLOCK));
  return out;
}

const lanes = (width: number): number[] => Array.from({ length: width }, (_, j) => j);
const acc = (j: number): string => `s${j}`;

function conv(n: Node): Kernel {
  const [x, k] = n.args;
  const { w, ci, co } = convGeometry('conv', x!.shape.slice(0, -1), k!.shape, n.attrs);
  return {
    size: n.size,
    body: outputLoops(w, (o) =>
      channelBlocks(co, (base, width) => [
        ...lanes(width).map((j) => let_(acc(j), num(0))),
        ...tapLoops(w, (t, p) => [
          loop('a', 0, ci, [
            let_('xv', load(0, at(p, ci, v('a')))),
            let_('wr', add(mul(at(t, ci, v('a')), num(co)), base)),
            ...lanes(width).map((j) =>
              set(acc(j), fadd(v(acc(j)), fmul(v('xv'), load(1, add(v('wr'), num(j)))))),
            ),
          ]),
        ]),
        ...lanes(width).map((j) =>
          storeChannel(add(at(o, co, base), num(j)), v(acc(j)), add(base, num(j))),
        ),
      ]),
    ),
  };
}

function convBackInput(n: Node): Kernel {
  const [, k] = n.args;
  const spatialIn = attrInts(n.attrs, 'spatialIn', 'convBackInput');
  const { w, ci, co } = convGeometry('convBackInput', spatialIn, k!.shape, n.attrs);
  if (w.strides.every((s) => s === 1)) return convBackInputGather(n, w, ci, co);
  return {
    size: n.size,
    body: [
      zero(n.size),
      ...outputLoops(w, (o) => [
        let_('cr', mul(o, num(co))),
        ...tapLoops(w, (t, p) => [
          loop('a', 0, ci, [
            let_('wr', mul(at(t, ci, v('a')), num(co))),
            let_('s', num(0)),
            loop('b', 0, co, [
              set(
                's',
                fadd(v('s'), fmul(load(0, add(v('cr'), v('b'))), load(1, add(v('wr'), v('b'))))),
              ),
            ]),
            store(at(p, ci, v('a')), v('s'), true),
          ]),
        ]),
      ]),
    ],
  };
}

/**
 * Stride 1: each input element sums, in locals for a block of input channels, over the taps
 * that read it and the output channels, and is stored once (no clearing pass, no scatter).
 */
function convBackInputGather(n: Node, w: Window, ci: number, co: number): Kernel {
  return {
    size: n.size,
    body: inputLoops(w, (p) =>
      channelBlocks(ci, (base, width) => [
        ...lanes(width).map((j) => let_(acc(j), num(0))),
        ...gatherTaps(w, (t, o) => [
          loop('b', 0, co, [
            let_('cv', load(0, at(o, co, v('b')))),
            let_('wr', add(mul(at(t, ci, base), num(co)), v('b'))),
            ...lanes(width).map((j) =>
              set(acc(j), fadd(v(acc(j)), fmul(v('cv'), load(1, add(v('wr'), num(j * co)))))),
            ),
          ]),
        ]),
        ...lanes(width).map((j) => store(add(at(p, ci, base), num(j)), v(acc(j)))),
      ]),
    ),
  };
}

function convBackKernel(n: Node): Kernel {
  const [x, c] = n.args;
  const window = attrInts(n.attrs, 'window', 'convBackKernel');
  const ci = x!.shape[x!.shape.length - 1]!;
  const co = c!.shape[c!.shape.length - 1]!;
  const { w } = convGeometry('convBackKernel', x!.shape.slice(0, -1), [...window, ci, co], n.attrs);
  // Each kernel element is a sum over output positions: with taps outermost, a block of
  // output channels sums in locals and is stored once.
  return {
    size: n.size,
    body: kernelLoops(w, (t) => [
      loop('a', 0, ci, [
        ...channelBlocks(co, (base, width) => [
          ...lanes(width).map((j) => let_(acc(j), num(0))),
          ...positionLoops(w, (o, p) => [
            let_('xv', load(0, at(p, ci, v('a')))),
            let_('cr', add(mul(o, num(co)), base)),
            ...lanes(width).map((j) =>
              set(acc(j), fadd(v(acc(j)), fmul(v('xv'), load(1, add(v('cr'), num(j)))))),
            ),
          ]),
          ...lanes(width).map((j) =>
            store(add(mul(at(t, ci, v('a')), num(co)), add(base, num(j))), v(acc(j))),
          ),
        ]),
      ]),
    ]),
  };
}

/** `bi` := flat input position of the first maximum of argument 0 in the window (−1 if all
 * NaN), per channel `ch`; the same rule as `argmaxTable`. */
function argmax(w: Window, channels: number): LStmt[] {
  return [
    let_('best', num(-Infinity)),
    let_('bi', num(-1)),
    ...tapLoops(w, (_t, p) => [
      let_('sv', load(0, at(p, channels, v('ch')))),
      if_(
        sel(cmp('<', v('bi'), num(0)), cmp('==', v('sv'), v('sv')), cmp('>', v('sv'), v('best'))),
        [set('best', v('sv')), set('bi', p)],
      ),
    ]),
  ];
}

function poolMax(n: Node): Kernel {
  const s = n.args[0]!;
  const C = s.shape[s.shape.length - 1]!;
  const w = poolGeometry('poolMax', s.shape, n.attrs);
  return {
    size: n.size,
    body: outputLoops(w, (o) => [
      loop('ch', 0, C, [
        ...argmax(w, C),
        // Not `bi < 0 ? NaN : v[...]`: V8 boxes that mix of a NaN constant and a loaded
        // double, once per window (measured: 25 KB per call of a 14×14×8 pool).
        store(
          at(o, C, v('ch')),
          load(1, at(sel(cmp('<', v('bi'), num(0)), num(0), v('bi')), C, v('ch'))),
        ),
        if_(cmp('<', v('bi'), num(0)), [store(at(o, C, v('ch')), num(NaN))]),
      ]),
    ]),
  };
}

function poolMaxT(n: Node): Kernel {
  const s = n.args[0]!;
  const C = s.shape[s.shape.length - 1]!;
  const w = poolGeometry('poolMaxT', s.shape, n.attrs);
  return {
    size: n.size,
    body: [
      zero(n.size),
      ...outputLoops(w, (o) => [
        loop('ch', 0, C, [
          ...argmax(w, C),
          if_(cmp('>=', v('bi'), num(0)), [
            store(at(v('bi'), C, v('ch')), load(1, at(o, C, v('ch'))), true),
          ]),
        ]),
      ]),
    ],
  };
}

/** `n` := the number of taps of the current window inside the input. */
function count(w: Window): LStmt[] {
  return [let_('n', num(0)), ...tapLoops(w, () => [set('n', add(v('n'), num(1)))], 'n')];
}

function poolAvg(n: Node): Kernel {
  const x = n.args[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const w = poolGeometry('poolAvg', x.shape, n.attrs);
  return {
    size: n.size,
    body: outputLoops(w, (o) => [
      ...count(w),
      loop('ch', 0, C, [
        let_('s', num(0)),
        ...tapLoops(w, (_t, p) => [set('s', fadd(v('s'), load(0, at(p, C, v('ch')))))]),
        store(at(o, C, v('ch')), bin('/', v('s'), v('n'))),
      ]),
    ]),
  };
}

function poolAvgT(n: Node): Kernel {
  const C = n.shape[n.shape.length - 1]!;
  const w = poolGeometry('poolAvgT', n.shape, n.attrs);
  return {
    size: n.size,
    body: [
      zero(n.size),
      ...outputLoops(w, (o) => [
        ...count(w),
        loop('ch', 0, C, [
          let_('g', bin('/', load(0, at(o, C, v('ch'))), v('n'))),
          ...tapLoops(w, (_t, p) => [store(at(p, C, v('ch')), v('g'), true)]),
        ]),
      ]),
    ],
  };
}

/** Sum over broadcast axes: one loop per axis of the argument, adding into the result. */
function sumTo(n: Node): Kernel {
  const a = n.args[0]!;
  const to = a.shape;
  const lead = to.length - n.shape.length;
  const aligned = [...new Array<number>(lead).fill(1), ...n.shape];
  const sa = strides(to);
  const so = strides(aligned);
  const vars = to.map((_, d) => v(`s${d}`));
  let src: LExpr = num(0);
  let dst: LExpr = num(0);
  vars.forEach((x, d) => {
    src = add(src, mul(x, num(sa[d]!)));
    if (aligned[d] !== 1) dst = add(dst, mul(x, num(so[d]!)));
  });
  let body: LStmt[] = [store(dst, load(0, src), true)];
  for (let d = to.length - 1; d >= 0; d--) body = [loop(`s${d}`, 0, to[d]!, body)];
  return { size: n.size, body: [zero(n.size), ...body] };
}

/**
 * `ok` = 1 when the id in local `id` is a whole number in [0, rows), else 0: the id is data,
 * so the kernel checks it before using it as an index (a number, not a boolean, so every
 * local stays a double).
 */
function idCheck(rows: number): LStmt {
  const whole = cmp('==', v('id'), elem('floor', [v('id')]));
  return let_(
    'ok',
    sel(
      cmp('>=', v('id'), num(0)),
      sel(cmp('<', v('id'), num(rows)), sel(whole, num(1), num(0)), num(0)),
      num(0),
    ),
  );
}

/** out[i, j] = table[ids[i], j], or 0 for an id out of range (the load is never made). */
function gather(n: Node): Kernel {
  const { ids, rows, width } = gatherGeometry(n);
  return {
    size: n.size,
    body: [
      loop('i', 0, ids, [
        let_('id', load(1, v('i'))),
        idCheck(rows),
        loop('j', 0, width, [
          store(
            add(mul(v('i'), num(width)), v('j')),
            sel(cmp('==', v('ok'), num(1)), load(0, add(mul(v('id'), num(width)), v('j'))), num(0)),
          ),
        ]),
      ]),
    ],
  };
}

/** Clears the table, then adds row i of the argument at row ids[i] (valid ids only). The
 * store index holds a loaded value: the loop IR's indices may depend on data as long as the
 * kernel guards them. */
function scatterAdd(n: Node): Kernel {
  const { ids, rows, width } = gatherGeometry(n);
  return {
    size: n.size,
    body: [
      zero(n.size),
      loop('i', 0, ids, [
        let_('id', load(1, v('i'))),
        idCheck(rows),
        if_(cmp('==', v('ok'), num(1)), [
          loop('j', 0, width, [
            store(
              add(mul(v('id'), num(width)), v('j')),
              load(0, add(mul(v('i'), num(width)), v('j'))),
              true,
            ),
          ]),
        ]),
      ]),
    ],
  };
}

/**
 * `outer` runs of `run` elements of argument `arg`, stored `stride` apart from `offset` on:
 * the block move behind pad and concat. One run (outer = 1) is a single contiguous loop.
 */
function moveBlock(arg: number, outer: number, run: number, stride: number, offset: number): LStmt {
  if (outer === 1) return loop('r', 0, run, [store(add(v('r'), num(offset)), load(arg, v('r')))]);
  return loop('o', 0, outer, [
    let_('src', mul(v('o'), num(run))),
    let_('dst', add(mul(v('o'), num(stride)), num(offset))),
    loop('r', 0, run, [store(add(v('dst'), v('r')), load(arg, add(v('src'), v('r'))))]),
  ]);
}

function pad(n: Node): Kernel {
  const axis = attrNum(n.attrs, 'axis', 'pad');
  const { outer, dim, inner } = splitAt(n.args[0]!.shape, axis, 'pad');
  const total = attrNum(n.attrs, 'total', 'pad');
  const start = attrNum(n.attrs, 'start', 'pad');
  return {
    size: n.size,
    body: [zero(n.size), moveBlock(0, outer, dim * inner, total * inner, start * inner)],
  };
}

function concat(n: Node): Kernel {
  const axis = attrNum(n.attrs, 'axis', 'concat');
  const { outer, inner } = splitAt(n.shape, axis, 'concat');
  const stride = n.shape[axis]! * inner;
  const offsets = concatOffsets(n.args, axis);
  return {
    size: n.size,
    body: n.args.map((a, i) =>
      moveBlock(i, outer, alongAxis(a.shape, axis) * inner, stride, offsets[i]! * inner),
    ),
  };
}

const lowerings: Readonly<Record<string, (n: Node) => Kernel>> = {
  gather,
  scatterAdd,
  conv,
  convBackInput,
  convBackKernel,
  poolMax,
  poolMaxT,
  poolAvg,
  poolAvgT,
  sumTo,
  pad,
  concat,
  ...scanLowerings,
};

export const loweredOps: readonly string[] = Object.keys(lowerings);

export function lowerNode(n: Node): Kernel {
  const f = lowerings[n.op];
  if (!f) throw new Error(`internal: no lowering for ${n.op}`);
  return f(n);
}
