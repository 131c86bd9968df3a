import { describe, expect, it } from "vitest";
import { type AnalysisOutcome, createAnalyzer } from "../../src/analyzer/index.js";
import type { AnalyzerStage } from "../../src/analyzer/stage.js";
import type { Analysis, Ticket } from "../../src/domain.js";
import { createConnectorRegistry } from "../../src/registry.js";
import { createRunbooksApi } from "../../src/runbooks.js";
import type { NewDoc, Storage } from "../../src/storage.js";
import { createTicketsApi } from "../../src/tickets.js";
import { admin, loadSampleRunbooks, makeContext } from "../support/engine-context.js";

/** A host stage whose note depends on the analysis' clock: a recomputation must run at the same time. */
const clockStage: AnalyzerStage = {
  name: "clock",
  run(_state, { note, now }) {
    note(`analyzed at ${now().toISOString()}`);
  },
};

/**
 * The tickets API over the sample runbooks, with the real analyzer; every outcome the analyzer
 * returns is kept, so a test can compare the trace intake computed with the one recomputed later.
 */
async function setup() {
  const base = makeContext();
  const registry = await createConnectorRegistry(base.ctx, []);
  const runbooks = createRunbooksApi(base.ctx, { audit: base.audit });
  await loadSampleRunbooks(runbooks);
  const analyzer = createAnalyzer(base.ctx, { runbooks, stages: [clockStage] });
  const outcomes: AnalysisOutcome[] = [];
  const analyze = analyzer.analyze.bind(analyzer);
  const recording = {
    ...analyzer,
    async analyze(...args: Parameters<typeof analyze>) {
      const outcome = await analyze(...args);
      outcomes.push(outcome);
      return outcome;
    },
  };
  const tickets = createTicketsApi(base.ctx, { analyzer: recording, registry, audit: base.audit });
  return { ...base, runbooks, tickets, outcomes };
}

const diskAlert = {
  title: "Disk  usage above 90% on /var",
  description: "Filesystem /var on web-prod-03.internal is 93% full",
  severity: "high",
  environment: "Production",
  service: "Nginx",
  source: "alertmanager",
  fingerprint: "a1b2c3",
} as const;

