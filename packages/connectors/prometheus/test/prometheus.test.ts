import { testConnector } from "@runwarden/connector-testkit";
import type { MonitoringConnector, TicketInput } from "@runwarden/core";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import prometheus from "../src/index.js";
import { fixture, NOW, testContext, ticket } from "./support.js";

const BASE = "http://alertmanager.test:9093";
const API_TOKEN = "api-proxy-token-7f3c9a";
const WEBHOOK_TOKEN = "webhook-token-0123456789";

let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

function create(config: Record<string, unknown> = {}): MonitoringConnector {
  const parsed = prometheus.configSchema.parse({
    webhookAuth: { type: "bearer", token: WEBHOOK_TOKEN },
    url: BASE,
    apiAuth: { type: "bearer", token: API_TOKEN },
    dispatcher: agent,
    ...config,
  });
  return prometheus.create(parsed, testContext()) as MonitoringConnector;
}

async function collect(iterable: AsyncIterable<TicketInput>): Promise<TicketInput[]> {
  const out: TicketInput[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const alerts = (fixture("alertmanager-get-alerts.json") as { response: { body: unknown[] } }).response.body;

describe("prometheus", () => {
  it("is webhook-only when no Alertmanager URL is configured", () => {
    const instance = prometheus.create(
      prometheus.configSchema.parse({ webhookAuth: { type: "none" } }),
      testContext(),
    ) as MonitoringConnector;
    expect(Object.keys(instance).sort()).toEqual(["parseWebhook", "verifyWebhook"]);
  });

  it("requires webhook auth to be chosen and refuses short secrets", () => {
    expect(prometheus.configSchema.safeParse({}).success).toBe(false);
    expect(
      prometheus.configSchema.safeParse({ webhookAuth: { type: "bearer", token: "short" } }).success,
    ).toBe(false);
    expect(prometheus.configSchema.safeParse({ webhookAuth: { type: "none" }, url: "ftp://x" }).success).toBe(
      false,
    );
  });
});

describe("pull", () => {
  it("pulls active, unsilenced alerts from GET /api/v2/alerts with the API credentials", async () => {
    agent
      .get(BASE)
      .intercept({
        path: (path) => {
          const [route, search] = path.split("?");
          const params = Object.fromEntries(new URLSearchParams(search));
          return (
            route === "/api/v2/alerts" &&
            JSON.stringify(params) ===
              JSON.stringify({
                active: "true",
                filter: 'team="sre"',
                inhibited: "false",
                silenced: "false",
                unprocessed: "false",
              })
          );
        },
        method: "GET",
        headers: { authorization: `Bearer ${API_TOKEN}` },
      })
      .reply(200, alerts);
    const pulled = await collect(
      create({ pull: { filter: ['team="sre"'] } }).pull!({ signal: AbortSignal.timeout(5_000) }),
    );
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({
      title: "CPU usage is over 90%",
      severity: "critical",
      service: "",
      fingerprint: "a1b2c3d4e5f60718",
      resolved: false,
    });
    expect(pulled[0]!.metaData).toMatchObject({ state: "active", host: "web-01", receivers: ["remediator"] });
  });

  it("skips alerts not updated since the cursor and malformed ones", async () => {
    const stale = {
      ...(alerts[0] as object),
      fingerprint: "0000000000000001",
      updatedAt: "2025-05-14T09:00:00Z",
    };
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/alerts/, method: "GET" })
      .reply(200, [stale, { nonsense: true }, alerts[0]]);
    const pulled = await collect(
      create().pull!({ since: "2025-05-14T09:10:00Z", signal: AbortSignal.timeout(5_000) }),
    );
    expect(pulled.map((t) => t.fingerprint)).toEqual(["a1b2c3d4e5f60718"]);
  });

  it("maps 401 to RW_ERR_CONNECTOR_AUTH and 503 to UNREACHABLE", async () => {
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/alerts/, method: "GET" })
      .reply(401, "unauthorized");
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
      details: { status: 401 },
    });
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/alerts/, method: "GET" })
      .reply(503, "busy");
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
      retryable: true,
    });
  });

  it("refuses a since that is not a date and an answer that is not a list", async () => {
    await expect(
      collect(create().pull!({ since: "yesterday", signal: AbortSignal.timeout(5_000) })),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/alerts/, method: "GET" })
      .reply(200, { not: "a list" });
    await expect(collect(create().pull!({ signal: AbortSignal.timeout(5_000) }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });
});

