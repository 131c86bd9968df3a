import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { fastPaths, matchFast, queryRecord } from "../../src/internal/fast.js";
import { toNodeHandler } from "../../src/node.js";
import { type Harness, setup } from "../helpers.js";

const secret = "generic-secret-0123456789";
const webhookBytes = 4096;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over a real socket: `chunked` sends the body without Content-Length. */
function send(
  base: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: o.method ?? "POST", headers: o.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    if (o.body !== undefined && o.chunked) {
      const half = Math.floor(o.body.length / 2);
      req.write(o.body.slice(0, half));
      req.end(o.body.slice(half));
    } else req.end(o.body);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fresh engine and adapter served through node:http with the fast path on or off. */
interface Side {
  h: Harness;
  server: Server;
  base: string;
  /** The tokens of the mapped webhook sources `mapped-a` and `mapped-b`. */
  sourceTokens: Record<string, string>;
}

const opened: Side[] = [];
afterEach(async () => {
  for (const side of opened.splice(0)) {
    side.server.closeAllConnections();
    await new Promise((resolve) => side.server.close(resolve));
    await side.h.close();
  }
});

async function side(
  fastPath: boolean,
  engine: NonNullable<Parameters<typeof setup>[0]>["engine"] = {},
): Promise<Side> {
  const h = await setup({ engine, adapter: { webhooks: { generic: { secret } }, limits: { webhookBytes } } });
  const sourceTokens: Record<string, string> = {};
  for (const name of ["mapped-a", "mapped-b"]) {
    const created = await h.json("POST", "/webhook-sources", {
      json: { name, mapping: `{ "title": title }` },
    });
    expect(created.status).toBe(201);
    sourceTokens[name] = created.body.token;
  }
  const server = createServer(toNodeHandler(h.adapter, { fastPath }));
  const s = { h, server, base: await listen(server), sourceTokens };
  opened.push(s);
  return s;
}

const api = "/api/v1";
const json = { "content-type": "application/json" };
const ticket = (title: string) => JSON.stringify({ title, description: "disk full", severity: "high" });

/** A request of the table: built per side (tokens differ between the two engines). */
interface Case {
  name: string;
  path?: string;
  build(s: Side): { headers: Record<string, string>; body?: string; chunked?: boolean };
}

const cases: Case[] = [
  {
    name: "valid, by the shared secret",
    build: () => ({ headers: { ...json, "x-runwarden-webhook-secret": secret }, body: ticket("by secret") }),
  },
  {
    name: "valid, an array, by an operator token",
    build: (s) => ({
      headers: { ...json, authorization: `Bearer ${s.h.tokens.operator}` },
      body: `[${ticket("one")},${ticket("two")}]`,
    }),
  },
  {
    name: "a repeat (folded into the open ticket)",
    build: () => ({ headers: { ...json, "x-runwarden-webhook-secret": secret }, body: ticket("by secret") }),
  },
  {
    name: "valid, sent chunked",
    build: () => ({
      headers: { ...json, "x-runwarden-webhook-secret": secret },
      body: ticket("chunked"),
      chunked: true,
    }),
  },
  {
    name: "a mapped source with its token",
    path: "/tickets/webhook/mapped-a",
    build: (s) => ({
      headers: { ...json, "x-runwarden-webhook-token": s.sourceTokens["mapped-a"]! },
      body: ticket("mapped"),
    }),
  },
  { name: "no auth", build: () => ({ headers: json, body: ticket("no auth") }) },
  {
    name: "wrong secret",
    build: () => ({ headers: { ...json, "x-runwarden-webhook-secret": "wrong" }, body: ticket("x") }),
  },
  {
    name: "wrong token",
    build: () => ({ headers: { ...json, authorization: "Bearer rw_not-a-token" }, body: ticket("x") }),
  },
  {
    name: "a viewer token",
    build: (s) => ({ headers: { ...json, authorization: `Bearer ${s.h.tokens.viewer}` }, body: ticket("x") }),
  },
  {
    name: "a mapped source without its token",
    path: "/tickets/webhook/mapped-a",
    build: () => ({ headers: json, body: ticket("x") }),
  },
  {
    name: "malformed JSON",
    build: () => ({ headers: { ...json, "x-runwarden-webhook-secret": secret }, body: '{"title": ' }),
  },
  {
    name: "too deep",
    build: () => ({
      headers: { ...json, "x-runwarden-webhook-secret": secret },
      body: `${"[".repeat(200)}${"]".repeat(200)}`,
    }),
  },
  {
    name: "too large, by Content-Length",
    build: () => ({
      headers: { ...json, "x-runwarden-webhook-secret": secret },
      body: ticket("x".repeat(webhookBytes)),
    }),
  },
  {
    name: "too large, chunked",
    build: () => ({
      headers: { ...json, "x-runwarden-webhook-secret": secret },
      body: ticket("x".repeat(webhookBytes)),
      chunked: true,
    }),
  },
  {
    name: "an empty body",
    build: () => ({ headers: { ...json, "x-runwarden-webhook-secret": secret }, body: "" }),
  },
  {
    name: "invalid ticket fields",
    build: () => ({
      headers: { ...json, "x-runwarden-webhook-secret": secret },
      body: JSON.stringify({ title: "x", severity: "apocalyptic" }),
    }),
  },
  {
    name: "unknown source",
    path: "/tickets/webhook/nosuch",
    build: () => ({ headers: json, body: ticket("x") }),
  },
  {
    name: "a source name that is not one",
    path: "/tickets/webhook/Not_A_Name",
    build: () => ({ headers: json, body: ticket("x") }),
  },
];

/** What must be the same on both paths: status, the headers a client reads, the body. */
function comparable(a: Answer) {
  return {
    status: a.status,
    contentType: a.headers["content-type"],
    retryAfter: a.headers["retry-after"],
    contentLength: a.headers["content-length"] ?? String(Buffer.byteLength(a.body)),
    body: a.body === "" ? "" : JSON.parse(a.body),
  };
}

async function run(s: Side, c: Case): Promise<Answer> {
  const { headers, body, chunked } = c.build(s);
  return send(s.base, `${api}${c.path ?? "/tickets/webhook/generic"}`, { headers, body, chunked });
}

describe("the node:http fast path for POST /tickets/webhook/{source}", () => {
  it("is declared on the route table's webhook route and matched only for POST", async () => {
    const s = await side(true);
    const fast = fastPaths.get(s.h.adapter)!;
    expect(fast.routes.map((r) => `${r.method} ${r.label}`)).toEqual([
      "POST /tickets/webhook/:source",
      "GET /events",
    ]);
    expect(matchFast(fast, "POST", `${api}/tickets/webhook/generic?x=1`)?.params).toEqual({
      source: "generic",
    });
    expect(matchFast(fast, "GET", `${api}/tickets/webhook/generic`)).toBeUndefined();
    expect(matchFast(fast, "POST", `${api}/tickets/webhook/generic/more`)).toBeUndefined();
    // One OpenAPI description: the route is documented once, as before.
    const paths = s.h.adapter.openapi()["paths"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths["/tickets/webhook/{source}"]!)).toEqual(["post"]);
  });

  it("answers every case of the table exactly as the Hono route does", async () => {
    const fast = await side(true);
    const hono = await side(false);
    for (const c of cases) {
      const a = await run(fast, c);
      const b = await run(hono, c);
      expect({ case: c.name, ...comparable(a) }).toEqual({ case: c.name, ...comparable(b) });
    }
    // The table covers the answers that matter.
    const statuses = new Set<number>();
    for (const c of cases) statuses.add((await run(fast, c)).status);
    expect([...statuses].sort()).toEqual([202, 400, 401, 404, 413, 422]);
    // Both stored the same tickets.
    expect(await fast.h.engine.storage.tickets.count()).toBe(await hono.h.engine.storage.tickets.count());
  });

  it.each([
    {
      full: "the source's share",
      maxEntries: 2,
      sourceShare: 0.5,
      refused: 429,
      code: "RW_ERR_INTAKE_SOURCE_FULL",
    },
    { full: "the whole queue", maxEntries: 1, sourceShare: 1, refused: 503, code: "RW_ERR_INTAKE_FULL" },
  ])("answers $refused with Retry-After when $full is full, as the Hono route does", async (t) => {
    const intake = {
      intake: {
        enabled: true,
        acknowledge: "durable" as const,
        maxEntries: t.maxEntries,
        sourceShare: t.sourceShare,
        retryAfterSeconds: 7,
      },
    };
    const fast = await side(true, intake);
    const hono = await side(false, intake);
    for (const s of [fast, hono]) await s.h.engine.intake.close(); // nothing drains the queue
    const seen: Answer[] = [];
    for (const c of [cases[0]!, { ...cases[0]!, name: "the same source again" }]) {
      const a = await run(fast, c);
      const b = await run(hono, c);
      expect({ case: c.name, ...comparable(a) }).toEqual({ case: c.name, ...comparable(b) });
      seen.push(a);
    }
    expect(seen.map((a) => a.status)).toEqual([202, t.refused]);
    expect(seen[1]!.headers["retry-after"]).toBe("7");
    expect(JSON.parse(seen[1]!.body).error.code).toBe(t.code);
  });

  it("settles a request whose client goes away mid-body (counted, not left pending)", async () => {
    const s = await side(true);
    await new Promise<void>((resolve) => {
      const req = request(`${s.base}${api}/tickets/webhook/generic`, {
        method: "POST",
        headers: { ...json, "x-runwarden-webhook-secret": secret, "content-length": "1000" },
      });
      req.on("error", () => resolve());
      req.write('{"title": "cut');
      setTimeout(() => req.destroy(), 50);
    });
    const line =
      'runwarden_http_requests_total{method="POST",route="/tickets/webhook/:source",status="400"} 1';
    const until = Date.now() + 5_000;
    let metrics = "";
    while (!metrics.includes(line) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      metrics = await (await s.h.call("GET", "/metrics")).text();
    }
    expect(metrics).toContain(line);
  });

  it("leaves other routes to Hono", async () => {
    const s = await side(true);
    const health = await send(s.base, `${api}/health`, { method: "GET" });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).status).toBe("ok");
  });

  it("leaves the webhook to Hono when the host has its own authenticate hook", async () => {
    const h = await setup({
      adapter: {
        authenticate: ({ node }) =>
          node?.headers["x-host-user"] === "ops" ? { actor: "host-ops", roles: ["operator"] } : undefined,
      },
    });
    const server = createServer(toNodeHandler(h.adapter));
    opened.push({ h, server, base: await listen(server), sourceTokens: {} });
    const base = opened.at(-1)!.base;
    const r = await send(base, `${api}/tickets/webhook/generic`, {
      headers: { ...json, "x-host-user": "ops" },
      body: ticket("by the host's user"),
    });
    expect(r.status).toBe(202);
    const id = JSON.parse(r.body).tickets[0].id as number;
    expect((await h.engine.tickets.get(id)).submittedBy).toBe("host-ops");
  });
});

describe("queryRecord", () => {
  it("reads a query as Hono's c.req.query() does", async () => {
    const app = new Hono();
    app.get("/q", (c) => c.json(c.req.query()));
    for (const query of [
      "",
      "?",
      "?types=ticket:ingested,ticket:updated",
      "?a=1&a=2&b",
      "?types=a,+b&x=%20y%2Cz",
      "?bad=%E0%A4%A&ok=%41",
      "?=nameless&&c=3",
      "?plus+name=v+w",
      "?k=v#fragment",
    ]) {
      const hono = await (await app.request(`http://h/q${query}`)).json();
      expect({ query, record: { ...queryRecord(`/q${query}`) } }).toEqual({ query, record: hono });
    }
  });
});
