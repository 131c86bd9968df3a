import { describe, expect, it } from "vitest";
import type { AnalyzerStage } from "../../src/analyzer/index.js";
import { createEngine } from "../../src/index.js";

/** A host stage that counts the analyses it takes part in (and what fingerprint they carried). */
function counting() {
  const fingerprints: string[] = [];
  const stage: AnalyzerStage = {
    name: "count",
    run(state) {
      fingerprints.push(state.fingerprint);
    },
  };
  return { stage, fingerprints };
}

const alert = (i: number) => ({
  title: `Disk full on build agent ${i}`,
  description: "No space left on device (ENOSPC) writing to /tmp",
  severity: "high",
  environment: "dev",
  service: "ci",
  source: "bench",
});

describe("analysis once per fingerprint", () => {
  it("folds a repeat of a still open ticket by counters, without analyzing it again", async () => {
    const { stage, fingerprints } = counting();
    const engine = await createEngine({ analyzer: { stages: [stage] } });
    const [first] = await engine.tickets.ingestMany([alert(1)], { autoExecute: false });
    expect(fingerprints).toHaveLength(1);
    const analyzedAt = first!.ticket.analysis?.analyzedAt;

    const again = await engine.tickets.ingestMany([alert(1), alert(2), alert(1)], { autoExecute: false });
    expect(again.map((r) => r.deduplicated)).toEqual([true, false, true]);
    expect(again[0]!.ticket.id).toBe(first!.ticket.id);
    // Only alert 2 was new: one more analysis, not three.
    expect(fingerprints).toHaveLength(2);
    const stored = await engine.tickets.get(first!.ticket.id);
    expect(stored.occurrences).toBe(3);
    expect(stored.analysis?.analyzedAt).toBe(analyzedAt);
    await engine.close();
  });

  it("folds repeats within one batch and analyzes only the first", async () => {
    const { stage, fingerprints } = counting();
    const engine = await createEngine({ analyzer: { stages: [stage] } });
    const results = await engine.tickets.ingestMany([alert(3), alert(3), alert(3)], { autoExecute: false });
    expect(results.map((r) => r.deduplicated)).toEqual([false, true, true]);
    expect(fingerprints).toHaveLength(1);
    expect(results[2]!.ticket.occurrences).toBe(3);
    await engine.close();
  });

  it("analyzes a repeat again once its ticket is closed: a new ticket gets its own analysis", async () => {
    const { stage, fingerprints } = counting();
    const engine = await createEngine({ analyzer: { stages: [stage] } });
    const [first] = await engine.tickets.ingestMany([alert(4)], { autoExecute: false });
    await engine.tickets.setStatus(first!.ticket.id, "closed", "done");
    const [next] = await engine.tickets.ingestMany([alert(4)], { autoExecute: false });
    expect(next!.deduplicated).toBe(false);
    expect(next!.ticket.id).not.toBe(first!.ticket.id);
    expect(next!.ticket.analysis).not.toBeNull();
    expect(fingerprints).toHaveLength(2);
    await engine.close();
  });

  it("hands the analysis the fingerprint intake computed, so it is hashed once, and stores the same", async () => {
    const { stage, fingerprints } = counting();
    const engine = await createEngine({ analyzer: { stages: [stage] } });
    const [r] = await engine.tickets.ingestMany([alert(5)], { autoExecute: false });
    // The host stage runs after the fingerprint stage: it saw the fingerprint that was stored.
    expect(fingerprints).toEqual([r!.ticket.fingerprint]);
    expect(r!.ticket.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    await engine.close();
  });
});
