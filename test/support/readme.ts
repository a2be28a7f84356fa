// The shell commands the README shows (```sh blocks), with the section each is in, so tests
// can run them as written.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './gradc-cli.ts';

export interface ReadmeCommand {
  /** The `## ` heading above the block. */
  readonly section: string;
  readonly command: string;
}

export function readmeCommands(): ReadmeCommand[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: ReadmeCommand[] = [];
  let section = '';
  let inSh = false;
  let pending = '';
  for (const line of text.split('\n')) {
    if (!inSh && line.startsWith('## ')) section = line.slice(3).trim();
    if (line.startsWith('```')) {
      inSh = !inSh && line.trim() === '```sh';
      continue;
    }
    if (!inSh) continue;
    // A comment starts at ` #` (no command here has a `#` of its own).
    const code = line.replace(/\s+#.*$/, '').trimEnd();
    if (code.endsWith('\\')) {
      pending += `${code.slice(0, -1).trim()} `;
      continue;
    }
    const command = (pending + code.trim()).trim();
    pending = '';
    // `a && b` are two commands.
    for (const part of command.split(' && ')) if (part) out.push({ section, command: part });
  }
  return out;
}

/** `npx gradc ARGS` → the checkout's or an installed package's launcher. */
export function gradcCommand(command: string, launcher: string): string {
  return command.replace(
    /^npx gradc\b/,
    `${JSON.stringify(process.execPath)} ${JSON.stringify(launcher)}`,
  );
}
