// The one line a command prints after writing files, so a user (or a script) sees what
// changed on disk. `--quiet` suppresses it.
import fs from 'node:fs';

function size(file: string): string {
  try {
    return `${fs.statSync(file).size} bytes`;
  } catch {
    return 'written';
  }
}

export function wroteLine(files: readonly string[]): string {
  return `wrote ${files.map((f) => `${f} (${size(f)})`).join(', ')}\n`;
}
