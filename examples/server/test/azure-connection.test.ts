/**
 * The example server registers the Azure connector by default: the connection form comes from
 * its credential schemas, and "Test" on an azure connection gets an Entra ID token and reads the
 * VM's instance view from the connector tests' HTTPS fake (endpoints and its CA set by
 * RUNWARDEN_CONNECTOR_CONFIG_AZURE, as an operator would for a sovereign cloud or a proxy).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAzure, startFakeAzure } from "../../../packages/connectors/azure/test/fake-azure.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

let server: RunningServer;
let fake: FakeAzure;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeAzure();
  fake.vms.set("web-01", { power: "running" });
  dataDir = mkdtempSync(join(tmpdir(), "rw-azure-server-"));
  server = await startServer(
    readConfig({
      PORT: "0",
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_CONNECTOR_CONFIG_AZURE: JSON.stringify({
        endpoints: { resourceManager: fake.url, authorityHost: fake.url },
        tlsCa: fake.ca,
      }),
    }),
    pino({ level: "silent" }),
  );
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function api(method: string, path: string, json?: unknown) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(json !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies of several routes
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("the azure connector in the example server", () => {
  it("is listed with its credential types, secrets marked", async () => {
    const connectors = await api("GET", "/connectors/infrastructure");
    expect(connectors.body.items.map((c: { name: string }) => c.name)).toContain("azure");
    const types = await api("GET", "/connectors/credential-types");
    const items = (types.body.items ?? types.body) as {
      name: string;
      fields: { name: string; secret: boolean }[];
    }[];
    const sp = items.find((t) => t.name === "azure_client_secret");
    expect(sp?.fields.find((f) => f.name === "client_secret")?.secret).toBe(true);
    expect(sp?.fields.find((f) => f.name === "tenant_id")?.secret).toBe(false);
    expect(
      items
        .find((t) => t.name === "azure_client_certificate")
        ?.fields.find((f) => f.name === "certificate_pem")?.secret,
    ).toBe(true);
    expect(items.some((t) => t.name === "azure_managed_identity")).toBe(true);
  });

  it("tests an azure connection: healthy with the right secret, unhealthy with a wrong one", async () => {
    const connectionFor = async (name: string, secret: string) => {
      const credential = await api("POST", "/connectors/credentials", {
        name,
        credential_type: "azure_client_secret",
        environment: "prod",
        tenant_id: fake.tenantId,
        client_id: fake.clientId,
        client_secret: secret,
      });
      expect(credential.status, JSON.stringify(credential.body)).toBe(201);
      expect(JSON.stringify(credential.body)).not.toContain(secret);
      const connection = await api("POST", "/connectors/infrastructure-connections", {
        name: `${name}-web-01`,
        connection_type: "azure",
        credential_id: credential.body.id,
        target_host: "web-01",
        environment: "prod",
        options: { subscription_id: fake.subscriptionId, resource_group: fake.resourceGroup },
      });
      expect(connection.status, JSON.stringify(connection.body)).toBe(201);
      return api("POST", `/connectors/infrastructure-connections/${connection.body.id}/test`);
    };
    const tested = await connectionFor("azure-sp", fake.clientSecret);
    expect(tested.body.status, JSON.stringify(tested.body)).toBe("healthy");
    expect(fake.requests.some((r) => r.path.endsWith("/instanceView"))).toBe(true);
    const failed = await connectionFor("azure-wrong", "wrong-secret-0123456789");
    expect(failed.body.status).toBe("unhealthy");
    expect(JSON.stringify(failed.body)).not.toContain("wrong-secret-0123456789");
  });
});
