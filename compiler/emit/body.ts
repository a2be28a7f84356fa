// Function bodies from a schedule: plain string building (ts-morph and prettier do not scale
// to bodies of thousands of statements), all through the safe CodeWriter.
import type { Node } from '../ir/node.ts';
import type { ProgramName } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';
import { viewBase, type Schedule, type Step, type Storage } from '../schedule/schedule.ts';
import { CodeWriter, ident, num } from './code.ts';
import { renderKernel } from '../backends/js/loops.ts';
import { anchored } from '../backends/js/split.ts';
import { stepKernel } from '../lower/step.ts';
import { drawsMasks, reductionOf } from '../batch/axis.ts';
import { broadcastIndex } from '../ir/shape.ts';
import { sliceIndex } from '../ops/slicing.ts';
import { signatureOf, type AbiNeeds } from './abi.ts';
import { maskCall } from './mask.ts';

/** The signature of a program's exported function (`trainLoss` never is one). */
export function signatureFor(name: ProgramName, needs: AbiNeeds = {}): readonly string[] {
  return signatureOf(name === 'trainLoss' ? 'loss' : name, needs);
}

/**
 * How a body reaches its arrays. The exported per-sample functions use their own arguments;
 * the bodies of a batched entry point read their rows through offsets (`xo` into `inputs`,
 * `to` into `targets`, `oo` into `outputs`; `xo0`..`xo3` for a block of four rows) and add
 * their means over the batch axis (gradients, batch statistics) into their arrays.
 */
export interface Frame {
  /** Name of the function holding the body; helpers are named after it. */
  readonly name: string;
  /** Parameters of that function and of its helpers. */
  readonly signature: readonly string[];
  readonly input: string;
  readonly target: string;
  readonly output: string;
  /** Row offsets into input / target / output, one per lane, or null for per-sample arrays. */
  readonly base: {
    readonly input: readonly string[];
    readonly target: readonly string[];
    readonly output: readonly string[];
  } | null;
  /** The loss is added to `work[lossSlot]` instead of being returned. */
  readonly lossSlot: number | null;
  /** Where a batched gradient keeps its batch statistics (`batchStat`, `stat` outputs). */
  readonly statBase?: number;
}

export function sampleFrame(name: ProgramName, needs: AbiNeeds = {}): Frame {
  return {
    name,
    signature: signatureFor(name, needs),
    input: 'input',
    target: 'target',
    output: 'output',
    base: null,
    lossSlot: null,
  };
}

export type FunctionKind = 'entry' | 'sample' | 'part' | 'loop' | 'fallback' | 'mask';

/** One emitted function: the module shell declares it and splices the body in. */
export interface EmittedFunction {
  readonly name: string;
  readonly kind: FunctionKind;
  readonly signature: readonly string[];
  readonly body: string;
  readonly returnsNumber: boolean;
  /** The exported entry point this function belongs to. */
  readonly entry: string;
}

const UNROLLED_COPY = 64;

function index(offset: number, idx: number | string): string {
  if (typeof idx === 'number') return String(offset + idx);
  return offset === 0 ? idx : `${offset} + ${idx}`;
}

/** `base + index`, where base is a row-offset variable or absent. */
function rowIndex(base: string | undefined, offset: number, idx: number | string): string {
  if (!base) return index(offset, idx);
  return idx === 0 && offset === 0 ? base : `${base} + ${index(offset, idx)}`;
}

