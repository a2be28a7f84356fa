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

export interface EmittedProgram {
  /** Body of the exported function. */
  readonly main: string;
  /** Helper functions: loop kernels (`gradient_loop3`) and straight-line parts
   * (`gradient_part1`) when the code is split. */
  readonly parts: readonly {
    readonly name: string;
    readonly body: string;
    readonly kind: 'loop' | 'part';
  }[];
  readonly returnsNumber: boolean;
}

const UNROLLED_COPY = 64;

function index(offset: number, idx: number | string): string {
  if (typeof idx === 'number') return String(offset + idx);
  return offset === 0 ? idx : `${offset} + ${idx}`;
}

export function emitProgram(s: Schedule, sections: ReadonlyMap<string, string>): EmittedProgram {
  const name = s.program.name;
  const names = localNames(s);

  const access = (n: Node, at: number | string): string => {
    const idx = n.size === 1 ? 0 : at;
    switch (n.op) {
      case 'const':
        return num(n.attrs.value!);
      case 'param':
        return `params[${index(n.attrs.offset!, idx)}]`;
      case 'input':
        return `input[${index(0, idx)}]`;
      case 'target':
        return `target[${index(0, idx)}]`;
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
      : `${st.array}[${index(st.offset, idx)}]`;
  };

  const slotOf = (step: Step, idx: number | string): string => {
    const st = step.storage;
    if (st.kind === 'local') throw new Error(`internal: %${step.node.id} has no array slot`);
    return st.kind === 'work'
      ? `work[${index(st.offset, idx)}]`
      : `${st.array}[${index(st.offset, idx)}]`;
  };

  // Every loop lives in a function of its own. A function with several loops is first
  // compiled by on-stack replacement inside its first hot loop, before the later loops have
  // type feedback; measured on Node 20, that OSR code then deoptimizes on every call when it
  // leaves the loop (a deopt loop that also allocates). One loop nest per function avoids it.
  const kernels: { name: string; body: string; kind: 'loop' }[] = [];
  const args = SIGNATURES[name].join(', ');
  const kernel = (w: CodeWriter, emit: (k: CodeWriter) => void): void => {
    const k = new CodeWriter(1);
    emit(k);
    const kname = ident(`${name}_loop${kernels.length}`);
    kernels.push({ name: kname, body: k.toString(), kind: 'loop' });
    w.line(`${kname}(${args});`);
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

  // Outputs whose value is stored elsewhere (leaves, views, shared nodes) are copied.
  const tail = new CodeWriter(1);
  for (const o of s.program.outputs) {
    if (o.kind === 'loss') continue;
    const st = s.byNode.get(o.node)?.storage;
    const array = o.kind === 'output' ? 'output' : 'grad';
    const offset = o.offset ?? 0;
    if (st?.kind === 'array' && st.array === array && st.offset === offset) continue;
    if (o.node.size <= UNROLLED_COPY) {
      for (let k = 0; k < o.node.size; k++)
        tail.line(`${array}[${offset + k}] = ${access(o.node, k)};`);
    } else {
      kernel(tail, (k) =>
        k.line(
          `for (let k = 0; k < ${o.node.size}; k++) ${array}[${index(offset, 'k')}] = ${access(o.node, 'k')};`,
        ),
      );
    }
  }
  const loss = s.program.outputs.find((o) => o.kind === 'loss');
  if (loss) tail.line(`return ${access(loss.node, 0)};`);

  if (chunks.length === 1) {
    const body = [chunks[0]!.toString(), tail.toString()].filter((x) => x).join('\n');
    return { main: body, parts: kernels, returnsNumber: !!loss };
  }
  const parts = chunks.map((w, i) => ({
    name: ident(`${name}_part${i}`),
    body: w.toString(),
    kind: 'part' as const,
  }));
  const calls = new CodeWriter(1);
  for (const p of parts) calls.line(`${p.name}(${args});`);
  return {
    main: [calls.toString(), tail.toString()].filter((x) => x).join('\n'),
    parts: [...parts, ...kernels],
    returnsNumber: !!loss,
  };
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
  const store = (idx: number | string, expr: string): string => {
    if (!local) return `${slot(idx)} = ${expr};`;
    const nm = names.get(node)!;
    return `const ${node.size === 1 ? nm : `${nm}_${idx}`} = ${expr};`;
  };
  switch (def.kind) {
    case 'elementwise': {
      const at = (k: number | string) => def.expr(...node.args.map((a) => access(a, k)));
      if (mode === 'unroll') for (let k = 0; k < node.size; k++) w.line(store(k, at(k)));
      else w.line(`for (let k = 0; k < ${node.size}; k++) ${slot('k')} = ${at('k')};`);
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
        w.line(`${slot(0)} = acc;`);
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
