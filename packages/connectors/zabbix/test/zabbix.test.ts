import { testConnector } from "@runwarden/connector-testkit";
import type { MonitoringConnector, Ticket, TicketInput } from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import zabbix from "../src/index.js";
import { parseZabbixVersion, rpcErrorCode } from "../src/internal/rpc.js";
import { type FakeProblem, type FakeZabbix, fakeZabbix } from "./fake-zabbix.js";
import { fixture, NOW, testContext } from "./support.js";

const TOKEN = "zbx-api-token-0123456789abcdef0123456789abcdef";
const PASSWORD = "zbx-password-s3cret-value";
const WEBHOOK_SECRET = "zbx-webhook-shared-secret-42";
const nowSeconds = Math.floor(NOW.getTime() / 1000);

let fake: FakeZabbix | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function problem(eventid: number, over: Partial<FakeProblem> = {}): FakeProblem {
  return {
    eventid: String(eventid),
    objectid: String(20_000 + eventid),
    clock: nowSeconds - 600,
    name: `High CPU utilization on web-${eventid}`,
    severity: 4,
    tags: [
      { tag: "service", value: "checkout" },
      { tag: "env", value: "prod" },
      { tag: "component", value: "cpu" },
    ],
    hosts: [{ hostid: String(10_000 + eventid), host: `web-${eventid}`, name: `Web ${eventid}` }],
    acknowledges: [],
    ...over,
  };
}

function create(config: Record<string, unknown>): MonitoringConnector {
  return zabbix.create(
    zabbix.configSchema.parse({ webhookAuth: { type: "bearer", secret: WEBHOOK_SECRET }, ...config }),
    testContext(),
  ) as MonitoringConnector;
}

