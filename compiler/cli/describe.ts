// Text form of a schedule for `gradc inspect --after schedule`.
import { printNode } from '../ir/printer.ts';
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
