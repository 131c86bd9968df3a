import { afterEach, describe, expect, it } from "vitest";
import type { Ticket } from "../../src/domain.js";
import type { EngineEventMap } from "../../src/events.js";
import { backoffMs, outboxKey } from "../../src/sync/index.js";
import { finishSession, type Harness, harness, PASSWORD, startSession } from "./support.js";

let h: Harness;
afterEach(async () => {
  await h?.sync.close();
  await h?.fake.close();
});

async function ticket(title: string, source = "prometheus"): Promise<Ticket> {
  return (
    await h.intake.tickets.ingest(
      { title, source, service: "web", environment: "prod", severity: "high" },
      { autoExecute: false },
    )
  ).ticket;
}

/** Runs one whole session on the ticket and waits until its rows are in the outbox. */
async function runSession(t: Ticket): Promise<void> {
  const ids = await startSession(h, t);
  finishSession(h, t, ids);
  await h.intake.tickets.setStatus(t.id, "resolved", "runbook succeeded");
  await h.sync.settled();
}

describe("outboxKey", () => {
  it("is deterministic for the same event", () => {
    expect(outboxKey("servicenow", 7, "step-finished", 12, 2)).toBe("servicenow:7:step-finished:12:2");
  });
});

describe("backoffMs", () => {
  it("doubles per attempt with equal jitter and honours retryAfterMs when it is longer", () => {
    const s = { baseDelayMs: 1_000, maxDelayMs: 60_000 };
    expect(backoffMs(1, s, () => 0)).toBe(500);
    expect(backoffMs(1, s, () => 0.999999)).toBe(1_000);
    expect(backoffMs(3, s, () => 0.5)).toBe(3_000);
    expect(backoffMs(20, s, () => 1)).toBe(60_000);
    expect(backoffMs(1, s, () => 0.5, 7_000)).toBe(7_000);
  });
});