async function collect(iterable: AsyncIterable<TicketInput>): Promise<TicketInput[]> {
  const out: TicketInput[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const signal = () => AbortSignal.timeout(5_000);

function ticketFor(eventId: string, over: Partial<Ticket> = {}): Ticket {
  return {
    id: 12,
    title: "High CPU utilization on web-1",
    source: "zabbix",
    externalId: eventId,
    fingerprint: `zabbix:${eventId}`,
    metaData: { eventId },
    statusReason: null,
    ...over,
  } as Ticket;
}

describe("zabbix config", () => {
  it("needs url and auth together, or neither (webhook only)", () => {
    const base = { webhookAuth: { type: "none" } };
    expect(zabbix.configSchema.safeParse({ ...base, url: "https://zabbix.example.com/" }).success).toBe(
      false,
    );
    expect(zabbix.configSchema.safeParse(base).success).toBe(true);
    expect(
      zabbix.configSchema.safeParse({
        ...base,
        url: "ftp://zabbix.example.com/",
        auth: { type: "token", token: "t" },
      }).success,
    ).toBe(false);
  });

  it("is webhook-only without an API", () => {
    const instance = zabbix.create(
      zabbix.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    expect(Object.keys(instance).sort()).toEqual(["parseWebhook", "verifyWebhook"]);
  });

  it("reads the versions that change the protocol", () => {
    expect(parseZabbixVersion("6.0.14")).toMatchObject({ major: 6, minor: 0, bearer: false, username: true });
    expect(parseZabbixVersion("6.4.0")).toMatchObject({ bearer: true });
    expect(parseZabbixVersion("7.0.5")).toMatchObject({ bearer: true });
    expect(parseZabbixVersion("5.2.7")).toMatchObject({ bearer: false, username: false });
    expect(parseZabbixVersion("garbage")).toBeUndefined();
  });
});

describe("authentication", () => {
  it("sends an API token as Authorization: Bearer on 7.0, never in the body, and asks the version without it", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(1));
    const pulled = await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN } }).pull!({ signal: signal() }),
    );
    expect(pulled).toHaveLength(1);
    const [version, ...rest] = fake.calls;
    expect(version).toMatchObject({ method: "apiinfo.version" });
    expect(version!.bearer).toBeUndefined();
    expect(version).not.toHaveProperty("bodyAuth");
    expect(rest.map((c) => c.method)).toEqual(["problem.get", "event.get"]);
    for (const call of rest) {
      expect(call.bearer).toBe(TOKEN);
      expect(call).not.toHaveProperty("bodyAuth");
    }
  });

  it("works with 7.2, which refuses the body's auth member", async () => {
    fake = await fakeZabbix({ version: "7.2.3", token: TOKEN });
    fake.problems.push(problem(1));
    const pulled = await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN } }).pull!({ signal: signal() }),
    );
    expect(pulled.map((t) => t.externalId)).toEqual(["1"]);
  });

  it("sends the token in the body's auth member on 6.0, with no Authorization header", async () => {
    fake = await fakeZabbix({ version: "6.0.14", token: TOKEN });
    fake.problems.push(problem(1));
    await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN } }).pull!({ signal: signal() }),
    );
    for (const call of fake.calls.filter((c) => c.method !== "apiinfo.version")) {
      expect(call.bodyAuth).toBe(TOKEN);
      expect(call.bearer).toBeUndefined();
    }
  });

  it("logs in once with username, reuses the session, signs in again when it ends and logs out on close", async () => {
    fake = await fakeZabbix({ version: "7.0.5", user: { username: "runwarden", password: PASSWORD } });
    fake.problems.push(problem(1));
    const connector = create({
      url: fake.url,
      auth: { type: "password", username: "runwarden", password: PASSWORD },
    });
    await collect(connector.pull!({ signal: signal() }));
    await collect(connector.pull!({ signal: signal() }));
    expect(fake.calls.filter((c) => c.method === "user.login")).toHaveLength(1);
    expect(fake.calls.find((c) => c.method === "user.login")!.params).toEqual({
      username: "runwarden",
      password: PASSWORD,
    });
    const session = [...fake.sessions][0]!;
    expect(fake.calls.filter((c) => c.method === "problem.get").every((c) => c.bearer === session)).toBe(
      true,
    );

    fake.expireSessions();
    const pulled = await collect(connector.pull!({ signal: signal() }));
    expect(pulled).toHaveLength(1);
    expect(fake.calls.filter((c) => c.method === "user.login")).toHaveLength(2);
    const renewed = [...fake.sessions][0]!;
    expect(renewed).not.toBe(session);

    await connector.close!();
    expect(fake.calls.at(-1)).toMatchObject({ method: "user.logout", bearer: renewed });
    expect(fake.sessions.size).toBe(0);
  });

  it("refuses a wrong password with an auth code, without the password in the error", async () => {
    fake = await fakeZabbix({ version: "7.0.5", user: { username: "runwarden", password: PASSWORD } });
    const connector = create({
      url: fake.url,
      auth: { type: "password", username: "runwarden", password: "not-the-password" },
    });
    const error = await collect(connector.pull!({ signal: signal() })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH", retryable: false });
    expect(JSON.stringify(error)).not.toContain("not-the-password");
    expect(String((error as Error).message)).toContain("Incorrect user name or password");
    // One login attempt: a refused password is not retried (5 failures lock the account).
    expect(fake.calls.filter((c) => c.method === "user.login")).toHaveLength(1);
  });

  it("does not retry a refused API token", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    const connector = create({ url: fake.url, auth: { type: "token", token: "revoked-token-value" } });
    await expect(collect(connector.pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
    });
    expect(fake.calls.filter((c) => c.method === "problem.get")).toHaveLength(1);
  });
});

