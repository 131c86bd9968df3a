import { createTestContext, testConnector, testTicketingIdempotency } from "@runwarden/connector-testkit";
import type { Ticket, TicketingConnector } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import servicedeskPlus from "../src/index.js";
import { escapeHtml, noteMarker, requestMarker } from "../src/internal/requests.js";
import { type FakeSdp, fakeSdp } from "./fake-sdp.js";

const AUTHTOKEN = "6F2A1B3C-0D4E-4F5A-8B6C-5D7E8F9A0B1C";
const CLIENT_SECRET = "zoho-client-secret-7a1f";
const REFRESH = "1000.refresh-token-5b2c9e";

let fake: FakeSdp;
const started: FakeSdp[] = [];
let nowMs = Date.parse("2025-05-14T09:30:00Z");

afterEach(async () => {
  for (const server of started.splice(0)) await server.close();
  nowMs = Date.parse("2025-05-14T09:30:00Z");
});

function create(config: Record<string, unknown> = {}): TicketingConnector {
  const parsed = servicedeskPlus.configSchema.parse({
    baseUrl: fake.url,
    auth: { type: "authtoken", authtoken: AUTHTOKEN },
    defaults: { group: "Linux Ops", requester: "Remediation Bot" },
    ...config,
  });
  return servicedeskPlus.create(
    parsed,
    createTestContext({ now: () => new Date(nowMs) }).ctx,
  ) as TicketingConnector;
}

async function start(options: Parameters<typeof fakeSdp>[0]): Promise<FakeSdp> {
  const server = await fakeSdp(options);
  started.push(server);
  return server;
}
const onprem = () => start({ mode: "onprem", authtoken: AUTHTOKEN });
const cloud = (tokenTtlS?: number) =>
  start({
    mode: "cloud",
    clientId: "1000.CLIENT",
    clientSecret: CLIENT_SECRET,
    refreshToken: REFRESH,
    tokenTtlS,
  });
const oauth = () => ({
  auth: {
    type: "oauth",
    clientId: "1000.CLIENT",
    clientSecret: CLIENT_SECRET,
    refreshToken: REFRESH,
    accountsUrl: fake.url,
  },
});
const opts = (key: string) => ({ idempotencyKey: key, signal: AbortSignal.timeout(5_000) });
const signal = () => AbortSignal.timeout(5_000);

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
  it("posts the request as an input_data form with the v3 Accept header and the authtoken", async () => {
    fake = await onprem();
    const ref = await create().create(ticket(), opts("servicedesk-plus:7:create"));
    expect(fake.requests).toHaveLength(1);
    const request = fake.requests[0]!;
    expect(ref.externalId).toBe(request.id);
    expect(ref.url).toBe(`${fake.url}/WorkOrder.do?woMode=viewWO&woID=${request.id}`);
    expect(request).toMatchObject({
      subject: "High CPU on web-01",
      priority: "High",
      group: "Linux Ops",
      request_type: "Incident",
      requester: "Remediation Bot",
    });
    expect(request.description).toContain("CPU usage over 90% for 5m.");
    expect(request.description).toContain("Runwarden ticket #7 (datadog 148275309:host:web-01)");
    expect(request.description).toContain(requestMarker("servicedesk-plus:7:create"));
    const post = fake.server.requests.find((r) => r.method === "POST")!;
    expect(post.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect([...new URLSearchParams(post.body).keys()]).toEqual(["input_data"]);
    expect(post.headers.accept).toBe("application/vnd.manageengine.sdp.v3+json");
    expect(post.headers.authtoken).toBe(AUTHTOKEN);
  });

  it("finds the request by its marker, so a retried create returns the same request", async () => {
    fake = await onprem();
    const connector = create();
    const first = await connector.create(ticket(), opts("servicedesk-plus:7:create"));
    const again = await create().create(ticket(), opts("servicedesk-plus:7:create"));
    expect(again.externalId).toBe(first.externalId);
    expect(fake.requests).toHaveLength(1);
    const search = fake.server.requests.find((r) => r.method === "GET")!;
    expect(JSON.parse(search.query.get("input_data")!)).toMatchObject({
      list_info: {
        search_criteria: [
          { field: "description", condition: "contains", value: "[runwarden:servicedesk-plus:7:create]" },
        ],
      },
    });
  });

  it("uses the configured correlation field instead of the description", async () => {
    fake = await onprem();
    const connector = create({ correlationField: "udf_sline_301" });
    await connector.create(ticket(), opts("k-1"));
    await connector.create(ticket(), opts("k-1"));
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.udf_fields).toEqual({ udf_sline_301: "k-1" });
    expect(fake.requests[0]!.description).not.toContain("[runwarden:");
  });

  it("escapes ticket text into the HTML description", async () => {
    fake = await onprem();
    await create().create(ticket({ description: '<img src=x onerror="alert(1)"> & more' }), opts("k"));
    expect(fake.requests[0]!.description).toContain(
      "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more",
    );
    expect(escapeHtml("a\nb")).toBe("a<br>b");
  });

  it("refuses a priority name the instance does not have, as REJECTED", async () => {
    fake = await onprem();
    await expect(
      create({ severities: { critical: { priority: "P1" } } }).create(ticket(), opts("k")),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { status: 400 } });
  });
});

