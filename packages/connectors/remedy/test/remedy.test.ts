import { createTestContext, testConnector, testTicketingIdempotency } from "@runwarden/connector-testkit";
import type { Ticket, TicketingConnector } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import remedy from "../src/index.js";
import { arDateMs, workLogMarker } from "../src/internal/incidents.js";
import { type FakeRemedy, fakeRemedy, priorityOf } from "./fake-remedy.js";

const USER = "svc_runwarden";
const PASSWORD = "remedy-password-3c9f";

let fake: FakeRemedy;
const started: FakeRemedy[] = [];
let nowMs = Date.parse("2025-05-14T09:30:00Z");

afterEach(async () => {
  for (const server of started.splice(0)) await server.close();
  nowMs = Date.parse("2025-05-14T09:30:00Z");
});

function create(config: Record<string, unknown> = {}): TicketingConnector {
  const parsed = remedy.configSchema.parse({
    serverUrl: fake.url,
    auth: { username: USER, password: PASSWORD },
    customer: { firstName: "Remediation", lastName: "Bot" },
    defaults: { company: "Calbro Services", supportOrganization: "IT Support", assignedGroup: "Linux Ops" },
    ...config,
  });
  return remedy.create(parsed, createTestContext({ now: () => new Date(nowMs) }).ctx) as TicketingConnector;
}

async function start(password = PASSWORD): Promise<FakeRemedy> {
  const server = await fakeRemedy({ username: USER, password });
  started.push(server);
  return server;
}
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