describe("pull", () => {
  it("pages problem.get by event id and reads each page's hosts with one event.get", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    for (const id of [11, 12, 13, 14, 15]) fake.problems.push(problem(id));
    const connector = create({ url: fake.url, auth: { type: "token", token: TOKEN }, pull: { pageSize: 2 } });
    const pulled = await collect(connector.pull!({ signal: signal() }));

    expect(pulled.map((t) => t.externalId)).toEqual(["11", "12", "13", "14", "15"]);
    const problemGets = fake.calls.filter((c) => c.method === "problem.get");
    expect(problemGets.map((c) => c.params.eventid_from)).toEqual([undefined, "13", "15"]);
    expect(problemGets[0]!.params).toMatchObject({
      source: 0,
      object: 0,
      sortfield: ["eventid"],
      sortorder: "ASC",
      limit: 2,
      selectTags: ["tag", "value"],
      selectAcknowledges: expect.any(Array),
      selectSuppressionData: expect.any(Array),
    });
    expect(problemGets[0]!.params).not.toHaveProperty("time_from");
    const eventGets = fake.calls.filter((c) => c.method === "event.get");
    expect(eventGets.map((c) => c.params.eventids)).toEqual([["11", "12"], ["13", "14"], ["15"]]);
    expect(pulled[0]!.metaData).toMatchObject({
      host: "Web 11",
      hosts: [{ hostid: "10011", host: "web-11", name: "Web 11" }],
    });
  });

  it("maps severities and tags onto ticket fields", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    [0, 1, 2, 3, 4, 5].forEach((severity, i) => {
      fake!.problems.push(problem(100 + i, { severity }));
    });
    fake.problems.push(
      problem(200, {
        tags: [
          { tag: "Environment", value: "staging" },
          { tag: "component", value: "db" },
        ],
      }),
    );
    const pulled = await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN } }).pull!({ signal: signal() }),
    );
    expect(pulled.slice(0, 6).map((t) => t.severity)).toEqual([
      "info",
      "info",
      "low",
      "medium",
      "high",
      "critical",
    ]);
    expect(pulled[4]).toMatchObject({
      title: "High CPU utilization on web-104",
      environment: "prod",
      service: "checkout",
      source: "zabbix",
      externalId: "104",
      fingerprint: "104",
      resolved: false,
      metaData: {
        eventId: "104",
        triggerId: "20104",
        component: "cpu",
        zabbixSeverity: 4,
        zabbixSeverityName: "High",
      },
    });
    expect(pulled[4]!.description).toContain("Host: Web 104 (web-104)");
    // No service tag: the component stands in; tag names match case-insensitively.
    expect(pulled[6]).toMatchObject({ environment: "staging", service: "db" });
  });

  it("asks only for problems since the cursor, less the overlap, and resolves those that recovered", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(1, { clock: nowSeconds - 3_600, r_eventid: "901" }));
    fake.problems.push(problem(2, { clock: nowSeconds - 30 }));
    const since = new Date(NOW.getTime() - 120_000).toISOString();
    const pulled = await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN }, pull: { overlapMs: 60_000 } }).pull!({
        since,
        signal: signal(),
      }),
    );
    const from = Math.floor((NOW.getTime() - 180_000) / 1000);
    expect(fake.calls.find((c) => c.method === "problem.get")!.params.time_from).toBe(from);
    const recoveries = fake.calls.filter((c) => c.method === "event.get" && "problem_time_from" in c.params);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]!.params).toMatchObject({
      value: 1,
      problem_time_from: from,
      selectHosts: expect.any(Array),
    });
    expect(pulled.map((t) => [t.externalId, t.resolved])).toEqual([
      ["2", false],
      ["1", true],
    ]);
    expect(pulled[1]!.metaData).toMatchObject({ recoveryEventId: "901", host: "Web 1" });
  });

  it("starts after the problems a pull delivered once core moved its cursor, never after a failed one", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(5, { clock: nowSeconds - 10 }), problem(6, { clock: nowSeconds - 5 }));
    const connector = create({ url: fake.url, auth: { type: "token", token: TOKEN } });
    const s0 = new Date(NOW.getTime() - 60_000).toISOString();
    const s1 = NOW.toISOString();
    const startOf = () => fake!.calls.filter((c) => c.method === "problem.get").at(-1)!.params.eventid_from;

    expect(
      (await collect(connector.pull!({ since: s0, signal: signal() }))).map((t) => t.externalId),
    ).toEqual(["5", "6"]);
    expect(startOf()).toBeUndefined();
    // The same cursor again: core did not take that pull, so it is read again in full.
    expect(
      (await collect(connector.pull!({ since: s0, signal: signal() }))).map((t) => t.externalId),
    ).toEqual(["5", "6"]);
    expect(startOf()).toBeUndefined();
    // A new cursor: 5 and 6 were delivered; the overlap does not bring them back.
    fake.problems.push(problem(7, { clock: nowSeconds - 1 }));
    expect(
      (await collect(connector.pull!({ since: s1, signal: signal() }))).map((t) => t.externalId),
    ).toEqual(["7"]);
    expect(startOf()).toBe("7");
  });

  it("passes the severity, host group and tag filters to Zabbix", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    await collect(
      create({
        url: fake.url,
        auth: { type: "token", token: TOKEN },
        pull: {
          severities: [4, 5],
          hostGroupIds: ["7"],
          tags: [{ tag: "team", value: "sre" }],
          skipSuppressed: true,
        },
      }).pull!({ signal: signal() }),
    );
    expect(fake.calls.find((c) => c.method === "problem.get")!.params).toMatchObject({
      severities: [4, 5],
      groupids: ["7"],
      evaltype: 0,
      tags: [{ tag: "team", value: "sre", operator: 1 }],
      suppressed: false,
    });
  });

  it("refuses a since that is not a date", async () => {
    await expect(
      collect(
        create({ url: "http://127.0.0.1:9/", auth: { type: "token", token: TOKEN } }).pull!({
          since: "yesterday",
          signal: signal(),
        }),
      ),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
  });
});

