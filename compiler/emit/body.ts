// Function bodies from a schedule: plain string building (ts-morph and prettier do not scale
// to bodies of thousands of statements), all through the safe CodeWriter.
import type { Node } from '../ir/node.ts';
import type { ProgramName } from '../ir/program.ts';
import { getOp } from '../ops/registry.ts';
import type { EmitContext } from '../ops/types.ts';
import type { Schedule, Step } from '../schedule/schedule.ts';
import { CodeWriter, ident, num } from './code.ts';

export const SIGNATURES: Readonly<Record<ProgramName, readonly string[]>> = {
  forward: ['params', 'input', 'output', 'work'],
  loss: ['params', 'input', 'target', 'work'],
  gradient: ['params', 'input', 'target', 'grad', 'work'],
};

/**
 * How a body reaches its arrays. The exported per-sample functions use their own arguments;
 * the per-sample step of a batched entry point reads row `xo` of `inputs` (and `to` of
 * `targets`, `oo` of `outputs`) and accumulates into `grad`.
 */
export interface Frame {
  /** Name of the function holding the body; helpers are named after it. */
  readonly name: string;
  /** Parameters of that function and of its helpers. */
  readonly signature: readonly string[];
  readonly input: string;
  readonly target: string;
  readonly output: string;
  /** Row offsets into input / target / output, or null for per-sample arrays. */
  readonly base: {
    readonly input: string;
    readonly target: string;
    readonly output: string;
  } | null;
  /** Gradients are added to `grad` instead of overwriting it. */
  readonly accumulate: boolean;
  /** The loss is added to `work[lossSlot]` instead of being returned. */
  readonly lossSlot: number | null;
}

export function sampleFrame(name: ProgramName): Frame {
  return {
    name,
    signature: SIGNATURES[name],
    input: 'input',
    target: 'target',
    output: 'output',
    base: null,
    accumulate: false,
    lossSlot: null,
  };
}

export type FunctionKind = 'entry' | 'sample' | 'part' | 'loop';

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
  frame: Frame = sampleFrame(s.program.name),
  kind: 'entry' | 'sample' = 'entry',
  entry: string = s.program.name,
): EmittedFunction[] {
  const name = frame.name;
  const names = localNames(s);
  const arrayOf = (a: 'output' | 'grad') => (a === 'output' ? frame.output : 'grad');
  const baseOf = (a: 'output' | 'grad') => (a === 'output' ? frame.base?.output : undefined);

  const access = (n: Node, at: number | string): string => {
    const idx = n.size === 1 ? 0 : at;
    switch (n.op) {
      case 'const':
        return num(n.attrs.value!);
      case 'param':
        return `params[${index(n.attrs.offset!, idx)}]`;
      case 'input':
        return `${frame.input}[${rowIndex(frame.base?.input, 0, idx)}]`;
      case 'target':
        return `${frame.target}[${rowIndex(frame.base?.target, 0, idx)}]`;
      case 'stop':
        return access(n.args[0]!, idx);
      case 'bcast':
        return access(n.args[0]!, 0);
    }
    const st = s.byNode.get(n)!.storage;
    if (st.kind === 'local') {
      if (typeof idx !== 'number') throw new Error(`internal: local %${n.id} read in a loop`);
      return n.size === 1 ? names.get(n)! : `${names.get(n)!}_${idx}`;
    }
    return st.kind === 'work'
      ? `work[${index(st.offset, idx)}]`
      : `${arrayOf(st.array)}[${rowIndex(baseOf(st.array), st.offset, idx)}]`;
  };

  const slotOf = (step: Step, idx: number | string): string => {
    const st = step.storage;
    if (st.kind === 'local') throw new Error(`internal: %${step.node.id} has no array slot`);
    return st.kind === 'work'
      ? `work[${index(st.offset, idx)}]`
      : `${arrayOf(st.array)}[${rowIndex(baseOf(st.array), st.offset, idx)}]`;
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

  const chunks: CodeWriter[] = [];
  let section: string | undefined;
  for (const step of s.steps) {
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
    if (step.mode === 'loop')
      kernel(w, (k) => emitStep(k, step, access, (idx) => slotOf(step, idx), names));
    else emitStep(w, step, access, (idx) => slotOf(step, idx), names);
  }
  if (!chunks.length) chunks.push(new CodeWriter(1));

  // Outputs whose value is stored elsewhere (leaves, views, shared nodes, or every gradient
  // when accumulating) are copied.
  const tail = new CodeWriter(1);
  for (const o of s.program.outputs) {
    if (o.kind === 'loss') continue;
    const st = s.byNode.get(o.node)?.storage;
    const array = o.kind === 'output' ? 'output' : 'grad';
    const offset = o.offset ?? 0;
    if (st?.kind === 'array' && st.array === array && st.offset === offset) continue;
    const op = o.kind === 'grad' && frame.accumulate ? '+=' : '=';
    const target = (k: number | string) =>
      `${arrayOf(array)}[${rowIndex(baseOf(array), offset, k)}]`;
    // Locals only exist unrolled, so their copies are unrolled too.
    if (o.node.size <= UNROLLED_COPY || st?.kind === 'local') {
      for (let k = 0; k < o.node.size; k++) tail.line(`${target(k)} ${op} ${access(o.node, k)};`);
    } else {
      kernel(tail, (k) =>
        k.line(
          `for (let k = 0; k < ${o.node.size}; k++) ${target('k')} ${op} ${access(o.node, 'k')};`,
        ),
      );
    }
  }
  const loss = s.program.outputs.find((o) => o.kind === 'loss');
  if (loss && frame.lossSlot !== null)
    tail.line(`work[${frame.lossSlot}] += ${access(loss.node, 0)};`);
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
    return [main([chunks[0]!.toString(), tail.toString()].filter((x) => x).join('\n')), ...kernels];
  }
  const parts = chunks.map((w, i) => helper(`${name}_part${i}`, 'part', w.toString()));
  const calls = new CodeWriter(1);
  for (const p of parts) calls.line(`${p.name}(${args});`);
  return [
    main([calls.toString(), tail.toString()].filter((x) => x).join('\n')),
    ...parts,
    ...kernels,
  ];
}

