import { createTestContext, type FakeServer, fakeServer, testConnector } from "@runwarden/connector-testkit";
import {
  createEngine,
  type Engine,
  type ExecRequest,
  type InfrastructureConnector,
  type ResolvedConnection,
} from "@runwarden/core";
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

describe("httpConnector in a session, against a target that echoes the request", () => {
  const password = "pw:ops/2026+x";
  const token = "bearer-tok-8c1d2e3f";
  let engine: Engine;
  const chunks: string[] = [];

  beforeAll(async () => {
    // Echoes the request's headers, and the Authorization header URL-encoded as a link would hold it.
    server.route("GET /echo", (r) => ({
      body: `${JSON.stringify(r.headers)}\nnext=/login?auth=${encodeURIComponent(String(r.headers.authorization))}\n`,
    }));
    engine = await createEngine({
      vault: { key: Buffer.alloc(32, 9).toString("base64") },
      connectors: [{ connector: httpConnector, config: {} }],
    });
    engine.events.on("step:output", (e) => chunks.push(e.chunk));
    const basic = await engine.credentials.create({
      name: "basic",
      credentialType: "api",
      environment: "prod",
      username: "ops",
      password,
    });
    const bearer = await engine.credentials.create({
      name: "bearer",
      credentialType: "api",
      environment: "prod",
      token,
    });
    for (const [name, credentialId] of [
      ["echo-basic", basic.id],
      ["echo-bearer", bearer.id],
    ] as const) {
      await engine.connections.create({
        name,
        connectionType: "api",
        targetHost: "127.0.0.1",
        targetPort: server.port,
        environment: "prod",
        credentialId,
        options: { scheme: "http" },
      });
    }
    await engine.start();
  });
  afterAll(async () => {
    await engine.close();
  });

  async function runStep(connection: string) {
    const { ticket } = await engine.tickets.ingest(
      {
        title: "echo",
        description: "",
        severity: "low",
        environment: "prod",
        service: "api",
        source: "test",
      },
      { autoExecute: false },
    );
    const { runbook } = await engine.runbooks.create(
      `# Echo ${connection}\n\n## Main Steps\n\n\`\`\`http {connection=${connection}}\nGET /echo\n\`\`\`\n`,
      { actor: { id: "author", roles: ["admin"] }, status: "approved" },
    );
    const { session } = await engine.executions.start(ticket.id, runbook.id, {
      actor: { id: "alice", roles: ["operator"] },
    });
    await engine.executions.settled(session.id);
    return engine.executions.get(session.id);
  }

  it("shows *** for the Basic value, alone and URL-encoded, in the step's output and events", async () => {
    const basic = `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`;
    const detail = await runStep("echo-basic");
    const stdout = detail.steps[0]?.stdout ?? "";
    expect(detail.steps[0]?.status).toBe("succeeded");
    expect(stdout).toContain('"authorization":"***"');
    expect(stdout).toContain("next=/login?auth=***");
    const everything = JSON.stringify([detail, chunks]);
    expect(everything).not.toContain(basic.slice("Basic ".length));
    expect(everything).not.toContain(encodeURIComponent(basic));
  });

  it("shows *** for the bearer header, alone and URL-encoded", async () => {
    const detail = await runStep("echo-bearer");
    const stdout = detail.steps[0]?.stdout ?? "";
    expect(stdout).toContain('"authorization":"***"');
    expect(stdout).toContain("next=/login?auth=***");
    expect(JSON.stringify([detail, chunks])).not.toContain(token);
  });
});

testConnector(httpConnector, {
  config: {},
  connection: connection(),
  request: { command: "GET /health", language: "http" },
  slowRequest: { command: "GET /slow", language: "http" },
});

afterAll(() => server.close());
