// Creates IR nodes. All nodes of one compilation live in one builder, so a node built twice
// (by the forward builder, the differentiator or a pass) is the same node.
import { attrsKey, sizeOf, type Attrs, type Node } from './node.ts';
import { getOp } from '../ops/registry.ts';
import { buildContract } from '../ops/contract.ts';

function shapeArg(s: number | readonly number[]): readonly number[] {
  return typeof s === 'number' ? [s] : s;
}

function leafAttrs(shape: number | readonly number[], offset: number): Attrs {
  return offset === 0 ? { shape: shapeArg(shape) } : { shape: shapeArg(shape), offset };
}

export class Builder {
  private readonly table = new Map<string, Node>();
  private nextId = 0;
  /** Section stamped on nodes created from now on (see `Meta.section`). */
  section: string | undefined;

  get nodeCount(): number {
    return this.nextId;
  }

  make(op: string, args: readonly Node[], attrs: Attrs = {}): Node {
    const def = getOp(op);
    if (def.variadic ? args.length < def.arity : args.length !== def.arity) {
      const least = def.variadic ? 'at least ' : '';
      throw new Error(`${op} takes ${least}${def.arity} arguments, got ${args.length}`);
    }
    // Commutative ops are keyed with sorted arguments so that a*b and b*a are one node.
    const ordered =
      def.commutative && args.length === 2 && args[0]!.id > args[1]!.id
        ? [args[1]!, args[0]!]
        : args;
    const key = `${op}(${ordered.map((a) => a.id).join(',')}){${attrsKey(attrs)}}`;
    const hit = this.table.get(key);
    if (hit) return hit;
    const shape = def.shape(ordered, attrs);
    const node: Node = {
      id: this.nextId++,
      op,
      args: ordered,
      attrs,
      shape,
      size: sizeOf(shape),
      key,
      meta: { section: this.section },
    };
    this.table.set(key, node);
    return node;
  }

  /** Gives `n` a readable base name unless it has one. */
  named(n: Node, name: string): Node {
    if (
      n.meta.name === undefined &&
      n.op !== 'const' &&
      n.op !== 'param' &&
      n.op !== 'input' &&
      n.op !== 'target'
    ) {
      n.meta.name = name;
    }
    return n;
  }

  // Leaves.
  const(value: number): Node {
    return this.make('const', [], { value });
  }
  /** A parameter tensor; a number is a vector of that length. */
  param(offset: number, shape: number | readonly number[]): Node {
    return this.make('param', [], { offset, shape: shapeArg(shape) });
  }
  /**
   * One model input: `input[offset .. offset+size)` of the packed input array. Two inputs of
   * equal shape differ by their offset, so they stay distinct nodes. The offset is left out
   * of the attributes when it is 0, which keeps a single-input model's IR as it was.
   */
  input(shape: number | readonly number[], offset = 0): Node {
    return this.make('input', [], leafAttrs(shape, offset));
  }
  /** One model output's target, `target[offset .. offset+size)` of the packed target. */
  target(shape: number | readonly number[], offset = 0): Node {
    return this.make('target', [], leafAttrs(shape, offset));
  }

  // Sugar over `make`, so that builders and derivative rules read like math.
  add(a: Node, b: Node): Node {
    return this.make('add', [a, b]);
  }
  sub(a: Node, b: Node): Node {
    return this.make('sub', [a, b]);
  }
  mul(a: Node, b: Node): Node {
    return this.make('mul', [a, b]);
  }
  div(a: Node, b: Node): Node {
    return this.make('div', [a, b]);
  }
  neg(a: Node): Node {
    return this.make('neg', [a]);
  }
  unary(op: string, a: Node): Node {
    return this.make(op, [a]);
  }
  max(a: Node, b: Node): Node {
    return this.make('max', [a, b]);
  }
  min(a: Node, b: Node): Node {
    return this.make('min', [a, b]);
  }
  gt(a: Node, b: Node): Node {
    return this.make('gt', [a, b]);
  }
  select(c: Node, a: Node, b: Node): Node {
    return this.make('select', [c, a, b]);
  }
  sum(a: Node): Node {
    return this.make('sum', [a]);
  }
  stop(a: Node): Node {
    return this.make('stop', [a]);
  }
  /** `a` repeated to `shape` (a number: a vector of that length). */
  bcast(a: Node, shape: number | readonly number[]): Node {
    const s = shapeArg(shape);
    if (a.size > 1 && s.length === a.shape.length && s.every((d, k) => d === a.shape[k])) return a;
    return this.make('bcast', [a], { shape: s });
  }
  reshape(a: Node, shape: readonly number[]): Node {
    if (shape.length === a.shape.length && shape.every((d, k) => d === a.shape[k])) return a;
    return this.make('reshape', [a], { shape });
  }
  /** Sum of `a` over the axes along which `shape` was broadcast to `a`'s shape. */
  sumTo(a: Node, shape: readonly number[]): Node {
    return this.make('sumTo', [a], { shape });
  }
  /** The block [start, start + size) of `axis`; the whole axis is `a` itself. */
  slice(a: Node, axis: number, start: number, size: number): Node {
    if (start === 0 && size === a.shape[axis]) return a;
    return this.make('slice', [a], { axis, start, size });
  }
  /** The arguments one after another along `axis`; one argument is itself. */
  concat(args: readonly Node[], axis: number): Node {
    if (args.length === 1) return args[0]!;
    return this.make('concat', args, { axis });
  }
  /**
   * The contraction of `a` and `b` by an einsum-like spec (`ij,jk->ik`), in any labels: the
   * node holds the canonical form (see `ops/contract.ts`).
   */
  contract(a: Node, b: Node, spec: string): Node {
    return buildContract(this, a, b, spec);
  }
  /** y = x·W: y[j] = Σ_i x[i]·W[i,j] (x: n, W: n×m). */
  matvec(x: Node, w: Node, n: number, m: number): Node {
    return this.contract(this.asShape(x, [n]), this.asShape(w, [n, m]), 'i,ij->j');
  }
  /** h = W·g: h[i] = Σ_j W[i,j]·g[j] (W: n×m, g: m). */
  matvecT(w: Node, g: Node, n: number, m: number): Node {
    return this.contract(this.asShape(w, [n, m]), this.asShape(g, [m]), 'ij,j->i');
  }
  /** H = x ⊗ g: H[i,j] = x[i]·g[j] (x: n, g: m). */
  outer(x: Node, g: Node, n: number, m: number): Node {
    return this.contract(this.asShape(x, [n]), this.asShape(g, [m]), 'i,j->ij');
  }
  /** `a` viewed as `shape` (a flat parameter as a matrix); its size must be the shape's. */
  private asShape(a: Node, shape: readonly number[]): Node {
    if (a.size !== sizeOf(shape))
      throw new Error(
        `contract: an operand has size ${a.size}, expected ${sizeOf(shape)} ([${shape.join(',')}])`,
      );
    return this.reshape(a, shape);
  }
}
