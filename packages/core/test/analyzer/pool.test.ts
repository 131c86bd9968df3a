import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { normalizeSeverity } from "../../src/analyzer/normalize.js";
import {
  type AnalysisPool,
  createAnalysisPool,
  type IdentifiedSubject,
  poolThreads,
} from "../../src/analyzer/pool.js";
import { isRunwardenError } from "../../src/errors.js";
import { readTicketCsv } from "../../src/internal/csv.js";
import { admin, loadSampleRunbooks, makeIntake } from "../support/engine-context.js";

const sampleCsv = readFileSync(join(import.meta.dirname, "../../../../tickets_sample.csv"));

/** The sample file's rows, identified as intake identifies them. */
async function sampleSubjects(identify: (row: never) => IdentifiedSubject): Promise<IdentifiedSubject[]> {
  const out: IdentifiedSubject[] = [];
  await readTicketCsv(sampleCsv, { defaultSource: "csv", severity: normalizeSeverity }, async (verdict) => {
    if (verdict.ok) out.push(identify(verdict.input as never));
  });
  return out;
}

async function setup(workers: number) {
  const intake = await makeIntake();
  await loadSampleRunbooks(intake.runbooks);
  const { ctx, runbooks } = intake;
  const { createAnalyzer } = await import("../../src/analyzer/index.js");
  const { createIntake } = await import("../../src/tickets/intake.js");
  const analyzer = createAnalyzer(ctx, { runbooks });
  const { subjectOf } = createIntake(ctx, { analyzer });
  const subjects = await sampleSubjects((input) => analyzer.identify(subjectOf(input)));
  const pool = createAnalysisPool({ workers, policy: ctx.policy, runbooks, logger: ctx.logger });
  pools.push(pool);
  return { ...intake, analyzer, subjects, pool };
}

const pools: AnalysisPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

const analyzedAt = "2025-06-01T12:00:00.000Z";

describe("createAnalysisPool", () => {
  it("returns exactly the in-process analyses, trace and analyzedAt included, when given the same subjects", async () => {
    const { analyzer, subjects, pool } = await setup(1);
    const inProcess = [];
    for (const { ticket, fingerprint, normalizeNotes } of subjects)
      inProcess.push((await analyzer.analyze(ticket, { fingerprint, normalizeNotes, analyzedAt })).analysis);
    const offThread = await pool.analyze(subjects, { analyzedAt, trace: true });
    expect(offThread).toStrictEqual(inProcess);
    // The sample runbooks really matched (the comparison is not between empty analyses).
    expect(offThread.filter((a) => a.candidates.length > 0).length).toBeGreaterThan(20);
    // Without `trace`, the same analyses less their trace.
    const compact = await pool.analyze(subjects, { analyzedAt });
    expect(compact).toStrictEqual(inProcess.map(({ trace: _trace, ...rest }) => rest));
  });

  it("answers each batch with its own analyses in order when batches overlap on two workers", async () => {
    const { analyzer, subjects, pool } = await setup(2);
    const batches = [subjects.slice(0, 10), subjects.slice(10, 25), subjects.slice(25), subjects.slice(3, 7)];
    const results = await Promise.all(batches.map((batch) => pool.analyze(batch, { analyzedAt })));
    expect(pool[poolThreads]()).toHaveLength(2);
    for (let b = 0; b < batches.length; b++) {
      const expected = [];
      for (const { ticket, fingerprint, normalizeNotes } of batches[b]!) {
        const { trace: _trace, ...rest } = (
          await analyzer.analyze(ticket, { fingerprint, normalizeNotes, analyzedAt })
        ).analysis;
        expected.push(rest);
      }
      expect(results[b]).toStrictEqual(expected);
    }
  });

  it("matches against the runbooks current when a batch is sent when a runbook is added between batches", async () => {
    const { subjects, pool, runbooks } = await setup(1);
    const printer = subjects.filter((s) => /printer/i.test(s.ticket.title));
    expect(printer.length).toBeGreaterThan(0);
    const before = await pool.analyze(printer, { analyzedAt });
    expect(before.some((a) => a.candidates.some((c) => c.runbookKey === "printer-queue-reset"))).toBe(false);
    await runbooks.create(
      [
        "---",
        "id: printer-queue-reset",
        "status: approved",
        "match:",
        "  services: [printer]",
        "  keywords: [printer, offline]",
        "---",
        "",
        "# Reset the printer queue",
        "",
        "## Main Steps",
        "",
        "- `echo clearing the printer queue` (severity: safe, timeout: 5s)",
        "",
      ].join("\n"),
      { actor: admin, useFrontMatterStatus: true },
    );
    const after = await pool.analyze(printer, { analyzedAt });
    expect(after.every((a) => a.candidates[0]?.runbookKey === "printer-queue-reset")).toBe(true);
  });

  it("fails the batches a crashed worker held with RW_ERR_ANALYSIS_WORKER and starts a new worker for the next", async () => {
    const { subjects, pool } = await setup(1);
    const lost = pool.analyze(subjects, { analyzedAt });
    // Sent: the batch is in the worker's hands (the thread is still starting).
    await new Promise((resolve) => setImmediate(resolve));
    const [thread] = pool[poolThreads]();
    await thread!.terminate();
    const err = await lost.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_ANALYSIS_WORKER");
    expect(pool[poolThreads]()).toHaveLength(0);
    const again = await pool.analyze(subjects.slice(0, 3), { analyzedAt });
    expect(again).toHaveLength(3);
    expect(pool[poolThreads]()).toHaveLength(1);
  });

  it("ends every thread, fails batches in flight and refuses new ones when closed", async () => {
    const { subjects, pool } = await setup(1);
    await pool.analyze(subjects.slice(0, 2), { analyzedAt });
    const [thread] = pool[poolThreads]();
    const exited = new Promise((resolve) => thread!.once("exit", resolve));
    const inFlight = pool.analyze(subjects, { analyzedAt });
    await new Promise((resolve) => setImmediate(resolve));
    await pool.close();
    await exited;
    await expect(inFlight).rejects.toMatchObject({ code: "RW_ERR_ANALYSIS_WORKER" });
    await expect(pool.analyze(subjects.slice(0, 1), { analyzedAt })).rejects.toMatchObject({
      code: "RW_ERR_ANALYSIS_WORKER",
    });
    expect(pool[poolThreads]()).toHaveLength(0);
  });

  it("fails only that batch with RW_ERR_ANALYSIS_WORKER when a subject cannot be sent to a worker", async () => {
    const { subjects, pool } = await setup(1);
    const [first] = subjects;
    const bad = { ...first!, ticket: { ...first!.ticket, metaData: { hook: () => undefined } } };
    await expect(pool.analyze([bad], { analyzedAt })).rejects.toMatchObject({
      code: "RW_ERR_ANALYSIS_WORKER",
    });
    expect(await pool.analyze(subjects.slice(0, 2), { analyzedAt })).toHaveLength(2);
  });

  it("starts no thread before the first batch", async () => {
    const { pool } = await setup(2);
    expect(pool[poolThreads]()).toHaveLength(0);
    expect(await pool.analyze([], { analyzedAt })).toEqual([]);
    expect(pool[poolThreads]()).toHaveLength(0);
  });
});
