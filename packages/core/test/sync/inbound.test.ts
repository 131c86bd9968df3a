import { afterEach, describe, expect, it } from "vitest";
import type { FakeIncident } from "../../../connectors/servicenow/test/fake-servicenow.js";
import { cursorKey } from "../../src/sync/index.js";
import { GROUP, type Harness, harness } from "./support.js";

let h: Harness;
afterEach(async () => {
  await h?.sync.close();
  await h?.fake.close();
});

let serial = 0;
function incident(overrides: Partial<FakeIncident> = {}): FakeIncident {
  serial++;
  const sysId = serial.toString(16).padStart(32, "a");
  const at = h.fake.clock.now;
  const row: FakeIncident = {
    sys_id: sysId,
    number: `INC00200${serial}`,
    short_description: `Disk full on db-0${serial}`,
    description: "The /var partition is full.",
    state: "1",
    impact: "1",
    urgency: "2",
    priority: "2",
    assignment_group: GROUP,
    correlation_id: "",
    correlation_display: "",
    close_code: "",
    close_notes: "",
    sys_created_on: at,
    sys_updated_on: at,
    ...overrides,
  };
  h.fake.incidents.push(row);
  return row;
}

describe("createTicketSync inbound", () => {
  it("brings new incidents of the pulled groups in once, and keeps the cursor in the store", async () => {
    h = await harness();
    const first = incident();
    incident({ assignment_group: "0".repeat(32) }); // another group: not pulled
    const polled = await h.sync.poll();
    expect(polled).toMatchObject({ created: 1, closed: 0 });
    const { items } = await h.intake.tickets.list({ source: "servicenow" });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      externalId: first.sys_id,
      title: first.short_description,
      severity: "high",
      source: "servicenow",
    });
    const cursor = await h.storage.getValue(cursorKey("servicenow"));
    expect(JSON.parse(cursor!)).toEqual({ t: first.sys_updated_on, ids: [first.sys_id] });

    // The next poll starts from the stored cursor: nothing new, nothing twice.
    expect(await h.sync.poll()).toMatchObject({ changes: 0, created: 0 });
    h.fake.clock.now = "2025-05-14 09:05:00";
    const second = incident();
    expect(await h.sync.poll()).toMatchObject({ changes: 1, created: 1 });
    expect((await h.intake.tickets.list({ source: "servicenow" })).items.map((t) => t.externalId)).toEqual([
      second.sys_id,
      first.sys_id,
    ]);
  });

  it("applies a replayed batch once when the cursor was not saved (a crash before setValue)", async () => {
    h = await harness();
    incident();
    await h.sync.poll();
    await h.storage.setValue(cursorKey("servicenow"), "");
    const again = await h.sync.poll();
    expect(again.changes).toBe(1);
    expect(again.created).toBe(0);
    expect((await h.intake.tickets.list({ source: "servicenow" })).items).toHaveLength(1);
  });

  it("closes the ticket and cancels what waits on it when a person closes the incident", async () => {
    h = await harness();
    const remote = incident();
    await h.sync.poll();
    const [local] = (await h.intake.tickets.list({ source: "servicenow" })).items;
    h.fake.clock.now = "2025-05-14 09:10:00";
    Object.assign(remote, {
      state: "7",
      close_code: "Solved (Permanently)",
      sys_updated_on: h.fake.clock.now,
    });

    expect(await h.sync.poll()).toMatchObject({ changes: 1, closed: 1 });
    expect(h.cancelled).toEqual([{ ticketId: local!.id, reason: "closed in servicenow" }]);
    const closed = await h.intake.tickets.get(local!.id);
    expect(closed.status).toBe("closed");
    // The close came from ServiceNow: nothing is written back.
    await h.sync.settled();
    const rows = await h.storage.outbox.find({ where: { ticketId: local!.id } });
    expect(rows.map((r) => r.kind)).toEqual(["comment"]); // the analysis note, no state change
    expect(await h.sync.poll()).toMatchObject({ closed: 0 });
    expect(h.cancelled).toHaveLength(1);
  });

  it("does not bring back in an incident the outbox created for a local ticket", async () => {
    h = await harness();
    const t = (
      await h.intake.tickets.ingest(
        { title: "High CPU on web-01", source: "prometheus" },
        { autoExecute: false },
      )
    ).ticket;
    await h.sync.settled();
    await h.storage.outbox.insert({
      target: "servicenow",
      ticketId: t.id,
      idempotencyKey: "servicenow:manual:1",
      kind: "comment",
      payload: { text: "hello" },
      status: "pending",
      attempts: 0,
      nextAttemptAt: new Date(h.clock.now()).toISOString(),
      lastError: null,
      createdAt: new Date(h.clock.now()).toISOString(),
    });
    await h.sync.flush();
    expect(h.fake.incidents).toHaveLength(1);
    expect(h.fake.incidents[0]!.correlation_id).toBe(`servicenow:${t.id}:create`);
    expect(await h.sync.poll()).toMatchObject({ changes: 1, created: 0 });
    expect((await h.intake.tickets.list({ source: "servicenow" })).items).toHaveLength(0);

    // Closed in ServiceNow: the local ticket it was made for is closed.
    Object.assign(h.fake.incidents[0]!, { state: "6", sys_updated_on: "2025-05-14 09:20:00" });
    expect(await h.sync.poll()).toMatchObject({ closed: 1 });
    expect((await h.intake.tickets.get(t.id)).status).toBe("closed");
  });

  it("keeps the ticket resolved when the remote close is the echo of the resolution it delivered", async () => {
    h = await harness();
    const remote = incident();
    await h.sync.poll();
    const [local] = (await h.intake.tickets.list({ source: "servicenow" })).items;
    await h.intake.tickets.setStatus(local!.id, "resolved", "runbook succeeded");
    await h.sync.settled();
    h.fake.clock.now = "2025-05-14 09:10:00";
    await h.sync.flush();
    expect(remote.state).toBe("6"); // our own write: Resolved

    // The pull brings our resolution back as a close: not a person closing it.
    expect(await h.sync.poll()).toMatchObject({ changes: 1, closed: 0 });
    expect(h.cancelled).toEqual([]);
    expect((await h.intake.tickets.get(local!.id)).status).toBe("resolved");

    // The tool closing what we resolved (ServiceNow Resolved → Closed, Zendesk solved → closed) is an echo too.
    h.fake.clock.now = "2025-05-14 09:20:00";
    Object.assign(remote, { state: "7", sys_updated_on: h.fake.clock.now });
    expect(await h.sync.poll()).toMatchObject({ changes: 1, closed: 0 });
    expect((await h.intake.tickets.get(local!.id)).status).toBe("resolved");
  });

  it("still closes the ticket when a person closes it after a status write that kept it open", async () => {
    h = await harness();
    const remote = incident();
    await h.sync.poll();
    const [local] = (await h.intake.tickets.list({ source: "servicenow" })).items;
    await h.intake.tickets.setStatus(local!.id, "needs_human", "step failed");
    await h.sync.settled();
    h.fake.clock.now = "2025-05-14 09:10:00";
    await h.sync.flush();
    h.fake.clock.now = "2025-05-14 09:20:00";
    Object.assign(remote, {
      state: "7",
      close_code: "Solved (Permanently)",
      sys_updated_on: h.fake.clock.now,
    });

    expect(await h.sync.poll()).toMatchObject({ closed: 1 });
    expect(h.cancelled).toEqual([{ ticketId: local!.id, reason: "closed in servicenow" }]);
    expect((await h.intake.tickets.get(local!.id)).status).toBe("closed");
  });
});
