import { type FakeServer, fakeServer, testConnector } from "@runwarden/connector-testkit";
import type { MonitoringConnector, Ticket, TicketInput } from "@runwarden/core";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import datadog from "../src/index.js";
import { fakeDatadog } from "./fake-datadog.js";
import { fixture, NOW, testContext } from "./support.js";

const API_KEY = "dd-api-key-0123456789abcdef";
const APP_KEY = "dd-app-key-fedcba9876543210";
const WEBHOOK_SECRET = "dd-webhook-shared-secret-123";

const groups = fixture<{ response: { body: { groups: unknown[] } } }>("datadog-monitor-groups-search.json")
  .response.body;
const events = fixture<{ response: { body: { data: Record<string, unknown>[] } } }>(
  "datadog-events-v2-list.json",
).response.body;
const recovery = {
  id: "AgAAAY9recovered",
  type: "event",
  attributes: {
    timestamp: "2024-05-14T09:20:30Z",
    tags: ["env:prod", "host:web-01", "source:alert"],
    message: "%%%\nCPU back to normal\n%%%",
    attributes: {
      monitor_id: 148275309,
      monitor_groups: ["host:web-01"],
      status: "success",
      title: "[Recovered on {host:web-01}] High CPU on web-01",
      monitor: { id: 148275309, tags: ["service:checkout"], groups: ["host:web-01"] },
    },
  },
};

let server: FakeServer;

beforeEach(async () => {
  server = await fakeServer();
});

afterEach(async () => {
  await server.close();
});

function create(config: Record<string, unknown> = {}): MonitoringConnector {
  return datadog.create(
    datadog.configSchema.parse({
      webhookAuth: { type: "header", secret: WEBHOOK_SECRET },
      apiUrl: server.url,
      apiKey: API_KEY,
      applicationKey: APP_KEY,
      ...config,
    }),
    testContext(),
  ) as MonitoringConnector;
}

