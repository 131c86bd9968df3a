import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import httpConnector from "../src/index.js";

const TOKEN = "tok-0123456789abcdef";

function connection(
  parts: {
    options?: Record<string, unknown>;
    secrets?: Record<string, string>;
    fields?: Record<string, unknown>;
  } = {},
): ResolvedConnection {
  return {
    id: 1,
    name: "api",
    connectionType: "api",
    targetHost: "api.example.com",
    targetPort: null,
    targetService: null,
    environment: "test",
    options: parts.options ?? {},
    credential: {
      id: 1,
      name: "api-cred",
      credentialType: "api",
      environment: "test",
      value: { ...parts.fields, ...(parts.secrets ?? { token: TOKEN }) },
      secrets: parts.secrets ?? { token: TOKEN },
    },
  };
}

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "http", readOnly: false, signal: new AbortController().signal, ...extra };
}

describe("httpConnector", () => {
  let agent: MockAgent;
  let instance: InfrastructureConnector;

  beforeEach(async () => {
    agent = new MockAgent();
    agent.disableNetConnect();
    const config = httpConnector.configSchema.parse({ dispatcher: agent, retries: { baseDelayMs: 1 } });
    instance = (await httpConnector.create(config, createTestContext().ctx)) as InfrastructureConnector;
  });

  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await instance.close?.();
    await agent.close();
  });

  async function run(command: string, on = connection(), extra: Partial<ExecRequest> = {}) {
    const handle = await instance.open(on, { signal: new AbortController().signal });
    try {
      return await handle.exec(req(command, extra));
    } finally {
      await handle.release();
    }
  }

  it("sends the method, headers and body of the step, with the bearer token, and maps 2xx to exit code 0", async () => {
    agent
      .get("https://api.example.com")
      .intercept({
        path: "/v1/services/web/restart?force=true",
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "x-request-id": "abc",
          "content-type": "application/json",
        },
        body: '{"reason":"disk full"}',
      })
      .reply(202, { accepted: true });
    const result = await run(
      'POST /v1/services/web/restart?force=true\nX-Request-Id: abc\n\n{"reason":"disk full"}\n',
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: '{"accepted":true}', stderr: "" });
  });

  it("reports a non-2xx status as the exit code", async () => {
    agent.get("https://api.example.com").intercept({ path: "/missing" }).reply(404, "no such thing");
    expect(await run("GET https://api.example.com/missing")).toMatchObject({
      exitCode: 404,
      stdout: "no such thing",
      stderr: "HTTP 404\n",
    });
  });

  it("sends basic auth when the credential has a username and password", async () => {
    const basic = `Basic ${Buffer.from("ops:pw-secret-1").toString("base64")}`;
    agent
      .get("https://api.example.com")
      .intercept({ path: "/", headers: { authorization: basic } })
      .reply(200, "ok");
    const result = await run(
      "GET /",
      connection({ fields: { username: "ops" }, secrets: { password: "pw-secret-1" } }),
    );
    expect(result.exitCode).toBe(0);
  });

  it("registers the Basic and Bearer header values it derives for redaction when opened", async () => {
    const registered: string[] = [];
    const redact = (value: string) => registered.push(value);
    const basic = Buffer.from("ops:pw-secret-1").toString("base64");
    const signal = new AbortController().signal;
    await (
      await instance.open(connection({ fields: { username: "ops" }, secrets: { password: "pw-secret-1" } }), {
        signal,
        redact,
      })
    ).release();
    expect(registered).toEqual([`Basic ${basic}`, basic]);
    registered.length = 0;
    await (await instance.open(connection(), { signal, redact })).release();
    expect(registered).toEqual([`Bearer ${TOKEN}`, TOKEN]);
  });

  it("sends the API key in the configured header", async () => {
    agent
      .get("https://api.example.com")
      .intercept({ path: "/", headers: { "dd-api-key": "key-123456" } })
      .reply(200, "ok");
    const result = await run(
      "GET /",
      connection({ options: { api_key_header: "DD-API-KEY" }, secrets: { api_key: "key-123456" } }),
    );
    expect(result.exitCode).toBe(0);
  });

  it("calls an allowlisted host without the connection's credential", async () => {
    let seen: Record<string, string> = {};
    agent
      .get("https://status.example.org")
      .intercept({ path: "/health" })
      .reply((opts) => {
        seen = opts.headers as Record<string, string>;
        return { statusCode: 200, data: "up" };
      });
    const result = await run(
      "GET https://status.example.org/health",
      connection({ options: { allowed_hosts: ["*.example.org"] } }),
    );
    expect(result.exitCode).toBe(0);
    expect(Object.keys(seen).map((h) => h.toLowerCase())).not.toContain("authorization");
  });

  it("refuses a host that is neither the connection's nor allowlisted", async () => {
    await expect(run("GET https://evil.example.net/")).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "egress", host: "evil.example.net" },
    });
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/",
  ])("refuses the metadata address %s even when it is allowlisted", async (url) => {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    const error = await run(`GET ${url}`, connection({ options: { allowed_hosts: [host] } })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "egress", linkLocal: true },
    });
  });

  it("calls a metadata address when the connection allows link-local", async () => {
    agent.get("http://169.254.169.254").intercept({ path: "/latest/meta-data/" }).reply(200, "ami-id");
    const on = connection({ options: { allowed_hosts: ["169.254.169.254"], allow_link_local: true } });
    expect((await run("GET http://169.254.169.254/latest/meta-data/", on)).stdout).toBe("ami-id");
  });

  it("follows a redirect on the same host", async () => {
    const pool = agent.get("https://api.example.com");
    pool.intercept({ path: "/old" }).reply(301, "", { headers: { location: "/new" } });
    pool.intercept({ path: "/new" }).reply(200, "moved here");
    expect(await run("GET /old")).toMatchObject({ exitCode: 0, stdout: "moved here" });
  });

  it("refuses a redirect to another host", async () => {
    agent
      .get("https://api.example.com")
      .intercept({ path: "/go" })
      .reply(302, "", { headers: { location: "https://evil.example.net/steal" } });
    await expect(run("GET /go")).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "egress" },
    });
  });

  it("refuses the connection's host on another port unless that origin is allowlisted", async () => {
    await expect(run("GET http://api.example.com:8080/admin")).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "egress", origin: "http://api.example.com:8080" },
    });
  });

  it("sends no credential to the connection's host on another, allowlisted origin", async () => {
    let seen: Record<string, string> = {};
    agent
      .get("https://api.example.com:8443")
      .intercept({ path: "/echo" })
      .reply((opts) => {
        seen = opts.headers as Record<string, string>;
        return { statusCode: 200, data: "ok" };
      });
    const on = connection({ options: { allowed_hosts: ["api.example.com:8443"] } });
    expect((await run("GET https://api.example.com:8443/echo", on)).exitCode).toBe(0);
    expect(Object.keys(seen).map((h) => h.toLowerCase())).not.toContain("authorization");
  });

  it("sends no credential on a redirect that leaves the connection's origin, nor on hops after it", async () => {
    const seen: Record<string, string>[] = [];
    const record = (body: string, headers?: Record<string, string>) => (opts: { headers?: unknown }) => {
      seen.push(opts.headers as Record<string, string>);
      return { statusCode: headers ? 302 : 200, data: body, responseOptions: headers ? { headers } : {} };
    };
    agent
      .get("https://api.example.com")
      .intercept({ path: "/go" })
      .reply(record("", { location: "https://status.example.org/hop" }));
    agent
      .get("https://status.example.org")
      .intercept({ path: "/hop" })
      .reply(record("", { location: "https://api.example.com/back" }));
    agent.get("https://api.example.com").intercept({ path: "/back" }).reply(record("landed"));
    const on = connection({ options: { allowed_hosts: ["*.example.org"] } });
    expect(await run("GET /go", on)).toMatchObject({ exitCode: 0, stdout: "landed" });
    const carried = seen.map((h) => Object.keys(h).some((k) => k.toLowerCase() === "authorization"));
    expect(carried).toEqual([true, false, false]);
  });

  it("retries a 429 after the Retry-After delay", async () => {
    const pool = agent.get("https://api.example.com");
    pool.intercept({ path: "/busy" }).reply(429, "slow down", { headers: { "retry-after": "0" } });
    pool.intercept({ path: "/busy" }).reply(503, "still busy");
    pool.intercept({ path: "/busy" }).reply(200, "done");
    expect(await run("GET /busy")).toMatchObject({ exitCode: 0, stdout: "done" });
  });

  it("returns the 429 when Retry-After asks for longer than retries.maxDelayMs", async () => {
    agent
      .get("https://api.example.com")
      .intercept({ path: "/busy" })
      .reply(429, "later", { headers: { "retry-after": "3600" } });
    expect(await run("GET /busy")).toMatchObject({ exitCode: 429, stdout: "later" });
  });

  it("refuses a changing method in a read-only check", async () => {
    await expect(run("DELETE /v1/cache", connection(), { readOnly: true })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "read-only" },
    });
  });

  it("caps the response body and says so", async () => {
    const small = (await httpConnector.create(
      httpConnector.configSchema.parse({ dispatcher: agent, maxBodyBytes: 10 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
    agent.get("https://api.example.com").intercept({ path: "/big" }).reply(200, "x".repeat(100));
    const handle = await small.open(connection(), { signal: new AbortController().signal });
    const result = await handle.exec(req("GET /big"));
    expect(result.stdout).toBe("x".repeat(10));
    expect(result.stderr).toContain("cut at 10 bytes");
  });

  it("refuses a step that is not `METHOD URL`", async () => {
    await expect(run("fetch the thing")).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "request" },
    });
    await expect(run("GET /\nHost: evil")).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED" });
  });

  it("rejects with RW_ERR_CONNECTOR_TIMEOUT when the step is aborted mid-request", async () => {
    agent
      .get("https://api.example.com")
      .intercept({ path: "/slow" })
      .reply(200, "late")
      .delay(5000)
      .persist();
    const controller = new AbortController();
    const handle = await instance.open(connection(), { signal: controller.signal });
    const running = handle.exec(req("GET /slow", { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_TIMEOUT" });
  });

  it("describes a step with its resolved URL and auth kind, masking secret-looking query values", () => {
    const line = instance.describe?.(
      { command: "POST /v1/hooks?api_key=abc&team=ops", language: "http", readOnly: false },
      connection(),
    );
    expect(line).toBe("POST https://api.example.com/v1/hooks?api_key=***&team=ops (bearer token)");
  });
});

testConnector(httpConnector, {
  config: {},
  invalidConfigs: [{ dispatcher: "not a dispatcher" }, { retries: { max: -1 } }],
  request: { command: "GET /", language: "http" },
  unreachableConnection: {
    ...connection({ options: { scheme: "http" }, secrets: { token: "contract-canary-token-1" } }),
    targetHost: "127.0.0.1",
    targetPort: 1,
  },
});
