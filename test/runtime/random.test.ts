import { describe, expect, it } from 'vitest';
import { range, Rng } from '../../runtime/random.ts';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference C implementation from state {1, 2, 3, 4}', () => {
    const r = Rng.fromState(1, 2, 3, 4);
    const out = Array.from({ length: 6 }, () => r.nextU32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('is reproducible bit-for-bit from a seed (pinned values)', () => {
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([979253148, 788715384, 2556177622]);
    expect(r.uniform()).toBe(0.9853088118898741);
    expect(r.normal()).toBe(1.6249476365205213);
  });

  it('different seeds give different streams, including seeds above 2^32', () => {
    const a = new Rng(1).nextU32();
    expect(new Rng(2).nextU32()).not.toBe(a);
    expect(new Rng(1 + 2 ** 32).nextU32()).not.toBe(a);
    expect(new Rng(-1).nextU32()).not.toBe(a);
  });

  it('rejects non-integer seeds and an all-zero state', () => {
    expect(() => new Rng(1.5)).toThrow(/safe integer/);
    expect(() => Rng.fromState(0, 0, 0, 0)).toThrow(/zero/);
  });

  it('uniform lies in [0, 1) with mean ½ and variance 1/12', () => {
    const r = new Rng(3);
    let sum = 0;
    let sq = 0;
    let outside = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sq += u * u;
    }
    const mean = sum / n;
    expect(outside).toBe(0);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sq / n - mean * mean).toBeCloseTo(1 / 12, 2);
  });

  it('normal has mean 0, variance 1 and light tails', () => {
    const r = new Rng(4);
    let sum = 0;
    let sq = 0;
    let beyond3 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
      if (Math.abs(z) > 3) beyond3++;
    }
    expect(sum / n).toBeCloseTo(0, 1.5);
    expect(sq / n).toBeCloseTo(1, 1.5);
    // P(|z| > 3) = 0.27 %: expect ~270 of 100k.
    expect(beyond3).toBeGreaterThan(180);
    expect(beyond3).toBeLessThan(370);
    expect(new Rng(5).normal(10, 0)).toBe(10);
  });

  it('int is unbiased over a small range', () => {
    const r = new Rng(6);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow(/bound/);
  });

  it('shuffle is a seeded permutation', () => {
    const a = range(50);
    new Rng(9).shuffle(a);
    const b = range(50);
    new Rng(9).shuffle(b);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from(range(50)));
    expect(Array.from(a)).not.toEqual(Array.from(range(50)));
    const c = range(50);
    new Rng(10).shuffle(c);
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('shuffle works on Uint32Array and on a prefix', () => {
    const u = Uint32Array.from([5, 6, 7, 8, 9]);
    new Rng(1).shuffle(u, 3);
    expect(Array.from(u.slice(3))).toEqual([8, 9]);
    expect(Array.from(u.slice(0, 3)).sort()).toEqual([5, 6, 7]);
  });

  it('every permutation of 3 items is about equally likely', () => {
    const r = new Rng(11);
    const counts = new Map<string, number>();
    const a = new Int32Array(3);
    for (let i = 0; i < 60_000; i++) {
      a.set([0, 1, 2]);
      r.shuffle(a);
      const key = a.join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });
});