/** The functions of one program: the body named by the frame first, then its helpers. */
export function emitProgram(
  s: Schedule,
  sections: ReadonlyMap<string, string>,
  frame: Frame = sampleFrame(s.program.name, {
    seed: drawsMasks(s.program),
  }),
  kind: 'entry' | 'sample' = 'entry',
  entry: string = s.program.name,
): EmittedFunction[] {
  const name = frame.name;
  const names = localNames(s);
  // Rows of the batch axis computed together (schedule/batch.ts): lane l keeps its work
  // values at l × the body's work size.
  const lanes = s.lanes;
  const workStride = lanes > 1 ? s.workSize : 0;
  const LANES = Array.from({ length: lanes }, (_, l) => l);
  type Target = 'output' | 'grad' | 'dinput' | 'state' | 'stat';
  // A training step's new moving statistics go into params; batch-mean sums into work.
  const arrayOf = (a: Target) =>
    a === 'output' ? frame.output : a === 'state' ? 'params' : a === 'stat' ? 'work' : a;
  const baseOf = (a: Target, lane: number) =>
    a === 'output' ? frame.base?.output[lane] : undefined;
  const laneName = (nm: string, lane: number) => (lanes > 1 ? `${nm}_l${lane}` : nm);

  // Unrolled code reads each input element from a local loaded once at the top of its
  // function: every store (an anchor, a gradient) makes TurboFan reload a typed-array element,
  // and `inputs[xo + k]` costs an add, an overflow check and a bounds check each time.
  let hoist: Map<string, string> | null = null;
  const chunkInputs: Map<string, string>[] = [];
  const taken = [...names.values()];
  let inputPrefix = 'in_';
  while (taken.some((nm) => nm.startsWith(inputPrefix))) inputPrefix = `${inputPrefix}_`;

  const access = (n: Node, at: number | string, lane = 0): string => {
    const idx = n.size === 1 ? 0 : at;
    switch (n.op) {
      case 'const':
        return num(n.attrs.value!);
      case 'param':
        return `params[${index(n.attrs.offset!, idx)}]`;
      case 'input': {
        const text = `${frame.input}[${rowIndex(frame.base?.input[lane], n.attrs.offset ?? 0, idx)}]`;
        if (!hoist || typeof idx !== 'number') return text;
        let local = hoist.get(text);
        if (local === undefined) hoist.set(text, (local = `${inputPrefix}${hoist.size}`));
        return local;
      }
      case 'target':
        return `${frame.target}[${rowIndex(frame.base?.target[lane], n.attrs.offset ?? 0, idx)}]`;
      case 'stop':
        return access(n.args[0]!, idx, lane);
      case 'bcast':
        return access(n.args[0]!, broadcastIndex(n.args[0]!.shape, n.shape, idx), lane);
      case 'reshape':
        return access(n.args[0]!, idx, lane);
      case 'slice':
        return access(n.args[0]!, sliceIndex(n.args[0]!.shape, n.attrs, idx), lane);
      // One sample's batch mean is itself; a batched entry point reads finished means.
      case 'batchMean':
        return access(n.args[0]!, idx, lane);
      case 'batchStat':
        return `work[${index((frame.statBase ?? 0) + n.attrs.offset!, idx)}]`;
      // A sample is keyed by its input row offset (0 for the per-sample entry point).
      case 'dropoutMask':
        return maskCall(
          n.attrs.rate as number,
          n.attrs.salt as number,
          frame.base?.input[lane] ?? '0',
          idx,
        );
    }
    const st = s.byNode.get(n)!.storage;
    if (st.kind === 'local') {
      if (typeof idx !== 'number') throw new Error(`internal: local %${n.id} read in a loop`);
      return laneName(n.size === 1 ? names.get(n)! : `${names.get(n)!}_${idx}`, lane);
    }
    return slotAt(st, idx, lane);
  };

  const slotAt = (st: Storage, idx: number | string, lane: number): string => {
    if (st.kind === 'local') throw new Error('internal: a local has no array slot');
    if (st.kind === 'work') return `work[${index(st.offset + lane * workStride, idx)}]`;
    return `${arrayOf(st.array)}[${rowIndex(baseOf(st.array, lane), st.offset, idx)}]`;
  };

  // Every loop lives in a function of its own. A function with several loops is first
  // compiled by on-stack replacement inside its first hot loop, before the later loops have
  // type feedback; measured on Node 20, that OSR code then deoptimizes on every call when it
  // leaves the loop (a deopt loop that also allocates). One loop nest per function avoids it.
  const helper = (fname: string, fkind: 'part' | 'loop', body: string): EmittedFunction => ({
    name: ident(fname),
    kind: fkind,
    signature: frame.signature,
    body,
    returnsNumber: false,
    entry,
  });
  const kernels: EmittedFunction[] = [];
  const args = frame.signature.join(', ');
  const kernel = (w: CodeWriter, emit: (k: CodeWriter) => void): void => {
    const k = new CodeWriter(1);
    emit(k);
    const f = helper(`${name}_loop${kernels.length}`, 'loop', k.toString());
    kernels.push(f);
    w.line(`${f.name}(${args});`);
  };

  // A lowered kernel may hold several loop nests (clearing its result, then accumulating):
  // each nest of each lane becomes a function of its own, for the OSR reason above.
  const structuredKernels = (w: CodeWriter, step: Step): void => {
    const { kernel: lowered, args: kernelArgs } = stepKernel(step);
    // A scatter kernel adding into a sum (the batch's gradient) skips its clearing nest.
    const inPlace =
      step.storage.kind === 'array' &&
      step.storage.accumulate === true &&
      isScatter(step.node.op) &&
      !step.epilogue;
    const body = inPlace ? lowered.body.slice(1) : lowered.body;
    for (let l = 0; l < lanes; l++) {
      for (const stmt of body) {
        kernel(w, (k) => {
          if (lanes > 1) k.comment(`sample ${l} of the block`);
          renderKernel(
            { size: lowered.size, body: [stmt] },
            {
              load: (i, idx) => access(kernelArgs[i]!, constIndex(idx), l),
              slot: (idx) => slotAt(step.storage, constIndex(idx), l),
              line: (code) => k.line(code),
              indent: () => k.indent(),
              dedent: () => k.dedent(),
            },
          );
        });
      }
    }
  };

  const chunks: CodeWriter[] = [];
  let section: string | undefined;
  const groups = loopGroups(s);
  const explained = new Set<number>();
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const step = group[0]!;
    let w = chunks[step.chunk];
    if (!w) {
      w = chunks[step.chunk] = new CodeWriter(1);
      section = undefined;
    }
    const sec = step.node.meta.section;
    if (sec !== section && sec !== undefined) {
      section = sec;
      if (w.length) w.line('');
      w.comment(`--- ${sections.get(sec) ?? sec} ---`);
    }
    const emit = (out: CodeWriter, st: Step, bare = false) => {
      const anchor =
        s.anchorSlot !== null && anchored(st.node, st.mode, st.storage.kind === 'local')
          ? s.anchorSlot
          : null;
      // The generated code explains its one odd-looking store, once per function.
      if (anchor !== null && !explained.has(step.chunk)) {
        explained.add(step.chunk);
        out.comment(
          `work[${anchor}] is written and never read: each store keeps a sum next to its loads in V8's schedule`,
        );
      }
      emitStep(
        out,
        st,
        s,
        access,
        (idx, lane) => slotAt(st.storage, idx, lane),
        names,
        laneName,
        bare,
        anchor,
      );
    };
    if (group.length > 1) {
      // Elementwise loops of one size, one after another: one loop, each value stored in turn.
      kernel(w, (k) => {
        k.line(`for (let k = 0; k < ${step.node.size}; k++) {`);
        k.indent();
        for (const st of group) emit(k, st, true);
        k.dedent();
        k.line('}');
      });
    } else if (getOp(step.node.op).kind === 'structured' || step.epilogue)
      structuredKernels(w, step);
    else if (step.mode === 'loop') kernel(w, (k) => emit(k, step));
    else {
      hoist = chunkInputs[step.chunk] ??= new Map();
      emit(w, step);
      hoist = null;
    }
  }
  if (!chunks.length) chunks.push(new CodeWriter(1));
  const chunkText = (i: number): string => {
    const loads = new CodeWriter(1);
    for (const [text, local] of chunkInputs[i] ?? []) loads.line(`const ${local} = ${text};`);
    return [loads.toString(), chunks[i]!.toString()].filter((x) => x).join('\n');
  };

  // Outputs whose value is stored elsewhere (leaves, views, shared nodes, or every gradient
  // when accumulating) are copied.
  const tail = new CodeWriter(1);
  for (const o of s.program.outputs) {
    if (o.kind === 'loss') continue;
    const st = s.byNode.get(o.node)?.storage;
    const array = o.kind;
    const offset = (o.offset ?? 0) + (o.kind === 'stat' ? (frame.statBase ?? 0) : 0);
    if (st?.kind === 'array' && st.array === array && st.offset === offset) continue;
    // Over the batch axis, a mean (a gradient, a batch statistic) is added by every row.
    const summed = s.dims !== null && reductionOf(o.kind) === 'mean';
    const op = summed ? '+=' : '=';
    const target = (k: number | string, lane: number) =>
      `${arrayOf(array)}[${rowIndex(baseOf(array, lane), offset, k)}]`;
    // A gradient summed over the batch adds every lane in one statement.
    const copy = (out: CodeWriter, k: number | string) => {
      if (summed)
        out.line(`${target(k, 0)} += ${LANES.map((l) => access(o.node, k, l)).join(' + ')};`);
      else for (const l of LANES) out.line(`${target(k, l)} ${op} ${access(o.node, k, l)};`);
    };
    // Locals only exist unrolled, so their copies are unrolled too (also through a view: the
    // dinput of a flatten is a reshape of a local).
    const local = st?.kind === 'local' || s.byNode.get(viewBase(o.node))?.storage.kind === 'local';
    if (o.node.size <= UNROLLED_COPY || local) {
      for (let k = 0; k < o.node.size; k++) copy(tail, k);
    } else {
      kernel(tail, (kw) => {
        kw.line(`for (let k = 0; k < ${o.node.size}; k++) {`);
        kw.indent();
        copy(kw, 'k');
        kw.dedent();
        kw.line('}');
      });
    }
  }
  const loss = s.program.outputs.find((o) => o.kind === 'loss');
  if (loss && frame.lossSlot !== null)
    tail.line(
      `work[${frame.lossSlot}] += ${LANES.map((l) => access(loss.node, 0, l)).join(' + ')};`,
    );
  else if (loss) tail.line(`return ${access(loss.node, 0)};`);
  const returnsNumber = !!loss && frame.lossSlot === null;

  const main = (body: string): EmittedFunction => ({
    name: ident(name),
    kind,
    signature: frame.signature,
    body,
    returnsNumber,
    entry,
  });
  if (chunks.length === 1) {
    return [main([chunkText(0), tail.toString()].filter((x) => x).join('\n')), ...kernels];
  }
  const parts = chunks.map((_, i) => helper(`${name}_part${i}`, 'part', chunkText(i)));
  const calls = new CodeWriter(1);
  for (const p of parts) calls.line(`${p.name}(${args});`);
  return [
    main([calls.toString(), tail.toString()].filter((x) => x).join('\n')),
    ...parts,
    ...kernels,
  ];
}

