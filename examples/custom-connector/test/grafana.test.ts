import { createHmac } from "node:crypto";
import { createTestContext, testConnector, testMonitoringWebhooks } from "@runwarden/connector-testkit";
import type { MonitoringConnector, WebhookRequest } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import grafana from "../src/index.js";

const SECRET = "grafana-webhook-hmac-secret-5521";

/** The example body of Grafana's webhook notifier documentation (two firing alerts). */
const documented = {
  receiver: "My Super Webhook",
  status: "firing",
  orgId: 1,
  alerts: [
    {
      status: "firing",
      labels: { alertname: "High memory usage", team: "blue", zone: "us-1" },
      annotations: {
        description: "The system has high memory usage",
        runbook_url: "https://myrunbook.com/runbook/1234",
        summary: "This alert was triggered for zone us-1",
      },
      startsAt: "2021-10-12T09:51:03.157076+02:00",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "https://play.grafana.org/alerting/1afz29v7z/edit",
      fingerprint: "c6eadffa33fcdf37",
      silenceURL: "https://play.grafana.org/alerting/silence/new?alertmanager=grafana",
      dashboardURL: "",
      panelURL: "",
      values: { B: 44.23943737541908, C: 1 },
    },
    {
      status: "firing",
      labels: {
        alertname: "High CPU usage",
        team: "blue",
        zone: "eu-1",
        severity: "critical",
        service: "api",
      },
      annotations: {
        description: "The system has high CPU usage",
        summary: "This alert was triggered for zone eu-1",
      },
      startsAt: "2021-10-12T09:56:03.157076+02:00",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "https://play.grafana.org/alerting/d1rdpdv7k/edit",
      fingerprint: "bc97ff14869b13e3",
      dashboardURL: "",
      panelURL: "",
      values: { B: 44.23943737541908, C: 1 },
    },
  ],
  groupLabels: {},
  commonLabels: { team: "blue" },
  commonAnnotations: {},
  externalURL: "https://play.grafana.org/",
  version: "1",
  groupKey: "{}:{}",
  truncatedAlerts: 0,
  title: "[FIRING:2]  (blue)",
  state: "alerting",
  message: "**Firing**",
};

function signed(body: unknown, timestamp?: string): WebhookRequest {
  const rawBody = JSON.stringify(body);
  const payload = timestamp ? `${timestamp}:${rawBody}` : rawBody;
  const signature = createHmac("sha256", SECRET).update(payload).digest("hex");
  return {
    headers: {
      "x-grafana-alerting-signature": signature,
      ...(timestamp ? { "x-grafana-alerting-timestamp": timestamp } : {}),
    },
    body,
    rawBody,
  };
}

const config = { auth: { type: "hmac" as const, secret: SECRET } };

testConnector(grafana, {
  config,
  secrets: [SECRET],
  invalidConfigs: [{ auth: { type: "hmac", secret: "short" } }],
});
testMonitoringWebhooks(grafana, { config, samples: [signed(documented)] });

function create(input: Record<string, unknown> = config, now = Date.now()): MonitoringConnector {
  const { ctx } = createTestContext({ now: () => new Date(now) });
  return grafana.create(grafana.configSchema.parse(input), ctx) as MonitoringConnector;
}

describe("grafana connector", () => {
  it("maps each alert to a ticket with its fingerprint, severity, service and start time", async () => {
    const { tickets, warnings } = await create().parseWebhook!(signed(documented));
    expect(warnings).toEqual([]);
    expect(tickets.map((t) => [t.title, t.severity, t.service, t.externalId, t.receivedAt])).toEqual([
      ["High memory usage", "medium", "", "c6eadffa33fcdf37", "2021-10-12T07:51:03.157Z"],
      ["High CPU usage", "critical", "api", "bc97ff14869b13e3", "2021-10-12T07:56:03.157Z"],
    ]);
    expect(tickets[0]).toMatchObject({
      source: "grafana",
      fingerprint: "grafana:c6eadffa33fcdf37",
      resolved: false,
    });
  });

  it("reports a resolved alert as resolved", async () => {
    const resolved = {
      ...documented,
      status: "resolved",
      alerts: [{ ...documented.alerts[0]!, status: "resolved" }],
    };
    const { tickets } = await create().parseWebhook!(signed(resolved));
    expect(tickets[0]!.resolved).toBe(true);
  });

  it("refuses a tampered body, and a signed timestamp outside the allowed skew", async () => {
    const connector = create(
      { auth: { ...config.auth, timestampHeader: "X-Grafana-Alerting-Timestamp" } },
      1_760_000_000_000,
    );
    const fresh = signed(documented, "1760000000");
    expect(await connector.verifyWebhook!(fresh)).toBe(true);
    expect(await connector.verifyWebhook!({ ...fresh, rawBody: fresh.rawBody.replace("us-1", "us-2") })).toBe(
      false,
    );
    expect(await connector.verifyWebhook!(signed(documented, "1759990000"))).toBe(false);
  });

  it("accepts a bearer token only when it matches exactly", async () => {
    const connector = create({ auth: { type: "bearer", token: "grafana-bearer-token-0001" } });
    const request = {
      headers: { authorization: "Bearer grafana-bearer-token-0001" },
      body: documented,
      rawBody: "",
    };
    expect(await connector.verifyWebhook!(request)).toBe(true);
    expect(
      await connector.verifyWebhook!({
        ...request,
        headers: { authorization: "Bearer grafana-bearer-token-0002" },
      }),
    ).toBe(false);
  });
});
