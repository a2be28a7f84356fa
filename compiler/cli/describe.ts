// Text form of a schedule for `gradc inspect --after schedule`, and of its loop IR for
// `--after loops`.
import { printNode } from '../ir/printer.ts';
import { printKernel } from '../lower/print-loops.ts';
import { stepKernel } from '../lower/step.ts';
import type { Schedule } from '../schedule/schedule.ts';

export function describeSchedule(s: Schedule): string {
  const lines = [
    `{ ${s.program.name}: ${s.steps.length} steps in ${s.chunks} function(s), work ${s.workSize}`,
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

/** Every step's kernel as loop IR (per sample; `aI` is the step's I-th argument, `out` its
 * result). */
export function describeLoops(s: Schedule): string {
  const lines = [`{ ${s.program.name}: loop IR of ${s.steps.length} steps`];
  for (const st of s.steps) {
    lines.push(`  ${printNode(st.node)}`);
    const k = stepKernel(st, 1);
    lines.push(`    args ${k.args.map((a) => `%${a.id}`).join(', ')}`);
    lines.push(printKernel(k.kernel, 2));
  }
  lines.push('}');
  return lines.join('\n');
}
