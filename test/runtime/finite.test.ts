import { describe, expect, it } from 'vitest';
import { checkFinite, firstNonFinite, NonFiniteError } from '../../runtime/finite.ts';

describe('finite', () => {
  it('firstNonFinite finds NaN and ±Infinity', () => {
    expect(firstNonFinite(Float64Array.of(1, 2, 3))).toBe(-1);
    expect(firstNonFinite(Float64Array.of(1, NaN, Infinity))).toBe(1);
    expect(firstNonFinite(Float32Array.of(0, 0, -Infinity))).toBe(2);
    expect(firstNonFinite(new Float64Array(0))).toBe(-1);
    expect(firstNonFinite([0, 1e308, -0])).toBe(-1);
  });

  it('checkFinite returns the array or throws with label and index', () => {
    const ok = Float64Array.of(1, 2);
    expect(checkFinite(ok)).toBe(ok);
    let err: unknown;
    try {
      checkFinite(Float64Array.of(0, 0, 0, Infinity, NaN), 'params');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.index).toBe(3);
    expect(e.value).toBe(Infinity);
    expect(e.message).toBe('params[3] is Infinity (first non-finite entry)');
  });
});
