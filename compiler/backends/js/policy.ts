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
  /** Unrolled scalar operations per program (all chunks) beyond which elementwise ops of
   * `minLoopElements` or more run as loops: a net unrolled over many time steps repeats its
   * cell's code per step, and straight-line code for all of it would be megabytes that V8
   * compiles slowly (the small nets and CNNs stay far under this). */
  maxUnrolledTotal: 8_000,
  minLoopElements: 8,
} as const;

/** Recurrent layers: unrolled over time (the cell's code once per step, in the graph) or one
 * loop over time (a `scan`, the cell's code once). Unrolled while the layer's multiply-adds
 * over all its steps, T·(n + u)·k·u, stay within `maxUnrolledMacs`. Measured on Node 20 on
 * this loaded 2-core machine (`bench/time-loop.ts`, batch 16, training step unrolled ÷
 * looped): LSTM 4×2→4 (384 MACs) 0.80, 8×2→4 (768) 0.94, 8×4→4 (1,024) 0.49; GRU 6×3→4
 * (504) 0.92; simpleRNN 10×4→8 (960) 1.20; then LSTM 6×4→8 (2,304) 24, 8×1→16 (8,704) 7.3,
 * simpleRNN 12×4→12 (2,304) 44, the bench's LSTM 20×8→32 (102,400) 36: above ~2,000
 * multiply-adds the unrolled straight-line code takes seconds of calls and background
 * compilation to reach TurboFan, and runs slow meanwhile. */
export const TIME_LOOP = {
  maxUnrolledMacs: 1_024,
} as const;
