import { createTestContext, testConnector, testTicketingIdempotency } from "@runwarden/connector-testkit";
import type { Ticket, TicketingConnector } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import servicenow from "../src/index.js";
import { correlationId, nextLink, noteMarker } from "../src/internal/table.js";
import { type FakeServiceNow, fakeServiceNow } from "./fake-servicenow.js";

const PASSWORD = "sn-integration-password-42";
const CLIENT_SECRET = "sn-oauth-client-secret-99";
const GROUP = "8a5055c9c61122780043563ef53438e3";

let fake: FakeServiceNow;
const started: FakeServiceNow[] = [];
let nowMs = Date.parse("2025-05-14T09:30:00Z");

afterEach(async () => {
  for (const server of started.splice(0)) await server.close();
  nowMs = Date.parse("2025-05-14T09:30:00Z");
});

function create(config: Record<string, unknown> = {}): TicketingConnector {
  const parsed = servicenow.configSchema.parse({
    instanceUrl: fake.url,
    auth: { type: "basic", username: "runwarden.integration", password: PASSWORD },
    defaults: { assignmentGroup: GROUP, callerId: "runwarden.integration", category: "software" },
    ...config,
  });
  return servicenow.create(
    parsed,
    createTestContext({ now: () => new Date(nowMs) }).ctx,
  ) as TicketingConnector;
}

async function start(options: Parameters<typeof fakeServiceNow>[0]): Promise<FakeServiceNow> {
  const server = await fakeServiceNow(options);
  started.push(server);
  return server;
}
const basic = () => start({ auth: "basic", user: "runwarden.integration", password: PASSWORD });
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
    status: "new",
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

describe("create", () => {
  it("creates an incident with impact/urgency from the severity and the correlation id", async () => {
    fake = await basic();
    const ref = await create().create(ticket(), opts("ticket-7-create"));
    expect(fake.incidents).toHaveLength(1);
    const incident = fake.incidents[0]!;
    expect(ref.externalId).toBe(incident.sys_id);
    expect(ref.url).toBe(`${fake.url}/nav_to.do?uri=incident.do%3Fsys_id%3D${incident.sys_id}`);
    expect(incident).toMatchObject({
      short_description: "High CPU on web-01",
      impact: "1",
      urgency: "1",
      priority: "1",
      assignment_group: GROUP,
      caller_id: "runwarden.integration",
      category: "software",
      correlation_id: "ticket-7-create",
      correlation_display: "Runwarden",
    });
    expect(incident.description).toContain("CPU usage over 90% for 5m.");
    expect(incident.description).toContain("Runwarden ticket #7 (datadog 148275309:host:web-01)");
  });

  it("looks up the correlation id first, so a retried create returns the same incident", async () => {
    fake = await basic();
    const connector = create();
    const first = await connector.create(ticket(), opts("ticket-7-create"));
    const again = await connector.create(ticket(), opts("ticket-7-create"));
    expect(again.externalId).toBe(first.externalId);
    expect(fake.incidents).toHaveLength(1);
    const posts = fake.server.requests.filter((r) => r.method === "POST");
    expect(posts).toHaveLength(1);
  });

  it("hashes keys that could not be used verbatim in an encoded query", async () => {
    fake = await basic();
    const key = "ticket 7^ORDERBYDESCsys_id^active=true";
    expect(correlationId(key)).toMatch(/^rw:[0-9a-f]{40}$/);
    await create().create(ticket(), opts(key));
    await create().create(ticket(), opts(key));
    expect(fake.incidents).toHaveLength(1);
    expect(fake.incidents[0]!.correlation_id).toBe(correlationId(key));
  });

  it("maps each severity to the documented priority", async () => {
    fake = await basic();
    const priorities = [];
    for (const severity of ["critical", "high", "medium", "low", "info"] as const) {
      await create().create(ticket({ severity }), opts(`sev-${severity}`));
      priorities.push(fake.incidents.at(-1)!.priority);
    }
    expect(priorities).toEqual(["1", "2", "3", "4", "5"]);
  });
});