describe("login", () => {
  it("logs in once with a form, sends AR-JWT on every call and logs out on close", async () => {
    fake = await start();
    const connector = create();
    await connector.create(ticket(), opts("remedy:7:create"));
    await connector.healthCheck!({ signal: signal() });
    expect(fake.logins).toBe(1);
    const login = fake.server.requests.find((r) => r.path === "/api/jwt/login")!;
    expect(login.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(login.body))).toEqual({
      username: USER,
      password: PASSWORD,
    });
    const api = fake.server.requests.filter((r) => r.path.startsWith("/api/arsys"));
    expect(api.every((r) => /^AR-JWT eyJ/.test(r.headers.authorization ?? ""))).toBe(true);
    await connector.close!();
    expect(fake.logouts).toBe(1);
    await connector.close!();
    expect(fake.logouts).toBe(1);
  });

  it("sends the authentication string in the login form when one is configured", async () => {
    fake = await start();
    fake.server.route("POST /api/jwt/login", (req) => {
      const form = Object.fromEntries(new URLSearchParams(req.body));
      if (form.authString !== "corp-domain")
        return { status: 401, body: [{ messageType: "ERROR", messageNumber: 623 }] };
      return { headers: { "content-type": "text/plain" }, body: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln" };
    });
    fake.server.route("GET /api/arsys/v1/entry/HPD:IncidentInterface", (req) =>
      req.headers.authorization === "AR-JWT eyJhbGciOiJIUzI1NiJ9.e30.c2ln"
        ? { body: { entries: [], _links: {} } }
        : { status: 401 },
    );
    const connector = create({ auth: { username: USER, password: PASSWORD, authString: "corp-domain" } });
    expect(await connector.healthCheck!({ signal: signal() })).toMatchObject({ ok: true });
  });

  it("logs in again once when the server refuses the token", async () => {
    fake = await start();
    const connector = create();
    await connector.pullChanges!({ signal: signal() });
    fake.revokeTokens();
    await connector.pullChanges!({ signal: signal() });
    expect(fake.logins).toBe(2);
  });

  it("logs in again after tokenTtlMs", async () => {
    fake = await start();
    const connector = create({ tokenTtlMs: 60_000 });
    await connector.pullChanges!({ signal: signal() });
    nowMs += 61_000;
    await connector.pullChanges!({ signal: signal() });
    expect(fake.logins).toBe(2);
  });

  it("maps a refused password to RW_ERR_CONNECTOR_AUTH without echoing it", async () => {
    fake = await start("another-password");
    const error = await create()
      .create(ticket(), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", details: { status: 401 } });
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
    expect(await create().healthCheck!({ signal: signal() })).toMatchObject({ ok: false, reason: "auth" });
  });
});

describe("create", () => {
  it("submits to HPD:IncidentInterface_Create with the mapped impact and urgency and the correlation", async () => {
    fake = await start();
    const ref = await create().create(ticket(), opts("remedy:7:create"));
    expect(ref).toEqual({ externalId: "INC000000000103" });
    expect(fake.incidents[0]).toMatchObject({
      "Incident Number": "INC000000000103",
      Description: "High CPU on web-01",
      Impact: "1-Extensive/Widespread",
      Urgency: "1-Critical",
      Priority: "Critical",
      Status: "Assigned",
      "Reported Source": "Systems Management",
      Service_Type: "Infrastructure Event",
      "Assigned Support Company": "Calbro Services",
      "Assigned Group": "Linux Ops",
      "Vendor Ticket Number": "remedy:7:create",
    });
    expect(fake.incidents[0]!["Detailed Decription"]).toContain(
      "Runwarden ticket #7 (datadog 148275309:host:web-01)",
    );
    const post = fake.server.requests.find((r) => r.method === "POST" && r.path.endsWith("_Create"))!;
    expect(post.headers["content-type"]).toBe("application/json");
    expect(post.query.get("fields")).toBe("values(Incident Number)");
  });

  it("finds the incident by its correlation field, so a retried create returns the same incident", async () => {
    fake = await start();
    const first = await create().create(ticket(), opts("remedy:7:create"));
    const again = await create().create(ticket(), opts("remedy:7:create"));
    expect(again).toEqual(first);
    expect(fake.incidents).toHaveLength(1);
    const lookups = fake.server.requests.filter(
      (r) => r.method === "GET" && r.path.endsWith("HPD:IncidentInterface"),
    );
    expect(lookups[0]!.query.get("q")).toBe(`'Vendor Ticket Number' = "remedy:7:create"`);
  });

  it("maps the severities to the documented priorities", async () => {
    fake = await start();
    const priorities = [];
    for (const severity of ["critical", "high", "medium", "low", "info"] as const) {
      await create().create(ticket({ severity }), opts(`sev-${severity}`));
      priorities.push(fake.incidents.at(-1)!.Priority);
    }
    expect(priorities).toEqual(["Critical", "High", "Medium", "Low", "Low"]);
    expect(priorityOf("1-Extensive/Widespread", "2-High")).toBe("Critical");
    expect(priorityOf("4-Minor/Localized", "1-Critical")).toBe("High");
  });

  it("maps AR's 500 refusal (a required field) to REJECTED with the AR error number, not UNREACHABLE", async () => {
    fake = await start();
    const error = await create({
      defaults: { serviceType: "Infrastructure Event", fields: {} },
      customer: { firstName: "A", lastName: "B" },
    })
      .create(ticket({ title: "" }), opts("k"))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { arError: 326 } });
  });

  it("finds the incident made when the create answer carries no values", async () => {
    fake = await start();
    fake.server.route("POST /api/arsys/v1/entry/HPD:IncidentInterface_Create", (req) => {
      const values = req.json<{ values: Record<string, string> }>().values;
      fake.incidents.push({
        ...values,
        "Request ID": "INC000000000500|INC000000000500",
        "Incident Number": "INC000000000500",
        "Submit Date": fake.clock.now,
        "Last Modified Date": fake.clock.now,
      });
      return {
        status: 201,
        headers: { Location: `${fake.url}/api/arsys/v1/entry/HPD:IncidentInterface_Create/x` },
      };
    });
    expect(await create().create(ticket(), opts("k"))).toEqual({ externalId: "INC000000000500" });
  });
});

