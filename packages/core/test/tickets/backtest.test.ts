import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/engine.js";
import { loadSampleRunbooks } from "../support/engine-context.js";

const sample = readFileSync(join(import.meta.dirname, "../../../../tickets_sample.csv"));

describe("TicketsApi.backtestCsv", () => {
  it("plans each row with its runbook's rendered steps and approvals, storing and running nothing", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    await loadSampleRunbooks(engine.runbooks);
    const events: string[] = [];
    for (const name of ["ticket:ingested", "ticket:analyzed", "session:created", "import:finished"] as const)
      engine.events.on(name, () => events.push(name));
    const result = await engine.tickets.backtestCsv(`${String(sample).trimEnd()}\n,,low,,,\n`);
    expect(result.rows).toBe(41);
    expect(result.truncated).toBe(false);
    expect(result.rowResults).toHaveLength(41);
    const planned = result.rowResults.filter((r) => r.status === "planned");
    expect(planned.length).toBeGreaterThan(0);
    for (const row of planned) {
      expect(row.runbook?.key).toBeTruthy();
      expect(row.steps.length).toBeGreaterThan(0);
      expect(row.reason.length).toBeGreaterThan(0);
    }
    const steps = planned.flatMap((r) => r.steps);
    expect(steps.some((s) => s.requiresApproval && s.approvalsRequired >= 1)).toBe(true);
    expect(steps.some((s) => s.rendered !== null && s.rendered.length > 0)).toBe(true);
    expect(result.rowResults.at(-1)).toMatchObject({ row: 41, status: "rejected", line: 42 });
    expect(result.rowResults.filter((r) => r.status === "unmatched").every((r) => r.runbook === null)).toBe(
      true,
    );
    // Nothing stored, nothing announced.
    expect((await engine.tickets.list()).items).toHaveLength(0);
    expect(await engine.countByStatus("sessions")).toEqual({});
    expect(events).toEqual([]);
    await engine.close();
  });

  it("analyzes only the first maxRows rows and says the rest were left out", async () => {
    const engine = await createEngine({ vault: { key: randomBytes(32) } });
    const csv = ["title", ...Array.from({ length: 12 }, (_, i) => `Alert ${i}`)].join("\n");
    const result = await engine.tickets.backtestCsv(csv, { maxRows: 5 });
    expect(result).toMatchObject({ rows: 12, truncated: true });
    expect(result.rowResults.map((r) => r.row)).toEqual([1, 2, 3, 4, 5]);
    await engine.close();
  });
});
