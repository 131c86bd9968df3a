/**
 * `GET /events` over node:http, on both paths: the fast path (frames written straight to the
 * ServerResponse) and the Hono route (a web ReadableStream per client). Every behaviour is
 * asserted alike on each.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHttpAdapter, type EventStreamOptions } from "../../src/index.js";
import { fastPaths, matchFast } from "../../src/internal/fast.js";
import { toNodeHandler } from "../../src/node.js";
import { type Harness, setup } from "../helpers.js";

const api = "/api/v1";

interface Side {
  h: Harness;
  server: Server;
  base: string;
}

const opened: Side[] = [];
const clients: IncomingMessage[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const side of opened.splice(0)) {
    side.server.closeAllConnections();
    await new Promise((resolve) => side.server.close(resolve));
    await side.h.close();
  }
});

async function side(fastPath: boolean, events: EventStreamOptions = {}): Promise<Side> {
  const h = await setup({ adapter: { events } });
  const server = createServer(toNodeHandler(h.adapter, { fastPath }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const s = { h, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  opened.push(s);
  return s;
}

interface Frame {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** An open event stream: what arrived so far, parsed as it comes. */
interface Stream {
  status: 200;
  headers: IncomingHttpHeaders;
  res: IncomingMessage;
  /** Everything received, as text. */
  text(): string;
  frames: Frame[];
  comments: string[];
  ended: Promise<void>;
}

/** A refusal: status and the JSON error. */
interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error: { code: string; message: string; fields?: { field: string }[] } };
}

