// Convolution over the spatial axes of channels-last tensors (TF.js / Keras layout): input
// [...spatial, ci], kernel [...window, ci, co], result [...out, co]. Its two gradients are
// convolutions' transposes, and the three ops are each other's derivatives:
//   conv(x, w)            y[o, co]    = Σ_{k, ci} x[o·s + k·d − p, ci] · w[k, ci, co]
//   convBackInput(c, w)   dx[i, ci]   = Σ_{o, k: i = o·s + k·d − p} Σ_co c[o, co] · w[k, ci, co]
//   convBackKernel(x, c)  dw[k,ci,co] = Σ_o x[o·s + k·d − p, ci] · c[o, co]
// All three are bilinear; <conv(x,w), c> = <x, convBackInput(c,w)> = <w, convBackKernel(x,c)>
// gives every derivative rule below.
import { attrInts, sameShape, type Attrs, type Node } from '../ir/node.ts';
import { forEachTap, windowOf, type Window } from './window.ts';
import { fullCotangent as full } from './cotangent.ts';
import type { StructuredOp } from './types.ts';

function split(shape: readonly number[]): { spatial: number[]; channels: number } {
  return { spatial: shape.slice(0, -1), channels: shape[shape.length - 1]! };
}

/** The window and channel counts of a conv-family node from its operands' shapes. */
export function convGeometry(
  op: string,
  spatialIn: readonly number[],
  kernelShape: readonly number[],
  attrs: Attrs,
): { w: Window; ci: number; co: number } {
  const r = spatialIn.length;
  if (r < 1) throw new Error(`${op}: the input needs spatial axes and a channel axis`);
  if (kernelShape.length !== r + 2)
    throw new Error(`${op}: a kernel of rank ${kernelShape.length} on ${r} spatial axes`);
  const w = windowOf(op, attrs, spatialIn, kernelShape.slice(0, r));
  return { w, ci: kernelShape[r]!, co: kernelShape[r + 1]! };
}

function checkShape(op: string, what: string, got: readonly number[], want: readonly number[]) {
  if (!sameShape(got, want))
    throw new Error(`${op}: ${what} has shape [${got.join(',')}], wants [${want.join(',')}]`);
}

export function convShape(args: readonly Node[], attrs: Attrs): number[] {
  const [x, k] = args;
  const { spatial, channels } = split(x!.shape);
  const g = convGeometry('conv', spatial, k!.shape, attrs);
  if (channels !== g.ci) throw new Error(`conv: ${channels} input channels, kernel wants ${g.ci}`);
  return [...g.w.spatialOut, g.co];
}

const tapCount = (w: Window): number => {
  let n = 0;
  forEachTap(w, () => n++);
  return n;
};

