/**
 * The example server registers the GCP connector by default: the connection form comes from its
 * credential schemas, and "Test" on a gcp connection runs its health check (token, then
 * testIamPermissions and instances.get) against the fake Google APIs of the connector's tests,
 * the endpoints set by RUNWARDEN_CONNECTOR_CONFIG_GCP as an operator would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGcp, startFakeGcp } from "../../../packages/connectors/gcp/test/fake-gcp.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

let server: RunningServer;
let fake: FakeGcp;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeGcp({ sshUser: "sa_1" });
  fake.instances.set("web-1", { name: "web-1", status: "RUNNING", natIP: "127.0.0.1" });
  dataDir = mkdtempSync(join(tmpdir(), "rw-gcp-server-"));
  // The operator points the connector at other endpoints (Private Service Connect; here the fake).
  const endpoints = {
    compute: `${fake.url}/compute/v1`,
    oslogin: `${fake.url}/oslogin/v1`,
    token: `${fake.url}/token`,
  };
  server = await startServer(
    readConfig({
      PORT: "0",
      RUNWARDEN_DATA_DIR: dataDir,
      RUNWARDEN_CONNECTOR_CONFIG_GCP: JSON.stringify({ endpoints }),
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

describe("the gcp connector in the example server", () => {
  it("is listed with its credential types, the key marked secret", async () => {
    const connectors = await api("GET", "/connectors/infrastructure");
    expect(connectors.body.items.map((c: { name: string }) => c.name)).toContain("gcp");
    const types = await api("GET", "/connectors/credential-types");
    const items = (types.body.items ?? types.body) as {
      name: string;
      fields: { name: string; secret: boolean }[];
    }[];
    expect(items.find((t) => t.name === "gcp_service_account")?.fields).toEqual([
      expect.objectContaining({ name: "key_json", secret: true }),
    ]);
    expect(items.find((t) => t.name === "gcp_workload_identity")?.fields[0]).toMatchObject({
      name: "service_account_email",
      secret: false,
    });
  });

  it("tests a gcp connection: healthy with the service account's key, unhealthy with another", async () => {
    const connectionFor = async (name: string, keyJson: string) => {
      const credential = await api("POST", "/connectors/credentials", {
        name,
        credential_type: "gcp_service_account",
        environment: "prod",
        key_json: keyJson,
      });
      expect(credential.status).toBe(201);
      expect(JSON.stringify(credential.body)).not.toContain("PRIVATE KEY");
      const connection = await api("POST", "/connectors/infrastructure-connections", {
        name: `${name}-web-1`,
        connection_type: "gcp",
        credential_id: credential.body.id,
        target_host: "web-1",
        environment: "prod",
        options: { project: fake.project, zone: fake.zone },
      });
      expect(connection.status, JSON.stringify(connection.body)).toBe(201);
      return api("POST", `/connectors/infrastructure-connections/${connection.body.id}/test`);
    };
    const tested = await connectionFor("gcp-sa", fake.keyJson);
    expect(tested.body.status, JSON.stringify(tested.body)).toBe("healthy");
    expect(fake.requests.some((r) => r.path.endsWith("/testIamPermissions"))).toBe(true);
    const failed = await connectionFor("gcp-other", fake.wrongKeyJson);
    expect(failed.body.status).toBe("unhealthy");
    expect(JSON.stringify(failed.body)).not.toContain("PRIVATE KEY");
  });
});