describe("createTicketSync outbound", () => {
  it("creates the remote incident once and delivers every note in event order per ticket", async () => {
    h = await harness();
    const a = await ticket("Disk full on db-01");
    const b = await ticket("High CPU on web-02");
    await runSession(a);
    await runSession(b);

    const delivered = await h.sync.flush();
    expect(delivered).toBe(10);
    expect(h.fake.incidents).toHaveLength(2);
    for (const t of [a, b]) {
      const sysId = await h.sysIdOf(t);
      expect(sysId).toMatch(/^[0-9a-f]{32}$/);
      const notes = h.notes(sysId!);
      expect(notes).toHaveLength(4);
      expect(notes[0]).toMatch(/^Runwarden analysis: category/);
      expect(notes[1]).toMatch(/^Runwarden started runbook "restart-web" revision 1/);
      expect(notes[2]).toBe('Step "restart" succeeded (exit 0) in 120 ms.');
      expect(notes[3]).toMatch(/^Runwarden session \d+ \(runbook "restart-web"\) succeeded\.$/);
      const incident = h.fake.incidents.find((i) => i.sys_id === sysId)!;
      expect(incident.state).toBe("6");
      expect(incident.close_code).toBe("Solution provided");
    }
    expect(await h.storage.outbox.count({ status: "pending" })).toBe(0);
  });

  it("records each remote write in the audit log with the connector's description, never the password", async () => {
    h = await harness();
    const t = await ticket("Disk full on db-01");
    await runSession(t);
    await h.sync.flush();
    const sysId = await h.sysIdOf(t);
    const { items } = await h.audit.list({ objectType: "ticket", objectId: t.id, order: "asc" });
    const writes = items.filter((e) => e.action.startsWith("remote_ticket."));
    expect(writes.map((e) => e.action)).toEqual([
      "remote_ticket.created",
      "remote_ticket.commented",
      "remote_ticket.commented",
      "remote_ticket.commented",
      "remote_ticket.commented",
      "remote_ticket.updated",
    ]);
    const url = new URL(h.fake.url);
    expect(writes[0]!.details).toMatchObject({
      target: "servicenow",
      operation: "create",
      externalId: sysId,
      description: `servicenow ${url.host}: create an incident for ticket ${t.id} (correlation_id from the idempotency key)`,
    });
    expect(writes[1]!.details.description).toMatch(
      new RegExp(`^servicenow ${url.host}: add a work note of \\d+ characters to incident ${sysId}$`),
    );
    expect(writes[5]!.details.description).toBe(
      `servicenow ${url.host}: update incident ${sysId} (state → resolved)`,
    );
    expect(JSON.stringify(items)).not.toContain(PASSWORD);
  });

  it("writes nothing for a ticket from another source that nothing acted on", async () => {
    h = await harness();
    const t = await ticket("Just noise");
    await h.intake.tickets.setStatus(t.id, "needs_human", "nobody knows");
    await h.sync.settled();
    expect(await h.storage.outbox.count({ ticketId: t.id })).toBe(0);
    expect(await h.sync.flush()).toBe(0);
    expect(h.fake.incidents).toHaveLength(0);
  });

  it("enqueues one row per event when the same events are emitted again", async () => {
    h = await harness();
    const t = await ticket("Disk full on db-01");
    const ids = await startSession(h, t);
    finishSession(h, t, ids);
    await h.sync.settled();
    const rows = await h.storage.outbox.count({ ticketId: t.id });
    // A replay: the same facts announced a second time.
    h.intake.ctx.events.emit("session:created", {
      sessionId: ids.sessionId,
      ticketId: t.id,
      runbookId: 1,
      dryRun: false,
    });
    finishSession(h, t, ids);
    await h.sync.settled();
    expect(await h.storage.outbox.count({ ticketId: t.id })).toBe(rows);
    await h.sync.flush();
    expect(h.notes((await h.sysIdOf(t))!)).toHaveLength(4);
  });

  it("never delivers a ticket's next item before the failing one, and retries it after its backoff (503)", async () => {
    h = await harness({ baseDelayMs: 1_000 });
    const t = await ticket("Disk full on db-01");
    await runSession(t);
    h.fake.failNext(2, { status: 503, body: { error: { message: "Service Unavailable" } } });

    expect(await h.sync.flush()).toBe(0);
    const [first] = await h.storage.outbox.find({ where: { ticketId: t.id }, order: "asc", limit: 1 });
    expect(first).toMatchObject({ attempts: 1, status: "pending" });
    expect(first!.lastError).toMatch(/^RW_ERR_CONNECTOR_UNREACHABLE/);
    // attempt 1: 1 s with equal jitter at random 0.5 → 750 ms.
    expect(Date.parse(first!.nextAttemptAt) - h.clock.now()).toBe(750);
    expect(h.fake.incidents).toHaveLength(0);

    await h.clock.advance(749);
    expect(await h.sync.flush()).toBe(0);
    await h.clock.advance(1);
    expect(await h.sync.flush()).toBe(0); // the second 503
    const [again] = await h.storage.outbox.find({ where: { ticketId: t.id }, order: "asc", limit: 1 });
    expect(again!.attempts).toBe(2);
    expect(Date.parse(again!.nextAttemptAt) - h.clock.now()).toBe(1_500);

    await h.clock.advance(1_500);
    expect(await h.sync.flush()).toBe(5);
    const notes = h.notes((await h.sysIdOf(t))!);
    expect(notes.map((n) => n.slice(0, 20))).toEqual([
      "Runwarden analysis: ",
      "Runwarden started ru",
      'Step "restart" succe',
      "Runwarden session 1 ",
    ]);
  });

  it("waits as long as a 429's Retry-After asks, and other tickets are not held up", async () => {
    h = await harness();
    const slow = await ticket("Disk full on db-01");
    await runSession(slow);
    h.fake.failNext(1, {
      status: 429,
      headers: { "Retry-After": "7" },
      body: { error: { message: "Too many" } },
    });
    expect(await h.sync.flush()).toBe(0);
    const [head] = await h.storage.outbox.find({ where: { ticketId: slow.id }, order: "asc", limit: 1 });
    expect(head!.lastError).toMatch(/^RW_ERR_CONNECTOR_RATE_LIMITED/);
    expect(Date.parse(head!.nextAttemptAt) - h.clock.now()).toBe(7_000);

    const other = await ticket("High CPU on web-02");
    await runSession(other);
    expect(await h.sync.flush()).toBe(5);
    expect(h.notes((await h.sysIdOf(other))!)).toHaveLength(4);
    expect(await h.sysIdOf(slow)).toBeUndefined();

    await h.clock.advance(6_999);
    expect(await h.sync.flush()).toBe(0);
    await h.clock.advance(1);
    expect(await h.sync.flush()).toBe(5);
    expect(h.notes((await h.sysIdOf(slow))!)).toHaveLength(4);
  });

  it("dead-letters an item after maxAttempts, emits it, then moves on to the ticket's next item", async () => {
    h = await harness({ maxAttempts: 3, baseDelayMs: 100 });
    const dead: EngineEventMap["outbox:dead-lettered"][] = [];
    h.intake.ctx.events.on("outbox:dead-lettered", (e) => dead.push(e));
    const t = await ticket("Disk full on db-01");
    await runSession(t);
    h.fake.failNext(3, { status: 503, body: {} });
    expect(await h.sync.flush()).toBe(0);
    await h.clock.advance(10_000);
    expect(await h.sync.flush()).toBe(0);
    await h.clock.advance(10_000);
    // The third failure kills the head; the ticket's other items go out in the same pass.
    expect(await h.sync.flush()).toBe(4);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ ticketId: t.id, target: "servicenow", kind: "comment", attempts: 3 });
    expect(dead[0]!.error).toMatch(/^RW_ERR_CONNECTOR_UNREACHABLE/);
    const letters = await h.sync.deadLetters();
    expect(letters.map((l) => l.id)).toEqual([dead[0]!.itemId]);

    expect(h.notes((await h.sysIdOf(t))!)).toHaveLength(3);

    await h.sync.requeue(dead[0]!.itemId);
    expect(await h.sync.flush()).toBe(1);
    expect(h.notes((await h.sysIdOf(t))!)).toHaveLength(4);
  });

  it("dead-letters at once an item the target rejects as invalid", async () => {
    h = await harness();
    const t = await ticket("Disk full on db-01");
    await runSession(t);
    await h.sync.flush();
    const sysId = (await h.sysIdOf(t))!;
    h.fake.incidents.splice(0); // someone deleted the incident: 404
    await h.intake.tickets.setStatus(t.id, "needs_human", "reopened by a person");
    await h.sync.settled();
    await h.sync.flush();
    const [letter] = await h.sync.deadLetters();
    expect(letter).toMatchObject({ ticketId: t.id, kind: "status", attempts: 1 });
    expect(letter!.lastError).toMatch(/^RW_ERR_CONNECTOR_NOT_FOUND/);
    expect(sysId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("sends only a ticket's current status when several changes are pending", async () => {
    h = await harness();
    const t = await ticket("Disk full on db-01");
    await startSession(h, t);
    await h.intake.tickets.setStatus(t.id, "executing", "running");
    await h.intake.tickets.setStatus(t.id, "needs_human", "step failed");
    await h.sync.settled();
    const patches = () =>
      h.fake.server.requests.filter((r) => r.method === "PATCH" && r.body.includes('"state"'));
    await h.sync.flush();
    expect(patches().map((r) => JSON.parse(r.body).state)).toEqual(["2"]);
    const rows = await h.storage.outbox.find({ where: { ticketId: t.id, status: "delivered" } });
    expect(rows.filter((r) => r.lastError?.startsWith("superseded"))).toHaveLength(1);
  });

  it("delivers on its own after start() when not manual, retrying on the clock", async () => {
    h = await harness({ manual: false, pollIntervalMs: 0, idleMs: 60_000 });
    const delivered: number[] = [];
    h.intake.ctx.events.on("outbox:delivered", (e) => delivered.push(e.itemId));
    h.fake.failNext(1, { status: 503, body: {} });
    const t = await ticket("Disk full on db-01");
    await runSession(t);
    await waitFor(() => h.storage.outbox.count({ status: "pending" }).then((n) => n === 5));
    await waitFor(async () => {
      const [head] = await h.storage.outbox.find({ where: { status: "pending" }, order: "asc", limit: 1 });
      return head?.attempts === 1 && (head.lastError ?? "").startsWith("RW_ERR_CONNECTOR_UNREACHABLE");
    });
    await h.clock.advance(750);
    await waitFor(() => Promise.resolve(delivered.length === 5));
    expect(h.notes((await h.sysIdOf(t))!)).toHaveLength(4);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
