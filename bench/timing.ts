// Interleaved timing: every series is warmed up, then timed in rounds where each series runs
// one block in a rotating order, so slow drifts of the machine hit all of them alike.
// Figures are medians over rounds; nothing here is asserted, it is only measured.

export interface Series {
  readonly key: string;
  /** Untimed, before each block. */
  readonly activate?: () => void | Promise<void>;
  /** Untimed, before each block (e.g. restore the initial weights so training never drifts). */
  readonly reset?: () => void;
  readonly run: () => void;
}

export interface TimingOptions {
  /** Minimum warm-up per series: straight-line code needs 200–500 ms of calls before V8 optimizes it. */
  readonly warmupMs: number;
  /** Stop after this much timed time, once `minRounds` are done. */
  readonly budgetMs: number;
  readonly minRounds: number;
  readonly maxRounds: number;
  /** Target duration of one timed block; short calls are repeated to reach it. */
  readonly blockMs: number;
}

export interface Stat {
  readonly medianUs: number;
  readonly p25Us: number;
  readonly p75Us: number;
  readonly rounds: number;
  readonly callsPerBlock: number;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function warmUp(s: Series, warmupMs: number, blockMs: number): Promise<number> {
  await s.activate?.();
  s.reset?.();
  const start = nowMs();
  let calls = 0;
  // The per-call estimate comes from the second half only, after the first optimizations.
  let halfCalls = 0;
  let halfStart = 0;
  while (calls < 3 || nowMs() - start < warmupMs) {
    s.run();
    calls++;
    if (halfStart === 0 && nowMs() - start >= warmupMs / 2) {
      halfStart = nowMs();
      halfCalls = calls;
    }
    // Re-anchor long warm-ups of training steps so weights stay near their initial values.
    if ((calls & 1023) === 0) s.reset?.();
  }
  const perCall =
    halfStart > 0 && calls > halfCalls
      ? (nowMs() - halfStart) / (calls - halfCalls)
      : (nowMs() - start) / calls;
  return Math.max(1, Math.min(1_000_000, Math.round(blockMs / Math.max(perCall, 1e-6))));
}

export async function measureInterleaved(
  series: readonly Series[],
  o: TimingOptions,
): Promise<Map<string, Stat>> {
  const calls = new Map<string, number>();
  for (const s of series) calls.set(s.key, await warmUp(s, o.warmupMs, o.blockMs));
  const samples = new Map<string, number[]>(series.map((s) => [s.key, []]));
  let timed = 0;
  for (let round = 0; round < o.maxRounds; round++) {
    for (let k = 0; k < series.length; k++) {
      const s = series[(k + round) % series.length];
      const n = calls.get(s.key) ?? 1;
      await s.activate?.();
      s.reset?.();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) s.run();
      const dtMs = Number(process.hrtime.bigint() - t0) / 1e6;
      timed += dtMs;
      samples.get(s.key)?.push((dtMs * 1000) / n);
    }
    if (round + 1 >= o.minRounds && timed >= o.budgetMs) break;
  }
  const stats = new Map<string, Stat>();
  for (const s of series) {
    const xs = (samples.get(s.key) ?? []).slice().sort((a, b) => a - b);
    stats.set(s.key, {
      medianUs: quantile(xs, 0.5),
      p25Us: quantile(xs, 0.25),
      p75Us: quantile(xs, 0.75),
      rounds: xs.length,
      callsPerBlock: calls.get(s.key) ?? 1,
    });
  }
  return stats;
}
