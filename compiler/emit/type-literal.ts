// The TypeScript type of a JSON-like literal, as `as const` would infer it, for `.d.ts` files
// beside JavaScript output. Strings go through the same escaping as every emitted literal.
import { num, str } from './code.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function typeLiteral(v: unknown, indent = ''): string {
  if (typeof v === 'string') return str(v);
  // NaN and ±Infinity have no literal type.
  if (typeof v === 'number') return Number.isFinite(v) ? num(v) : 'number';
  if (typeof v === 'boolean') return String(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number'))
      return `readonly [${v.map((x) => typeLiteral(x)).join(', ')}]`;
    return `readonly [\n${v.map((x) => inner + typeLiteral(x, inner)).join(',\n')},\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    const keyOf = (k: string) => (IDENT.test(k) ? k : str(k));
    const lines = entries.map(
      ([k, x]) => `${inner}readonly ${keyOf(k)}: ${typeLiteral(x, inner)};`,
    );
    return `{\n${lines.join('\n')}\n${indent}}`;
  }
  throw new Error(`internal: cannot emit a type of ${typeof v}`);
}
