// Where a JSON text first goes wrong. V8 gives a position for most syntax errors but not for
// "Unexpected token" (nor for the end of the input), so the compiler finds it itself with a
// small scanner. It is iterative (an explicit stack), so deeply nested input cannot overflow it.

/** Offset of the first character that makes `s` invalid JSON (`s.length` for a premature end),
 * or −1 when `s` is valid. */
export function firstBadOffset(s: string): number {
  const n = s.length;
  let i = 0;
  const stack: number[] = []; // 0x7b '{' or 0x5b '['
  const ws = () => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const digits = (): boolean => {
    const start = i;
    while (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    return i > start;
  };
  /** Scans a string starting at the opening quote; false leaves `i` at the bad character. */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        i++;
        if (i >= n) return false;
        const e = s[i]!;
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n || !/[0-9a-fA-F]/.test(s[i]!)) return false;
          }
        } else if (!'"\\/bfnrt'.includes(e)) return false;
      }
      i++;
    }
    return false;
  };
  const number = (): boolean => {
    if (s[i] === '-') i++;
    if (s[i] === '0') i++;
    else if (!digits()) return false;
    if (s[i] === '.') {
      i++;
      if (!digits()) return false;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (!digits()) return false;
    }
    return true;
  };
  type State = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'after';
  let state: State = 'value';
  for (;;) {
    ws();
    if (state === 'after') {
      const top = stack[stack.length - 1];
      if (top === undefined) return i < n ? i : -1;
      if (i >= n) return n;
      const c = s[i]!;
      if (c === ',') {
        i++;
        state = top === 0x7b ? 'key' : 'value';
      } else if ((c === '}' && top === 0x7b) || (c === ']' && top === 0x5b)) {
        i++;
        stack.pop();
      } else return i;
      continue;
    }
    if (i >= n) return n;
    const c = s[i]!;
    if (state === 'keyOrEnd' && c === '}') {
      i++;
      stack.pop();
      state = 'after';
      continue;
    }
    if (state === 'valueOrEnd' && c === ']') {
      i++;
      stack.pop();
      state = 'after';
      continue;
    }
    if (state === 'key' || state === 'keyOrEnd') {
      if (c !== '"' || !string()) return Math.min(i, n);
      ws();
      if (i >= n) return n;
      if (s[i] !== ':') return i;
      i++;
      state = 'value';
      continue;
    }
    // A value.
    if (c === '{' || c === '[') {
      stack.push(c.charCodeAt(0));
      i++;
      state = c === '{' ? 'keyOrEnd' : 'valueOrEnd';
      continue;
    }
    if (c === '"') {
      if (!string()) return Math.min(i, n);
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      if (!number()) return Math.min(i, n);
    } else {
      const word = c === 't' ? 'true' : c === 'f' ? 'false' : c === 'n' ? 'null' : '';
      if (word === '') return i;
      for (let k = 0; k < word.length; k++, i++) if (s[i] !== word[k]) return Math.min(i, n);
    }
    state = 'after';
  }
}
