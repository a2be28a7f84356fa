// Text form of a schedule for `gradc inspect --after schedule`, and of its loop IR for
// `--after loops`.
import { printNode } from '../ir/printer.ts';
import { printKernel } from '../lower/print-loops.ts';
import { stepKernel } from '../lower/step.ts';
import type { BatchPlan, BatchSchedules } from '../schedule/batch.ts';
import type { Schedule } from '../schedule/schedule.ts';

/** A body's title: its program, and for a block of the batch axis, its rows at once. */
function title(s: Schedule, name: string): string {
  return s.lanes > 1 ? `${name} (${s.lanes} rows at once)` : name;
}

export function describeSchedule(s: Schedule, name: string = s.program.name): string {
  const lines = [
    `{ ${title(s, name)}: ${s.steps.length} steps in ${s.chunks} function(s), work ${s.workSize}`,
  ];
  for (const st of s.steps) {
    const where =
      st.storage.kind === 'local'
        ? 'local'
        : st.storage.kind === 'work'
          ? `work[${st.storage.offset}..${st.storage.offset + st.node.size})`
          : `${st.storage.array}[${st.storage.offset}..${st.storage.offset + st.node.size})`;
    lines.push(
      `  part ${st.chunk}  ${st.mode.padEnd(6)} ${where.padEnd(22)} ${printNode(st.node)}`,
    );
  }
  lines.push('}');
  return lines.join('\n');
}

/** Every step's kernel as loop IR (`aI` is the step's I-th argument, `out` its result; in a
 * block, `@l` names a row's lane). */
export function describeLoops(s: Schedule, name: string = s.program.name): string {
  const lines = [`{ ${title(s, name)}: loop IR of ${s.steps.length} steps`];
  for (const st of s.steps) {
    lines.push(`  ${printNode(st.node)}`);
    const k = stepKernel(st, s);
    lines.push(`    args ${k.args.map((a) => `%${a.id}`).join(', ')}`);
    lines.push(printKernel(k.kernel, 2));
  }
  lines.push('}');
  return lines.join('\n');
}

/** The batched entry points' bodies with their titles, for `--program` `forward` / `gradient`
 * or all. */
export function batchBodies(b: BatchSchedules, program?: string): [string, Schedule][] {
  const plan = (name: string, p: BatchPlan): [string, Schedule][] => [
    ...(p.block ? [[`${name} block`, p.block] as [string, Schedule]] : []),
    [`${name} row`, p.sample],
  ];
  const out: [string, Schedule][] = [];
  if (!program || program === 'forward') out.push(...plan('forwardBatch', b.forward));
  if (!program || program === 'gradient') {
    b.phased?.stats.forEach((ph, d) => out.push(...plan(`gradientBatch phase ${d + 1}`, ph.plan)));
    out.push(...plan('gradientBatch', b.gradient));
    if (b.phased?.state) out.push(['gradientBatch state', b.phased.state]);
  }
  return out;
}
