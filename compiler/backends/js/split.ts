// Where the JS backend cuts straight-line code into functions. A body whose estimated
// bytecode fits SCHEDULE.functionBytecode is one function, its values in locals. A longer
// one is cut into as few parts as fit, each cut placed where the fewest values are live:
// every value live across a cut is stored to `work` by one part and loaded by the next,
// and (measured on 4-16-16-3) that traffic, not the calls, is what a split costs.
import { getOp } from '../../ops/registry.ts';
import { specOf, summedLabels } from '../../ops/contract.ts';
import type { Node } from '../../ir/node.ts';
import { BYTECODE, SCHEDULE } from './policy.ts';
import { jsElementwise } from './scalar-ops.ts';

/** Estimated V8 bytecode of one step: what `emit/body.ts` writes for it in its function. */
export function stepBytecode(
  node: Node,
  mode: 'unroll' | 'loop',
  lanes: number,
  fused: boolean,
): number {
  const def = getOp(node.op);
  // A structured op's kernel has one function per loop nest and lane (clearing, then
  // accumulating): two calls per lane, or three for a scatter's extra pass, rounded up.
  if (def.kind === 'structured' || fused) return 3 * lanes * BYTECODE.call;
  if (mode === 'loop') return BYTECODE.call;
  const perLane = lanes > 1 ? BYTECODE.laneFactor : 1;
  let units: number;
  if (def.kind === 'linalg')
    units = productOnly(node)
      ? (def.cost(node) * BYTECODE.outer) / BYTECODE.element
      : (def.cost(node) * BYTECODE.mac + node.size * BYTECODE.anchor) / BYTECODE.element;
  else if (def.kind === 'reduce') units = node.args[0]!.size;
  else units = node.size * elementUnits(node.op);
  return Math.ceil(units * BYTECODE.element * lanes * perLane);
}

/** A contraction that sums nothing (an outer product): each element is one product, not a
 * sum to anchor. */
function productOnly(node: Node): boolean {
  return summedLabels(specOf(node.attrs)).length === 0;
}

const UNITS = new Map<string, number>();

/** Units of one element of an elementwise op: its JavaScript text may hold several
 * operations (sigmoid: a division, an add, a negation and `Math.exp`); each one past the
 * first counts half (the per-element statement and store are paid once). */
function elementUnits(op: string): number {
  let u = UNITS.get(op);
  if (u === undefined) {
    const text = jsElementwise(op)('a', 'b', 'c');
    const ops = text.match(/Math\.\w+|!==|[<>]=?|[-+*/?]/g)?.length ?? 1;
    u = 1 + Math.max(0, ops - 1) / 2;
    UNITS.set(op, u);
  }
  return u;
}

/** One step of straight-line code, as the splitter sees it. */
export interface SplitItem {
  readonly bytes: number;
  /** Elements this step's value would keep in locals if nothing cut it off (0 when it lives
   * in an array anyway: a loop's result, an output, a value a loop reads). */
  readonly localElements: number;
  /** Index of the last step reading it (-1 if none). */
  readonly lastRead: number;
}

export interface Split {
  /** The function (part) of each step. */
  readonly chunk: readonly number[];
  /** Estimated bytecode of each part's steps. */
  readonly bytes: readonly number[];
}

/**
 * Cuts `items` (in emission order) into parts of at most `budget` estimated bytes. Greedy
 * from the front: each part ends at the cut, among those that leave it at least half the
 * budget, with the fewest elements live across it (values defined before, read after);
 * ties go to the later cut. A step over the budget alone gets a part of its own.
 */
export function splitSteps(items: readonly SplitItem[], budget: number): Split {
  const n = items.length;
  const prefix = [0];
  for (const it of items) prefix.push(prefix[prefix.length - 1]! + it.bytes);
  const chunk = new Array<number>(n).fill(0);
  if (prefix[n]! <= budget) return { chunk, bytes: [prefix[n]!] };
  // live[p]: elements live across a cut before step p (defined at i < p, read at r ≥ p).
  const diff = new Array<number>(n + 2).fill(0);
  items.forEach((it, i) => {
    if (it.localElements > 0 && it.lastRead > i) {
      diff[i + 1]! += it.localElements;
      diff[it.lastRead + 1]! -= it.localElements;
    }
  });
  const live = new Array<number>(n + 1).fill(0);
  for (let p = 1, acc = 0; p <= n; p++) live[p] = acc += diff[p]!;
  const bytes: number[] = [];
  let start = 0;
  let part = 0;
  while (start < n) {
    let end = n;
    if (prefix[n]! - prefix[start]! > budget) {
      // The farthest cut that fits, then the cheapest cut in the second half of the part.
      let far = start + 1;
      while (far < n && prefix[far + 1]! - prefix[start]! <= budget) far++;
      end = far;
      for (let p = far; p > start && prefix[p]! - prefix[start]! >= budget / 2; p--)
        if (live[p]! < live[end]!) end = p;
    }
    for (let i = start; i < end; i++) chunk[i] = part;
    bytes.push(prefix[end]! - prefix[start]!);
    start = end;
    part++;
  }
  return { chunk, bytes };
}

/** The budget for a body's steps: the function's own overhead and its output copies
 * (emitted at the end of the entry function) come off it. */
export function stepBudget(copiedElements: number): number {
  return SCHEDULE.functionBytecode - BYTECODE.function - copiedElements * BYTECODE.copy;
}

/**
 * Whether the emitter anchors a step's value: an unrolled sum of products (matvec, matvecT)
 * kept in locals. TurboFan keeps loads in program order but computes pure arithmetic just
 * before its first use, so in one long function every weight of the forward pass was loaded
 * before the first multiply and spilled (1,900 stack moves per sample on 4-16-16-3). One
 * store of each sum to a slot nothing reads pins its arithmetic next to its loads: iris's
 * batched forward went from 4,100 to 2,900 machine instructions per sample.
 */
export function anchored(node: Node, mode: 'unroll' | 'loop', local: boolean): boolean {
  return local && mode === 'unroll' && getOp(node.op).kind === 'linalg' && !productOnly(node);
}
