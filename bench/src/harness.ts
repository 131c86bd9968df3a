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

/** What an interleaved comparison measured: each side's figures, and their ratios round by round. */
export interface Interleaved {
  /** Runwarden's measurement per round (the unit the callbacks return, e.g. ms for a chunk). */
  ours: number[];
  /** The baseline's measurement per round, taken right before or after ours. */
  baseline: number[];
  /** ours[i] / baseline[i]. */
  ratios: number[];
  /** The median of the ratios: the figure a row reports. */
  ratio: number;
  /** The 25th and 75th percentiles of the ratios: how much the machine moved them. */
  spread: [number, number];
}

/**
 * Measures Runwarden and its baseline alternately, ABAB… with the order swapped every round
 * (A B, B A, A B, …), so load on the machine moves both sides alike, and reports the median of
 * the per-round ratios with their interquartile spread. Each callback does one round's work and
 * returns its measurement (the same unit on both sides: milliseconds for the same work, a
 * percentile of latencies, …). `warmup` rounds run first, unrecorded.
 */
export async function interleave(
  ours: (round: number) => number | Promise<number>,
  baseline: (round: number) => number | Promise<number>,
  { rounds, warmup = 1 }: { rounds: number; warmup?: number },
): Promise<Interleaved> {
  if (rounds < 1) throw new Error("interleave: at least one round");
  const a: number[] = [];
  const b: number[] = [];
  for (let r = -warmup; r < rounds; r++) {
    let x: number;
    let y: number;
    if (((r % 2) + 2) % 2 === 0) {
      x = await ours(r);
      y = await baseline(r);
    } else {
      y = await baseline(r);
      x = await ours(r);
    }
    if (r < 0) continue;
    a.push(x);
    b.push(y);
  }
  const ratios = a.map((x, i) => x / b[i]!);
  return {
    ours: a,
    baseline: b,
    ratios,
    ratio: median(ratios),
    spread: [percentile(ratios, 25), percentile(ratios, 75)],
  };
}

/** "median of 8 interleaved ratios, IQR 0.31–0.40" for a list of per-round ratios. */
export function spreadNote(ratios: readonly number[]): string {
  const lo = percentile(ratios, 25);
  const hi = percentile(ratios, 75);
  return `median of ${ratios.length} interleaved ratios, IQR ${lo.toPrecision(3)}–${hi.toPrecision(3)}`;
}

/**
 * A row from an interleaved comparison of the time the same work takes on both sides.
 * `kind: "throughput"` reports work / time (higher is better, goal ratio >= bound; the ratio is the
 * median of the per-round baseline ms / ours ms); `kind: "latency"` reports the times themselves
 * (lower is better, goal ratio <= bound; median of ours / baseline). `perRound` is the work one
 * round does, in the row's unit.
 */
export function interleavedRow(
  kind: "throughput" | "latency",
  name: string,
  unit: string,
  result: Interleaved,
  bound: number,
  { perRound = 1, note }: { perRound?: number; note?: string } = {},
): BenchRow {
  const throughput = kind === "throughput";
  const ratios = throughput ? result.baseline.map((b, i) => b / result.ours[i]!) : result.ratios;
  const ratio = median(ratios);
  const oursMs = median(result.ours);
  const baseMs = median(result.baseline);
  const extra = spreadNote(ratios);
  return {
    name,
    unit,
    value: throughput ? perRound / (oursMs / 1000) : oursMs,
    baseline: throughput ? perRound / (baseMs / 1000) : baseMs,
    ratio,
    goal: throughput ? `>= ${bound}` : `<= ${bound}`,
    met: throughput ? ratio >= bound : ratio <= bound,
    note: note ? `${note}; ${extra}` : extra,
  };
}
