import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHttpAdapter,
  expressMiddleware,
  fastifyPlugin,
  type HttpAdapter,
  toNodeHandler,
} from "../src/index.js";
import { type Harness, setup } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup({ adapter: { webhooks: { generic: { secret: "generic-secret-0123456789" } } } });
});
afterAll(() => h.close());

function adapterAt(prefix: string): HttpAdapter {
  return createHttpAdapter({
    engine: h.engine,
    prefix,
    tokens: h.adapter.tokens,
    webhooks: { generic: { secret: "generic-secret-0123456789" } },
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The same checks through every mount: a GET, a streamed CSV upload, a webhook, the event
 * stream, an unknown path.
 */
async function exercise(base: string, api: string) {
  const auth = { authorization: `Bearer ${h.tokens.admin}` };
  const health = await fetch(`${base}${api}/health`);
  expect(health.status).toBe(200);
  expect(((await health.json()) as { status: string }).status).toBe("ok");

  const upload = await fetch(`${base}${api}/tickets/upload-csv`, {
    method: "POST",
    headers: { ...auth, "content-type": "text/csv" },
    body: `title,severity\nMounted upload at ${api},high\n`,
  });
  expect(upload.status).toBe(200);
  expect(((await upload.json()) as { imported: number }).imported).toBe(1);

  const webhook = await fetch(`${base}${api}/tickets/webhook/generic`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-runwarden-webhook-secret": "generic-secret-0123456789",
    },
    body: JSON.stringify({ title: "Mounted webhook" }),
  });
  expect(webhook.status).toBe(202);

  const controller = new AbortController();
  const stream = await fetch(`${base}${api}/events?types=ticket:updated`, {
    headers: auth,
    signal: controller.signal,
  });
  expect(stream.status).toBe(200);
  expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  h.engine.events.emit("ticket:updated", { ticketId: 1, status: "analyzed", reason: `mounted at ${api}` });
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(`mounted at ${api}`)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  expect(text).toContain("event: ticket:updated");
  expect(text).toContain(`"reason":"mounted at ${api}"`);

  const denied = await fetch(`${base}${api}/tickets`);
  expect(denied.status).toBe(401);
  expect(((await denied.json()) as { error: { code: string } }).error.code).toBe(
    "RW_ERR_AUTH_UNAUTHENTICATED",
  );
}

describe("toNodeHandler", () => {
  it("serves the API from node:http under a prefix and passes other paths to next", async () => {
    const adapter = adapterAt("/ops");
    const handler = toNodeHandler(adapter);
    const server = createServer((req, res) => handler(req, res, () => res.writeHead(418).end("host route")));
    const base = await listen(server);
    try {
      await exercise(base, "/ops/api/v1");
      const other = await fetch(`${base}/somewhere-else`);
      expect(other.status).toBe(418);
      expect(await other.text()).toBe("host route");
    } finally {
      server.close();
      adapter.close();
    }
  });

  it("answers JSON over node:http with the same status, headers and body as the Fetch handler", async () => {
    const adapter = adapterAt("");
    const server = createServer(toNodeHandler(adapter));
    const base = await listen(server);
    try {
      for (const [path, init] of [
        ["/api/v1/health", { method: "GET" }],
        ["/api/v1/health", { method: "HEAD" }],
        ["/api/v1/tickets", { method: "GET" }],
        ["/api/v1/tickets", { method: "GET", headers: { authorization: `Bearer ${h.tokens.admin}` } }],
      ] as const) {
        const overNode = await fetch(`${base}${path}`, init);
        const direct = await adapter.fetch(new Request(`http://localhost${path}`, init));
        expect(overNode.status).toBe(direct.status);
        expect(overNode.headers.get("content-type")).toBe(direct.headers.get("content-type"));
        const body = await overNode.text();
        expect(body).toBe(await direct.text());
        if (body !== "") expect(overNode.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
      }
    } finally {
      server.close();
      adapter.close();
    }
  });

  it("answers the API's 404 for other paths when no next is given", async () => {
    const server = createServer(toNodeHandler(h.adapter));
    const base = await listen(server);
    try {
      const res = await fetch(`${base}/other`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("RW_ERR_INPUT_NO_ROUTE");
    } finally {
      server.close();
    }
  });
});

describe("expressMiddleware", () => {
  it("serves the API from an Express app mounted under a path", async () => {
    const adapter = adapterAt("/rw");
    const app = express();
    app.use("/rw", expressMiddleware(adapter));
    app.get("/hello", (_req, res) => {
      res.send("express route");
    });
    const server = createServer(app);
    const base = await listen(server);
    try {
      await exercise(base, "/rw/api/v1");
      expect(await (await fetch(`${base}/hello`)).text()).toBe("express route");
    } finally {
      server.close();
      adapter.close();
    }
  });

  it("still reads the body when express.json() parsed it first", async () => {
    const app = express();
    app.use(express.json());
    app.use(expressMiddleware(h.adapter));
    const server = createServer(app);
    const base = await listen(server);
    try {
      const res = await fetch(`${base}/api/v1/tickets/demo/ticket`, {
        method: "POST",
        headers: { authorization: `Bearer ${h.tokens.operator}`, "content-type": "application/json" },
        body: JSON.stringify({ title: "Parsed by express first" }),
      });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { ticket: { title: string } }).ticket.title).toBe(
        "Parsed by express first",
      );
    } finally {
      server.close();
    }
  });
});

describe("fastifyPlugin", () => {
  it("serves the API from Fastify under a registered prefix", async () => {
    const adapter = adapterAt("/platform");
    const app = Fastify();
    await app.register(fastifyPlugin(adapter) as never, { prefix: "/platform" });
    app.get("/own", async () => ({ own: true }));
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      await exercise(base, "/platform/api/v1");
      expect(await (await fetch(`${base}/own`)).json()).toEqual({ own: true });
    } finally {
      await app.close();
      adapter.close();
    }
  });

  it("refuses a Fastify prefix that differs from the adapter's", async () => {
    const app = Fastify();
    await expect(
      app.register(fastifyPlugin(h.adapter) as never, { prefix: "/elsewhere" }).ready(),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
    });
    await app.close();
  });
});