describe("update", () => {
  it("changes the status by name and resolves with a resolution", async () => {
    fake = await onprem();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.update(ref, { status: "executing" }, opts("u1"));
    expect(fake.requests[0]!.status).toBe("In Progress");
    await connector.update(ref, { status: "resolved", fields: { priority: "Urgent" } }, opts("u2"));
    expect(fake.requests[0]).toMatchObject({
      status: "Resolved",
      priority: "Urgent",
      resolution: "Closed by Runwarden.",
    });
  });

  it("closes through the close endpoint with closure info, once", async () => {
    fake = await onprem();
    const connector = create({ closure: { closureCode: "Success", closureComments: "Restarted nginx." } });
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.update(ref, { status: "closed" }, opts("close"));
    await connector.update(ref, { status: "closed" }, opts("close"));
    expect(fake.requests[0]).toMatchObject({
      status: "Closed",
      closure_info: {
        closure_code: { name: "Success" },
        closure_comments: "Restarted nginx.",
        requester_ack_resolution: false,
      },
    });
    const closes = fake.server.requests.filter((r) => r.path.endsWith("/close"));
    expect(closes).toHaveLength(1);
    expect(closes[0]!.method).toBe("PUT");
  });

  it("refuses unknown statuses, unsafe fields and references that are not request ids", async () => {
    fake = await onprem();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    for (const change of [
      { status: "exploded" },
      { fields: { 'status"': "x" } },
      { fields: { status: "Closed" } },
      { fields: { description: "x" } },
      { fields: { priority: { nested: 1 } } },
    ]) {
      await expect(connector.update(ref, change, opts("x"))).rejects.toMatchObject({
        code: "RW_ERR_INPUT_INVALID",
      });
    }
    await expect(
      connector.update({ externalId: "../admin" }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    expect(fake.server.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });

  it("maps a missing request to RW_ERR_CONNECTOR_NOT_FOUND", async () => {
    fake = await onprem();
    await expect(
      create().update({ externalId: "42" }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });
});

describe("comment", () => {
  it("adds a private note once per idempotency key, wrapped as note on-premises", async () => {
    fake = await onprem();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted <nginx>.", opts("note-1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted <nginx>.", opts("note-1"));
    await connector.comment(ref, "CPU back to 35%.", opts("note-2"));
    expect(fake.requests[0]!.notes.map((n) => [n.description, n.show_to_requester])).toEqual([
      [`Remediation run 7f3c: restarted &lt;nginx&gt;.<br><br>[${noteMarker("note-1")}]`, false],
      [`CPU back to 35%.<br><br>[${noteMarker("note-2")}]`, false],
    ]);
  });

  it("wraps the note as request_note on Cloud", async () => {
    fake = await cloud();
    const connector = create(oauth());
    const ref = await connector.create(ticket(), opts("k1"));
    expect(ref.url).toBe(`${fake.url}/ui/requests/${ref.externalId}/details`);
    await connector.comment(ref, "note", opts("n"));
    await connector.comment(ref, "note", opts("n"));
    expect(fake.requests[0]!.notes).toHaveLength(1);
    const post = fake.server.requests.filter((r) => r.path.endsWith("/notes") && r.method === "POST");
    expect(Object.keys(JSON.parse(new URLSearchParams(post[0]!.body).get("input_data")!))).toEqual([
      "request_note",
    ]);
  });
});

describe("pullChanges", () => {
  async function seed(count: number) {
    const connector = create();
    for (let i = 0; i < count; i++) {
      fake.clock.now = Date.parse(`2025-05-14T09:1${i}:00Z`);
      await connector.create(ticket({ id: i, title: `Request ${i}` }), opts(`seed-${i}`));
    }
    return connector;
  }

  it("pages with start_index/row_count and returns a cursor that skips what was read", async () => {
    fake = await onprem();
    const connector = await seed(5);
    const first = await create({ pull: { pageSize: 2 } }).pullChanges!({ signal: signal() });
    expect(first.changes.map((c) => c.ticket?.title)).toEqual([
      "Request 0",
      "Request 1",
      "Request 2",
      "Request 3",
      "Request 4",
    ]);
    expect(first.changes.every((c) => c.kind === "created")).toBe(true);
    expect(first.changes[0]).toMatchObject({
      updatedAt: "2025-05-14T09:10:00.000Z",
      ticket: { source: "servicedesk-plus", severity: "high", metaData: { correlationId: "seed-0" } },
    });
    const lists = fake.server.requests
      .filter((r) => r.path === "/api/v3/requests" && r.method === "GET")
      .map((r) => JSON.parse(r.query.get("input_data")!).list_info)
      .filter((l) => l.sort_field === "last_updated_time");
    expect(lists.map((l) => [l.start_index, l.row_count])).toEqual([
      [1, 2],
      [3, 2],
      [5, 2],
    ]);
    expect(lists[0].search_criteria).toEqual([
      {
        field: "last_updated_time",
        condition: "greater than",
        value: String(Date.parse("2025-05-13T09:30:00Z") - 1),
      },
    ]);

    const quiet = await create().pullChanges!({ cursor: first.cursor, signal: signal() });
    expect(quiet.changes).toEqual([]);

    fake.clock.now = Date.parse("2025-05-14T09:20:00Z");
    const last = fake.requests[4]!;
    await connector.update({ externalId: last.id }, { status: "closed" }, opts("remote"));
    const closed = await create().pullChanges!({ cursor: quiet.cursor, signal: signal() });
    expect(closed.changes).toMatchObject([
      { externalId: last.id, kind: "closed", ticket: { resolved: true } },
    ]);
  });

  it("reads a request updated in the same millisecond as the cursor exactly once", async () => {
    fake = await onprem();
    const connector = await seed(1);
    const first = await create().pullChanges!({ signal: signal() });
    await connector.create(ticket({ id: 99, title: "Same ms" }), opts("same-ms"));
    const second = await create().pullChanges!({ cursor: first.cursor, signal: signal() });
    expect(second.changes.map((c) => [c.ticket?.title, c.kind])).toEqual([["Same ms", "created"]]);
    const third = await create().pullChanges!({ cursor: second.cursor, signal: signal() });
    expect(third.changes).toEqual([]);
  });

  it("filters on the configured groups", async () => {
    fake = await onprem();
    await seed(1);
    const other = create({ defaults: { group: "Windows Ops" } });
    await other.create(ticket({ title: "Other group" }), opts("other"));
    const result = await create({ pull: { groups: ["Linux Ops"] } }).pullChanges!({ signal: signal() });
    expect(result.changes.map((c) => c.ticket?.title)).toEqual(["Request 0"]);
  });

  it("refuses a cursor it did not make", async () => {
    fake = await onprem();
    await expect(
      create().pullChanges!({ cursor: '{"t":"1 OR 1=1"}', signal: signal() }),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("errors", () => {
  it("maps 429 to RATE_LIMITED with retryAfterMs and 5xx to UNREACHABLE", async () => {
    fake = await onprem();
    fake.failNext(1, { status: 429, headers: { "Retry-After": "30" }, body: {} });
    await expect(create().pullChanges!({ signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      details: { retryAfterMs: 30_000 },
    });
    fake.failNext(1, { status: 503, body: "down" });
    await expect(create().pullChanges!({ signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
    });
  });

  it("maps a 2xx whose response_status failed to REJECTED", async () => {
    fake = await onprem();
    fake.failNext(1, { status: 200, body: { response_status: [{ status_code: 4000, status: "failed" }] } });
    await expect(create().pullChanges!({ signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { statusCode: 4000 },
    });
  });

  it("maps a refused authtoken to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    fake = await start({ mode: "onprem", authtoken: "another-key" });
    const error = await create()
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { status: 401 } });
    expect(JSON.stringify(error)).not.toContain(AUTHTOKEN);
    expect(await create().healthCheck!({ signal: signal() })).toMatchObject({ ok: false, reason: "auth" });
  });
});

describe("oauth", () => {
  it("refreshes one access token for many calls and again when it expires", async () => {
    fake = await cloud(600);
    const connector = create(oauth());
    await Promise.all([
      connector.create(ticket(), opts("a")),
      connector.create(ticket({ id: 8 }), opts("b")),
    ]);
    expect(await connector.healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
    expect(fake.tokensIssued).toBe(1);
    nowMs += 600_000;
    await connector.pullChanges!({ signal: signal() });
    expect(fake.tokensIssued).toBe(2);
    const api = fake.server.requests.filter((r) => r.path.startsWith("/api/v3"));
    expect(api.every((r) => r.headers.authorization?.startsWith("Zoho-oauthtoken 1000."))).toBe(true);
    expect(api.every((r) => r.headers.authtoken === undefined)).toBe(true);
  });

  it("refreshes once more when the API refuses the cached token", async () => {
    fake = await cloud();
    const connector = create(oauth());
    await connector.pullChanges!({ signal: signal() });
    fake.failNext(1, { status: 401, body: { response_status: { status_code: 4001, status: "failed" } } });
    await connector.pullChanges!({ signal: signal() });
    expect(fake.tokensIssued).toBe(2);
  });

  it("maps Zoho's refusal (200 with an error) to RW_ERR_CONNECTOR_AUTH without the secrets", async () => {
    fake = await start({
      mode: "cloud",
      clientId: "1000.CLIENT",
      clientSecret: "other",
      refreshToken: REFRESH,
    });
    const error = await create(oauth())
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { error: "invalid_code" } });
    expect(JSON.stringify(error)).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(error)).not.toContain(REFRESH);
  });
});

describe("vendorSetup", () => {
  it("lists the ServiceDesk Plus-side steps for on-premises and Cloud, each with a title and text", () => {
    const steps = servicedeskPlus.vendorSetup!({
      webhookUrl: "https://rw.example/api/v1/tickets/webhook/servicedesk-plus",
      baseUrl: "https://rw.example",
    });
    expect(steps.map((s) => s.title)).toEqual(
      expect.arrayContaining(["On-premises: generate its API key", "Cloud: register a Zoho OAuth client"]),
    );
    for (const step of steps) expect(step.title.length * (step.text?.length ?? 0)).toBeGreaterThan(0);
  });
});

describe("describe", () => {
  it("describes each write in one line with the host and the request, never the key or the note", async () => {
    fake = await onprem();
    const connector = create();
    const host = new URL(fake.url).host;
    const ref = { externalId: "100000000000034567" };
    expect(connector.describe!({ operation: "create", ticket: ticket() })).toBe(
      `servicedesk-plus ${host}: create a request for ticket 7 (correlation from the idempotency key)`,
    );
    expect(connector.describe!({ operation: "update", ref, change: { status: "resolved" } })).toBe(
      `servicedesk-plus ${host}: update request ${ref.externalId} (status → resolved)`,
    );
    const note = connector.describe!({ operation: "comment", ref, text: `note ${AUTHTOKEN}` });
    expect(note).toBe(
      `servicedesk-plus ${host}: add a private note of ${5 + AUTHTOKEN.length} characters to request ${ref.externalId}`,
    );
  });
});

const closed = "http://127.0.0.1:9";
testConnector(servicedeskPlus, {
  config: { baseUrl: closed, auth: { type: "authtoken", authtoken: AUTHTOKEN } },
  invalidConfigs: [
    { baseUrl: closed },
    { baseUrl: "not a url", auth: { type: "authtoken", authtoken: "k" } },
    { baseUrl: closed, auth: { type: "authtoken", authtoken: "k" }, pull: { pageSize: 101 } },
    { baseUrl: closed, auth: { type: "authtoken", authtoken: "k" }, correlationField: "subject" },
  ],
  secrets: [AUTHTOKEN],
  operations: {
    create: (instance, { signal }) =>
      (instance as TicketingConnector).create(ticket(), { idempotencyKey: "c", signal }),
    update: (instance, { signal }) =>
      (instance as TicketingConnector).update(
        { externalId: "42" },
        { status: "resolved" },
        { idempotencyKey: "u", signal },
      ),
    comment: (instance, { signal }) =>
      (instance as TicketingConnector).comment({ externalId: "42" }, "note", { idempotencyKey: "n", signal }),
    pullChanges: (instance, { signal }) => (instance as TicketingConnector).pullChanges!({ signal }),
  },
});

describe("contract against the fake on-premises instance", () => {
  let instance: FakeSdp;
  beforeAll(async () => {
    instance = await fakeSdp({ mode: "onprem", authtoken: AUTHTOKEN });
  });
  afterAll(() => instance.close());

  testTicketingIdempotency(servicedeskPlus, {
    config: () => ({ baseUrl: instance.url, auth: { type: "authtoken" as const, authtoken: AUTHTOKEN } }),
    ticket: ticket(),
    countTickets: () => instance.requests.length,
    countComments: (ref) => instance.requests.find((r) => r.id === ref.externalId)?.notes.length ?? 0,
  });
});

describe("contract against the fake Cloud instance", () => {
  let instance: FakeSdp;
  beforeAll(async () => {
    instance = await fakeSdp({
      mode: "cloud",
      clientId: "1000.CLIENT",
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH,
    });
  });
  afterAll(() => instance.close());

  testTicketingIdempotency(servicedeskPlus, {
    config: () => ({
      baseUrl: instance.url,
      auth: {
        type: "oauth" as const,
        clientId: "1000.CLIENT",
        clientSecret: CLIENT_SECRET,
        refreshToken: REFRESH,
        accountsUrl: instance.url,
      },
    }),
    ticket: ticket(),
    countTickets: () => instance.requests.length,
    countComments: (ref) => instance.requests.find((r) => r.id === ref.externalId)?.notes.length ?? 0,
  });
});

describe("the fake refuses what the documented API refuses", () => {
  it("answers 400 to a JSON body, a missing v3 Accept header and a row_count over 100, and 401 to a bearer token", async () => {
    fake = await onprem();
    const headers = { authtoken: AUTHTOKEN, accept: "application/vnd.manageengine.sdp.v3+json" };
    const json = await fetch(`${fake.url}/api/v3/requests`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ request: { subject: "x" } }),
    });
    expect(json.status).toBe(400);
    const noAccept = await fetch(`${fake.url}/api/v3/requests`, { headers: { authtoken: AUTHTOKEN } });
    expect(noAccept.status).toBe(400);
    const big = await fetch(
      `${fake.url}/api/v3/requests?input_data=${encodeURIComponent(JSON.stringify({ list_info: { row_count: 500 } }))}`,
      { headers },
    );
    expect(big.status).toBe(400);
    const bearer = await fetch(`${fake.url}/api/v3/requests`, {
      headers: { accept: headers.accept, authorization: `Bearer ${AUTHTOKEN}` },
    });
    expect(bearer.status).toBe(401);
    expect(fake.requests).toHaveLength(0);
  });
});
