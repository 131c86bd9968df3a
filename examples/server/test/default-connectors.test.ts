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
  it("lists prometheus, datadog and servicenow as not configured, each with what it needs", async () => {
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

  it("lists every registered connector with a configuration form, and a hint naming the Connectors tab when it needs one", async () => {
    const server = await start();
    for (const kind of ["monitoring", "ticketing", "infrastructure"] as const) {
      const listed = await list(server, kind);
      expect(Object.keys(listed).length, kind).toBeGreaterThan(0);
      for (const connector of Object.values(listed)) {
        const res = await fetch(`${server.url}/api/v1/connectors/${kind}/${connector.name}`, {
          headers: { authorization: `Bearer ${server.adminToken}` },
        });
        expect(res.status, connector.name).toBe(200);
        const detail = (await res.json()) as {
          config_schema: { json_schema: { type?: string } };
          webhook_url: string | null;
          config: { source: string };
        };
        expect(detail.config_schema.json_schema.type, connector.name).toBe("object");
        if (kind === "monitoring") {
          expect(detail.webhook_url).toBe(`${server.url}/api/v1/tickets/webhook/${connector.name}`);
        }
        if (connector.status !== "not_configured") continue;
        expect(connector.hint, connector.name).toContain("Connectors tab");
        expect(connector.hint, connector.name).toContain(
          `/api/v1/connectors/${kind}/${connector.name}/config`,
        );
        if (kind !== "monitoring") continue;
        // Each documented webhook source answers with how to configure it, never a 404.
        const hook = await postWebhook(server, connector.name, { any: "body" });
        expect(hook.status, connector.name).toBe(503);
        const body = (await hook.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("RW_ERR_PLUGIN_NOT_CONFIGURED");
        expect(body.error.message).toContain("Connectors tab");
      }
    }
  });

  it("configures prometheus through the API without a restart, and keeps it across one", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rw-defaults-"));
    const first = await startServer(
      readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
      pino({ level: "silent" }),
    );
    const auth = { authorization: `Bearer ${first.adminToken}`, "content-type": "application/json" };
    const generated = await fetch(
      `${first.url}/api/v1/connectors/monitoring/prometheus/config/webhook-secret`,
      {
        method: "POST",
        headers: auth,
      },
    );
    expect(generated.status).toBe(200);
    const { secret } = (await generated.json()) as { secret: string };
    expect((await postWebhook(first, "prometheus", alertmanagerBody)).status).toBe(401);
    expect((await postWebhook(first, "prometheus", alertmanagerBody, secret)).status).toBe(202);
    expect((await list(first, "monitoring")).prometheus).toMatchObject({ status: "ready" });
    await first.close();

    const second = await startServer(
      readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
      pino({ level: "silent" }),
    );
    started.push({ server: second, dataDir });
    expect((await list(second, "monitoring")).prometheus).toMatchObject({
      status: "ready",
      config_source: "store",
    });
    expect((await postWebhook(second, "prometheus", alertmanagerBody, secret)).status).toBe(202);
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

  it("says the environment configures prometheus and refuses a PUT with 409: the environment wins", async () => {
    const server = await start({ RUNWARDEN_PROMETHEUS_TOKEN: token });
    const headers = { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" };
    const config = await fetch(`${server.url}/api/v1/connectors/monitoring/prometheus/config`, { headers });
    expect(await config.json()).toMatchObject({
      source: "host",
      configured_by: "RUNWARDEN_PROMETHEUS_TOKEN",
    });
    const put = await fetch(`${server.url}/api/v1/connectors/monitoring/prometheus/config`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ webhookAuth: { type: "none" } }),
    });
    expect(put.status).toBe(409);
    const body = (await put.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("RW_ERR_CONFIG_HOST_OWNED");
    expect(body.error.message).toContain("RUNWARDEN_PROMETHEUS_TOKEN");
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
