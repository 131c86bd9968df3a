import { createEngine, type Engine } from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import zendesk, { zendeskSignature, zendeskWebhook } from "../src/index.js";
import { type FakeZendesk, fakeZendesk } from "./fake-zendesk.js";

const EMAIL = "runwarden@acme.example";
const TOKEN = "zd-sync-token-7c21";

let engine: Engine | undefined;
let fake: FakeZendesk | undefined;
afterEach(async () => {
  await engine?.close();
  await fake?.close();
  engine = undefined;
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

describe("zendesk with core's ticket sync", () => {
  it("brings a ticket in, asks for approval in an internal note, and cancels the session when a person solves the ticket", async () => {
    fake = await fakeZendesk({ auth: "token", email: EMAIL, token: TOKEN });
    fake.clock.now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const remote = fake.open({
      subject: "Disk full on db-01",
      description: "disk full: /var at 100%",
      priority: "urgent",
      tags: ["ops"],
    });
    fake.open({ subject: "Disk full on the printer", tags: ["facilities"] });
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        {
          connector: zendesk,
          config: {
            url: fake.url,
            auth: { type: "token", email: EMAIL, token: TOKEN },
            pull: { tags: ["ops"] },
          },
        },
      ],
      sync: { ticketing: "zendesk", pollIntervalMs: 100, idleMs: 50 },
    });
    const author = { id: "author", roles: ["admin" as const] };
    await engine.runbooks.create(
      "---\nmatch:\n  keywords: [disk full]\nauto_execute: true\n---\n# Clean disk\n\n## Main Steps\n- `echo cleaning` (name: clean, requires_approval: true)\n",
      { actor: author, status: "approved" },
    );
    await engine.start();

    const [ticket] = await until(
      async () => (await engine!.tickets.list({ source: "zendesk" })).items,
      (items) => items.length === 1,
    );
    expect(ticket).toMatchObject({
      externalId: String(remote.id),
      severity: "critical",
      title: "Disk full on db-01",
    });
    const [session] = await until(
      async () => (await engine!.executions.list({ ticketId: ticket!.id })).items,
      (items) => items[0]?.status === "awaiting_approval",
    );
    const notes = () => remote.comments.filter((c) => !c.public).map((c) => c.body);
    await until(
      async () => notes(),
      (values) => values.some((v) => v.startsWith("Approval needed")),
    );

    fake.clock.now = new Date(Date.now() + 2_000).toISOString().replace(/\.\d+Z$/, "Z");
    fake.touch(remote.id, { status: "solved" });
    const cancelled = await until(
      () => engine!.executions.get(session!.id),
      (detail) => detail.session.status === "cancelled",
    );
    expect(cancelled.session.error).toMatch(/closed in zendesk/);
    await until(
      () => engine!.tickets.get(ticket!.id),
      (t) => t.status === "closed",
    );
    expect(notes().filter((v) => v.startsWith("Approval needed"))).toHaveLength(1);
    expect(fake.tickets).toHaveLength(2);
    expect((await engine.tickets.list({ source: "zendesk" })).items).toHaveLength(1);
  });
});

describe("zendesk echo of our own resolution", () => {
  it("keeps the ticket resolved when Zendesk reports back as solved, then closed, the ticket Runwarden solved", async () => {
    fake = await fakeZendesk({ auth: "token", email: EMAIL, token: TOKEN });
    fake.clock.now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const remote = fake.open({ subject: "Disk full on db-02", description: "disk full", tags: ["ops"] });
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        {
          connector: zendesk,
          config: {
            url: fake.url,
            auth: { type: "token", email: EMAIL, token: TOKEN },
            pull: { tags: ["ops"] },
          },
        },
      ],
      sync: { ticketing: "zendesk", pollIntervalMs: 100, idleMs: 50 },
    });
    const author = { id: "author", roles: ["admin" as const] };
    await engine.runbooks.create(
      "---\nmatch:\n  keywords: [disk full]\nauto_execute: true\n---\n# Clean disk\n\n## Main Steps\n- `echo cleaning` (name: clean)\n",
      { actor: author, status: "approved" },
    );
    await engine.start();

    const [ticket] = await until(
      async () => (await engine!.tickets.list({ source: "zendesk" })).items,
      (items) => items.length === 1,
    );
    // The session succeeds and the outbox sets the Zendesk ticket solved: our own write.
    fake.clock.now = new Date(Date.now() + 2_000).toISOString().replace(/\.\d+Z$/, "Z");
    await until(
      async () => remote.status,
      (status) => status === "solved",
    );
    // Zendesk closes solved tickets by itself later.
    fake.clock.now = new Date(Date.now() + 4_000).toISOString().replace(/\.\d+Z$/, "Z");
    fake.touch(remote.id, { status: "closed" });
    const before = (await engine.tickets.get(ticket!.id)).version;
    // Give the poller several cycles to pull both changes.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = await engine.tickets.get(ticket!.id);
    expect(after.status).toBe("resolved");
    expect(after.version).toBe(before);
    const [session] = (await engine.executions.list({ ticketId: ticket!.id })).items;
    expect(session?.status).toBe("succeeded");
  });
});

describe("zendesk webhook and pull together", () => {
  it("keep one local ticket per Zendesk ticket, whichever arrives first", async () => {
    fake = await fakeZendesk({ auth: "token", email: EMAIL, token: TOKEN });
    fake.clock.now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const secret = "zendesk-webhook-signing-secret";
    const config = {
      url: fake.url,
      auth: { type: "token" as const, email: EMAIL, token: TOKEN },
      webhookSecret: secret,
    };
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [
        { connector: zendesk, config },
        { connector: zendeskWebhook, config },
      ],
      sync: { ticketing: "zendesk", manual: true },
    });
    await engine.start();
    const event = (id: number, subject: string) => {
      const body = JSON.stringify({
        type: "zen:event-type:ticket.created",
        id: `evt-${id}`,
        time: fake!.clock.now,
        subject: `zen:ticket:${id}`,
        detail: { id: String(id), subject, description: "", status: "New", priority: "Normal" },
        event: {},
      });
      const at = new Date().toISOString();
      return {
        headers: {
          "x-zendesk-webhook-signature": zendeskSignature(secret, at, body),
          "x-zendesk-webhook-signature-timestamp": at,
        },
        body: JSON.parse(body) as unknown,
        rawBody: body,
      };
    };

    // Webhook first, then the pull sees the same ticket.
    const a = fake.open({ subject: "Webhook first" });
    await engine.tickets.ingestWebhook("zendesk", event(a.id, a.subject));
    // Pull first, then the webhook arrives late.
    const b = fake.open({ subject: "Pull first" });
    await engine.sync!.poll();
    await engine.tickets.ingestWebhook("zendesk", event(b.id, b.subject));
    await engine.sync!.poll();

    const local = (await engine.tickets.list({ source: "zendesk" })).items;
    expect(local.map((t) => t.externalId).sort()).toEqual([String(a.id), String(b.id)].sort());
  });
});
