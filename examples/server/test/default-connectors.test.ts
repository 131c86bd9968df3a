/**
 * The example server started with no configuration: every first-party connector is listed (those
 * that need configuration as not configured, with what they need), and each documented webhook
 * source answers 503 with how to configure it instead of a 404. With RUNWARDEN_PROMETHEUS_TOKEN
 * set, the Prometheus webhook verifies and stores as before.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

const started: { server: RunningServer; dataDir: string }[] = [];

async function start(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "rw-defaults-"));
  const server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, ...env }),
    pino({ level: "silent" }),
  );
  started.push({ server, dataDir });
  return server;
}

afterAll(async () => {
  for (const { server, dataDir } of started) {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

interface ConnectorWire {
  name: string;
  status: string;
  needs: string[];
  hint: string | null;
}

async function list(server: RunningServer, kind: string): Promise<Record<string, ConnectorWire>> {
  const res = await fetch(`${server.url}/api/v1/connectors/${kind}`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: ConnectorWire[] };
  return Object.fromEntries(body.items.map((item) => [item.name, item]));
}

/** An Alertmanager webhook notification with one firing alert. */
const alertmanagerBody = {
  version: "4",
  groupKey: '{}:{alertname="DiskFull"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "runwarden",
  groupLabels: { alertname: "DiskFull" },
  commonLabels: { alertname: "DiskFull" },
  commonAnnotations: {},
  externalURL: "http://alertmanager:9093",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "DiskFull", instance: "db-1:9100", severity: "critical" },
      annotations: { summary: "Disk full on db-1" },
      startsAt: "2026-12-07T07:00:00Z",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus:9090/graph",
      fingerprint: "0123456789abcdef",
    },
  ],
};

function postWebhook(server: RunningServer, source: string, body: unknown, token?: string) {
  return fetch(`${server.url}/api/v1/tickets/webhook/${source}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

describe("the example server with no configuration", () => {
  it("lists prometheus, datadog, servicenow, servicedesk-plus and remedy as not configured, each with what it needs", async () => {
    const server = await start();
    const monitoring = await list(server, "monitoring");
    const ticketing = await list(server, "ticketing");
    expect(monitoring.prometheus).toMatchObject({
      status: "not_configured",
      needs: ["RUNWARDEN_PROMETHEUS_TOKEN"],
    });
    expect(monitoring.datadog).toMatchObject({
      status: "not_configured",
      needs: ["RUNWARDEN_CONNECTOR_CONFIG_DATADOG.webhookAuth"],
    });
    expect(ticketing.servicenow).toMatchObject({
      status: "not_configured",
      needs: [
        "RUNWARDEN_CONNECTOR_CONFIG_SERVICENOW.instanceUrl",
        "RUNWARDEN_CONNECTOR_CONFIG_SERVICENOW.auth",
      ],
    });
    expect(ticketing.servicenow?.hint).toContain("RUNWARDEN_CONNECTOR_CONFIG_SERVICENOW");
    expect(ticketing["servicedesk-plus"]).toMatchObject({
      status: "not_configured",
      needs: [
        "RUNWARDEN_CONNECTOR_CONFIG_SERVICEDESK_PLUS.baseUrl",
        "RUNWARDEN_CONNECTOR_CONFIG_SERVICEDESK_PLUS.auth",
      ],
    });
    expect(ticketing["servicedesk-plus"]?.hint).toContain("authtoken");
    expect(ticketing.remedy).toMatchObject({
      status: "not_configured",
      needs: [
        "RUNWARDEN_CONNECTOR_CONFIG_REMEDY.serverUrl",
        "RUNWARDEN_CONNECTOR_CONFIG_REMEDY.auth",
        "RUNWARDEN_CONNECTOR_CONFIG_REMEDY.customer",
      ],
    });
    const infrastructure = await list(server, "infrastructure");
    expect(Object.keys(infrastructure)).toEqual(expect.arrayContaining(["ssh", "postgres", "mysql", "http"]));
  });

  it("answers 503 with the variable to set for each documented webhook source, never a 404", async () => {
    const server = await start();
    for (const [source, variable] of [
      ["prometheus", "RUNWARDEN_PROMETHEUS_TOKEN"],
      ["datadog", "RUNWARDEN_CONNECTOR_CONFIG_DATADOG"],
    ] as const) {
      const res = await postWebhook(server, source, { any: "body" });
      expect(res.status, source).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("RW_ERR_PLUGIN_NOT_CONFIGURED");
      expect(body.error.message).toContain(variable);
    }
  });

  it("keeps a 404 for an unknown source, listing the known ones", async () => {
    const server = await start();
    const res = await postWebhook(server, "nagios", {});
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("known sources: datadog, generic, prometheus");
  });
});

describe("the example server with RUNWARDEN_PROMETHEUS_TOKEN", () => {
  const token = "prometheus-token-for-the-defaults-test";

  it("lists prometheus as ready and verifies its webhook: 401 without the token, 202 with it", async () => {
    const server = await start({ RUNWARDEN_PROMETHEUS_TOKEN: token });
    expect((await list(server, "monitoring")).prometheus).toMatchObject({ status: "ready", needs: [] });
    expect((await postWebhook(server, "prometheus", alertmanagerBody)).status).toBe(401);
    const ok = await postWebhook(server, "prometheus", alertmanagerBody, token);
    expect(ok.status).toBe(202);
    const body = (await ok.json()) as { tickets: { id: number }[] };
    expect(body.tickets).toHaveLength(1);
  });

  it("configures datadog from RUNWARDEN_CONNECTOR_CONFIG_DATADOG without RUNWARDEN_CONNECTORS", async () => {
    const server = await start({
      RUNWARDEN_CONNECTOR_CONFIG_DATADOG: JSON.stringify({
        webhookAuth: { type: "header", secret: "datadog-secret-for-the-defaults-test" },
      }),
    });
    expect((await list(server, "monitoring")).datadog).toMatchObject({ status: "ready" });
    expect((await postWebhook(server, "datadog", { any: "body" })).status).toBe(401);
  });
});

describe("the example server with ServiceDesk Plus and Remedy configured", () => {
  it("lists both as ready from their RUNWARDEN_CONNECTOR_CONFIG_<NAME> variables", async () => {
    const server = await start({
      RUNWARDEN_CONNECTOR_CONFIG_SERVICEDESK_PLUS: JSON.stringify({
        baseUrl: "http://127.0.0.1:9",
        auth: { type: "authtoken", authtoken: "sdp-key-for-the-defaults-test" },
      }),
      RUNWARDEN_CONNECTOR_CONFIG_REMEDY: JSON.stringify({
        serverUrl: "http://127.0.0.1:9",
        auth: { username: "svc", password: "remedy-password-for-the-defaults-test" },
        customer: { firstName: "Remediation", lastName: "Bot" },
      }),
    });
    const ticketing = await list(server, "ticketing");
    expect(ticketing["servicedesk-plus"]).toMatchObject({ status: "ready", needs: [] });
    expect(ticketing.remedy).toMatchObject({ status: "ready", needs: [] });
  });
});