describe("the shared fixtures", () => {
  interface Exchange {
    request: { headers: Record<string, string>; body: { method: string; params: Record<string, unknown> } };
    response: { body: { result: unknown } };
  }

  it("maps the documented problem.get answer into a ticket", async () => {
    const sample = fixture<Exchange>("zabbix-problem-get.json");
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    const answer = (id: unknown, result: unknown) => ({ body: { jsonrpc: "2.0", result, id } });
    fake.server.route("POST /api_jsonrpc.php", (req) => {
      const body = req.json<{ method: string; id: unknown }>();
      if (body.method === "apiinfo.version") return answer(body.id, "7.0.5");
      if (body.method === "problem.get") return answer(body.id, sample.response.body.result);
      return answer(body.id, [
        { eventid: "20427", hosts: [{ hostid: "10501", host: "web-01", name: "web-01" }] },
      ]);
    });
    const [ticket] = await collect(
      create({ url: fake.url, auth: { type: "token", token: TOKEN } }).pull!({ signal: signal() }),
    );
    expect(ticket).toMatchObject({
      title: "High CPU utilization (over 90% for 5m)",
      severity: "high",
      externalId: "20427",
      service: "cpu",
      resolved: false,
      metaData: {
        host: "web-01",
        opdata: "Current utilization: 96.2 %",
        acknowledged: false,
        suppressed: false,
      },
    });
  });

  it("sends event.acknowledge as the documented example does", async () => {
    const sample = fixture<Exchange>("zabbix-event-acknowledge.json");
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(20427));
    await create({ url: fake.url, auth: { type: "token", token: TOKEN } }).acknowledge!(ticketFor("20427"), {
      signal: signal(),
    });
    const call = fake.calls.find((c) => c.method === "event.acknowledge")!;
    const documented = sample.request.body.params;
    expect(Object.keys(call.params).sort()).toEqual(Object.keys(documented).sort());
    expect(call.params.action).toBe(documented.action);
    expect(call.params.eventids).toEqual(documented.eventids);
  });
});

describe("acknowledge and resolve", () => {
  it("acknowledges with a message naming the session, event ids as strings", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(20427));
    const connector = create({ url: fake.url, auth: { type: "token", token: TOKEN } });
    await connector.acknowledge!(ticketFor("20427"), {
      idempotencyKey: "an opaque key the connector does not parse",
      sessionId: 31,
      signal: signal(),
    });
    const call = fake.calls.find((c) => c.method === "event.acknowledge")!;
    expect(call.params).toEqual({
      eventids: ["20427"],
      action: 6,
      message:
        "Runwarden: remediation session 31 started for Runwarden ticket #12 (High CPU utilization on web-1).",
    });
  });

  it("adds a work note as an acknowledge message only (action 4), prefixed with the signature", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(20428));
    await create({ url: fake.url, auth: { type: "token", token: TOKEN } }).note!(
      ticketFor("20428"),
      "Runwarden session 31: approval 4 approved by alice.",
      { idempotencyKey: "k", sessionId: 31, signal: signal() },
    );
    const call = fake.calls.find((c) => c.method === "event.acknowledge")!;
    expect(call.params).toEqual({
      eventids: ["20428"],
      action: 4,
      message: "Runwarden: Runwarden session 31: approval 4 approved by alice.",
    });
  });

  it("closes the problem with a message when its trigger allows manual close", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(5, { manualClose: true }));
    await create({ url: fake.url, auth: { type: "token", token: TOKEN } }).resolve!(
      ticketFor("5", { statusReason: "runbook drain-queue succeeded" }),
      { signal: signal() },
    );
    expect(fake.problems[0]!.acknowledges).toEqual([
      { action: 5, message: "Runwarden: Runwarden ticket #12 resolved. runbook drain-queue succeeded" },
    ]);
    expect(fake.problems[0]!.r_eventid).toBeDefined();
  });

  it("adds the message only when the trigger does not allow manual close", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.problems.push(problem(6, { manualClose: false }));
    await create({ url: fake.url, auth: { type: "token", token: TOKEN } }).resolve!(ticketFor("6"), {
      signal: signal(),
    });
    expect(fake.problems[0]!.acknowledges.map((a) => a.action)).toEqual([4]);
    expect(fake.problems[0]!.r_eventid).toBeUndefined();
  });

  it("maps an unknown event to not found and a ticket without an event to an input error", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    const connector = create({ url: fake.url, auth: { type: "token", token: TOKEN } });
    await expect(connector.acknowledge!(ticketFor("999"), { signal: signal() })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
    });
    await expect(
      connector.acknowledge!(ticketFor("x", { externalId: "abc", metaData: {} }), { signal: signal() }),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
  });

  it("describes each write in one line naming the event, never a credential", () => {
    const connector = create({ url: "https://zabbix.example.com/", auth: { type: "token", token: TOKEN } });
    const lines = [
      connector.describe!({ operation: "acknowledge", ticket: ticketFor("20427") }),
      connector.describe!({ operation: "resolve", ticket: ticketFor("20427") }),
      connector.describe!({
        operation: "resolve",
        ticket: ticketFor("x", { externalId: null, metaData: {} }),
      }),
    ];
    expect(lines).toEqual([
      "zabbix zabbix.example.com: acknowledge problem event 20427 with a message naming the session (event.acknowledge action 6)",
      "zabbix zabbix.example.com: close problem event 20427 (event.acknowledge action 5)",
      "zabbix zabbix.example.com: close ticket 12 (no problem event) (event.acknowledge action 5)",
    ]);
    for (const line of lines) expect(line).not.toContain(TOKEN);
  });
});

