import { describe, expect, it } from "vitest";
import { interleave, interleavedRow } from "../src/harness.js";

describe("interleave", () => {
  it("alternates the order of the sides every round and skips the warm-up rounds", async () => {
    const order: string[] = [];
    await interleave(
      (r) => {
        order.push(`A${r}`);
        return 1;
      },
      (r) => {
        order.push(`B${r}`);
        return 1;
      },
      { rounds: 4, warmup: 1 },
    );
    expect(order).toEqual(["B-1", "A-1", "A0", "B0", "B1", "A1", "A2", "B2", "B3", "A3"]);
  });

  it("reports the median of the per-round ratios and their interquartile spread", async () => {
    const ours = [10, 20, 30, 40, 50];
    const base = [10, 10, 10, 10, 10];
    const result = await interleave(
      (r) => ours[r] ?? 0,
      (r) => base[r] ?? 1,
      { rounds: 5, warmup: 0 },
    );
    expect(result.ratios).toEqual([1, 2, 3, 4, 5]);
    expect(result.ratio).toBe(3);
    expect(result.spread).toEqual([2, 4]);
  });

  it("is not fooled by one side's slow round: the ratio of sums would be", async () => {
    // Round 2 ran while the machine was busy: both sides slowed down alike.
    const ours = [10, 10, 100, 10, 10];
    const base = [20, 20, 200, 20, 20];
    const result = await interleave(
      (r) => ours[r]!,
      (r) => base[r]!,
      { rounds: 5, warmup: 0 },
    );
    expect(result.ratio).toBe(0.5);
  });
});

describe("interleavedRow", () => {
  it("turns times into throughput with the ratio baseline time over ours, and checks the goal", async () => {
    const result = await interleave(
      () => 50,
      () => 100,
      { rounds: 3, warmup: 0 },
    );
    const row = interleavedRow("throughput", "x", "items/s", result, 1.5, { perRound: 10 });
    expect(row.value).toBe(200);
    expect(row.baseline).toBe(100);
    expect(row.ratio).toBe(2);
    expect(row.goal).toBe(">= 1.5");
    expect(row.met).toBe(true);
    expect(row.note).toContain("median of 3 interleaved ratios");
  });

  it("keeps times for a latency row, whose goal is an upper bound", async () => {
    const result = await interleave(
      () => 30,
      () => 10,
      { rounds: 3, warmup: 0 },
    );
    const row = interleavedRow("latency", "x", "ms", result, 1.5);
    expect(row.value).toBe(30);
    expect(row.ratio).toBe(3);
    expect(row.goal).toBe("<= 1.5");
    expect(row.met).toBe(false);
  });
});
