import { createServer } from "node:net";
import { createTestContext, testConnector, testTicketingIdempotency } from "@runwarden/connector-testkit";
import type { Ticket, TicketingConnector } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import zendesk from "../src/index.js";
import { externalIdFor, noteMarker } from "../src/internal/tickets.js";
import { type FakeZendesk, fakeZendesk } from "./fake-zendesk.js";

const EMAIL = "runwarden@acme.example";
const TOKEN = "zd-api-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv";
const ACCESS_TOKEN = "zd-oauth-access-token-4f1c9a";

let fake: FakeZendesk;
const started: FakeZendesk[] = [];
let nowMs = Date.parse("2025-05-14T09:30:00Z");

afterEach(async () => {
  for (const server of started.splice(0)) await server.close();
  nowMs = Date.parse("2025-05-14T09:30:00Z");
});

function create(config: Record<string, unknown> = {}): TicketingConnector {
  const parsed = zendesk.configSchema.parse({
    url: fake.url,
    auth: { type: "token", email: EMAIL, token: TOKEN },
    ...config,
  });
  return zendesk.create(parsed, createTestContext({ now: () => new Date(nowMs) }).ctx) as TicketingConnector;
}

async function start(options: Parameters<typeof fakeZendesk>[0]): Promise<FakeZendesk> {
  const server = await fakeZendesk(options);
  started.push(server);
  return server;
}
const tokenAuth = () => start({ auth: "token", email: EMAIL, token: TOKEN });
const opts = (key: string) => ({ idempotencyKey: key, signal: AbortSignal.timeout(5_000) });

function ticket(overrides: Partial<Ticket> = {}): Ticket {
  return {
    id: 7,
    version: 1,
    title: "High CPU on web-01",
    description: "CPU usage over 90% for 5m.",
    severity: "critical",
    environment: "prod",
    service: "checkout",
    source: "datadog",
    externalId: "148275309:host:web-01",
    fingerprint: "datadog:148275309:host:web-01",
    status: "analyzed",
    occurrences: 1,
    metaData: {},
    receivedAt: "2025-05-14T09:12:30Z",
    lastSeenAt: "2025-05-14T09:12:30Z",
    updatedAt: "2025-05-14T09:12:30Z",
    analysis: null,
    statusReason: null,
    ...overrides,
  };
}

describe("config", () => {
  it("builds the API URL from the subdomain and refuses a config with neither subdomain nor url", () => {
    const auth = { type: "token", email: EMAIL, token: TOKEN };
    expect(zendesk.configSchema.safeParse({ subdomain: "acme", auth }).success).toBe(true);
    expect(zendesk.configSchema.safeParse({ auth }).success).toBe(false);
    expect(zendesk.configSchema.safeParse({ subdomain: "acme.evil.example/x", auth }).success).toBe(false);
  });

  it("links the created ticket to https://{subdomain}.zendesk.com/agent/tickets/{id}", () => {
    const connector = zendesk.create(
      zendesk.configSchema.parse({ subdomain: "acme", auth: { type: "oauth", accessToken: ACCESS_TOKEN } }),
      createTestContext().ctx,
    ) as TicketingConnector;
    expect(connector.describe!({ operation: "comment", ref: { externalId: "35436" }, text: "x" })).toBe(
      "zendesk acme.zendesk.com: add an internal note of 1 characters to ticket 35436",
    );
  });
});

