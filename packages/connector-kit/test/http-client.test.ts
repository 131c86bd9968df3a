import { isRunwardenError, type RunwardenError, rwError } from "@runwarden/core";
import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  apiHealthFailure,
  createHttpClient,
  type HttpClientOptions,
  retryAfterMs,
} from "../src/http-client.js";

const ORIGIN = "http://vendor.test";
const NOW = Date.parse("2025-01-01T00:00:00Z");

let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

function client(overrides: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    vendor: "Acme",
    baseUrl: new URL(`${ORIGIN}/api`),
    dispatcher: agent,
    timeoutMs: 5000,
    maxResponseBytes: 1024,
    headers: () => ({ authorization: "Bearer acme-token-123" }),
    now: () => NOW,
    ...overrides,
  });
}

const signal = () => new AbortController().signal;

async function failure(promise: Promise<unknown>): Promise<RunwardenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRunwardenError(error)) throw new Error(`expected a RunwardenError, got ${String(error)}`);
  return error;
}

describe("retryAfterMs", () => {
  it("reads delta-seconds and HTTP dates", () => {
    expect(retryAfterMs("3", 0)).toBe(3000);
    expect(retryAfterMs("Thu, 01 Jan 1970 00:00:10 GMT", 4000)).toBe(6000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
  });

  it("reads fractional seconds, the first of repeated headers, and never goes negative", () => {
    expect(retryAfterMs(" 1.5 ", 0)).toBe(1500);
    expect(retryAfterMs(["2", "9"], 0)).toBe(2000);
    expect(retryAfterMs("Thu, 01 Jan 1970 00:00:10 GMT", 60_000)).toBe(0);
    expect(retryAfterMs("  ", 0)).toBeUndefined();
    expect(retryAfterMs([], 0)).toBeUndefined();
  });
});

describe("createHttpClient", () => {
  it("sends the default headers and query under the base path when the request is a GET", async () => {
    agent
      .get(ORIGIN)
      .intercept({
        path: "/api/alerts?state=open&tag=a&tag=b",
        method: "GET",
        headers: { authorization: "Bearer acme-token-123", accept: "application/json" },
      })
      .reply(200, { items: [1, 2] }, { headers: { "content-type": "application/json", "X-Total": "2" } });
    const res = await client().send({
      method: "GET",
      path: "/alerts",
      query: { state: "open", tag: ["a", "b"], skipped: undefined },
      signal: signal(),
    });
    expect(res.status).toBe(200);
    expect(res.headers["x-total"]).toBe("2");
    expect(JSON.parse(res.text)).toEqual({ items: [1, 2] });
  });

  it("parses JSON, and answers undefined when the body is empty", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/one" }).reply(200, '{"ok":true}');
    agent.get(ORIGIN).intercept({ path: "/api/none", method: "DELETE" }).reply(204, "");
    const api = client();
    expect(await api.json({ method: "GET", path: "one", signal: signal() })).toEqual({ ok: true });
    expect(await api.json({ method: "DELETE", path: "none", signal: signal() })).toBeUndefined();
  });

  it("rejects with REJECTED and an excerpt when the body is not JSON", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/html" }).reply(200, "<html>maintenance</html>");
    const error = await failure(client().json({ method: "GET", path: "html", signal: signal() }));
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.message).toBe("Acme answered GET html with invalid JSON");
    expect(error.details).toMatchObject({ vendor: "Acme", remote: "<html>maintenance</html>" });
  });

  it("sends a JSON body and a form body with their content types", async () => {
    agent
      .get(ORIGIN)
      .intercept({
        path: "/api/silences",
        method: "POST",
        body: '{"a":1}',
        headers: { "content-type": "application/json" },
      })
      .reply(200, "{}");
    agent
      .get(ORIGIN)
      .intercept({
        path: "/oauth/token",
        method: "POST",
        body: "grant_type=client_credentials&scope=x+y",
        headers: (h) => h["content-type"] === "application/x-www-form-urlencoded" && !("authorization" in h),
      })
      .reply(200, '{"access_token":"t"}');
    const api = client();
    await api.send({ method: "POST", path: "silences", json: { a: 1 }, signal: signal() });
    const token = await api.json({
      method: "POST",
      path: `${ORIGIN}/oauth/token`,
      form: { grant_type: "client_credentials", scope: "x y" },
      anonymous: true,
      signal: signal(),
    });
    expect(token).toEqual({ access_token: "t" });
  });

  it("refuses to follow a link to another origin, without sending the credential", async () => {
    const error = await failure(
      client().send({ method: "GET", path: "http://evil.test/steal", signal: signal() }),
    );
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.details).toEqual({ vendor: "Acme", origin: "http://evil.test" });
  });

  it.each([
    [401, "RW_ERR_CONNECTOR_AUTH"],
    [403, "RW_ERR_CONNECTOR_AUTH"],
    [404, "RW_ERR_CONNECTOR_NOT_FOUND"],
    [409, "RW_ERR_CONNECTOR_CONFLICT"],
    [412, "RW_ERR_CONNECTOR_CONFLICT"],
    [408, "RW_ERR_CONNECTOR_TIMEOUT"],
    [504, "RW_ERR_CONNECTOR_TIMEOUT"],
    [500, "RW_ERR_CONNECTOR_UNREACHABLE"],
    [503, "RW_ERR_CONNECTOR_UNREACHABLE"],
    [400, "RW_ERR_CONNECTOR_REJECTED"],
    [422, "RW_ERR_CONNECTOR_REJECTED"],
  ])("maps status %i to %s", async (status, code) => {
    agent.get(ORIGIN).intercept({ path: "/api/thing" }).reply(status, "nope");
    const error = await failure(client().send({ method: "GET", path: "thing", signal: signal() }));
    expect(error.code).toBe(code);
    expect(error.message).toBe(`Acme answered ${status} to GET /api/thing`);
    expect(error.details).toEqual({
      vendor: "Acme",
      method: "GET",
      path: "/api/thing",
      status,
      remote: "nope",
    });
  });

  it("cuts the vendor's answer to 300 characters in details", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/long" }).reply(400, "x".repeat(500));
    const error = await failure(client().send({ method: "GET", path: "long", signal: signal() }));
    expect(error.details?.remote).toBe(`${"x".repeat(300)}…`);
  });

  it("reads the wait of a 429 from Retry-After, then the vendor's headers, else 1 s", async () => {
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: "/api/a" }).reply(429, "", { headers: { "retry-after": "7" } });
    pool.intercept({ path: "/api/b" }).reply(429, "", { headers: { "x-ratelimit-reset": "4" } });
    pool.intercept({ path: "/api/c" }).reply(429, "");
    const api = client({
      rateLimitDelayMs: (headers) =>
        headers["x-ratelimit-reset"] ? Number(headers["x-ratelimit-reset"]) * 1000 : undefined,
    });
    const waits = [];
    for (const path of ["a", "b", "c"]) {
      const error = await failure(api.send({ method: "GET", path, signal: signal() }));
      expect(error.code).toBe("RW_ERR_CONNECTOR_RATE_LIMITED");
      expect(error.retryable).toBe(true);
      waits.push(error.details?.retryAfterMs);
    }
    expect(waits).toEqual([7000, 4000, 1000]);
  });

  it("refuses a body over maxResponseBytes", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/big" }).reply(200, "y".repeat(2048));
    const error = await failure(client().send({ method: "GET", path: "big", signal: signal() }));
    expect(error.code).toBe("RW_ERR_CONNECTOR_REJECTED");
    expect(error.message).toBe("Acme answered with more than 1024 bytes");
  });

  it("maps a refused connection to UNREACHABLE with its reason", async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: "/api/down" })
      .replyWithError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const error = await failure(client().send({ method: "GET", path: "down", signal: signal() }));
    expect(error.code).toBe("RW_ERR_CONNECTOR_UNREACHABLE");
    expect(error.message).toBe("Acme could not be reached (ECONNREFUSED)");
    expect(error.details).toMatchObject({ reason: "ECONNREFUSED", path: "down" });
    expect((error.cause as { code?: string }).code).toBe("ECONNREFUSED");
  });

  it("maps undici's timeouts to TIMEOUT", async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: "/api/slow" })
      .replyWithError(Object.assign(new Error("headers timeout"), { code: "UND_ERR_HEADERS_TIMEOUT" }));
    const error = await failure(client().send({ method: "GET", path: "slow", signal: signal() }));
    expect(error.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    expect(error.message).toBe("Acme did not answer within 5000 ms");
    expect(error.retryable).toBe(true);
  });

  it("maps a deadline abort to a retryable TIMEOUT and a caller's abort to a final one", async () => {
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: "/api/wait" }).reply(200, "{}").delay(5000);
    pool.intercept({ path: "/api/wait" }).reply(200, "{}").delay(5000);
    const api = client();
    const deadline = await failure(
      api.send({ method: "GET", path: "wait", signal: AbortSignal.timeout(20) }),
    );
    expect(deadline.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    expect(deadline.retryable).toBe(true);
    expect(deadline.message).toBe("Acme did not answer before the deadline");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const aborted = await failure(api.send({ method: "GET", path: "wait", signal: controller.signal }));
    expect(aborted.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
    expect(aborted.retryable).toBe(false);
    expect(aborted.details).toMatchObject({ aborted: true });
  });

  it("lets an error of the headers callback through unchanged when a token fetch fails", async () => {
    const tokenError = rwError("RW_ERR_CONNECTOR_AUTH", "Acme refused the client credentials");
    const error = await failure(
      client({
        headers: () => {
          throw tokenError;
        },
      }).send({ method: "GET", path: "x", signal: signal() }),
    );
    expect(error).toBe(tokenError);
  });

  it("never puts the credential in an error", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/secret" }).reply(401, "bad token");
    const error = await failure(client().send({ method: "GET", path: "secret", signal: signal() }));
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(
      "acme-token-123",
    );
  });
});

describe("apiHealthFailure", () => {
  it("names the reason of each connector code", async () => {
    const pool = agent.get(ORIGIN);
    for (const status of [401, 504, 429, 400]) pool.intercept({ path: `/api/${status}` }).reply(status, "");
    pool
      .intercept({ path: "/api/down" })
      .replyWithError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
    const api = client();
    const reasons = [];
    for (const path of ["401", "504", "429", "400", "down"]) {
      const error = await api.send({ method: "GET", path, signal: signal() }).catch((e: unknown) => e);
      const result = apiHealthFailure(error, 12);
      expect(result).toMatchObject({ ok: false, latencyMs: 12 });
      expect(result.message).toBe((error as Error).message);
      reasons.push(result.reason);
    }
    expect(reasons).toEqual(["auth", "timeout", "rate limited", "rejected", "ECONNREFUSED"]);
  });

  it("rethrows an error that is not a RunwardenError", () => {
    const bug = new TypeError("x is undefined");
    expect(() => apiHealthFailure(bug, 1)).toThrow(bug);
  });
});