async function collect(iterable: AsyncIterable<TicketInput>): Promise<TicketInput[]> {
  const out: TicketInput[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("datadog", () => {
  it("needs both keys or neither", () => {
    const base = { webhookAuth: { type: "none" } };
    expect(datadog.configSchema.safeParse({ ...base, apiKey: "k" }).success).toBe(false);
    expect(datadog.configSchema.safeParse(base).success).toBe(true);
    expect(datadog.configSchema.safeParse({ ...base, site: "datadoghq.org" }).success).toBe(false);
  });

  it("is webhook-only without API keys", () => {
    const instance = datadog.create(
      datadog.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    );
    expect(Object.keys(instance).sort()).toEqual(["parseWebhook", "verifyWebhook"]);
  });
});

describe("pull", () => {
  it("reads alert events since the cursor across pages, then monitor groups in Alert and Warn", async () => {
    server.route("GET /api/v2/events", (req) =>
      req.query.get("page[cursor]")
        ? { body: { data: [recovery], meta: { page: {} } } }
        : { body: { data: events.data, meta: { page: { after: "cursor-2" } } } },
    );
    server.route("GET /api/v1/monitor/groups/search", (req) =>
      req.query.get("query")?.includes('"alert"')
        ? { body: groups }
        : { body: { groups: [], metadata: { page: 0, page_count: 0 } } },
    );

    const pulled = await collect(
      create().pull!({ since: "2024-05-14T09:00:00Z", signal: AbortSignal.timeout(5_000) }),
    );

    expect(pulled.map((t) => [t.fingerprint, t.resolved])).toEqual([
      ["148275309:host:web-01", false],
      ["148275309:host:web-01", true],
      ["148275309:host:web-01", false],
    ]);
    expect(pulled[0]).toMatchObject({
      title: "High CPU on web-01",
      severity: "high",
      environment: "prod",
      service: "checkout",
    });
    expect(pulled[2]).toMatchObject({ title: "High CPU on web-01", severity: "high", source: "datadog" });

    const [first, second] = server.requests.filter((r) => r.path === "/api/v2/events");
    expect(first!.headers["dd-api-key"]).toBe(API_KEY);
    expect(first!.headers["dd-application-key"]).toBe(APP_KEY);
    expect(first!.query.get("filter[from]")).toBe(String(Date.parse("2024-05-14T09:00:00Z")));
    expect(first!.query.get("filter[to]")).toBe(String(NOW.getTime()));
    expect(first!.query.get("filter[query]")).toBe("source:alert");
    expect(second!.query.get("page[cursor]")).toBe("cursor-2");
    const searches = server.requests
      .filter((r) => r.path === "/api/v1/monitor/groups/search")
      .map((r) => r.query.get("query"));
    expect(searches).toEqual(['group_status:"alert"', 'group_status:"warn"']);
  });

  it("looks back the configured window on the first pull and pages monitor groups", async () => {
    server.route("GET /api/v2/events", () => ({ body: { data: [] } }));
    server.route("GET /api/v1/monitor/groups/search", (req) => {
      const page = Number(req.query.get("page"));
      return {
        body: {
          groups: [
            {
              group: `host:web-0${page}`,
              group_tags: [`host:web-0${page}`],
              monitor_id: 7,
              monitor_name: "Disk on {{host.name}}",
              status: "Warn",
            },
          ],
          metadata: { page, page_count: 2, per_page: 1 },
        },
      };
    });
    const pulled = await collect(
      create({ pull: { monitorStates: ["warn"], lookbackMs: 600_000, pageSize: 1 } }).pull!({
        signal: AbortSignal.timeout(5_000),
      }),
    );
    expect(pulled.map((t) => [t.title, t.severity])).toEqual([
      ["Disk on web-00", "medium"],
      ["Disk on web-01", "medium"],
    ]);
    expect(server.requests[0]!.query.get("filter[from]")).toBe(String(NOW.getTime() - 600_000));
  });

  it("maps 429 to RATE_LIMITED with retryAfterMs from X-RateLimit-Reset", async () => {
    server.route("GET /api/v2/events", () => ({
      status: 429,
      headers: {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Period": "10",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "7",
      },
      body: { errors: ["Rate limit exceeded"] },
    }));
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_RATE_LIMITED",
      retryable: true,
      details: { retryAfterMs: 7_000, status: 429 },
    });
  });

  it("prefers Retry-After when Datadog sends one", async () => {
    server.route("GET /api/v2/events", () => ({
      status: 429,
      headers: { "Retry-After": "2", "X-RateLimit-Reset": "9" },
    }));
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      details: { retryAfterMs: 2_000 },
    });
  });

  it("maps 403 to RW_ERR_CONNECTOR_AUTH without echoing the keys", async () => {
    server.route("GET /api/v2/events", () => ({ status: 403, body: { errors: ["Forbidden"] } }));
    const error = await collect(create().pull!({ signal: AbortSignal.timeout(5_000) })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it("refuses an answer of the wrong shape", async () => {
    server.route("GET /api/v2/events", () => ({ body: { data: "nope" } }));
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });
});

describe("healthCheck", () => {
  it("validates the keys with GET /api/v1/validate", async () => {
    server.route("GET /api/v1/validate", () => ({ body: { valid: true } }));
    expect(await create().healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({ ok: true });
    server.route("GET /api/v1/validate", () => ({ status: 403, body: { errors: ["Forbidden"] } }));
    expect(await create().healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({
      ok: false,
      reason: "auth",
    });
  });

  it("talks to api.<site> by default", async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get("https://api.datadoghq.eu")
      .intercept({ path: "/api/v1/validate", method: "GET" })
      .reply(200, { valid: true });
    const instance = datadog.create(
      datadog.configSchema.parse({
        webhookAuth: { type: "none" },
        site: "datadoghq.eu",
        apiKey: "a",
        applicationKey: "b",
        dispatcher: agent,
      }),
      testContext(),
    ) as MonitoringConnector;
    expect(await instance.healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({ ok: true });
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
});

const monitorTicket = {
  id: 7,
  title: "High CPU on web-01",
  source: "datadog",
  externalId: "148275309:env:prod,host:web-01",
  fingerprint: "datadog:148275309:env:prod,host:web-01",
  metaData: { monitorId: 148275309, scope: "env:prod,host:web-01" },
} as unknown as Ticket;

testConnector(datadog, {
  config: {
    webhookAuth: { type: "header", secret: WEBHOOK_SECRET },
    apiUrl: "http://127.0.0.1:9",
    apiKey: API_KEY,
    applicationKey: APP_KEY,
  },
  invalidConfigs: [{ webhookAuth: { type: "header", secret: "short" } }],
  secrets: [API_KEY, APP_KEY, WEBHOOK_SECRET],
  operations: {
    pull: async (instance, { signal }) => {
      for await (const _ of (instance as MonitoringConnector).pull!({ signal })) {
        // drain
      }
    },
    // A ticket of a Datadog monitor, so the call reaches the (failing) API.
    acknowledge: (instance, { signal }) =>
      (instance as MonitoringConnector).acknowledge!(monitorTicket, { signal }),
    resolve: (instance, { signal }) => (instance as MonitoringConnector).resolve!(monitorTicket, { signal }),
  },
});

describe("acknowledge and resolve", () => {
  const alertTicket = (over: Partial<Ticket> = {}): Ticket =>
    ({
      id: 7,
      title: "High CPU on web-01",
      source: "datadog",
      externalId: "148275309:env:prod,host:web-01",
      fingerprint: "datadog:148275309:env:prod,host:web-01",
      metaData: { monitorId: 148275309, scope: "env:prod,host:web-01" },
      ...over,
    }) as Ticket;

  it("describes an acknowledge and a resolve in one line naming the monitor and scope, never a key", () => {
    const connector = create({ downtime: { durationMs: 600_000 } });
    const lines = [
      connector.describe!({ operation: "acknowledge", ticket: alertTicket() }),
      connector.describe!({ operation: "resolve", ticket: alertTicket() }),
      connector.describe!({ operation: "acknowledge", ticket: alertTicket({ metaData: {} }) }),
    ];
    expect(lines).toEqual([
      "datadog: create a downtime muting monitor 148275309 on env:prod,host:web-01 for 10 min",
      "datadog: cancel Runwarden's downtimes on monitor 148275309 on env:prod,host:web-01",
      `datadog: create a downtime muting ticket ${alertTicket().id} (no monitor) for 10 min`,
    ]);
    for (const line of lines) {
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(APP_KEY);
    }
  });

  it("mutes the monitor's group with one downtime however often it is acknowledged", async () => {
    const fake = await fakeDatadog({ apiKey: API_KEY, applicationKey: APP_KEY });
    try {
      const connector = create({ apiUrl: fake.url, downtime: { durationMs: 600_000 } });
      const signal = AbortSignal.timeout(5_000);
      await connector.acknowledge!(alertTicket(), { signal });
      await connector.acknowledge!(alertTicket(), { signal });
      expect(fake.downtimes).toHaveLength(1);
      expect(fake.downtimes[0]!.attributes).toMatchObject({
        monitor_identifier: { monitor_id: 148275309 },
        scope: "env:prod AND host:web-01",
        status: "active",
        schedule: { start: null, end: new Date(NOW.getTime() + 600_000).toISOString() },
      });
      expect(fake.downtimes[0]!.attributes.message).toContain("[runwarden:148275309:env:prod,host:web-01]");
    } finally {
      await fake.close();
    }
  });

  it("cancels only its own downtime when resolving, and succeeds when there is none", async () => {
    const fake = await fakeDatadog({ apiKey: API_KEY, applicationKey: APP_KEY });
    try {
      const connector = create({ apiUrl: fake.url });
      const signal = AbortSignal.timeout(5_000);
      await connector.acknowledge!(alertTicket(), { signal });
      await connector.acknowledge!(
        alertTicket({ id: 8, externalId: "99:host:db-01", metaData: { monitorId: 99, scope: "host:db-01" } }),
        {
          signal,
        },
      );
      await connector.resolve!(alertTicket(), { signal });
      await connector.resolve!(alertTicket(), { signal });
      expect(
        fake.downtimes.map((d) => [d.attributes.monitor_identifier.monitor_id, d.attributes.status]),
      ).toEqual([
        [148275309, "canceled"],
        [99, "active"],
      ]);
      expect(fake.requestsTo("DELETE", `/api/v2/downtime/${fake.downtimes[0]!.id}`)).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it("refuses a ticket that names no monitor", async () => {
    await expect(
      create().acknowledge!(alertTicket({ metaData: {} }), { signal: AbortSignal.timeout(5_000) }),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
  });
});