describe("errors and health", () => {
  it("answers a JSON-RPC error with a connector code", () => {
    expect(rpcErrorCode({ code: -32602, message: "Invalid params.", data: "Not authorized." })).toBe(
      "RW_ERR_CONNECTOR_AUTH",
    );
    expect(rpcErrorCode({ code: -32602, message: "Invalid params.", data: "API token expired." })).toBe(
      "RW_ERR_CONNECTOR_AUTH",
    );
    expect(
      rpcErrorCode({
        code: -32500,
        message: "Application error.",
        data: "No permissions to referred object or it does not exist!",
      }),
    ).toBe("RW_ERR_CONNECTOR_NOT_FOUND");
    expect(
      rpcErrorCode({ code: -32602, message: "Invalid params.", data: 'Invalid parameter "/limit".' }),
    ).toBe("RW_ERR_CONNECTOR_REJECTED");
  });

  it("refuses an answer that is not JSON-RPC, and maps a 5xx to unreachable", async () => {
    fake = await fakeZabbix({ version: "7.0.5", token: TOKEN });
    fake.server.route("POST /api_jsonrpc.php", () => ({ body: { hello: "world" } }));
    const connector = create({ url: fake.url, auth: { type: "token", token: TOKEN } });
    await expect(collect(connector.pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
    fake.server.route("POST /api_jsonrpc.php", () => ({ status: 502, body: "Bad Gateway" }));
    const again = create({ url: fake.url, auth: { type: "token", token: TOKEN } });
    await expect(collect(again.pull!({ signal: signal() }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
    });
  });

  it("reports health ok with a working credential and auth with a refused one", async () => {
    fake = await fakeZabbix({ version: "6.4.12", token: TOKEN });
    const good = await create({ url: fake.url, auth: { type: "token", token: TOKEN } }).healthCheck!({
      signal: signal(),
    });
    expect(good).toMatchObject({ ok: true });
    const bad = await create({ url: fake.url, auth: { type: "token", token: "wrong" } }).healthCheck!({
      signal: signal(),
    });
    expect(bad).toMatchObject({ ok: false, reason: "auth" });
  });
});

const contractTicket = ticketFor("20427");
testConnector(zabbix, {
  config: {
    webhookAuth: { type: "bearer", secret: WEBHOOK_SECRET },
    url: "http://127.0.0.1:9/",
    auth: { type: "password", username: "runwarden", password: PASSWORD },
  },
  invalidConfigs: [
    { webhookAuth: { type: "bearer", secret: "short" } },
    { webhookAuth: { type: "none" }, url: "http://127.0.0.1:9/" },
    { webhookAuth: { type: "none" }, url: "http://127.0.0.1:9/", auth: { type: "token", token: "" } },
  ],
  secrets: [WEBHOOK_SECRET, PASSWORD],
  operations: {
    pull: async (instance, { signal }) => {
      for await (const _ of (instance as MonitoringConnector).pull!({ signal })) {
        // drain
      }
    },
    acknowledge: (instance, { signal }) =>
      (instance as MonitoringConnector).acknowledge!(contractTicket, { signal }),
    resolve: (instance, { signal }) => (instance as MonitoringConnector).resolve!(contractTicket, { signal }),
    note: (instance, { signal }) =>
      (instance as MonitoringConnector).note!(contractTicket, "contract note", { sessionId: 1, signal }),
  },
});
