/**
 * A tiny HTTP server on 127.0.0.1 for vendor fakes: route handlers, a request log, `close()`.
 * It lives in the testkit, never in product code.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as the fake received it. */
export interface FakeRequest {
  /** The HTTP method, upper case. */
  method: string;
  /** The path without the query string. */
  path: string;
  /** The query string's parameters. */
  query: URLSearchParams;
  /** The request headers, names lower-cased (Node's `IncomingHttpHeaders`). */
  headers: IncomingHttpHeaders;
  /** Values of `:name` segments in the matched route. */
  params: Record<string, string>;
  /** The raw body, decoded as UTF-8. */
  body: string;
  /** The client's source port: requests on one keep-alive connection share it. */
  remotePort: number | undefined;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
}

/** What a handler answers. A plain object or array `body` is sent as JSON. */
export interface FakeResponse {
  /** The HTTP status. Default 200. */
  status?: number;
  /** Response headers; an array repeats the header. */
  headers?: Record<string, string | readonly string[]>;
  /** The body: a string or Buffer is sent as is, anything else as JSON. */
  body?: unknown;
  /** Waits this long before answering (to test timeouts). */
  delayMs?: number;
}

/** A route's handler: answers a request, or returns undefined for an empty 200. */
export type FakeHandler = (
  request: FakeRequest,
) => FakeResponse | undefined | Promise<FakeResponse | undefined>;

/** A running fake server. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The port it listens on (on 127.0.0.1). */
  readonly port: number;
  /** Every request received, in order, matched or not. */
  readonly requests: FakeRequest[];
  /** Adds or replaces a route: `"GET /api/v2/alerts"`, `"POST /items/:id"`, `"* /any-method"`. */
  route(spec: string, handler: FakeHandler): void;
  /** Closes the server and every open connection. */
  close(): Promise<void>;
}

interface Route {
  method: string;
  segments: string[];
  handler: FakeHandler;
}

function parseSpec(spec: string): { method: string; segments: string[] } {
  const match = /^(\*|[A-Z]+)\s+(\/\S*)$/.exec(spec.trim());
  if (!match) throw new TypeError(`a route is "METHOD /path", got ${JSON.stringify(spec)}`);
  return { method: match[1]!, segments: match[2]!.split("/").filter(Boolean) };
}

function matchRoute(route: Route, method: string, path: string): Record<string, string> | undefined {
  if (route.method !== "*" && route.method !== method) return undefined;
  const parts = path.split("/").filter(Boolean);
  if (parts.length !== route.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = route.segments[i]!;
    const got = parts[i]!;
    if (want.startsWith(":")) params[want.slice(1)] = decodeURIComponent(got);
    else if (want !== got) return undefined;
  }
  return params;
}

/**
 * Starts a fake server on 127.0.0.1 (a free port unless `port` is given). Unmatched requests get
 * 404 `{ "error": "no route" }` and are still logged.
 */
export async function fakeServer(
  routes: Record<string, FakeHandler> = {},
  options: { port?: number } = {},
): Promise<FakeServer> {
  const table: Route[] = [];
  const requests: FakeRequest[] = [];

  function route(spec: string, handler: FakeHandler): void {
    const parsed = parseSpec(spec);
    const key = `${parsed.method} /${parsed.segments.join("/")}`;
    const existing = table.findIndex((r) => `${r.method} /${r.segments.join("/")}` === key);
    if (existing >= 0) table.splice(existing, 1);
    table.push({ ...parsed, handler });
  }
  for (const [spec, handler] of Object.entries(routes)) route(spec, handler);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      let params: Record<string, string> = {};
      const matched = table.find((r) => {
        const found = matchRoute(r, method, url.pathname);
        if (found) params = found;
        return found !== undefined;
      });
      const body = Buffer.concat(chunks).toString("utf8");
      const request: FakeRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        params,
        body,
        remotePort: req.socket.remotePort,
        json: <T>() => JSON.parse(body) as T,
      };
      requests.push(request);
      let answer: FakeResponse | undefined;
      try {
        answer = matched ? await matched.handler(request) : { status: 404, body: { error: "no route" } };
      } catch (error) {
        answer = { status: 500, body: { error: error instanceof Error ? error.message : String(error) } };
      }
      const { status = 200, headers = {}, body: payload, delayMs = 0 } = answer ?? {};
      if (delayMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          res.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (res.destroyed) return;
      }
      const isRaw = typeof payload === "string" || Buffer.isBuffer(payload) || payload === undefined;
      const out = isRaw ? (payload as string | Buffer | undefined) : JSON.stringify(payload);
      const outHeaders: Record<string, string | readonly string[]> = { ...headers };
      if (!isRaw && !Object.keys(outHeaders).some((h) => h.toLowerCase() === "content-type")) {
        outHeaders["content-type"] = "application/json";
      }
      res.writeHead(status, outHeaders as Record<string, string | string[]>);
      res.end(out);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    route,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
