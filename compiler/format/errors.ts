// User-facing errors: one line naming the file, the JSON path and what is wrong.

export class GradcError extends Error {
  constructor(
    /** The model file, or `<model>` for an object passed through the API. */
    readonly file: string,
    /** JSON path (`$.layers[0].units`) or `line:column` for syntax errors. */
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${file}: ${where}: ${detail}`);
    this.name = 'GradcError';
  }
}

export type PathPart = string | number;

export function jsonPath(parts: readonly PathPart[]): string {
  let s = '$';
  for (const p of parts) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) s += `.${p}`;
    else s += `[${quote(p)}]`;
  }
  return s;
}

/** A user string shown in a message: quoted, escaped, and cut short. */
export function quote(s: string, max = 60): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return JSON.stringify(cut).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function uEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text that came from a file (or a library relaying it), made safe for a terminal: every
 * character outside printable ASCII becomes `\uXXXX`, so ESC sequences, C1 controls, bidi
 * overrides (U+202E) and look-alike letters cannot act on or mislead the reader.
 */
export function escapeText(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return cut.replace(/[^\x20-\x7e]/g, uEscape);
}

/**
 * The last line of defence for a whole message: controls and invisible formatting characters
 * (C0, DEL, C1, bidi controls, zero-width and separator characters) are escaped; other
 * non-ASCII (an accented file name the user typed) is kept.
 */
const CONTROLS =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/;

export function escapeControls(s: string): string {
  return s.replace(new RegExp(CONTROLS.source, 'g'), uEscape);
}

/**
 * True when `s` holds a control or invisible formatting character (see escapeControls);
 * with `cells`, a tab or a line feed is fine (a quoted CSV cell holds them as they are).
 */
export function hasControls(s: string, cells = false): boolean {
  return CONTROLS.test(cells ? s.replace(/[\t\n]/g, ' ') : s);
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${quote(v, 30)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** ` (did you mean "relu"?)` when one known name is close enough, else ``. */
export function didYouMean(word: string, known: readonly string[]): string {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(w, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3))
    ? ` (did you mean ${quote(best)}?)`
    : '';
}
