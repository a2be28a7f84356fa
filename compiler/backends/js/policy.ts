// The JS backend's cost policy: what the scheduler unrolls into straight-line code, what it
// makes a loop, and how much straight-line code goes into one function. From measurements on
// Node 20 (V8 11.3): V8 stops optimizing a function above ~60 KB of bytecode (it then runs in
// the baseline tier, 9-40x slower), so straight-line code is split into chunks; large
// matrices are loops (the renderer unrolls their inner loop by 4, which beats unrolled code
// above a fan-in of ~64); tiny layers are unrolled completely (~3x faster than loops for
// nets like 2-8-1 and 4-16-16-3).
export const SCHEDULE = {
  /** Elementwise ops and reductions up to this length are unrolled. */
  maxUnrolledElements: 64,
  /** Matrix ops up to this many multiply-adds, and fan-in, are unrolled. */
  maxUnrolledMacs: 256,
  maxUnrolledFanIn: 16,
  /** Scalar operations per generated function. Far under V8's 60 KB bytecode limit; the
   * binding constraint is TurboFan's compile time, which grows faster than linearly with
   * straight-line length: measured on a loaded 2-core machine, ~1,500 unrolled
   * multiply-adds took 1-25 s of background compilation (running slow code meanwhile),
   * ~600 about 1 s, ~200 under 0.4 s. */
  chunkBudget: 250,
  /** What a loop costs a function in bytecode, in the same unit. */
  loopCost: 40,
} as const;
