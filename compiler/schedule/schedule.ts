// Decides how each node becomes code: unrolled straight-line statements or a loop with
// constant bounds, which function ("chunk") it lands in, and whether its value lives in a
// local variable, the work array, or the caller's output array.
//
// The cost rule is the JS backend's (`backends/js/policy.ts`): straight-line code is split
// into chunks under V8's optimization limits, large matrices are loops, tiny layers are
// unrolled completely.
import { topoOrder, type Node } from '../ir/node.ts';
import type { Program, ProgramOutput } from '../ir/program.ts';
import { reductionOf, type BatchDim } from '../batch/axis.ts';
import { getOp } from '../ops/registry.ts';
import { STORES_ONCE } from '../lower/fuse.ts';
import { SCHEDULE } from '../backends/js/policy.ts';
import { splitSteps, stepBudget, stepBytecode } from '../backends/js/split.ts';

// The thresholds are the JS backend's cost policy (V8's limits), kept with the backend.
export { SCHEDULE };

export type Mode = 'unroll' | 'loop';

export type Storage =
  | { readonly kind: 'local' }
  | { readonly kind: 'work'; offset: number }
  | {
      readonly kind: 'array';
      readonly array: 'output' | 'grad' | 'dinput';
      readonly offset: number;
      /** Added to what the array holds (a batch summing gradients), so never read back. */
      readonly accumulate?: boolean;
    };

/** Elementwise ops fused into the structured kernel that produces their first input. */
export interface Epilogue {
  readonly producer: Node;
  /** The fused elementwise nodes in order; the last one is the step's node. */
  readonly ops: readonly Node[];
}

export interface Step {
  readonly node: Node;
  readonly mode: Mode;
  readonly chunk: number;
  storage: Storage;
  /** Set when the step computes `epilogue.producer` and its chain in one kernel. */
  readonly epilogue?: Epilogue;
}

/** The nodes a step reads: for a fused step, the producer's arguments and the chain's others. */
export function stepReads(step: Step): readonly Node[] {
  const e = step.epilogue;
  if (!e) return step.node.args;
  const inside = new Set<Node>([e.producer, ...e.ops]);
  return [...e.producer.args, ...e.ops.flatMap((o) => o.args.filter((a) => !inside.has(a)))];
}

/**
 * Chains of elementwise ops to fuse into the kernel before them (a convolution's bias add
 * and activation). A node joins the chain when the previous link is its only reader's sole
 * input from the chain, is no program output, and its other arguments need no code
 * (weights, constants, broadcasts of them). Keyed by the chain's last node.
 */
function findEpilogues(program: Program, all: readonly Node[]): Map<Node, Epilogue> {
  const users = new Map<Node, Node[]>();
  for (const n of all)
    for (const a of n.args) {
      const list = users.get(a) ?? [];
      list.push(n);
      users.set(a, list);
    }
  const outputs = new Set(program.outputs.map((o) => o.node));
  const free = (a: Node): boolean => !isComputed(viewBase(a));
  const next = (n: Node): Node | undefined => {
    const us = users.get(n);
    if (outputs.has(n) || us?.length !== 1) return undefined;
    const u = us[0]!;
    if (getOp(u.op).kind !== 'elementwise' || u.size !== n.size) return undefined;
    return u.args.every((a) => a === n || free(a)) ? u : undefined;
  };
  const found = new Map<Node, Epilogue>();
  for (const n of all) {
    if (!STORES_ONCE.has(n.op)) continue;
    const ops: Node[] = [];
    for (let u = next(n); u; u = next(u)) ops.push(u);
    if (ops.length) found.set(ops[ops.length - 1]!, { producer: n, ops });
  }
  return found;
}

export interface Schedule {
  readonly program: Program;
  readonly steps: readonly Step[];
  readonly chunks: number;
  /** Computed nodes by node, for lookups while emitting. */
  readonly byNode: ReadonlyMap<Node, Step>;
  /** Estimated bytecode of each chunk's steps (backends/js/split.ts). */
  readonly chunkBytes: readonly number[];
  /** Rows of the batch axis the body computes at once (1 outside a block). */
  readonly lanes: number;
  /** A batched entry point's body: every value's batch dimension (batch/axis.ts). */
  readonly dims: ReadonlyMap<Node, BatchDim> | null;
  /** Work elements the program uses; set by planMemory (0 until then). */
  workSize: number;
  /** A work slot nothing reads, written to anchor unrolled sums (emit/body.ts); set by
   * planMemory when some step needs it. */
  anchorSlot: number | null;
}

export function isComputed(n: Node): boolean {
  const k = getOp(n.op).kind;
  return k === 'elementwise' || k === 'reduce' || k === 'linalg' || k === 'structured';
}