describe("analysis trace on demand", () => {
  it("stores the shown analysis without its trace and recomputes the very trace intake computed", async () => {
    const { tickets, outcomes, clock } = await setup();
    const { ticket } = await tickets.ingest(diskAlert, { autoExecute: false });
    expect(outcomes).toHaveLength(1);
    const atIntake = outcomes[0]!.analysis;
    expect(atIntake.candidates.length).toBeGreaterThan(0);

    const stored = await tickets.get(ticket.id);
    expect(stored.analysis).not.toBeNull();
    expect(stored.analysis).not.toHaveProperty("trace");
    // What is shown stays: category, entities, candidates with their reasons, the decision.
    expect(stored.analysis?.candidates).toEqual(atIntake.candidates);
    expect(stored.analysis?.decision).toEqual(atIntake.decision);
    expect(stored.analysis?.entities).toEqual(atIntake.entities);
    // What normalize changed cannot be read back from the normalized ticket: kept.
    expect(stored.analysis?.normalized).toEqual(atIntake.trace[0]!.notes);
    expect(stored.analysis?.normalized?.length).toBeGreaterThan(0);

    clock.advance(60_000);
    const result = await tickets.analysisTrace(ticket.id);
    expect(result).toMatchObject({ ticketId: ticket.id, origin: "recomputed", matchesStored: true });
    expect(result.analyzedAt).toBe(atIntake.analyzedAt);
    expect(result.trace).toEqual(atIntake.trace);
    expect(result.trace.find((t) => t.stage === "fingerprint")?.notes).toEqual([
      "fingerprint given by the source",
    ]);
  });

  it("stores a smaller document: the stored ticket is the intake analysis less its trace", async () => {
    const { tickets, outcomes } = await setup();
    const { ticket } = await tickets.ingest(
      { ...diskAlert, title: "Disk usage above 90% on /var", environment: "prod", service: "nginx" },
      { autoExecute: false },
    );
    const stored = await tickets.get(ticket.id);
    const { trace, ...rest } = outcomes[0]!.analysis;
    expect(trace.length).toBeGreaterThan(0);
    // Nothing to record from normalize: no `normalized` either.
    expect(stored.analysis).not.toHaveProperty("normalized");
    expect(stored.analysis).toEqual(rest);
    const withTrace = JSON.stringify({ ...stored, analysis: { ...stored.analysis, trace } });
    expect(JSON.stringify(stored).length).toBeLessThan(withTrace.length);
  });

  it("recomputes the trace of a CSV-imported ticket as the import computed it", async () => {
    const { tickets, outcomes } = await setup();
    const csv = [
      "title,description,severity,environment,service,source",
      "High CPU usage on api-prod-02,CPU at 97% for 15 minutes on api-prod-02.internal,high,Production,API,csv",
    ].join("\n");
    const result = await tickets.importCsv(csv);
    const id = result.ticketIds![0]!;
    const atImport = outcomes[0]!.analysis;
    expect(atImport.trace[0]!.notes.length).toBeGreaterThan(0);
    const recomputed = await tickets.analysisTrace(id);
    expect(recomputed.origin).toBe("recomputed");
    expect(recomputed.matchesStored).toBe(true);
    expect(recomputed.trace).toEqual(atImport.trace);
  });

  it("says the trace no longer matches once the runbook that was chosen is retired", async () => {
    const { tickets, runbooks, outcomes } = await setup();
    const { ticket } = await tickets.ingest(diskAlert, { autoExecute: false });
    const best = outcomes[0]!.analysis.candidates[0]!;
    await runbooks.retire(best.runbookId, { actor: admin });
    const result = await tickets.analysisTrace(ticket.id);
    expect(result.origin).toBe("recomputed");
    expect(result.matchesStored).toBe(false);
    expect(result.trace).not.toEqual(outcomes[0]!.analysis.trace);
  });

  it("answers a ticket stored with its trace (an older document) with that trace", async () => {
    const { ctx, tickets } = await setup();
    const trace = [{ stage: "normalize", notes: ["from an older version"] }];
    const analysis: Analysis = {
      category: "disk",
      entities: { hosts: [], ips: [], services: [], errorCodes: [], urls: [] },
      candidates: [],
      decision: { action: "none", reason: "no runbook matched" },
      trace,
      analyzedAt: "2025-01-01T00:00:00.000Z",
    };
    const ticket = await storeOld(ctx.storage, analysis);
    expect((await tickets.get(ticket.id)).analysis?.trace).toEqual(trace);
    expect(await tickets.analysisTrace(ticket.id)).toEqual({
      ticketId: ticket.id,
      origin: "stored",
      matchesStored: true,
      analyzedAt: "2025-01-01T00:00:00.000Z",
      trace,
    });
  });

  it("gives an empty trace for a ticket without analysis and RW_ERR_STORAGE_NOT_FOUND for no ticket", async () => {
    const { ctx, tickets } = await setup();
    const ticket = await storeOld(ctx.storage, null);
    expect(await tickets.analysisTrace(ticket.id)).toEqual({
      ticketId: ticket.id,
      origin: "none",
      matchesStored: true,
      analyzedAt: null,
      trace: [],
    });
    await expect(tickets.analysisTrace(9_999)).rejects.toMatchObject({ code: "RW_ERR_STORAGE_NOT_FOUND" });
  });
});

/** Stores a ticket document with the given analysis straight into the store (as an older version did). */
async function storeOld(storage: Storage, analysis: Analysis | null): Promise<Ticket> {
  const [outcome] = await storage.ingestTickets([oldDoc(analysis)], {
    dedupeWindowMs: 0,
    now: "2025-01-01T00:00:00.000Z",
  });
  return outcome!.ticket;
}

/** A ticket document as a store holds it, with the given analysis. */
function oldDoc(analysis: Analysis | null): NewDoc<Ticket> {
  const at = "2025-01-01T00:00:00.000Z";
  return {
    title: "Old ticket",
    description: "",
    severity: "low",
    environment: "prod",
    service: "api",
    source: "manual",
    externalId: null,
    fingerprint: "f".repeat(64),
    status: "analyzed",
    occurrences: 1,
    metaData: {},
    receivedAt: at,
    lastSeenAt: at,
    updatedAt: at,
    analysis,
    statusReason: null,
  };
}
