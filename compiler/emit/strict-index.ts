// Element reads in TypeScript output carry a non-null assertion (`params[3]!`), so the module
// type-checks in a consumer's program under `noUncheckedIndexedAccess`, where every typed-array
// read is `number | undefined`. The compiler sized every array and proved every index in
// range; the assertion states that and costs nothing at run time (TypeScript erases it).

/**
 * `body` with `!` after each element read of the named arrays. A plain assignment target
 * (`grad[3] = …`) needs none; a compound one (`work[j] += …`) reads and gets one. Comments
 * are left alone; bodies contain no string literals.
 */
export function assertIndexed(body: string, arrays: ReadonlySet<string>): string {
  return body
    .split('\n')
    .map((line) => {
      const cut = line.indexOf('//');
      const code = cut < 0 ? line : line.slice(0, cut);
      return markReads(code, arrays) + (cut < 0 ? '' : line.slice(cut));
    })
    .join('\n');
}

function markReads(code: string, arrays: ReadonlySet<string>): string {
  const inserts: number[] = [];
  for (const m of code.matchAll(/\b([A-Za-z_]\w*)\[/g)) {
    if (!arrays.has(m[1]!)) continue;
    const close = closingBracket(code, m.index + m[0].length);
    if (close < 0) throw new Error(`internal: unbalanced brackets in emitted line: ${code}`);
    if (!/^\s*=(?!=)/.test(code.slice(close + 1))) inserts.push(close + 1);
  }
  let out = code;
  for (const at of inserts.reverse()) out = `${out.slice(0, at)}!${out.slice(at)}`;
  return out;
}

/** Index of the `]` closing the bracket opened just before `from`, or -1. */
function closingBracket(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '[') depth++;
    else if (s[i] === ']' && --depth === 0) return i;
  }
  return -1;
}
