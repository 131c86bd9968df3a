/**
 * The bench harness: every row measures Runwarden and a raw baseline on the same input in the
 * same process run, and reports the ratio, so the figure holds on a noisy machine.
 */

/** One line of the results table. `ratio` is always value / baseline in the row's own unit. */
export interface BenchRow {
  name: string;
  unit: string;
  value: number;
  baseline: number;
  ratio: number;
  /** The goal in words, e.g. ">= 0.8" or "p99 < 1 ms". */
  goal: string;
  met: boolean;
  /** Extra figures worth printing (p50/p99, memory, counts). */
  note?: string;
}

export interface BenchOptions {
  /** Smaller inputs and fewer repeats: the whole suite finishes in under two minutes. */
  quick: boolean;
}

/** A row module: `export default defineRows("title", async (opts) => [...rows])`. */
export interface RowGroup {
  title: string;
  run(opts: BenchOptions): Promise<BenchRow[]>;
}

export function defineRows(title: string, run: (opts: BenchOptions) => Promise<BenchRow[]>): RowGroup {
  return { title, run };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs `fn` `warmup` times unmeasured, then `repeats` times, and returns each run's milliseconds. */
export async function timeRuns(
  fn: () => unknown | Promise<unknown>,
  { warmup = 1, repeats = 5 }: { warmup?: number; repeats?: number } = {},
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** A deterministic PRNG (mulberry32): the same seed gives the same inputs on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** A ratio row where higher is better for both sides (throughput): goal is `ratio >= min`. */
export function throughputRow(
  name: string,
  unit: string,
  value: number,
  baseline: number,
  min: number,
  note?: string,
): BenchRow {
  const ratio = value / baseline;
  return {
    name,
    unit,
    value,
    baseline,
    ratio,
    goal: `>= ${min}`,
    met: ratio >= min,
    ...(note ? { note } : {}),
  };
}

/** A ratio row where lower is better for both sides (latency, time): goal is `ratio <= max`. */
export function latencyRow(
  name: string,
  unit: string,
  value: number,
  baseline: number,
  max: number,
  note?: string,
): BenchRow {
  const ratio = value / baseline;
  return {
    name,
    unit,
    value,
    baseline,
    ratio,
    goal: `<= ${max}`,
    met: ratio <= max,
    ...(note ? { note } : {}),
  };
}