/** The node whose storage a view reads (views themselves produce no code). */
export function viewBase(n: Node): Node {
  let b = n;
  while (getOp(b.op).kind === 'view') b = b.args[0]!;
  return b;
}

export function modeOf(n: Node): Mode {
  const def = getOp(n.op);
  // Convolutions and windows are loop nests by nature.
  if (def.kind === 'structured') return 'loop';
  if (def.kind === 'linalg') {
    return def.cost(n) <= SCHEDULE.maxUnrolledMacs && def.fanIn(n) <= SCHEDULE.maxUnrolledFanIn
      ? 'unroll'
      : 'loop';
  }
  const len = def.kind === 'reduce' ? n.args[0]!.size : n.size;
  return len <= SCHEDULE.maxUnrolledElements ? 'unroll' : 'loop';
}

/** The mode in a program too long to unroll: vectors of `minLoopElements` or more loop. */
function longModeOf(n: Node): Mode {
  const def = getOp(n.op);
  if (def.kind !== 'elementwise' && def.kind !== 'reduce') return modeOf(n);
  const len = def.kind === 'reduce' ? n.args[0]!.size : n.size;
  return len >= SCHEDULE.minLoopElements ? 'loop' : modeOf(n);
}

export function costOf(n: Node, mode: Mode): number {
  if (mode === 'loop') return SCHEDULE.loopCost;
  const def = getOp(n.op);
  if (def.kind === 'linalg') return def.cost(n);
  if (def.kind === 'structured') return def.cost(n);
  return def.kind === 'reduce' ? n.args[0]!.size : n.size;
}

/**
 * A topological order that keeps each section's code together: among the nodes whose
 * arguments are ready, the one from the earliest section (then the oldest) goes first.
 * Backward values are thereby computed where they are needed, not where they were built.
 */
