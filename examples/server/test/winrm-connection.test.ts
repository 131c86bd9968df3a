/**
 * The WinRM connector in the example server, configured the way the dashboard does it: its
 * credential type (with the password secret) is listed for the form, a `winrm` credential and
 * connection are created through the API, and the connection's "Test" runs the connector's health
 * check against a fake WinRM listener (NTLM over HTTP, sealed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeWsman, startFakeWsman } from "../../../packages/connectors/winrm/test/fake-wsman.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

const user = { username: "svc-runwarden", password: "Wsman-test-pw-42", domain: "CORP" };
let server: RunningServer;
let fake: FakeWsman;
let dataDir: string;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  fake = await startFakeWsman({ auth: "ntlm", user });
  dataDir = mkdtempSync(join(tmpdir(), "rw-winrm-server-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
    pino({ level: "silent" }),
  );
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the WinRM connector in the example server", () => {
  it("is registered with its connection type, and its credential type drives the form", async () => {
    const infra = await api("GET", "/connectors/infrastructure");
    const winrm = (infra.body.items as { name: string; status: string; connection_types: string[] }[]).find(
      (c) => c.name === "winrm",
    );
    expect(winrm).toMatchObject({ status: "ready", connection_types: ["winrm"] });
    const types = await api("GET", "/connectors/credential-types");
    const type = (
      types.body.items as { name: string; fields: { name: string; secret: boolean; required: boolean }[] }[]
    ).find((t) => t.name === "winrm");
    expect(type?.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "username", secret: false, required: true }),
        expect.objectContaining({ name: "password", secret: true, required: true }),
        expect.objectContaining({ name: "domain", secret: false, required: false }),
      ]),
    );
  });

  it("tests a connection through the API: healthy with the right password, auth failure without", async () => {
    const good = await api("POST", "/connectors/credentials", {
      name: "win-login",
      credential_type: "winrm",
      environment: "prod",
      ...user,
    });
    expect(good.status).toBe(201);
    expect(JSON.stringify(good.body)).not.toContain(user.password);
    const bad = await api("POST", "/connectors/credentials", {
      name: "win-login-bad",
      credential_type: "winrm",
      environment: "prod",
      ...user,
      password: "Not-the-password-1",
    });
    const connection = async (name: string, credentialId: unknown) =>
      api("POST", "/connectors/infrastructure-connections", {
        name,
        connection_type: "winrm",
        target_host: "127.0.0.1",
        target_port: fake.port,
        environment: "prod",
        credential_id: credentialId,
        options: { transport: "http" },
      });
    const ok = await connection("win-01", good.body.id);
    expect(ok.status).toBe(201);
    const tested = await api("POST", `/connectors/infrastructure-connections/${ok.body.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ status: "healthy" });
    expect(fake.log.handshakes).toBeGreaterThanOrEqual(1);

    const refused = await connection("win-02", bad.body.id);
    const failed = await api("POST", `/connectors/infrastructure-connections/${refused.body.id}/test`);
    expect(failed.body).toMatchObject({ status: "unhealthy" });
    expect(JSON.stringify(failed.body)).toMatch(/auth/);
    expect(JSON.stringify(failed.body)).not.toContain("Not-the-password-1");
  });
});