describe("acknowledge", () => {
  it("creates a silence on the alert's exact labels, marked with the fingerprint", async () => {
    agent
      .get(BASE)
      .intercept({
        path: `/api/v2/silences?filter=${encodeURIComponent('alertname="HighCPUUsage"')}`,
        method: "GET",
      })
      .reply(200, []);
    let posted: Record<string, unknown> | undefined;
    agent
      .get(BASE)
      .intercept({ path: "/api/v2/silences", method: "POST" })
      .reply(200, (opts) => {
        posted = JSON.parse(String(opts.body));
        return { silenceID: "9c1f2e4a-6b7d-4c3e-8f21-0a9b8c7d6e5f" };
      });
    await create({ silence: { durationMs: 3_600_000 } }).acknowledge!(ticket(), {
      signal: AbortSignal.timeout(10_000),
    });
    expect(posted).toMatchObject({
      matchers: [
        { name: "alertname", value: "HighCPUUsage", isRegex: false, isEqual: true },
        { name: "instance", value: "web-01:9100", isRegex: false, isEqual: true },
        { name: "job", value: "node", isRegex: false, isEqual: true },
        { name: "severity", value: "critical", isRegex: false, isEqual: true },
      ],
      startsAt: NOW.toISOString(),
      endsAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
      createdBy: "runwarden",
    });
    expect(posted?.comment).toBe("Runwarden ticket #12: CPU usage is over 90% [runwarden:a1b2c3d4e5f60718]");
  });

  it("does nothing when our silence for the alert is still active (idempotent)", async () => {
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/silences/, method: "GET" })
      .reply(200, [
        {
          id: "s-1",
          status: { state: "active" },
          comment: "Runwarden ticket #12: x [runwarden:a1b2c3d4e5f60718]",
          createdBy: "runwarden",
          matchers: [],
          startsAt: "2026-11-26T15:00:00Z",
          endsAt: "2026-11-26T17:00:00Z",
        },
      ]);
    await create().acknowledge!(ticket(), { signal: AbortSignal.timeout(10_000) });
  });

  it("refuses a ticket without Alertmanager labels before calling anything", async () => {
    await expect(
      create().acknowledge!(ticket({ metaData: { labels: "nope" } }), {
        signal: AbortSignal.timeout(10_000),
      }),
    ).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
  });
});

describe("resolve", () => {
  it("expires only our unexpired silences for the alert, tolerating one already gone", async () => {
    const ours = (id: string, state: string) => ({
      id,
      status: { state },
      comment: "Runwarden ticket #12: x [runwarden:a1b2c3d4e5f60718]",
      createdBy: "runwarden",
      matchers: [],
      startsAt: "2026-11-26T15:00:00Z",
      endsAt: "2026-11-26T17:00:00Z",
    });
    agent
      .get(BASE)
      .intercept({ path: /^\/api\/v2\/silences/, method: "GET" })
      .reply(200, [
        ours("s-active", "active"),
        ours("s-pending", "pending"),
        ours("s-expired", "expired"),
        { ...ours("s-human", "active"), createdBy: "alice" },
        { ...ours("s-other", "active"), comment: "[runwarden:ffffffffffffffff]" },
      ]);
    agent.get(BASE).intercept({ path: "/api/v2/silence/s-active", method: "DELETE" }).reply(200, "");
    agent
      .get(BASE)
      .intercept({ path: "/api/v2/silence/s-pending", method: "DELETE" })
      .reply(404, "not found");
    await create().resolve!(ticket(), { signal: AbortSignal.timeout(10_000) });
  });
});

describe("describe", () => {
  it("describes an acknowledge and a resolve with the Alertmanager host and the matchers, never its token", () => {
    const connector = create({ silence: { durationMs: 3_600_000 } });
    const acknowledge = connector.describe!({ operation: "acknowledge", ticket: ticket() });
    const resolve = connector.describe!({ operation: "resolve", ticket: ticket() });
    expect(acknowledge).toMatch(
      /^alertmanager alertmanager\.test:9093: create a silence on \{alertname="HighCPUUsage".*\} for 60 min$/,
    );
    expect(resolve).toMatch(
      /^alertmanager alertmanager\.test:9093: expire Runwarden's silences on \{alertname="HighCPUUsage"/,
    );
    expect(connector.describe!({ operation: "resolve", ticket: ticket({ metaData: {} }) })).toContain(
      "(no labels)",
    );
    for (const line of [acknowledge, resolve]) {
      expect(line).not.toMatch(/[\r\n]/);
      expect(line).not.toContain(API_TOKEN);
    }
  });
});

describe("healthCheck", () => {
  it("reports ok with latency when /api/v2/status answers", async () => {
    agent
      .get(BASE)
      .intercept({ path: "/api/v2/status", method: "GET" })
      .reply(200, { cluster: { status: "disabled" } });
    const health = await create().healthCheck!({ signal: AbortSignal.timeout(5_000) });
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("reports auth as the reason when the credentials are refused", async () => {
    agent.get(BASE).intercept({ path: "/api/v2/status", method: "GET" }).reply(403, "forbidden");
    expect(await create().healthCheck!({ signal: AbortSignal.timeout(5_000) })).toMatchObject({
      ok: false,
      reason: "auth",
    });
  });
});

testConnector(prometheus, {
  config: {
    webhookAuth: { type: "bearer", token: WEBHOOK_TOKEN },
    // Nothing listens on port 9 of loopback here (discard): every call fails to connect.
    url: "http://127.0.0.1:9",
    apiAuth: { type: "basic", username: "am", password: API_TOKEN },
  },
  invalidConfigs: [{ webhookAuth: { type: "bearer" } }, { webhookAuth: { type: "none" }, url: "not a url" }],
  secrets: [WEBHOOK_TOKEN, API_TOKEN],
  operations: {
    pull: async (instance, { signal }) => {
      for await (const _ of (instance as MonitoringConnector).pull!({ signal })) {
        // drain
      }
    },
    acknowledge: (instance, { signal }) =>
      (instance as MonitoringConnector).acknowledge!(ticket(), { signal }),
    resolve: (instance, { signal }) => (instance as MonitoringConnector).resolve!(ticket(), { signal }),
  },
});