describe("update", () => {
  it("resolves with the close code and notes, and passes plain fields through", async () => {
    fake = await basic();
    const connector = create({ closeCode: "Solved (Permanently)" });
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.update(
      ref,
      { status: "resolved", fields: { close_notes: "Restarted nginx." } },
      opts("k1-resolve"),
    );
    expect(fake.incidents[0]).toMatchObject({
      state: "6",
      close_code: "Solved (Permanently)",
      close_notes: "Restarted nginx.",
    });
    await connector.update(ref, { status: "executing" }, opts("k1-progress"));
    expect(fake.incidents[0]!.state).toBe("2");
  });

  it("refuses unknown statuses, unsafe field names and references that are not sys_ids", async () => {
    fake = await basic();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await expect(connector.update(ref, { status: "exploded" }, opts("x"))).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await expect(connector.update(ref, { fields: { sys_id: "x" } }, opts("x"))).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await expect(connector.update(ref, { fields: { "state^x": "1" } }, opts("x"))).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await expect(
      connector.update(ref, { fields: { state: { nested: 1 } } }, opts("x")),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    await expect(
      connector.update({ externalId: "../sys_user" }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    expect(fake.server.requests.filter((r) => r.method === "PATCH")).toHaveLength(0);
  });

  it("maps a missing incident to RW_ERR_CONNECTOR_NOT_FOUND", async () => {
    fake = await basic();
    await expect(
      create().update({ externalId: "f".repeat(32) }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });
});

describe("comment", () => {
  it("adds a work note once per idempotency key", async () => {
    fake = await basic();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted nginx.", opts("note-1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted nginx.", opts("note-1"));
    await connector.comment(ref, "CPU back to 35%.", opts("note-2"));
    expect(fake.journal.map((j) => j.value)).toEqual([
      `Remediation run 7f3c: restarted nginx.\n\n[${noteMarker("note-1")}]`,
      `CPU back to 35%.\n\n[${noteMarker("note-2")}]`,
    ]);
  });
});

describe("pullChanges", () => {
  async function seed(count: number) {
    const connector = create();
    for (let i = 0; i < count; i++) {
      fake.clock.now = `2025-05-14 09:1${i}:00`;
      await connector.create(ticket({ id: i, title: `Incident ${i}` }), opts(`seed-${i}`));
    }
    return connector;
  }

  it("follows Link rel=next across pages and returns a cursor that skips what was read", async () => {
    fake = await basic();
    const connector = await seed(5);
    const first = await create({ pull: { pageSize: 2 } }).pullChanges!({
      signal: AbortSignal.timeout(5_000),
    });
    expect(first.changes.map((c) => c.ticket?.title)).toEqual([
      "Incident 0",
      "Incident 1",
      "Incident 2",
      "Incident 3",
      "Incident 4",
    ]);
    expect(first.changes.every((c) => c.kind === "created")).toBe(true);
    expect(first.changes[0]).toMatchObject({
      updatedAt: "2025-05-14T09:10:00Z",
      ticket: { source: "servicenow", severity: "critical" },
    });
    const gets = fake.server.requests.filter(
      (r) =>
        r.path === "/api/now/table/incident" &&
        r.method === "GET" &&
        r.query.get("sysparm_fields")?.includes("sys_updated_on"),
    );
    expect(gets.map((r) => r.query.get("sysparm_offset"))).toEqual(["0", "2", "4"]);
    expect(gets[0]!.query.get("sysparm_query")).toBe(
      "sys_updated_on>=2025-05-13 09:30:00^ORDERBYsys_updated_on",
    );

    const quiet = await create().pullChanges!({ cursor: first.cursor, signal: AbortSignal.timeout(5_000) });
    expect(quiet.changes).toEqual([]);

    // Resolved remotely in the same second as the last record read: still picked up, as closed.
    const last = fake.incidents[4]!;
    await connector.update({ externalId: last.sys_id }, { status: "resolved" }, opts("remote"));
    const later = await create().pullChanges!({ cursor: quiet.cursor, signal: AbortSignal.timeout(5_000) });
    expect(later.changes).toHaveLength(0);
    fake.clock.now = "2025-05-14 09:20:00";
    await connector.update({ externalId: last.sys_id }, { status: "closed" }, opts("remote-2"));
    const closed = await create().pullChanges!({ cursor: later.cursor, signal: AbortSignal.timeout(5_000) });
    expect(closed.changes).toMatchObject([
      { externalId: last.sys_id, kind: "closed", ticket: { resolved: true } },
    ]);
  });

  it("reads a record updated in the same second as the cursor exactly once", async () => {
    fake = await basic();
    const connector = await seed(1);
    const first = await create().pullChanges!({ signal: AbortSignal.timeout(5_000) });
    fake.clock.now = "2025-05-14 09:10:00";
    await connector.create(ticket({ id: 99, title: "Same second" }), opts("same-second"));
    const second = await create().pullChanges!({ cursor: first.cursor, signal: AbortSignal.timeout(5_000) });
    expect(second.changes.map((c) => [c.ticket?.title, c.kind])).toEqual([["Same second", "created"]]);
    const third = await create().pullChanges!({ cursor: second.cursor, signal: AbortSignal.timeout(5_000) });
    expect(third.changes).toEqual([]);
  });

  it("filters on assignment groups and the configured query", async () => {
    fake = await basic();
    await seed(1);
    await create({ pull: { assignmentGroups: [GROUP], query: "active=true" } }).pullChanges!({
      signal: AbortSignal.timeout(5_000),
    });
    const query = fake.server.requests.at(-1)!.query.get("sysparm_query");
    expect(query).toBe(
      `sys_updated_on>=2025-05-13 09:30:00^assignment_groupIN${GROUP}^active=true^ORDERBYsys_updated_on`,
    );
  });

  it("refuses a cursor it did not make and a Link to another origin", async () => {
    fake = await basic();
    await expect(
      create().pullChanges!({ cursor: '{"t":"1 OR 1=1"}', signal: AbortSignal.timeout(5_000) }),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await seed(1);
    fake.server.route("GET /api/now/table/incident", () => ({
      headers: { Link: '<https://evil.example/api/now/table/incident?sysparm_offset=1>;rel="next"' },
      body: { result: [{ sys_id: "a".repeat(32), sys_updated_on: "2025-05-14 09:10:00" }] },
    }));
    await expect(create().pullChanges!({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });
});

describe("errors", () => {
  it("maps 429 to RATE_LIMITED with retryAfterMs from Retry-After, else X-RateLimit-Reset", async () => {
    fake = await basic();
    fake.failNext(1, {
      status: 429,
      headers: { "Retry-After": "30" },
      body: { error: { message: "Rate limit exceeded" } },
    });
    await expect(create().pullChanges!({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      details: { retryAfterMs: 30_000 },
    });
    fake.failNext(1, {
      status: 429,
      headers: { "X-RateLimit-Reset": String(nowMs / 1000 + 12), "X-RateLimit-Rule": "r" },
    });
    await expect(create().pullChanges!({ signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      details: { retryAfterMs: 12_000 },
    });
  });

  it("maps a refused password to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    fake = await start({ auth: "basic", user: "runwarden.integration", password: "another-password" });
    const error = await create()
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { status: 401 } });
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
    expect(await create().healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({
      ok: false,
      reason: "auth",
    });
  });
});

describe("oauth", () => {
  const oauth = { auth: { type: "oauth", clientId: "runwarden", clientSecret: CLIENT_SECRET } };

  it("gets one token for many calls and renews it when it expires", async () => {
    fake = await start({ auth: "oauth", clientId: "runwarden", clientSecret: CLIENT_SECRET, tokenTtlS: 600 });
    const connector = create(oauth);
    await Promise.all([
      connector.create(ticket(), opts("a")),
      connector.create(ticket({ id: 8 }), opts("b")),
    ]);
    expect(await connector.healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({ ok: true });
    expect(fake.tokensIssued).toBe(1);
    nowMs += 600_000;
    await connector.pullChanges!({ signal: AbortSignal.timeout(5_000) });
    expect(fake.tokensIssued).toBe(2);
  });

  it("fetches a fresh token once when the instance rejects the cached one", async () => {
    fake = await start({ auth: "oauth", clientId: "runwarden", clientSecret: CLIENT_SECRET });
    const connector = create(oauth);
    await connector.pullChanges!({ signal: AbortSignal.timeout(5_000) });
    fake.failNext(1, { status: 401, body: { error: { message: "token revoked" } } });
    await connector.pullChanges!({ signal: AbortSignal.timeout(5_000) });
    expect(fake.tokensIssued).toBe(2);
  });

  it("maps a refused client secret to RW_ERR_CONNECTOR_AUTH", async () => {
    fake = await start({ auth: "oauth", clientId: "runwarden", clientSecret: "other-secret" });
    const error = await create(oauth)
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error)).not.toContain(CLIENT_SECRET);
  });
});

describe("nextLink", () => {
  it("finds rel=next among the Link header's entries", () => {
    const header = '<https://x/a?o=0>;rel="first",<https://x/a?o=2>;rel="next", <https://x/a?o=4>;rel="last"';
    expect(nextLink(header)).toBe("https://x/a?o=2");
    expect(nextLink('<https://x/a?o=0>;rel="first"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

const closed = "http://127.0.0.1:9";
testConnector(servicenow, {
  config: {
    instanceUrl: closed,
    auth: { type: "oauth", clientId: "runwarden", clientSecret: CLIENT_SECRET },
  },
  invalidConfigs: [
    { instanceUrl: closed },
    { instanceUrl: "not a url", auth: { type: "basic", username: "u", password: "p" } },
  ],
  secrets: [CLIENT_SECRET],
  operations: {
    create: (instance, { signal }) =>
      (instance as TicketingConnector).create(ticket(), { idempotencyKey: "c", signal }),
    update: (instance, { signal }) =>
      (instance as TicketingConnector).update(
        { externalId: "a".repeat(32) },
        { status: "resolved" },
        { idempotencyKey: "u", signal },
      ),
    comment: (instance, { signal }) =>
      (instance as TicketingConnector).comment({ externalId: "a".repeat(32) }, "note", {
        idempotencyKey: "n",
        signal,
      }),
    pullChanges: (instance, { signal }) => (instance as TicketingConnector).pullChanges!({ signal }),
  },
});

describe("contract against the fake instance", () => {
  let instance: FakeServiceNow;
  beforeAll(async () => {
    instance = await fakeServiceNow({ auth: "basic", user: "runwarden.integration", password: PASSWORD });
  });
  afterAll(() => instance.close());

  testTicketingIdempotency(servicenow, {
    config: () => ({
      instanceUrl: instance.url,
      auth: { type: "basic" as const, username: "runwarden.integration", password: PASSWORD },
    }),
    ticket: ticket(),
    countTickets: () => instance.incidents.length,
    countComments: (ref) => instance.journal.filter((j) => j.element_id === ref.externalId).length,
  });
});

describe("describe", () => {
  it("describes each write in one line with the instance host and the incident, never the password or the note", async () => {
    fake = await basic();
    const connector = create();
    const host = new URL(fake.url).host;
    const ref = { externalId: "a".repeat(32) };
    expect(connector.describe!({ operation: "create", ticket: ticket() })).toBe(
      `servicenow ${host}: create an incident for ticket 7 (correlation_id from the idempotency key)`,
    );
    expect(connector.describe!({ operation: "update", ref, change: { status: "resolved" } })).toBe(
      `servicenow ${host}: update incident ${ref.externalId} (state → resolved)`,
    );
    const note = connector.describe!({ operation: "comment", ref, text: `secret-ish note ${PASSWORD}` });
    expect(note).toBe(
      `servicenow ${host}: add a work note of ${16 + PASSWORD.length} characters to incident ${ref.externalId}`,
    );
    expect(note).not.toContain(PASSWORD);
  });
});
