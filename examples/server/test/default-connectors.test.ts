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

async function list(
  server: RunningServer,
  kind: string,
  // A restart on the same data folder keeps the first start's token (and cannot show it).
  token = server.adminToken,
): Promise<Record<string, ConnectorWire>> {
  const res = await fetch(`${server.url}/api/v1/connectors/${kind}`, {
    headers: { authorization: `Bearer ${token}` },
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
  it("lists every first-party monitoring and ticketing connector as not configured, each with what it needs", async () => {
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
    expect(monitoring.solarwinds).toMatchObject({
      status: "not_configured",
      needs: ["RUNWARDEN_CONNECTOR_CONFIG_SOLARWINDS.webhookAuth"],
    });
    expect(monitoring.solarwinds?.hint).toContain('"tls":{"ca":"<PEM>"}');
    expect(monitoring.opmanager).toMatchObject({
      status: "not_configured",
      needs: ["RUNWARDEN_CONNECTOR_CONFIG_OPMANAGER.webhookAuth"],
    });
    expect(monitoring.zabbix).toMatchObject({
      status: "not_configured",
      needs: ["RUNWARDEN_CONNECTOR_CONFIG_ZABBIX.webhookAuth"],
    });
    expect(monitoring.zabbix?.hint).toContain("RUNWARDEN_CONNECTOR_CONFIG_ZABBIX");
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
    for (const zendesk of [ticketing.zendesk, monitoring.zendesk]) {
      expect(zendesk).toMatchObject({
        status: "not_configured",
        needs: ["RUNWARDEN_CONNECTOR_CONFIG_ZENDESK.auth"],
      });
      expect(zendesk?.hint).toContain('"webhookSecret"');
    }
    expect(server.engine.sync).toBeUndefined();
    const infrastructure = await list(server, "infrastructure");
    expect(Object.keys(infrastructure)).toEqual(
      expect.arrayContaining(["ssh", "postgres", "mysql", "http", "kubernetes"]),
    );
  });

  it("answers 503 with the variable to set for each documented webhook source, never a 404", async () => {
    const server = await start();
    for (const [source, variable] of [
      ["prometheus", "RUNWARDEN_PROMETHEUS_TOKEN"],
      ["datadog", "RUNWARDEN_CONNECTOR_CONFIG_DATADOG"],
      ["zendesk", "RUNWARDEN_CONNECTOR_CONFIG_ZENDESK"],
      ["solarwinds", "RUNWARDEN_CONNECTOR_CONFIG_SOLARWINDS"],
      ["opmanager", "RUNWARDEN_CONNECTOR_CONFIG_OPMANAGER"],
      ["zabbix", "RUNWARDEN_CONNECTOR_CONFIG_ZABBIX"],
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
    expect((await list(second, "monitoring", first.adminToken)).prometheus).toMatchObject({
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
    expect(body.error.message).toContain(
      "known sources: datadog, generic, opmanager, prometheus, solarwinds",
    );
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

  it("configures solarwinds and opmanager from their variables: each verifies its webhook", async () => {
    const server = await start({
      RUNWARDEN_CONNECTOR_CONFIG_SOLARWINDS: JSON.stringify({
        webhookAuth: { type: "basic", username: "orion", password: "solarwinds-defaults-test" },
      }),
      RUNWARDEN_CONNECTOR_CONFIG_OPMANAGER: JSON.stringify({
        webhookAuth: { type: "header", secret: "opmanager-secret-for-the-defaults-test" },
      }),
    });
    const monitoring = await list(server, "monitoring");
    expect(monitoring.solarwinds).toMatchObject({ status: "ready" });
    expect(monitoring.opmanager).toMatchObject({ status: "ready" });
    const alert = {
      AlertObjectID: "871",
      AlertName: "Node is down",
      Severity: "Critical",
      NodeName: "web-01",
    };
    expect((await postWebhook(server, "solarwinds", alert)).status).toBe(401);
    const accepted = await fetch(`${server.url}/api/v1/tickets/webhook/solarwinds`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from("orion:solarwinds-defaults-test").toString("base64")}`,
      },
      body: JSON.stringify(alert),
    });
    expect(accepted.status).toBe(202);
    // Orion does not escape variables for JSON: as text/plain such a body still reaches the connector.
    const broken = await fetch(`${server.url}/api/v1/tickets/webhook/solarwinds`, {
      method: "POST",
      headers: {
        "content-type": "text/plain",
        authorization: `Basic ${Buffer.from("orion:solarwinds-defaults-test").toString("base64")}`,
      },
      body: '{"AlertObjectID": "872", "AlertName": "Volume almost full", "AlertMessage": "C:\\ Label:"Data" is 95% full"}',
    });
    expect(broken.status).toBe(202);
    const result = (await broken.json()) as { tickets: { id: number }[]; warnings: string[] };
    expect(result.tickets).toHaveLength(1);
    expect(result.warnings.join(" ")).toContain("not valid JSON");
    expect((await postWebhook(server, "opmanager", { entity: "5_Disk", severity: "Critical" })).status).toBe(
      401,
    );
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

describe("the example server with RUNWARDEN_CONNECTOR_CONFIG_ZENDESK", () => {
  const secret = "zendesk-signing-secret-for-the-defaults-test";
  const config = JSON.stringify({
    // Nothing listens there: the sync's first poll fails quietly instead of reaching the internet.
    url: "http://127.0.0.1:9",
    auth: { type: "token", email: "runwarden@acme.example", token: "zendesk-api-token-defaults" },
    webhookSecret: secret,
  });

  it("lists zendesk as ready, syncs tickets with it, and takes only signed webhooks", async () => {
    const server = await start({
      RUNWARDEN_CONNECTOR_CONFIG_ZENDESK: config,
      RUNWARDEN_TICKET_SYNC_POLL_MS: "3600000",
    });
    expect((await list(server, "ticketing")).zendesk).toMatchObject({ status: "ready" });
    expect((await list(server, "monitoring")).zendesk).toMatchObject({ status: "ready" });
    expect(server.engine.sync?.target).toBe("zendesk");
    const event = {
      type: "zen:event-type:ticket.created",
      id: "01HXYZ",
      time: "2026-12-07T09:00:00Z",
      subject: "zen:ticket:35436",
      detail: {
        id: "35436",
        subject: "Disk full on db-1",
        description: "/var at 100%",
        status: "New",
        priority: "High",
      },
      event: {},
    };
    expect((await postWebhook(server, "zendesk", event)).status).toBe(401);
    const { zendeskSignature } = await import("@runwarden/connector-zendesk");
    const body = JSON.stringify(event);
    const at = new Date().toISOString();
    const res = await fetch(`${server.url}/api/v1/tickets/webhook/zendesk`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": zendeskSignature(secret, at, body),
        "x-zendesk-webhook-signature-timestamp": at,
      },
      body,
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as { tickets: { id: number }[] };
    const ticket = await fetch(`${server.url}/api/v1/tickets/${created.tickets[0]!.id}`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(await ticket.json()).toMatchObject({
      source: "zendesk",
      external_id: "35436",
      title: "Disk full on db-1",
    });
  });

  it("refuses RUNWARDEN_TICKET_SYNC naming a ticketing connector that is not configured", async () => {
    await expect(start({ RUNWARDEN_TICKET_SYNC: "servicenow" })).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
    });
  });
});

describe("the example server with RUNWARDEN_CONNECTOR_CONFIG_ZABBIX", () => {
  const secret = "zabbix-media-type-secret-for-the-defaults-test";
  /** What the Runwarden media type sent from a real Zabbix 6.0 (the zabbix connector's fixture). */
  const problem = {
    "EVENT.ID": "9",
    "EVENT.NAME": "Webhook backlog on rw-it-8491cd06",
    "EVENT.NSEVERITY": "4",
    "EVENT.SEVERITY": "High",
    "EVENT.STATUS": "PROBLEM",
    "EVENT.VALUE": "1",
    "EVENT.TAGSJSON": '[{"tag":"service","value":"checkout"},{"tag":"env","value":"it"}]',
    "EVENT.RECOVERY.ID": "{EVENT.RECOVERY.ID}",
    "TRIGGER.ID": "23139",
    "HOST.NAME": "rw-it-8491cd06-webhook",
    "HOST.HOST": "rw-it-8491cd06-webhook",
    "HOST.IP": "*UNKNOWN*",
  };

  it("lists zabbix as ready and verifies its media type's Bearer secret: 401 without it, 202 with it", async () => {
    const server = await start({
      RUNWARDEN_CONNECTOR_CONFIG_ZABBIX: JSON.stringify({ webhookAuth: { type: "bearer", secret } }),
    });
    expect((await list(server, "monitoring")).zabbix).toMatchObject({ status: "ready", needs: [] });
    expect((await postWebhook(server, "zabbix", problem)).status).toBe(401);
    expect((await postWebhook(server, "zabbix", problem, "not-the-secret")).status).toBe(401);
    const ok = await postWebhook(server, "zabbix", problem, secret);
    expect(ok.status).toBe(202);
    // An update notification (someone acknowledged) is taken and changes nothing.
    const update = { ...problem, "EVENT.UPDATE.STATUS": "1", "EVENT.UPDATE.ACTION": "acknowledged" };
    expect((await postWebhook(server, "zabbix", update, secret)).status).toBe(202);
    const tickets = await fetch(`${server.url}/api/v1/tickets?source=zabbix`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    const body = (await tickets.json()) as {
      items: { title: string; external_id: string; severity: string }[];
    };
    expect(body.items).toEqual([
      expect.objectContaining({
        title: "Webhook backlog on rw-it-8491cd06",
        external_id: "9",
        severity: "high",
      }),
    ]);
  });
});
