/**
 * Sync test support: a fake ServiceNow, the real ServiceNow connector pointed at it, intake over a
 * memory store, a fake clock, and helpers that write sessions the way the executor does.
 */
import { pino } from "pino";
import { createFakeClock, createTestContext, type FakeClock } from "../../../connector-testkit/src/index.js";
import servicenow from "../../../connectors/servicenow/src/index.js";
import { type FakeServiceNow, fakeServiceNow } from "../../../connectors/servicenow/test/fake-servicenow.js";
import { type AuditLog, createAuditLog } from "../../src/audit.js";
import type { Ticket } from "../../src/domain.js";
import type { TicketingConnector } from "../../src/plugin.js";
import type { Storage } from "../../src/storage.js";
import { createTicketSync, type TicketSync, type TicketSyncOptions } from "../../src/sync/index.js";
import { type Intake, makeIntake } from "../support/engine-context.js";

export const PASSWORD = "sn-sync-password-31";
export const GROUP = "8a5055c9c61122780043563ef53438e3";

export function snConnector(url: string, now: () => Date = () => new Date()): TicketingConnector {
  const config = servicenow.configSchema.parse({
    instanceUrl: url,
    auth: { type: "basic", username: "runwarden.integration", password: PASSWORD },
    defaults: { assignmentGroup: GROUP },
    pull: { assignmentGroups: [GROUP] },
  });
  return servicenow.create(config, createTestContext({ now }).ctx) as TicketingConnector;
}

export function startFake(): Promise<FakeServiceNow> {
  return fakeServiceNow({ auth: "basic", user: "runwarden.integration", password: PASSWORD });
}

export interface Harness {
  fake: FakeServiceNow;
  intake: Intake;
  storage: Storage;
  clock: FakeClock;
  sync: TicketSync;
  /** The audit log the sync service records its remote writes in. */
  audit: AuditLog;
  cancelled: { ticketId: number; reason: string }[];
  /** Work notes of one incident, markers stripped, in the order ServiceNow stored them. */
  notes(sysId: string): string[];
  /** The sys_id the outbox created or the ticket came from. */
  sysIdOf(ticket: Ticket): Promise<string | undefined>;
}

export async function harness(options: TicketSyncOptions = {}, fake?: FakeServiceNow): Promise<Harness> {
  const server = fake ?? (await startFake());
  const intake = await makeIntake();
  const storage = intake.ctx.storage;
  const clock = createFakeClock(Date.parse("2025-05-14T09:30:00Z"));
  const cancelled: { ticketId: number; reason: string }[] = [];
  const audit = createAuditLog(intake.ctx);
  const sync = createTicketSync(
    {
      storage,
      audit,
      events: intake.ctx.events,
      logger: pino({ enabled: false }),
      connector: snConnector(server.url, () => clock.date()),
      target: "servicenow",
      ingest: (input) => intake.tickets.ingest(input, { autoExecute: false }),
      async cancelSessions(ticket, reason) {
        cancelled.push({ ticketId: ticket.id, reason });
      },
      setStatus: (id, status, reason) => intake.tickets.setStatus(id, status, reason),
      clock,
      random: () => 0.5,
    },
    { manual: true, ...options },
  );
  await sync.start();
  return {
    fake: server,
    intake,
    storage,
    clock,
    sync,
    audit,
    cancelled,
    notes: (sysId) =>
      server.journal
        .filter((j) => j.element_id === sysId && j.element === "work_notes")
        .map((j) => j.value.replace(/\n\n\[runwarden-note:[0-9a-f]+\]$/, "")),
    async sysIdOf(ticket) {
      if (ticket.source === "servicenow") return ticket.externalId ?? undefined;
      return storage.getValue(`sync:servicenow:ref:${ticket.id}`);
    },
  };
}

/** Writes a session with one step, as the executor does, and announces it. */
export async function startSession(
  h: Harness,
  ticket: Ticket,
): Promise<{ sessionId: number; stepId: number }> {
  const now = new Date(h.clock.now()).toISOString();
  const { session, steps } = await h.storage.createSession(
    {
      ticketId: ticket.id,
      runbookId: 1,
      runbookKey: "restart-web",
      runbookRevision: 1,
      status: "running",
      phase: "main",
      dryRun: false,
      startedBy: "engine",
      fingerprint: ticket.fingerprint,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      error: null,
      lease: null,
    },
    [
      {
        index: 0,
        phase: "main",
        name: "restart",
        command: "systemctl restart web",
        rendered: "systemctl restart web",
        language: "sh",
        connection: "local",
        requiresApproval: false,
        severity: "low_risk",
        idempotent: true,
        status: "running",
        attempts: 1,
        exitCode: null,
        stdout: "",
        stderr: "",
        startedAt: now,
        finishedAt: null,
        error: null,
      },
    ],
  );
  h.intake.ctx.events.emit("session:created", {
    sessionId: session.id,
    ticketId: ticket.id,
    runbookId: 1,
    dryRun: false,
  });
  return { sessionId: session.id, stepId: steps[0]!.id };
}

/** Announces the end of the session started by `startSession`. */
export function finishSession(h: Harness, ticket: Ticket, ids: { sessionId: number; stepId: number }): void {
  const { events } = h.intake.ctx;
  events.emit("step:finished", {
    sessionId: ids.sessionId,
    stepId: ids.stepId,
    name: "restart",
    status: "succeeded",
    exitCode: 0,
    durationMs: 120,
  });
  events.emit("session:finished", {
    sessionId: ids.sessionId,
    ticketId: ticket.id,
    status: "succeeded",
    error: null,
  });
}