export function sectionedOrder(roots: readonly Node[], sectionOrder: readonly string[]): Node[] {
  const nodes = topoOrder(roots);
  const rankOf = new Map(sectionOrder.map((s, i) => [s, i]));
  const rank = (n: Node) => rankOf.get(n.meta.section ?? '') ?? 0;
  const waiting = new Map<Node, number>();
  const users = new Map<Node, Node[]>();
  for (const n of nodes) {
    const args = new Set(n.args);
    waiting.set(n, args.size);
    for (const a of args) {
      const u = users.get(a) ?? [];
      u.push(n);
      users.set(a, u);
    }
  }
  const ready = new MinHeap<Node>((a, b) => rank(a) - rank(b) || a.id - b.id);
  for (const n of nodes) if (waiting.get(n) === 0) ready.push(n);
  const order: Node[] = [];
  while (ready.size) {
    const n = ready.pop();
    order.push(n);
    for (const u of users.get(n) ?? []) {
      const left = waiting.get(u)! - 1;
      waiting.set(u, left);
      if (left === 0) ready.push(u);
    }
  }
  return order;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

export interface ScheduleOptions {
  /** A body of a batched entry point: the batch dimension of each value (batch/axis.ts) and
   * the rows of the axis the body computes at once (a register block; unrolled code is that
   * many times longer). Its gradients, means over the axis, are added into `grad` by every
   * row instead of overwriting it. */
  readonly batch?: { readonly dims: ReadonlyMap<Node, BatchDim>; readonly lanes: number };
}

export function scheduleProgram(
  program: Program,
  sectionOrder: readonly string[] = [],
  opts: ScheduleOptions = {},
): Schedule {
  const order = sectionedOrder(
    program.outputs.map((o) => o.node),
    sectionOrder,
  );
  const epilogues = findEpilogues(program, order);
  const absorbed = new Set([...epilogues.values()].flatMap((e) => [e.producer, ...e.ops]));
  const nodes = order.filter((n) => isComputed(n) && (!absorbed.has(n) || epilogues.has(n)));
  const lanes = opts.batch?.lanes ?? 1;
  let unrolled = 0;
  for (const node of nodes) {
    const mode = modeOf(node);
    if (mode === 'unroll') unrolled += costOf(node, mode) * lanes;
  }
  const long = unrolled > SCHEDULE.maxUnrolledTotal;
  const modes: Mode[] = nodes.map((node) =>
    epilogues.get(node) ? 'loop' : long ? longModeOf(node) : modeOf(node),
  );
  // Which function each step goes in: the JS backend's split (backends/js/split.ts).
  const index = new Map(nodes.map((n, i) => [n, i]));
  const lastRead = nodes.map(() => -1);
  const readByLoop = nodes.map(() => false);
  nodes.forEach((node, i) => {
    const e = epilogues.get(node);
    const reads = e
      ? stepReads({ node, mode: 'loop', chunk: 0, storage: { kind: 'local' }, epilogue: e })
      : node.args;
    for (const a of reads) {
      const j = index.get(viewBase(a));
      if (j === undefined) continue;
      lastRead[j] = Math.max(lastRead[j]!, i);
      if (modes[i] === 'loop') readByLoop[j] = true;
    }
  });
  const outputNodes = new Set(program.outputs.map((o) => viewBase(o.node)));
  const copied = program.outputs.reduce(
    (sum, o) => sum + (o.kind === 'loss' ? 1 : o.node.size <= 64 ? o.node.size : 0),
    0,
  );
  const split = splitSteps(
    nodes.map((node, i) => {
      const fused = epilogues.has(node);
      const local =
        modes[i] === 'unroll' &&
        !fused &&
        getOp(node.op).kind !== 'structured' &&
        !readByLoop[i] &&
        !outputNodes.has(node);
      return {
        bytes: stepBytecode(node, modes[i]!, lanes, fused),
        localElements: local ? node.size * lanes : 0,
        lastRead: lastRead[i]!,
      };
    }),
    stepBudget(copied * lanes),
  );
  const steps: Step[] = [];
  const byNode = new Map<Node, Step>();
  nodes.forEach((node, i) => {
    const step: Step = {
      node,
      mode: modes[i]!,
      chunk: split.chunk[i]!,
      storage: { kind: 'local' },
      epilogue: epilogues.get(node),
    };
    steps.push(step);
    byNode.set(node, step);
  });

  // Who reads each computed node (through views), and from which chunk and in which mode.
  const readers = new Map<Node, Step[]>();
  for (const s of steps) {
    for (const a of stepReads(s)) {
      const b = viewBase(a);
      if (byNode.has(b)) {
        const list = readers.get(b) ?? [];
        list.push(s);
        readers.set(b, list);
      }
    }
  }
  // Outputs not written in place are read at the end, in the entry function itself (an output
  // that is a view, such as a reshape of dinput, reads the node it views).
  const readAtEnd = new Set(program.outputs.map((o) => viewBase(o.node)));
  const claimed = new Set<Node>();
  const uses = new Map<Node, number>();
  for (const o of program.outputs) uses.set(o.node, (uses.get(o.node) ?? 0) + 1);
  // Over the batch axis, a gradient is a mean (batch/axis.ts): every row adds its share.
  const sums = (o: ProgramOutput) => opts.batch !== undefined && reductionOf(o.kind) === 'mean';
  for (const o of program.outputs) {
    // State updates are copied into params after everything else has read them; batch-mean
    // sums are added into work (emit/body.ts).
    if (o.kind === 'loss' || o.kind === 'state' || o.kind === 'stat') continue;
    const step = byNode.get(o.node);
    if (!step || claimed.has(o.node)) continue; // leaves, views and repeats are copied
    // A gradient added into `grad` cannot be read back as its own value: only a node that
    // nothing else reads (a kernel's outer product) accumulates in place. That includes
    // another output copying it: two tensors can have one gradient node (the kernels of two
    // layers whose outputs are added, fed the same input), and the second would copy the sum.
    if (sums(o) && (readers.has(o.node) || (uses.get(o.node) ?? 0) > 1)) continue;
    // A lowered kernel clears its result before adding into it: it cannot add to a sum,
    // unless it is a scatter (emit/body.ts then leaves its clearing out).
    const def = getOp(o.node.op);
    if (sums(o) && ((def.kind === 'structured' && def.scatter !== true) || step.epilogue)) continue;
    claimed.add(o.node);
    step.storage = {
      kind: 'array',
      array: o.kind === 'grad' ? 'grad' : o.kind,
      offset: o.offset ?? 0,
      accumulate: sums(o),
    };
  }
  for (const s of steps) {
    if (s.storage.kind === 'array') continue;
    const rs = readers.get(s.node) ?? [];
    const crossesChunks =
      rs.some((r) => r.chunk !== s.chunk) || (readAtEnd.has(s.node) && chunkCount(steps) > 1);
    // Loops run in functions of their own (see emit/body.ts), so what they read is in arrays.
    const readByLoop = rs.some((r) => r.mode === 'loop');
    if (s.mode === 'loop' || crossesChunks || readByLoop) s.storage = { kind: 'work', offset: -1 };
  }
  return {
    program,
    steps,
    chunks: chunkCount(steps),
    chunkBytes: split.bytes,
    byNode,
    workSize: 0,
    anchorSlot: null,
    lanes,
    dims: opts.batch?.dims ?? null,
  };
}

function chunkCount(steps: readonly Step[]): number {
  return steps.length ? steps[steps.length - 1]!.chunk + 1 : 1;
}
