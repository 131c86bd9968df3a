/**
 * The example server registers the Kubernetes connector by default: its credential types (and so
 * the dashboard's connection form) come from the connector's schemas, and "Test" on a kubernetes
 * connection runs its health check (reachability plus SelfSubjectAccessReview) against a fake API
 * server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeApiServer,
  startFakeApiServer,
} from "../../../packages/connectors/kubernetes/test/fake-api-server.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

let server: RunningServer;
let fake: FakeApiServer;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeApiServer();
  dataDir = mkdtempSync(join(tmpdir(), "rw-k8s-server-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
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

describe("the kubernetes connector in the example server", () => {
  it("is listed with its credential types, secret fields marked", async () => {
    const connectors = await api("GET", "/connectors/infrastructure");
    expect(connectors.body.items.map((c: { name: string }) => c.name)).toContain("kubernetes");
    const types = await api("GET", "/connectors/credential-types");
    const items = (types.body.items ?? types.body) as {
      name: string;
      fields: { name: string; secret: boolean }[];
    }[];
    const token = items.find((t) => t.name === "k8s_token");
    expect(token?.fields).toEqual([expect.objectContaining({ name: "token", secret: true })]);
    const cert = items.find((t) => t.name === "k8s_client_cert");
    expect(cert?.fields.find((f) => f.name === "client_key")?.secret).toBe(true);
    expect(items.find((t) => t.name === "kubeconfig")?.fields[0]).toMatchObject({
      name: "kubeconfig",
      secret: true,
    });
  });

  it("tests a kubernetes connection: healthy against the fake API server, unhealthy with a wrong token", async () => {
    const good = await api("POST", "/connectors/credentials", {
      name: "k8s-sa",
      credential_type: "k8s_token",
      environment: "prod",
      token: fake.token,
    });
    expect(good.status).toBe(201);
    expect(JSON.stringify(good.body)).not.toContain(fake.token);
    const connection = await api("POST", "/connectors/infrastructure-connections", {
      name: "prod-cluster",
      connection_type: "kubernetes",
      credential_id: good.body.id,
      target_host: "127.0.0.1",
      target_port: fake.port,
      environment: "prod",
      options: { scheme: "http", namespace: "shop" },
    });
    expect(connection.status).toBe(201);
    const tested = await api("POST", `/connectors/infrastructure-connections/${connection.body.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body.status).toBe("healthy");
    expect(fake.requests.some((r) => r.path.endsWith("/selfsubjectaccessreviews"))).toBe(true);

    const bad = await api("POST", "/connectors/credentials", {
      name: "k8s-wrong",
      credential_type: "k8s_token",
      environment: "prod",
      token: "not-the-token-0123456789",
    });
    const wrong = await api("POST", "/connectors/infrastructure-connections", {
      name: "prod-cluster-wrong",
      connection_type: "kubernetes",
      credential_id: bad.body.id,
      target_host: "127.0.0.1",
      target_port: fake.port,
      environment: "prod",
      options: { scheme: "http" },
    });
    const failed = await api("POST", `/connectors/infrastructure-connections/${wrong.body.id}/test`);
    expect(failed.body.status).toBe("unhealthy");
    expect(JSON.stringify(failed.body)).not.toContain("not-the-token-0123456789");
  });
});