describe("update", () => {
  it("sets the status, and resolves with Status_Reason and Resolution", async () => {
    fake = await start();
    const connector = create({ resolution: { text: "Restarted nginx." } });
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.update(ref, { status: "executing" }, opts("u1"));
    expect(fake.incidents[0]!.Status).toBe("In Progress");
    await connector.update(ref, { status: "resolved" }, opts("u2"));
    expect(fake.incidents[0]).toMatchObject({
      Status: "Resolved",
      Status_Reason: "Automated Resolution Reported",
      Resolution: "Restarted nginx.",
    });
    const put = fake.server.requests.filter((r) => r.method === "PUT");
    expect(put[0]!.path).toBe("/api/arsys/v1/entry/HPD:IncidentInterface/INC000000000103%7CINC000000000103");
    // A retried resolve finds the status already set and writes nothing.
    await connector.update(ref, { status: "resolved" }, opts("u2"));
    expect(fake.server.requests.filter((r) => r.method === "PUT")).toHaveLength(2);
  });

  it("refuses unknown statuses, protected or unsafe fields and references that are not incident numbers", async () => {
    fake = await start();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    for (const change of [
      { status: "exploded" },
      { fields: { "Status' OR 1=1": "x" } },
      { fields: { "Request ID": "x" } },
      { fields: { Status: "Closed" } },
      { fields: { Notes: { nested: 1 } } },
    ]) {
      await expect(connector.update(ref, change, opts("x"))).rejects.toMatchObject({
        code: "RW_ERR_INPUT_INVALID",
      });
    }
    await expect(
      connector.update({ externalId: 'INC1" OR 1=1' }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    expect(fake.server.requests.filter((r) => r.method === "PUT")).toHaveLength(0);
  });

  it("maps a missing incident to RW_ERR_CONNECTOR_NOT_FOUND", async () => {
    fake = await start();
    await expect(
      create().update({ externalId: "INC000000099999" }, { status: "resolved" }, opts("x")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
  });
});

describe("comment", () => {
  it("adds a work log once per idempotency key", async () => {
    fake = await start();
    const connector = create();
    const ref = await connector.create(ticket(), opts("k1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted nginx.", opts("note-1"));
    await connector.comment(ref, "Remediation run 7f3c: restarted nginx.", opts("note-1"));
    await connector.comment(ref, "CPU back to 35%.", opts("note-2"));
    expect(
      fake.worklogs.map((w) => [
        w.Description,
        w["Detailed Description"],
        w["Work Log Type"],
        w["View Access"],
      ]),
    ).toEqual([
      [workLogMarker("note-1"), "Remediation run 7f3c: restarted nginx.", "Working Log", "Internal"],
      [workLogMarker("note-2"), "CPU back to 35%.", "Working Log", "Internal"],
    ]);
    const search = fake.server.requests.find((r) => r.method === "GET" && r.path.endsWith("HPD:WorkLog"))!;
    expect(search.query.get("q")).toBe(
      `'Incident Number' = "INC000000000103" AND 'Description' = "${workLogMarker("note-1")}"`,
    );
  });
});

describe("pullChanges", () => {
  async function seed(count: number) {
    const connector = create();
    for (let i = 0; i < count; i++) {
      fake.clock.now = Date.parse(`2025-05-14T09:1${i}:00Z`) / 1000;
      await connector.create(ticket({ id: i, title: `Incident ${i}` }), opts(`seed-${i}`));
    }
    return connector;
  }

  it("pages with offset/limit over 'Last Modified Date' and returns a cursor that skips what was read", async () => {
    fake = await start();
    const connector = await seed(5);
    const first = await create({ pull: { pageSize: 2 } }).pullChanges!({ signal: signal() });
    expect(first.changes.map((c) => c.ticket?.title)).toEqual([
      "Incident 0",
      "Incident 1",
      "Incident 2",
      "Incident 3",
      "Incident 4",
    ]);
    expect(first.changes.every((c) => c.kind === "created")).toBe(true);
    expect(first.changes[0]).toMatchObject({
      externalId: "INC000000000103",
      updatedAt: "2025-05-14T09:10:00.000Z",
      ticket: {
        source: "remedy",
        severity: "critical",
        metaData: { correlationId: "seed-0", requestId: "INC000000000103|INC000000000103" },
      },
    });
    const pages = fake.server.requests.filter((r) => r.method === "GET" && r.query.get("sort") !== null);
    expect(pages.map((r) => [r.query.get("offset"), r.query.get("limit")])).toEqual([
      ["0", "2"],
      ["2", "2"],
      ["4", "2"],
    ]);
    expect(pages[0]!.query.get("q")).toBe(
      `'Last Modified Date' >= ${Date.parse("2025-05-13T09:30:00Z") / 1000}`,
    );
    expect(pages[0]!.query.get("sort")).toBe("Last Modified Date.asc");

    const quiet = await create().pullChanges!({ cursor: first.cursor, signal: signal() });
    expect(quiet.changes).toEqual([]);

    fake.clock.now = Date.parse("2025-05-14T09:20:00Z") / 1000;
    await connector.update({ externalId: "INC000000000107" }, { status: "resolved" }, opts("remote"));
    const closed = await create().pullChanges!({ cursor: quiet.cursor, signal: signal() });
    expect(closed.changes).toMatchObject([
      { externalId: "INC000000000107", kind: "closed", ticket: { resolved: true } },
    ]);
  });

  it("reads an incident modified in the same second as the cursor exactly once", async () => {
    fake = await start();
    const connector = await seed(1);
    const first = await create().pullChanges!({ signal: signal() });
    await connector.create(ticket({ id: 99, title: "Same second" }), opts("same-second"));
    const second = await create().pullChanges!({ cursor: first.cursor, signal: signal() });
    expect(second.changes.map((c) => [c.ticket?.title, c.kind])).toEqual([["Same second", "created"]]);
    const third = await create().pullChanges!({ cursor: second.cursor, signal: signal() });
    expect(third.changes).toEqual([]);
  });

  it("filters on assigned groups and the configured qualification", async () => {
    fake = await start();
    await seed(1);
    await create({ defaults: { assignedGroup: "Windows Ops" } }).create(
      ticket({ title: "Other" }),
      opts("other"),
    );
    const result = await create({
      pull: {
        assignedGroups: ["Linux Ops", "DBA"],
        qualification: `'Service_Type' = "Infrastructure Event"`,
      },
    }).pullChanges!({ signal: signal() });
    expect(result.changes.map((c) => c.ticket?.title)).toEqual(["Incident 0"]);
    expect(fake.server.requests.at(-1)!.query.get("q")).toBe(
      `'Last Modified Date' >= ${Date.parse("2025-05-13T09:30:00Z") / 1000} AND ('Assigned Group' = "Linux Ops" OR 'Assigned Group' = "DBA") AND ('Service_Type' = "Infrastructure Event")`,
    );
  });

  it("refuses a cursor it did not make", async () => {
    fake = await start();
    await expect(
      create().pullChanges!({ cursor: '{"t":"1 OR 1=1"}', signal: signal() }),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("vendorSetup", () => {
  it("lists the Remedy-side steps, each with a title and text", () => {
    const steps = remedy.vendorSetup!({
      webhookUrl: "https://rw.example/api/v1/tickets/webhook/remedy",
      baseUrl: "https://rw.example",
    });
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const step of steps) expect(step.title.length * (step.text?.length ?? 0)).toBeGreaterThan(0);
  });
});

describe("config", () => {
  it("refuses group names and values that could break out of a qualification", () => {
    const base = {
      serverUrl: "http://127.0.0.1:9",
      auth: { username: "u", password: "p" },
      customer: { firstName: "a", lastName: "b" },
    };
    expect(
      remedy.configSchema.safeParse({ ...base, pull: { assignedGroups: ['x" OR 1=1 OR "'] } }).success,
    ).toBe(false);
    expect(remedy.configSchema.safeParse({ ...base, correlationField: "x' = 'x" }).success).toBe(false);
    expect(remedy.configSchema.safeParse(base).success).toBe(true);
  });

  it("reads AR dates with a +0000 offset", () => {
    expect(arDateMs("2025-05-14T09:15:10.000+0000")).toBe(Date.parse("2025-05-14T09:15:10Z"));
  });
});

describe("errors", () => {
  it("maps 429 to RATE_LIMITED with retryAfterMs and 503 to UNREACHABLE", async () => {
    fake = await start();
    const connector = create();
    await connector.healthCheck!({ signal: signal() });
    fake.failNext(1, { status: 429, headers: { "Retry-After": "30" }, body: [] });
    await expect(connector.pullChanges!({ signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      details: { retryAfterMs: 30_000 },
    });
    fake.failNext(1, { status: 503, body: "down" });
    await expect(connector.pullChanges!({ signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
    });
  });
});

describe("describe", () => {
  it("describes each write in one line with the server and the incident, never the password or the note", async () => {
    fake = await start();
    const connector = create();
    const host = new URL(fake.url).host;
    const ref = { externalId: "INC000000000103" };
    expect(connector.describe!({ operation: "create", ticket: ticket() })).toBe(
      `remedy ${host}: create an incident for ticket 7 (HPD:IncidentInterface_Create, correlation from the idempotency key)`,
    );
    expect(connector.describe!({ operation: "update", ref, change: { status: "resolved" } })).toBe(
      `remedy ${host}: update incident INC000000000103 (Status → resolved)`,
    );
    const note = connector.describe!({ operation: "comment", ref, text: `note ${PASSWORD}` });
    expect(note).toBe(
      `remedy ${host}: add a work log of ${5 + PASSWORD.length} characters to incident INC000000000103`,
    );
  });
});

describe("the fake refuses what the documented API refuses", () => {
  it("answers 401 without AR-JWT, 400 to a JSON login and 415 to a form entry body", async () => {
    fake = await start();
    const bearer = await fetch(`${fake.url}/api/arsys/v1/entry/HPD:IncidentInterface`, {
      headers: { authorization: "Bearer x" },
    });
    expect(bearer.status).toBe(401);
    const jsonLogin = await fetch(`${fake.url}/api/jwt/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    expect(jsonLogin.status).toBe(400);
    const login = await fetch(`${fake.url}/api/jwt/login`, {
      method: "POST",
      body: new URLSearchParams({ username: USER, password: PASSWORD }),
    });
    expect(login.headers.get("content-type")).toBe("text/plain");
    const token = await login.text();
    const form = await fetch(`${fake.url}/api/arsys/v1/entry/HPD:WorkLog`, {
      method: "POST",
      headers: { authorization: `AR-JWT ${token}`, "content-type": "application/x-www-form-urlencoded" },
      body: "values=x",
    });
    expect(form.status).toBe(415);
    expect(fake.worklogs).toHaveLength(0);
  });
});

const closedPort = "http://127.0.0.1:9";
testConnector(remedy, {
  config: {
    serverUrl: closedPort,
    auth: { username: USER, password: PASSWORD },
    customer: { firstName: "R", lastName: "B" },
  },
  invalidConfigs: [
    { serverUrl: closedPort, auth: { username: USER, password: PASSWORD } },
    {
      serverUrl: "not a url",
      auth: { username: USER, password: PASSWORD },
      customer: { firstName: "R", lastName: "B" },
    },
    {
      serverUrl: closedPort,
      auth: { username: USER, password: PASSWORD },
      customer: { firstName: "R", lastName: "B" },
      severities: { critical: { impact: "0-Apocalyptic", urgency: "1-Critical" } },
    },
  ],
  secrets: [PASSWORD],
  operations: {
    create: (instance, { signal }) =>
      (instance as TicketingConnector).create(ticket(), { idempotencyKey: "c", signal }),
    update: (instance, { signal }) =>
      (instance as TicketingConnector).update(
        { externalId: "INC000000000103" },
        { status: "resolved" },
        { idempotencyKey: "u", signal },
      ),
    comment: (instance, { signal }) =>
      (instance as TicketingConnector).comment({ externalId: "INC000000000103" }, "note", {
        idempotencyKey: "n",
        signal,
      }),
    pullChanges: (instance, { signal }) => (instance as TicketingConnector).pullChanges!({ signal }),
  },
});

describe("contract against the fake AR server", () => {
  let instance: FakeRemedy;
  beforeAll(async () => {
    instance = await fakeRemedy({ username: USER, password: PASSWORD });
  });
  afterAll(() => instance.close());

  testTicketingIdempotency(remedy, {
    config: () => ({
      serverUrl: instance.url,
      auth: { username: USER, password: PASSWORD },
      customer: { firstName: "Remediation", lastName: "Bot" },
    }),
    ticket: ticket(),
    countTickets: () => instance.incidents.length,
    countComments: (ref) => instance.worklogs.filter((w) => w["Incident Number"] === ref.externalId).length,
  });
});
