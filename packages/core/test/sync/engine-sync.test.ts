import { afterEach, describe, expect, it } from "vitest";
import servicenow from "../../../connectors/servicenow/src/index.js";
import type { FakeServiceNow } from "../../../connectors/servicenow/test/fake-servicenow.js";
import { createEngine, type Engine } from "../../src/engine.js";
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
});
