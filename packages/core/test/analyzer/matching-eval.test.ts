import { describe, expect, it } from "vitest";
import { runMatchingEval } from "../fixtures/matching-eval/evaluate.js";

describe("the labelled matching evaluation", () => {
  it("auto-executes no wrong runbook on any of its tickets and finds a right one in the top three", async () => {
    const report = await runMatchingEval();
    const { wrong, missedAt3, ...figures } = report;
    // The figures docs/matching.md quotes; `pnpm bench matching-eval` prints them too.
    process.stdout.write(`matching eval: ${JSON.stringify(figures)}\n`);
    expect(report.tickets).toBeGreaterThanOrEqual(300);
    expect(wrong.map((o) => `${o.ticket.subject.title} → ${o.decided}`)).toEqual([]);
    expect(report.autoExecutePrecision).toBe(1);
    expect(report.recallAt3).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});
