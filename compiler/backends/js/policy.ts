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
  /** Estimated bytecode per generated function (bytes of V8 bytecode; BYTECODE below). V8
   * refuses to optimize a function above 60 KB of bytecode (`max_optimized_bytecode_size`),
   * and the budget leaves a sixth of it to spare. The estimate bounds the real size (checked on
   * every example and on fuzzed nets by test/bytecode-budget.test.ts). A per-sample body
   * under the budget is one function with its values in locals; a longer one is cut where
   * the fewest values are live (backends/js/split.ts). TurboFan's compile time stays
   * reasonable at this size: iris's whole batched gradient (41 KB) compiles in ~0.3 s, less
   * than its six former ≤ 250-operation parts took together (~0.8 s). */
  functionBytecode: 50 * 1024,
  /** What a loop costs the program's statement count (LIMITS.maxStatements): its body. */
  loopCost: 40,
  /** Unrolled scalar operations per program (all chunks) beyond which elementwise ops of
   * `minLoopElements` or more run as loops: a net unrolled over many time steps repeats its
   * cell's code per step, and straight-line code for all of it would be megabytes that V8
   * compiles slowly (the small nets and CNNs stay far under this). */
  maxUnrolledTotal: 8_000,
  minLoopElements: 8,
  /** Rows of the batch axis computed together where a per-sample step loops over a
   * contraction (schedule/batch.ts): each weight is loaded once per block and each gradient
   * element read and written once per block. A 4-row block measured 2.2× the row-by-row loop
   * on 784-128-10. */
  batchBlock: 4,
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

/**
 * Bytes of V8 bytecode per unit of emitted code on Node 20 (V8 11.3), fitted with
 * `node --print-bytecode` over 450 functions of the examples and fixtures (whole bodies and
 * ≤ 250-operation parts), then raised ~10%: parts whose operands are loaded from `work`
 * (values live across a cut) and the anchors measured up to 8.5% over the first fit.
 */
export const BYTECODE = {
  /** One multiply-add of an unrolled matvec / matvecT (a load, a multiply, an add). */
  mac: 35,
  /** One element of an unrolled outer product (into a gradient: a load, a multiply-add, a store). */
  outer: 42,
  /** One element of an unrolled elementwise op, or one input element of a reduction. */
  element: 37,
  /** A call into a loop kernel's function (every argument of the frame passed on). */
  call: 40,
  /** Each element stored to anchor an unrolled sum (emit/body.ts, `anchors`). */
  anchor: 10,
  /** One copied output element at the end of the entry function. */
  copy: 16,
  /** Prologue and return of a function. */
  function: 200,
  /** Samples emitted together repeat each operand's load per lane: measured ~12% more per unit. */
  laneFactor: 1.2,
} as const;