/** The value under a chain of views, and whether every view keeps its index (reshape, stop). */
function viewBaseOf(n: Node): { base: Node; identity: boolean } {
  let identity = true;
  for (let b = n; getOp(b.op).kind === 'view'; b = b.args[0]!)
    if (b.op !== 'reshape' && b.op !== 'stop' && b.op !== 'batchMean') identity = false;
  return { base: viewBase(n), identity };
}

/** Work range [start, end) a value lives in, or null when it is not in work. */
function workRange(s: Schedule, n: Node): [number, number] | null {
  const st = s.byNode.get(n)?.storage;
  return st?.kind === 'work' ? [st.offset, st.offset + n.size] : null;
}

/**
 * The steps in emission order, consecutive elementwise loops of one size, chunk and section
 * grouped so that they share one loop. A step joins only when every value of the group it
 * reads is read at the loop index itself (directly or through reshape or stop), and its
 * result's work slots overlap nothing the group reads except, at the same index, a value it
 * replaces: so iteration k reads nothing that an iteration before it wrote.
 */
function loopGroups(s: Schedule): Step[][] {
  const groups: Step[][] = [];
  let group: Step[] = [];
  let members = new Set<Node>();
  let reads: { range: [number, number]; same: boolean }[] = [];
  const fusable = (st: Step) =>
    st.mode === 'loop' && !st.epilogue && getOp(st.node.op).kind === 'elementwise';
  for (const st of s.steps) {
    const head = group[0];
    let joins =
      head !== undefined &&
      fusable(st) &&
      fusable(head) &&
      st.chunk === head.chunk &&
      st.node.size === head.node.size &&
      st.node.meta.section === head.node.meta.section;
    const own: { range: [number, number]; same: boolean }[] = [];
    if (joins) {
      for (const a of st.node.args) {
        const { base: b, identity } = viewBaseOf(a);
        if (members.has(b) && !identity) joins = false;
        const r = workRange(s, b);
        if (r) own.push({ range: r, same: identity && b.size === st.node.size });
      }
      const w = workRange(s, st.node);
      if (w)
        for (const r of [...reads, ...own])
          if (r.range[0] < w[1] && w[0] < r.range[1] && !(r.same && r.range[0] === w[0]))
            joins = false;
    }
    if (!joins) {
      if (group.length) groups.push(group);
      group = [st];
      members = new Set([st.node]);
      reads = [];
      for (const a of st.node.args) {
        const { base: b, identity } = viewBaseOf(a);
        const r = workRange(s, b);
        if (r) reads.push({ range: r, same: identity && b.size === st.node.size });
      }
      continue;
    }
    group.push(st);
    members.add(st.node);
    reads.push(...own);
  }
  if (group.length) groups.push(group);
  return groups;
}