function get(s: Side, path: string, headers: Record<string, string> = {}): Promise<Stream | Refusal> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.base}${api}${path}`, { headers }, (res) => {
      clients.push(res);
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
        return;
      }
      let all = "";
      let pending = "";
      const stream: Stream = {
        status: 200,
        headers: res.headers,
        res,
        text: () => all,
        frames: [],
        comments: [],
        ended: new Promise((done) => {
          res.on("end", done);
          res.on("close", done);
        }),
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        all += chunk;
        pending += chunk;
        let end = pending.indexOf("\n\n");
        while (end >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) stream.comments.push(line.slice(1).trim());
            else if (line.includes(": "))
              fields[line.slice(0, line.indexOf(": "))] = line.slice(line.indexOf(": ") + 2);
          }
          if (fields["event"]) {
            stream.frames.push({
              id: Number(fields["id"]),
              event: fields["event"],
              data: JSON.parse(fields["data"]!),
            });
          }
          end = pending.indexOf("\n\n");
        }
      });
      resolve(stream);
    });
    req.on("error", reject);
    req.end();
  });
}

async function open(s: Side, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  const r = await get(s, path, headers);
  expect(r.status).toBe(200);
  return r as Stream;
}

async function refused(s: Side, path: string, headers: Record<string, string> = {}): Promise<Refusal> {
  const r = await get(s, path, headers);
  expect(r.status).not.toBe(200);
  return r as Refusal;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The open streams, as `GET /metrics` counts them (the hub's subscribers). */
async function sseClients(s: Side): Promise<number> {
  const text = await (await s.h.call("GET", "/metrics")).text();
  return Number(/^runwarden_sse_clients (\d+)$/m.exec(text)![1]);
}

function ingested(s: Side, ticketId: number): void {
  s.h.engine.events.emit("ticket:ingested", {
    ticketId,
    source: "test",
    deduplicated: false,
    occurrences: 1,
  });
}

describe.each([
  { path: "fast path", fastPath: true },
  { path: "Hono route", fastPath: false },
])("GET /events through node:http, $path", ({ fastPath }) => {
  it("streams events in snake_case with the SSE headers when a Bearer token is sent", async () => {
    const s = await side(fastPath);
    const stream = await open(s, "/events", bearer(s.h.tokens.viewer));
    expect(stream.headers).toMatchObject({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "transfer-encoding": "chunked",
    });
    await vi.waitFor(() => expect(stream.text()).toBe("retry: 3000\n: connected\n\n"));
    ingested(s, 7);
    await vi.waitFor(() => expect(stream.frames).toHaveLength(1));
    expect(stream.frames[0]).toMatchObject({
      event: "ticket:ingested",
      data: { ticket_id: 7, source: "test", deduplicated: false, occurrences: 1 },
    });
  });

  it("refuses a missing, wrong or revoked credential with 401 and takes a fresh stream token", async () => {
    const s = await side(fastPath);
    for (const headers of [{}, bearer("rw_not-a-real-token-0000000000")]) {
      const r = await refused(s, "/events", headers);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("RW_ERR_AUTH_UNAUTHENTICATED");
      expect(r.headers["content-type"]).toMatch(/^application\/json/);
    }
    const minted = await s.h.json("POST", "/events/stream-token", { token: s.h.tokens.viewer });
    const token: string = minted.body.stream_token;
    const stream = await open(s, `/events?stream_token=${encodeURIComponent(token)}`);
    ingested(s, 1);
    await vi.waitFor(() => expect(stream.frames).toHaveLength(1));
    const forged = token.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect((await refused(s, `/events?stream_token=${encodeURIComponent(forged)}`)).status).toBe(401);

    const created = await s.h.json("POST", "/tokens", { json: { actor: "short-lived", roles: ["viewer"] } });
    const fromRevoked = await s.h.json("POST", "/events/stream-token", { token: created.body.token });
    await s.h.json("DELETE", `/tokens/${created.body.info.id}`);
    const r = await refused(s, `/events?stream_token=${encodeURIComponent(fromRevoked.body.stream_token)}`);
    expect(r.status).toBe(401);
  });

  it("sends only the named types, and answers 422 naming `types` for an unknown name", async () => {
    const s = await side(fastPath);
    const stream = await open(s, "/events?types=ticket:updated,+ticket:ingested", bearer(s.h.tokens.viewer));
    s.h.engine.events.emit("runbook:created", { runbookId: 1, key: "disk", revision: 1, status: "draft" });
    ingested(s, 1);
    s.h.engine.events.emit("ticket:updated", { ticketId: 1, status: "analyzed", reason: null });
    await vi.waitFor(() => expect(stream.frames).toHaveLength(2));
    expect(stream.frames.map((f) => f.event)).toEqual(["ticket:ingested", "ticket:updated"]);

    const r = await refused(s, "/events?types=ticket:ingested,bogus:event", bearer(s.h.tokens.viewer));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(r.body.error.fields?.[0]?.field).toBe("types");
    expect(r.body.error.message).toContain("bogus:event");
  });

  it("keeps credential and connection events from viewers and shows them to operators", async () => {
    const s = await side(fastPath);
    const viewer = await open(s, "/events", bearer(s.h.tokens.viewer));
    const operator = await open(s, "/events", bearer(s.h.tokens.operator));
    s.h.engine.events.emit("credential:changed", { credentialId: 1, change: "created" });
    s.h.engine.events.emit("connection:changed", { connectionId: 1, change: "created" });
    ingested(s, 9);
    await vi.waitFor(() => expect(operator.frames).toHaveLength(3));
    await vi.waitFor(() => expect(viewer.frames).toHaveLength(1));
    expect(operator.frames.map((f) => f.event)).toEqual([
      "credential:changed",
      "connection:changed",
      "ticket:ingested",
    ]);
    expect(viewer.frames.map((f) => f.event)).toEqual(["ticket:ingested"]);
  });

  it("replays the buffered events after Last-Event-ID, as the roles and types allow", async () => {
    const s = await side(fastPath);
    const first = await open(s, "/events?types=ticket:ingested", bearer(s.h.tokens.viewer));
    for (const id of [1, 2, 3]) ingested(s, id);
    s.h.engine.events.emit("credential:changed", { credentialId: 1, change: "created" });
    await vi.waitFor(() => expect(first.frames).toHaveLength(3));
    const again = await open(s, "/events", {
      ...bearer(s.h.tokens.viewer),
      "last-event-id": String(first.frames[0]!.id),
    });
    await vi.waitFor(() => expect(again.frames).toHaveLength(2));
    expect(again.frames.map((f) => f.id)).toEqual([first.frames[1]!.id, first.frames[2]!.id]);
    // Live events follow the replay on the same stream.
    ingested(s, 4);
    await vi.waitFor(() => expect(again.frames).toHaveLength(3));
    expect(again.frames[2]!.data["ticket_id"]).toBe(4);
  });

  it("sends heartbeats", async () => {
    const s = await side(fastPath, { heartbeatMs: 20 });
    const stream = await open(s, "/events", bearer(s.h.tokens.viewer));
    await vi.waitFor(() =>
      expect(stream.comments.filter((c) => c === "ping").length).toBeGreaterThanOrEqual(2),
    );
  });

  it("releases the subscription when the client goes away, and ends open streams on close", async () => {
    const s = await side(fastPath, { heartbeatMs: 10 });
    const listeners = s.h.engine.events.listenerCount("ticket:ingested");
    expect(await sseClients(s)).toBe(0);
    const streams = await Promise.all([1, 2, 3].map(() => open(s, "/events", bearer(s.h.tokens.viewer))));
    expect(await sseClients(s)).toBe(3);
    for (const stream of streams.slice(0, 2)) stream.res.destroy();
    await vi.waitFor(async () => expect(await sseClients(s)).toBe(1));
    // Events and heartbeats after the disconnect go to nobody and fail nothing.
    ingested(s, 1);
    await vi.waitFor(() => expect(streams[2]!.frames).toHaveLength(1));
    expect(s.h.engine.events.listenerCount("ticket:ingested")).toBe(listeners);
    s.h.adapter.close();
    await streams[2]!.ended;
    expect(streams[2]!.res.complete).toBe(true);
    expect(await sseClients(s)).toBe(0);
  });

  it("ends the stream of a client that stops reading once it lags maxQueuedFrames behind; it replays the rest", async () => {
    const maxQueuedFrames = 50;
    const s = await side(fastPath, { maxQueuedFrames, replayBuffer: maxQueuedFrames });
    const stream = await open(s, "/events?types=step:output", bearer(s.h.tokens.viewer));
    await vi.waitFor(() => expect(stream.text()).toContain("connected"));
    stream.res.pause(); // reads nothing more: the socket's buffers fill, then the server's
    const chunk = "x".repeat(128 * 1024);
    const total = 80; // 10 MB: far more than a loopback connection's buffers hold unread
    for (let i = 0; i < total; i++) {
      s.h.engine.events.emit("step:output", {
        sessionId: 1,
        stepId: 1,
        stream: "stdout",
        chunk: `${i}:${chunk}`,
      });
    }
    // The hub let go of it while the client is still connected and not reading.
    expect(await sseClients(s)).toBe(0);
    stream.res.resume();
    await stream.ended;
    const received = stream.frames.map((f) => Number(String(f.data["chunk"]).split(":", 1)[0]));
    // What was queued when it lagged too far still arrives, in order; the rest was not buffered.
    expect(received.length).toBeGreaterThan(maxQueuedFrames);
    expect(received.length).toBeLessThan(total);
    expect(received).toEqual(received.map((_, i) => i));
    // It reconnects from the last id it saw and gets everything after it from the replay buffer.
    const again = await open(s, "/events?types=step:output", {
      ...bearer(s.h.tokens.viewer),
      "last-event-id": String(stream.frames.at(-1)!.id),
    });
    await vi.waitFor(() => expect(again.frames).toHaveLength(total - received.length), { timeout: 10_000 });
    expect(Number(String(again.frames[0]!.data["chunk"]).split(":", 1)[0])).toBe(received.length);
  });

  it("counts the stream in the request metrics under the route's label", async () => {
    const s = await side(fastPath);
    await open(s, "/events", bearer(s.h.tokens.viewer));
    await refused(s, "/events");
    const text = await (await s.h.call("GET", "/metrics")).text();
    expect(text).toContain('runwarden_http_requests_total{method="GET",route="/events",status="200"} 1');
    expect(text).toContain('runwarden_http_requests_total{method="GET",route="/events",status="401"} 1');
  });
});

describe("GET /events on the fast path", () => {
  it("is declared on the route table's stream route, documented once", async () => {
    const s = await side(true);
    const fast = fastPaths.get(s.h.adapter)!;
    expect(matchFast(fast, "GET", `${api}/events?types=ticket:ingested`)?.route.label).toBe("/events");
    expect(matchFast(fast, "GET", `${api}/events/recent`)).toBeUndefined();
    expect(matchFast(fast, "POST", `${api}/events`)).toBeUndefined();
    const paths = s.h.adapter.openapi()["paths"] as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths["/events"]!)).toEqual(["get"]);
  });

  it("answers with the same status line and headers as the Hono route", async () => {
    const fast = await side(true);
    const hono = await side(false);
    const headersOf = async (s: Side) => {
      const stream = await open(s, "/events", bearer(s.h.tokens.viewer));
      const { date: _date, ...rest } = stream.headers;
      return rest;
    };
    expect(await headersOf(fast)).toEqual(await headersOf(hono));
  });
});

describe("createHttpAdapter events options", () => {
  it("refuses a bound that is not a positive integer, or a replay larger than the bound", async () => {
    const s = await side(true);
    for (const events of [
      { heartbeatMs: 0 },
      { maxQueuedFrames: 1.5 },
      { maxQueuedFrames: 100, replayBuffer: 101 },
    ]) {
      expect(() => createHttpAdapter({ engine: s.h.engine, events })).toThrow(
        expect.objectContaining({ code: "RW_ERR_CONFIG_INVALID" }),
      );
    }
  });
});
