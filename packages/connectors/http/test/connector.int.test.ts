import { createTestContext, type FakeServer, fakeServer, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpConnector from "../src/index.js";

// Loopback only: a node:http fake from the testkit, real sockets, the real undici Agent.
const server: FakeServer = await fakeServer({
  "GET /health": () => ({ body: { status: "ok" } }),
  "GET /slow": () => ({ delayMs: 10_000, body: "late" }),
  "GET /private": (r) =>
    r.headers.authorization === "Bearer live-token-123"
      ? { body: "secret stuff" }
      : { status: 401, body: "who are you" },
});

function connection(
  port = server.port,
  secrets: Record<string, string> = { token: "live-token-123" },
): ResolvedConnection {
  return {
    id: 7,
    name: "loopback-api",
    connectionType: "api",
    targetHost: "127.0.0.1",
    targetPort: port,
    targetService: null,
    environment: "test",
    options: { scheme: "http" },
    credential: {
      id: 7,
      name: "loopback",
      credentialType: "api",
      environment: "test",
      value: { ...secrets },
      secrets,
    },
  };
}

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "http", readOnly: false, signal: new AbortController().signal, ...extra };
}

describe("httpConnector against a loopback server", () => {
  let instance: InfrastructureConnector;
  beforeAll(async () => {
    instance = (await httpConnector.create(
      httpConnector.configSchema.parse({}),
      createTestContext().ctx,
    )) as InfrastructureConnector;
  });
  afterAll(async () => {
    await instance.close?.();
  });

  async function run(command: string, extra: Partial<ExecRequest> = {}, on = connection()) {
    const handle = await instance.open(on, { signal: new AbortController().signal });
    try {
      return await handle.exec(req(command, extra));
    } finally {
      await handle.release();
    }
  }

  it("reuses keep-alive connections for sequential requests", async () => {
    const before = server.requests.length;
    for (let i = 0; i < 10; i++) expect((await run("GET /health")).exitCode).toBe(0);
    const ports = new Set(server.requests.slice(before).map((r) => r.remotePort));
    // undici may spread over two sockets while the first one finishes; it never opens one per request.
    expect(ports.size).toBeLessThanOrEqual(2);
  });

  it("sends the bearer token to the connection's host", async () => {
    expect(await run("GET /private")).toMatchObject({ exitCode: 0, stdout: "secret stuff" });
  });

  it("reports a request that outlives its timeout as timed out", async () => {
    const start = performance.now();
    const result = await run("GET /slow", { timeoutMs: 200 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it("waits the Retry-After seconds before retrying a 429", async () => {
    let calls = 0;
    server.route("GET /limited", () =>
      ++calls === 1 ? { status: 429, headers: { "retry-after": "1" }, body: "wait" } : { body: "ok" },
    );
    const start = performance.now();
    expect(await run("GET /limited")).toMatchObject({ exitCode: 0, stdout: "ok" });
    expect(performance.now() - start).toBeGreaterThanOrEqual(950);
    expect(calls).toBe(2);
  });

  it("fails with RW_ERR_CONNECTOR_UNREACHABLE when nothing listens", async () => {
    await expect(run("GET /", {}, connection(1))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_UNREACHABLE",
      details: { reason: "refused" },
    });
  });

  it("reports health with latency, auth failures and refused connections", async () => {
    const on = { ...connection(), options: { scheme: "http", health_path: "/health" } };
    expect(await instance.healthCheck(on, { signal: AbortSignal.timeout(5000) })).toMatchObject({ ok: true });
    const unauth = { ...connection(server.port, {}), options: { scheme: "http", health_path: "/private" } };
    expect(await instance.healthCheck(unauth, { signal: AbortSignal.timeout(5000) })).toMatchObject({
      ok: false,
      reason: "auth",
    });
    expect(await instance.healthCheck(connection(1), { signal: AbortSignal.timeout(5000) })).toMatchObject({
      ok: false,
      reason: "refused",
    });
  });
});

testConnector(httpConnector, {
  config: {},
  connection: connection(),
  request: { command: "GET /health", language: "http" },
  slowRequest: { command: "GET /slow", language: "http" },
});

afterAll(() => server.close());