describe("create", () => {
  it("opens an incident with priority, tags, an internal first comment and the key as external_id", async () => {
    fake = await tokenAuth();
    const ref = await create({
      defaults: { tags: ["runwarden", "auto_remediation"], groupId: 98738 },
    }).create(ticket(), opts("zendesk:7:create"));
    expect(fake.tickets).toHaveLength(1);
    const made = fake.tickets[0]!;
    expect(ref).toEqual({ externalId: String(made.id), url: `${fake.url}/agent/tickets/${made.id}` });
    expect(made).toMatchObject({
      subject: "High CPU on web-01",
      priority: "urgent",
      type: "incident",
      status: "open",
      tags: ["runwarden", "auto_remediation"],
      group_id: 98738,
      external_id: "zendesk:7:create",
    });
    expect(made.comments[0]).toMatchObject({ public: false });
    expect(made.comments[0]!.body).toContain("CPU usage over 90% for 5m.");
    expect(made.comments[0]!.body).toContain("Runwarden ticket #7 (datadog 148275309:host:web-01)");
    const post = fake.server.requests.find((r) => r.method === "POST")!;
    expect(post.headers["content-type"]).toMatch(/^application\/json/);
    expect(post.headers.authorization).toBe(
      `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString("base64")}`,
    );
  });

  it("finds the ticket by external_id first, so a retried create returns the same ticket", async () => {
    fake = await tokenAuth();
    const connector = create();
    const first = await connector.create(ticket(), opts("zendesk:7:create"));
    const again = await create().create(ticket(), opts("zendesk:7:create"));
    expect(again).toEqual(first);
    expect(fake.tickets).toHaveLength(1);
    expect(fake.server.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    const lookup = fake.server.requests.find((r) => r.method === "GET" && r.path === "/api/v2/tickets.json")!;
    expect(lookup.query.get("external_id")).toBe("zendesk:7:create");
  });

  it("hashes keys that are too long or not printable into the external_id", () => {
    expect(externalIdFor("zendesk:7:create")).toBe("zendesk:7:create");
    expect(externalIdFor("a key with spaces")).toMatch(/^rw:[0-9a-f]{40}$/);
    expect(externalIdFor("x".repeat(300))).toMatch(/^rw:[0-9a-f]{40}$/);
  });

  it("maps each severity to a Zendesk priority", async () => {
    fake = await tokenAuth();
    const seen = [];
    for (const severity of ["critical", "high", "medium", "low", "info"] as const) {
      await create().create(ticket({ severity }), opts(`sev-${severity}`));
      seen.push(fake.tickets.at(-1)!.priority);
    }
    expect(seen).toEqual(["urgent", "high", "normal", "low", "low"]);
  });

  it("signs in with an OAuth bearer token", async () => {
    fake = await start({ auth: "oauth", accessToken: ACCESS_TOKEN });
    await create({ auth: { type: "oauth", accessToken: ACCESS_TOKEN } }).create(ticket(), opts("k"));
    expect(fake.server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(fake.tickets).toHaveLength(1);
  });
});

describe("update", () => {
  it("sets the mapped status and passes writable fields through", async () => {
    fake = await tokenAuth();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.update(
      ref,
      { status: "resolved", fields: { tags: ["runwarden", "fixed"] } },
      opts("k1-u"),
    );
    expect(fake.tickets[0]).toMatchObject({ status: "solved", tags: ["runwarden", "fixed"] });
    await connector.update(ref, { status: "needs_human" }, opts("k1-u2"));
    expect(fake.tickets[0]!.status).toBe("open");
    await create({ statuses: { needs_human: "pending" } }).update(
      ref,
      { status: "needs_human" },
      opts("k1-u3"),
    );
    expect(fake.tickets[0]!.status).toBe("pending");
  });

  it("refuses unknown statuses, fields that are not writable and references that are not ticket ids", async () => {
    fake = await tokenAuth();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    for (const [target, change] of [
      [ref, { status: "exploded" }],
      [ref, { fields: { id: 1 } }],
      [ref, { fields: { requester_id: 1 } }],
      [{ externalId: "35436/../../users" }, { status: "resolved" }],
    ] as const) {
      await expect(connector.update(target, change, opts("x"))).rejects.toMatchObject({
        code: "RW_ERR_INPUT_INVALID",
      });
    }
    expect(fake.server.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });
});

describe("comment", () => {
  it("adds an internal note once, even when retried, and reads every page of comments", async () => {
    fake = await tokenAuth();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    const made = fake.tickets[0]!;
    for (let i = 0; i < 150; i++)
      made.comments.push({ id: 9_000 + i, body: `filler ${i}`, public: true, created_at: "" });
    await connector.comment(ref, "Approved by alice: restarting nginx.", opts("note-1"));
    await connector.comment(ref, "Approved by alice: restarting nginx.", opts("note-1"));
    const notes = made.comments.filter((c) => c.body.includes(noteMarker("note-1")));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ public: false });
    expect(notes[0]!.body).toMatch(
      /^Approved by alice: restarting nginx\.\n\n\[runwarden-note:[0-9a-f]{24}\]$/,
    );
    const pages = fake.server.requests.filter((r) => r.path.endsWith("/comments.json"));
    expect(pages.length).toBeGreaterThanOrEqual(4);
  });
});

describe("pullChanges", () => {
  it("starts at the look-back window, keeps Zendesk's cursor and reports solved tickets as closed", async () => {
    fake = await tokenAuth();
    fake.clock.now = "2025-05-14T09:10:00Z";
    const a = fake.open({
      subject: "Disk full on db-01",
      description: "/var at 100%",
      priority: "high",
      tags: ["ops"],
    });
    fake.open({ subject: "Printer on fire", tags: ["facilities"] });
    const first = await create({ pull: { tags: ["ops"] } }).pullChanges!({
      signal: AbortSignal.timeout(5_000),
    });
    const exportCall = fake.server.requests.find(
      (r) => r.path === "/api/v2/incremental/tickets/cursor.json",
    )!;
    expect(exportCall.query.get("start_time")).toBe(String(Math.floor(nowMs / 1000) - 24 * 3600));
    expect(exportCall.query.get("exclude_deleted")).toBe("true");
    expect(first.changes).toEqual([
      {
        externalId: String(a.id),
        kind: "created",
        updatedAt: "2025-05-14T09:10:00Z",
        ticket: expect.objectContaining({
          title: "Disk full on db-01",
          description: "/var at 100%",
          severity: "high",
          source: "zendesk",
          externalId: String(a.id),
          resolved: false,
          metaData: expect.objectContaining({
            status: "new",
            tags: ["ops"],
            url: `${fake.url}/agent/tickets/${a.id}`,
          }),
        }),
      },
    ]);

    const quiet = await create().pullChanges!({ cursor: first.cursor, signal: AbortSignal.timeout(5_000) });
    expect(quiet.changes).toEqual([]);

    fake.clock.now = "2025-05-14T09:20:00Z";
    fake.touch(a.id, { status: "solved" });
    const solved = await create({ pull: { tags: ["other"] } }).pullChanges!({
      cursor: quiet.cursor,
      signal: AbortSignal.timeout(5_000),
    });
    expect(solved.changes).toMatchObject([
      { externalId: String(a.id), kind: "closed", ticket: { resolved: true } },
    ]);
    const again = await create().pullChanges!({ cursor: solved.cursor, signal: AbortSignal.timeout(5_000) });
    expect(again.changes).toEqual([]);
  });

  it("follows the export until end_of_stream, within maxPages, and resumes where it stopped", async () => {
    fake = await tokenAuth();
    for (let i = 0; i < 7; i++) fake.open({ subject: `T${i}` });
    const first = await create({ pull: { pageSize: 2, maxPages: 2 } }).pullChanges!({
      signal: AbortSignal.timeout(5_000),
    });
    expect(first.changes.map((c) => c.ticket?.title)).toEqual(["T0", "T1", "T2", "T3"]);
    const rest = await create({ pull: { pageSize: 2, maxPages: 5 } }).pullChanges!({
      cursor: first.cursor,
      signal: AbortSignal.timeout(5_000),
    });
    expect(rest.changes.map((c) => c.ticket?.title)).toEqual(["T4", "T5", "T6"]);
  });

  it("filters on groups, and refuses a cursor it did not make", async () => {
    fake = await tokenAuth();
    fake.open({ subject: "ours", group_id: 98738 });
    fake.open({ subject: "theirs", group_id: 1 });
    const pulled = await create({ pull: { groupIds: [98738] } }).pullChanges!({
      signal: AbortSignal.timeout(5_000),
    });
    expect(pulled.changes.map((c) => c.ticket?.title)).toEqual(["ours"]);
    await expect(
      create().pullChanges!({ cursor: "garbage", signal: AbortSignal.timeout(5_000) }),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("errors and rate limits", () => {
  it("maps 401 to AUTH without echoing the token", async () => {
    fake = await tokenAuth();
    const error = await create({ auth: { type: "token", email: EMAIL, token: "wrong-token" } })
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it("maps 429 to RATE_LIMITED with Retry-After as retryAfterMs", async () => {
    fake = await tokenAuth();
    fake.failNext(1, { status: 429, headers: { "Retry-After": "42" }, body: { error: "TooManyRequests" } });
    await expect(create().pullChanges!({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      retryable: true,
      details: { retryAfterMs: 42_000 },
    });
  });

  it("makes no call before a 429's Retry-After has passed, whichever operation comes next", async () => {
    fake = await tokenAuth();
    const connector = create();
    fake.failNext(1, { status: 429, headers: { "Retry-After": "30" }, body: { error: "TooManyRequests" } });
    await expect(connector.pullChanges!({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
    });
    const calls = fake.server.requests.length;
    nowMs += 10_000;
    await expect(connector.create(ticket(), opts("k"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      details: { retryAfterMs: 20_000 },
    });
    expect(fake.server.requests.length).toBe(calls);
    nowMs += 20_000;
    await connector.create(ticket(), opts("k"));
    expect(fake.tickets).toHaveLength(1);
  });

  it("stops calling once x-rate-limit-remaining reaches 0, until the window has passed", async () => {
    fake = await tokenAuth();
    const connector = create();
    await connector.create(ticket(), opts("k"));
    fake.rateLimit.remaining = 0;
    expect(await connector.healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({ ok: true });
    const calls = fake.server.requests.length;
    await expect(
      connector.comment({ externalId: fake.tickets[0]!.id.toString() }, "n", opts("n")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      details: { retryAfterMs: 60_000 },
    });
    expect(fake.server.requests.length).toBe(calls);
    fake.rateLimit.remaining = 500;
    nowMs += 61_000;
    await connector.comment({ externalId: fake.tickets[0]!.id.toString() }, "n", opts("n"));
    expect(fake.tickets[0]!.comments).toHaveLength(2);
  });

  it("maps 5xx to UNREACHABLE and reports health", async () => {
    fake = await tokenAuth();
    expect(await create().healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({ ok: true });
    fake.failNext(1, { status: 503, body: { error: "down" } });
    await expect(
      create().update({ externalId: "1" }, { status: "resolved" }, opts("u")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
    });
    const bad = await create({ auth: { type: "token", email: EMAIL, token: "nope" } }).healthCheck!({
      signal: AbortSignal.timeout(5_000),
    });
    expect(bad).toMatchObject({ ok: false, reason: "auth" });
  });
});

describe("fake Zendesk", () => {
  it("refuses writes without JSON, outside the ticket envelope, or with undocumented fields", async () => {
    fake = await tokenAuth();
    const auth = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString("base64")}`;
    const post = (body: string, type = "application/json") =>
      fetch(`${fake.url}/api/v2/tickets.json`, {
        method: "POST",
        headers: { authorization: auth, "content-type": type },
        body,
      });
    expect((await post('{"ticket":{"comment":{"body":"x"}}}', "text/plain")).status).toBe(415);
    expect((await post('{"subject":"x"}')).status).toBe(422);
    expect((await post('{"ticket":{"comment":{"body":"x"},"severity":"urgent"}}')).status).toBe(422);
    expect((await post('{"ticket":{"comment":{"body":"x"},"status":"resolved"}}')).status).toBe(422);
    expect((await post('{"ticket":{"comment":{"body":"x"}}}')).status).toBe(201);
  });
});

// ── contract suites ────────────────────────────────────────────────────────────────────────────

const closed = await new Promise<string>((resolve) => {
  const probe = createServer();
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(`http://127.0.0.1:${port}`));
  });
});

testConnector(zendesk, {
  config: { url: closed, auth: { type: "token", email: EMAIL, token: TOKEN } },
  invalidConfigs: [
    { url: closed },
    { url: "not a url", auth: { type: "token", email: EMAIL, token: TOKEN } },
    { subdomain: "acme", auth: { type: "token", email: "not-an-email", token: TOKEN } },
  ],
  secrets: [TOKEN],
  operations: {
    create: (instance, { signal }) =>
      (instance as TicketingConnector).create(ticket(), { idempotencyKey: "c", signal }),
    update: (instance, { signal }) =>
      (instance as TicketingConnector).update(
        { externalId: "35436" },
        { status: "resolved" },
        { idempotencyKey: "u", signal },
      ),
    comment: (instance, { signal }) =>
      (instance as TicketingConnector).comment({ externalId: "35436" }, "note", {
        idempotencyKey: "n",
        signal,
      }),
    pullChanges: (instance, { signal }) => (instance as TicketingConnector).pullChanges!({ signal }),
  },
});

describe("against the fake Zendesk", () => {
  let instance: FakeZendesk;
  beforeAll(async () => {
    instance = await fakeZendesk({ auth: "token", email: EMAIL, token: TOKEN });
  });
  afterAll(() => instance.close());

  testTicketingIdempotency(zendesk, {
    config: () => ({ url: instance.url, auth: { type: "token" as const, email: EMAIL, token: TOKEN } }),
    ticket: ticket(),
    countTickets: () => instance.tickets.length,
    countComments: (ref) =>
      instance.tickets.find((t) => String(t.id) === ref.externalId)?.comments.length ?? 0,
  });
});