/** Readable names for locals: the builder's hint (`z0`, `gz1`) when unique, else `t<id>`. */
function localNames(s: Schedule): Map<Node, string> {
  const names = new Map<Node, string>();
  const used = new Set<string>();
  for (const step of s.steps) {
    if (step.storage.kind !== 'local') continue;
    const hint = step.node.meta.name;
    const nm = hint && !used.has(hint) ? hint : `t${step.node.id}`;
    used.add(nm);
    names.set(step.node, ident(nm));
  }
  return names;
}

function emitStep(
  w: CodeWriter,
  step: Step,
  access: (n: Node, idx: number | string) => string,
  slot: (idx: number | string) => string,
  names: ReadonlyMap<Node, string>,
): void {
  const { node, mode } = step;
  const def = getOp(node.op);
  const local = step.storage.kind === 'local';
  const init = step.storage.kind === 'array' && step.storage.accumulate ? '+=' : '=';
  const store = (idx: number | string, expr: string): string => {
    if (!local) return `${slot(idx)} ${init} ${expr};`;
    const nm = names.get(node)!;
    return `const ${node.size === 1 ? nm : `${nm}_${idx}`} = ${expr};`;
  };
  switch (def.kind) {
    case 'elementwise': {
      const at = (k: number | string) => def.expr(...node.args.map((a) => access(a, k)));
      if (mode === 'unroll') for (let k = 0; k < node.size; k++) w.line(store(k, at(k)));
      else w.line(`for (let k = 0; k < ${node.size}; k++) ${slot('k')} ${init} ${at('k')};`);
      return;
    }
    case 'reduce': {
      const arg = node.args[0]!;
      if (mode === 'unroll') {
        const xs = Array.from({ length: arg.size }, (_, k) => access(arg, k));
        w.line(store(0, def.combineAll(xs)));
      } else {
        w.line('{');
        w.indent();
        w.line(`let acc = ${def.init};`);
        w.line(
          `for (let k = 0; k < ${arg.size}; k++) acc = ${def.combine('acc', access(arg, 'k'))};`,
        );
        w.line(`${slot(0)} ${init} acc;`);
        w.dedent();
        w.line('}');
      }
      return;
    }
    case 'linalg': {
      const ctx: EmitContext = {
        arg: (i, idx) => access(node.args[i]!, idx),
        store,
        slot,
        init,
        line: (code) => w.line(code),
        indent: () => w.indent(),
        dedent: () => w.dedent(),
      };
      if (mode === 'unroll') def.emitUnrolled(ctx, node.attrs);
      else def.emitLoop(ctx, node.attrs);
      return;
    }
    default:
      throw new Error(`internal: ${node.op} is not computed`);
  }
}