/** Readable names for locals: the builder's hint (`z0`, `gz1`) when unique, else `t<id>`. */
function localNames(s: Schedule): Map<Node, string> {
  const names = new Map<Node, string>();
  // Every identifier a name stands for: `nm` for a scalar, `nm_0` … for a vector's elements,
  // so that a hint such as `z1_0` (a recurrent step) cannot collide with element 0 of `z1`.
  const used = new Set<string>();
  const idents = (nm: string, n: Node) =>
    n.size === 1 ? [nm] : Array.from({ length: n.size }, (_, k) => `${nm}_${k}`);
  for (const step of s.steps) {
    if (step.storage.kind !== 'local') continue;
    const hint = step.node.meta.name ? ident(step.node.meta.name) : undefined;
    const free = (nm: string) => idents(nm, step.node).every((x) => !used.has(x));
    const nm = hint && free(hint) ? hint : `t${step.node.id}`;
    for (const x of idents(nm, step.node)) used.add(x);
    names.set(step.node, nm);
  }
  return names;
}

function emitStep(
  w: CodeWriter,
  step: Step,
  /** The schedule's batch axis: its lanes and values' batch dimensions. */
  axis: Pick<Schedule, 'lanes' | 'dims'>,
  access: (n: Node, idx: number | string, lane?: number) => string,
  slot: (idx: number | string, lane: number) => string,
  names: ReadonlyMap<Node, string>,
  laneName: (nm: string, lane: number) => string,
  /** Only the loop body at index `k` (the loop is shared with other steps). */
  bare = false,
  /** Each local is also stored to work[anchor], a slot nothing reads: the store makes
   * TurboFan compute the sum here, next to its loads, not just before its first use
   * (backends/js/split.ts, `anchored`). */
  anchor: number | null = null,
): void {
  const node = step.node;
  const local = step.storage.kind === 'local';
  const full = stepKernel(step, axis).kernel;
  // Bare: the body of the kernel's one loop over `k`, inside a loop other steps share.
  const only = full.body[0];
  const kernel =
    bare && only?.k === 'for' && only.v === 'k' && full.body.length === 1
      ? { ...full, body: only.body }
      : full;
  if (bare && kernel === full) throw new Error(`internal: %${node.id} is not one loop over k`);
  renderKernel(kernel, {
    load: (i, idx, lane) => access(node.args[i]!, constIndex(idx), lane),
    slot: (idx, lane) => slot(constIndex(idx), lane),
    // Unrolled values in locals are constants named by node and element (and lane).
    store: local
      ? (idx, lane, op, value) => {
          // Only summed results accumulate, and those are arrays.
          if (op !== '=') throw new Error(`internal: %${node.id} accumulates into a local`);
          const nm = names.get(node)!;
          const k = constIndex(idx);
          const local = laneName(node.size === 1 ? nm : `${nm}_${k}`, lane);
          const pin = anchor === null ? '' : ` work[${anchor}] = ${local};`;
          return `const ${local} = ${value};${pin}`;
        }
      : undefined,
    line: (code) => w.line(code),
    indent: () => w.indent(),
    dedent: () => w.dedent(),
  });
}

function isScatter(op: string): boolean {
  const def = getOp(op);
  return def.kind === 'structured' && def.scatter === true;
}

/** A rendered index that is a constant, as a number: locals are named by it and offsets
 * fold into it (`params[75]`, not `params[72 + 3]`). */
function constIndex(idx: string): number | string {
  return /^\d+$/.test(idx) ? Number(idx) : idx;
}
