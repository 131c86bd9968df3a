import prometheus from "@runwarden/connector-prometheus";
import { createEngine, type Engine } from "@runwarden/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  cpuRunbook,
  diskAlert,
  diskRunbook,
  memoryAlert,
  memoryRunbook,
  stormNotification,
} from "../src/servers/remediation-fixtures.js";
import { prometheusToken } from "../src/servers/remediation-protocol.js";

// The rows count remediations: if an alert stopped matching its runbook (or stopped being
// auto-executed), row 7 would report lost work and the storm row would test nothing. These
// tests pin the bench's inputs to the engine's behaviour.

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function benchEngine(): Promise<Engine> {
  engine = await createEngine({
    vault: { key: Buffer.alloc(32, 1) },
    connectors: [
      { connector: prometheus, config: { webhookAuth: { type: "bearer", token: prometheusToken } } },
    ],
  });
  const actor = { id: "bench-test", roles: ["admin" as const] };
  await engine.runbooks.create(diskRunbook, { actor, status: "approved" });
  await engine.runbooks.create(cpuRunbook, { actor, status: "approved" });
  await engine.runbooks.create(memoryRunbook, { actor, status: "approved" });
  await engine.start();
  return engine;
}

/** Records every finished session by ticket, from before anything is ingested. */
function finishedSessions(e: Engine): Map<number, string> {
  const finished = new Map<number, string>();
  e.events.on("session:finished", (event) => finished.set(event.ticketId, event.status));
  return finished;
}

describe("diskAlert", () => {
  it("auto-executes the disk runbook to success when ingested as the generic source does", async () => {
    const e = await benchEngine();
    const finished = finishedSessions(e);
    const body = JSON.parse(diskAlert(7)) as Record<string, string>;
    const { ticket } = await e.tickets.ingest({
      title: body.title!,
      description: body.description!,
      severity: "high",
      environment: body.environment!,
      service: body.service!,
      source: "generic",
      externalId: body.external_id!,
      fingerprint: body.fingerprint!,
    });
    expect(ticket.analysis?.decision.action).toBe("auto_execute");
    const sessions = await e.storage.sessions.find({ where: { ticketId: ticket.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.runbookKey).toBe("bench-free-disk");
    await vi.waitFor(() => expect(finished.get(ticket.id)).toBe("succeeded"), { timeout: 10_000 });
  });

  it("gives every alert its own fingerprint and external id", () => {
    const a = JSON.parse(diskAlert(1)) as Record<string, unknown>;
    const b = JSON.parse(diskAlert(998)) as Record<string, unknown>;
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.external_id).not.toBe(b.external_id);
    expect(a.title).not.toBe(b.title);
  });
});

describe("memoryAlert", () => {
  it("starts the gated memory runbook, whose session waits at a pending approval", async () => {
    const e = await benchEngine();
    const requested: number[] = [];
    e.events.on("approval:requested", (event) => requested.push(event.sessionId));
    const body = JSON.parse(memoryAlert(11)) as Record<string, string>;
    const { ticket } = await e.tickets.ingest({
      title: body.title!,
      description: body.description!,
      severity: "high",
      environment: body.environment!,
      service: body.service!,
      source: "generic",
      externalId: body.external_id!,
      fingerprint: body.fingerprint!,
    });
    const sessions = await e.storage.sessions.find({ where: { ticketId: ticket.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.runbookKey).toBe("bench-memory-gated");
    await vi.waitFor(() => expect(requested).toEqual([sessions[0]!.id]), { timeout: 10_000 });
    const pending = await e.approvals.list({ status: "pending" });
    expect(pending.items.map((a) => a.sessionId)).toEqual([sessions[0]!.id]);
  });

  it("differs from the disk alert of the same index in fingerprint and service", () => {
    const memory = JSON.parse(memoryAlert(1)) as Record<string, string>;
    const disk = JSON.parse(diskAlert(1)) as Record<string, string>;
    expect(memory.fingerprint).not.toBe(disk.fingerprint);
    expect(memory.service).not.toBe(disk.service);
  });
});

describe("stormNotification", () => {
  it("is accepted by the prometheus connector and remediated by the cpu runbook", async () => {
    const e = await benchEngine();
    const finished = finishedSessions(e);
    const rawBody = stormNotification(3);
    const result = await e.tickets.ingestWebhook("prometheus", {
      headers: { authorization: `Bearer ${prometheusToken}`, "content-type": "application/json" },
      body: JSON.parse(rawBody),
      rawBody,
    });
    expect(result.tickets).toHaveLength(1);
    const ticket = result.tickets[0]!.ticket;
    expect(ticket.fingerprint).toBe(`prometheus:bench${"3".padStart(11, "0")}`);
    expect(ticket.analysis?.decision.action).toBe("auto_execute");
    const sessions = await e.storage.sessions.find({ where: { ticketId: ticket.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.runbookKey).toBe("bench-cpu-hog");
    await vi.waitFor(() => expect(finished.get(ticket.id)).toBe("succeeded"), { timeout: 10_000 });
  });

  it("repeats one fingerprint per value and differs across values", () => {
    const fingerprintOf = (n: number) =>
      (JSON.parse(stormNotification(n)) as { alerts: { fingerprint: string }[] }).alerts[0]!.fingerprint;
    expect(fingerprintOf(42)).toBe(fingerprintOf(42));
    expect(new Set(Array.from({ length: 100 }, (_, i) => fingerprintOf(i))).size).toBe(100);
  });
});
