import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import servicenow from "../../../connectors/servicenow/src/index.js";
import type { FakeServiceNow } from "../../../connectors/servicenow/test/fake-servicenow.js";
import { createEngine, type Engine } from "../../src/engine.js";
import { defineConnector, type TicketingConnector } from "../../src/plugin.js";
import { GROUP, PASSWORD, startFake } from "./support.js";

let engine: Engine | undefined;
let fake: FakeServiceNow;
afterEach(async () => {
  await engine?.close();
  await fake?.close();
});

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A ticketing connector whose calls wait for their signal; `signals` keeps each call's. */
function waitingDesk() {
  const signals: Record<string, AbortSignal> = {};
  const wait = (name: string, signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signals[name] = signal;
      signal.addEventListener("abort", () => reject(new Error(`${name} aborted`)), { once: true });
    });
  const connector = defineConnector({
    kind: "ticketing",
    name: "waiting-desk",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["create", "update", "comment", "pull-changes"],
    create: (): TicketingConnector => ({
      create: (_ticket, { signal }) => wait("create", signal),
      update: (_ref, _change, { signal }) => wait("update", signal),
      comment: (_ref, _text, { signal }) => wait("comment", signal),
      pullChanges: ({ signal }) => wait("pullChanges", signal),
    }),
  });
  return { connector, signals };
}

describe("createEngine sync signals", () => {
  it("ends an inbound pull at its timeout through the call's one signal", async () => {
    const desk = waitingDesk();
    engine = await createEngine({
      connectors: [desk.connector],
      sync: { ticketing: "waiting-desk", manual: true, pullTimeoutMs: 100 },
    });
    await engine.start();
    const started = performance.now();
    await expect(engine.sync!.poll()).rejects.toThrow("pullChanges aborted");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((desk.signals.pullChanges!.reason as Error).name).toBe("TimeoutError");
  });

  it("aborts a delivery in flight through its one signal when the engine closes", async () => {
    const desk = waitingDesk();
    engine = await createEngine({
      connectors: [desk.connector],
      sync: { ticketing: "waiting-desk", manual: true, scope: "all", deliveryTimeoutMs: 60_000 },
    });
    await engine.start();
    await engine.tickets.ingest({ title: "Disk full on db-01", source: "csv" });
    await engine.sync!.settled();
    const flushing = engine.sync!.flush();
    await until(
      async () => desk.signals.create,
      (signal) => signal !== undefined,
    );
    expect(desk.signals.create!.aborted).toBe(false);
    const closing = engine.close();
    engine = undefined;
    await closing;
    await flushing;
    expect(desk.signals.create!.aborted).toBe(true);
    expect((desk.signals.create!.reason as Error | undefined)?.name).not.toBe("TimeoutError");
  });
});

describe("createEngine sync", () => {
  it("brings an incident in, asks for approval in a work note, and cancels the session when a person closes the incident", async () => {
    fake = await startFake();
    const now = new Date();
    fake.clock.now = now.toISOString().slice(0, 19).replace("T", " ");
    fake.incidents.push({
      sys_id: "c".repeat(32),
      number: "INC0030001",
      short_description: "Disk full on db-01",
      description: "disk full: /var at 100% on db-01",
      state: "1",
      impact: "1",
      urgency: "1",
      priority: "1",
      assignment_group: GROUP,
      correlation_id: "",
      correlation_display: "",
      close_code: "",
      close_notes: "",
      sys_created_on: fake.clock.now,
      sys_updated_on: fake.clock.now,
    });
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        {
          connector: servicenow,
          config: {
            instanceUrl: fake.url,
            auth: { type: "basic", username: "runwarden.integration", password: PASSWORD },
            pull: { assignmentGroups: [GROUP] },
          },
        },
      ],
      sync: { ticketing: "servicenow", pollIntervalMs: 100, idleMs: 50 },
    });
    const author = { id: "author", roles: ["admin" as const] };
    await engine.runbooks.create(
      "---\nmatch:\n  keywords: [disk full]\nauto_execute: true\n---\n# Clean disk\n\n## Main Steps\n- `echo cleaning` (name: clean, requires_approval: true)\n",
      { actor: author, status: "approved" },
    );
    await engine.start();

    const [ticket] = await until(
      async () => (await engine!.tickets.list({ source: "servicenow" })).items,
      (items) => items.length === 1,
    );
    const [session] = await until(
      async () => (await engine!.executions.list({ ticketId: ticket!.id })).items,
      (items) => items[0]?.status === "awaiting_approval",
    );
    const notes = () => fake.journal.filter((j) => j.element_id === "c".repeat(32)).map((j) => j.value);
    await until(
      async () => notes(),
      (values) => values.some((v) => v.startsWith("Approval needed")),
    );

    fake.clock.now = new Date(Date.now() + 2_000).toISOString().slice(0, 19).replace("T", " ");
    Object.assign(fake.incidents[0]!, {
      state: "7",
      close_code: "Solved (Permanently)",
      sys_updated_on: fake.clock.now,
    });
    const cancelled = await until(
      () => engine!.executions.get(session!.id),
      (detail) => detail.session.status === "cancelled",
    );
    expect(cancelled.session.error).toMatch(/closed in servicenow/);
    await until(
      () => engine!.tickets.get(ticket!.id),
      (t) => t.status === "closed",
    );
    expect(notes().filter((v) => v.startsWith("Approval needed"))).toHaveLength(1);
    expect(fake.incidents[0]!.state).toBe("7");
  });

  it("starts syncing a ticketing connector configured through the config API while the engine runs", async () => {
    fake = await startFake();
    const now = new Date();
    fake.clock.now = now.toISOString().slice(0, 19).replace("T", " ");
    fake.incidents.push({
      sys_id: "d".repeat(32),
      number: "INC0030002",
      short_description: "Disk full on db-02",
      description: "disk full on db-02",
      state: "1",
      impact: "2",
      urgency: "2",
      priority: "3",
      assignment_group: GROUP,
      correlation_id: "",
      correlation_display: "",
      close_code: "",
      close_notes: "",
      sys_created_on: fake.clock.now,
      sys_updated_on: fake.clock.now,
    });
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        {
          connector: servicenow,
          notConfigured: { needs: ["instanceUrl"], hint: "configure it in the dashboard" },
        },
      ],
      // No `ticketing`: the sync follows configuration.
      sync: { pollIntervalMs: 100, idleMs: 50 },
    });
    await engine.start();
    expect(engine.sync).toBeUndefined();

    await engine.connectorConfigs.put("ticketing", "servicenow", {
      instanceUrl: fake.url,
      auth: { type: "basic", username: "runwarden.integration", password: PASSWORD },
      pull: { assignmentGroups: [GROUP] },
    });
    expect(engine.sync?.target).toBe("servicenow");
    const [ticket] = await until(
      async () => (await engine!.tickets.list({ source: "servicenow" })).items,
      (items) => items.length === 1,
    );
    expect(ticket).toMatchObject({ externalId: "d".repeat(32), title: "Disk full on db-02" });
  });

  it("syncs the only configured ticketing connector when no name is given", async () => {
    fake = await startFake();
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        {
          connector: servicenow,
          config: {
            instanceUrl: fake.url,
            auth: { type: "basic", username: "runwarden.integration", password: PASSWORD },
            pull: { assignmentGroups: [GROUP] },
          },
        },
      ],
      sync: { manual: true },
    });
    expect(engine.sync?.target).toBe("servicenow");
  });
});