export const convOps: StructuredOp[] = [
  {
    name: 'conv',
    kind: 'structured',
    arity: 2,
    smooth: true,
    doc: 'y[o,co] = Σ_{k,ci} x[o·s + k·d − p, ci]·w[k,ci,co]  (channels-last, zero padding)',
    shape: convShape,
    evaluate: ([x, k], attrs, out, [xs, ks]) => {
      const { w, ci, co } = convGeometry('conv', xs!.slice(0, -1), ks!, attrs);
      out.fill(0);
      forEachTap(w, (o, t, p) => {
        for (let a = 0; a < ci; a++) {
          const xv = x![p * ci + a]!;
          for (let b = 0; b < co; b++) out[o * co + b] += xv * k![(t * ci + a) * co + b]!;
        }
      });
    },
    vjp: ({ B, ct, args: [x, k], y, needs }) => [
      needs[0] ? B.make('convBackInput', [full(B, ct, y), k!], backInputAttrs(y, x!)) : null,
      needs[1]
        ? B.make('convBackKernel', [x!, full(B, ct, y)], backKernelAttrs(y.attrs, k!))
        : null,
    ],
    cost: (n) => {
      const { w, ci, co } = convGeometry(
        'conv',
        n.args[0]!.shape.slice(0, -1),
        n.args[1]!.shape,
        n.attrs,
      );
      return tapCount(w) * ci * co;
    },
  },
  {
    name: 'convBackInput',
    kind: 'structured',
    arity: 2,
    smooth: true,
    doc: 'dx[i,ci] = Σ c[o,co]·w[k,ci,co] over the taps reading i: the transpose of conv in x',
    shape: ([c, k], attrs) => {
      const spatialIn = attrInts(attrs, 'spatialIn', 'convBackInput');
      const g = convGeometry('convBackInput', spatialIn, k!.shape, attrs);
      checkShape('convBackInput', 'the cotangent', c!.shape, [...g.w.spatialOut, g.co]);
      return [...spatialIn, g.ci];
    },
    evaluate: ([c, k], attrs, out, [, ks]) => {
      const spatialIn = attrInts(attrs, 'spatialIn', 'convBackInput');
      const { w, ci, co } = convGeometry('convBackInput', spatialIn, ks!, attrs);
      out.fill(0);
      forEachTap(w, (o, t, p) => {
        for (let a = 0; a < ci; a++) {
          let s = 0;
          for (let b = 0; b < co; b++) s += c![o * co + b]! * k![(t * ci + a) * co + b]!;
          out[p * ci + a] += s;
        }
      });
    },
    // Linear in both: <convBackInput(c,w), g> = <conv(g,w), c> = <convBackKernel(g,c), w>.
    vjp: ({ B, ct, args: [c, k], y, needs }) => {
      const g = full(B, ct, y);
      const attrs = convAttrs(y.attrs);
      return [
        needs[0] ? B.make('conv', [g, k!], attrs) : null,
        needs[1] ? B.make('convBackKernel', [g, c!], backKernelAttrs(attrs, k!)) : null,
      ];
    },
    cost: (n) => {
      const spatialIn = attrInts(n.attrs, 'spatialIn', 'convBackInput');
      const { w, ci, co } = convGeometry('convBackInput', spatialIn, n.args[1]!.shape, n.attrs);
      return tapCount(w) * ci * co;
    },
  },
  {
    name: 'convBackKernel',
    kind: 'structured',
    arity: 2,
    smooth: true,
    doc: 'dw[k,ci,co] = Σ_o x[o·s + k·d − p, ci]·c[o,co]: the transpose of conv in w',
    shape: ([x, c], attrs) => {
      const window = attrInts(attrs, 'window', 'convBackKernel');
      const { spatial, channels } = split(x!.shape);
      const co = c!.shape[c!.shape.length - 1]!;
      const g = convGeometry('convBackKernel', spatial, [...window, channels, co], attrs);
      checkShape('convBackKernel', 'the cotangent', c!.shape, [...g.w.spatialOut, co]);
      return [...window, channels, co];
    },
    evaluate: ([x, c], attrs, out, [xs, cs]) => {
      const window = attrInts(attrs, 'window', 'convBackKernel');
      const ci = xs![xs!.length - 1]!;
      const co = cs![cs!.length - 1]!;
      const { w } = convGeometry('convBackKernel', xs!.slice(0, -1), [...window, ci, co], attrs);
      out.fill(0);
      forEachTap(w, (o, t, p) => {
        for (let a = 0; a < ci; a++) {
          const xv = x![p * ci + a]!;
          for (let b = 0; b < co; b++) out[(t * ci + a) * co + b] += xv * c![o * co + b]!;
        }
      });
    },
    // <convBackKernel(x,c), g> = <conv(x,g), c> = <x, convBackInput(c,g)>.
    vjp: ({ B, ct, args: [x, c], y, needs }) => {
      const g = full(B, ct, y);
      const attrs = convAttrs(y.attrs);
      return [
        needs[0]
          ? B.make('convBackInput', [c!, g], { ...attrs, spatialIn: x!.shape.slice(0, -1) })
          : null,
        needs[1] ? B.make('conv', [x!, g], attrs) : null,
      ];
    },
    cost: (n) => {
      const x = n.args[0]!;
      const { w, ci, co } = convGeometry('convBackKernel', x.shape.slice(0, -1), n.shape, n.attrs);
      return tapCount(w) * ci * co;
    },
  },
];

/** The window parameters alone (what conv itself takes). */
export function convAttrs(a: Attrs): Attrs {
  const out: Record<string, readonly number[]> = {};
  for (const k of ['strides', 'dilation', 'padBefore', 'padAfter'] as const) {
    const v = a[k];
    if (Array.isArray(v)) out[k] = v;
  }
  return out;
}

function backInputAttrs(y: Node, x: Node): Attrs {
  return { ...convAttrs(y.attrs), spatialIn: x.shape.slice(0, -1) };
}

/** convBackKernel's parameters: the window parameters and the kernel's window shape. */
function backKernelAttrs(base: Attrs, k: Node): Attrs {
  return { ...convAttrs(base), window: k.shape.slice(0, -2) };
}
