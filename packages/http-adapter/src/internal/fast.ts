/**
 * The fast path: endpoints of the one route table (declared with `fast` on their spec) that the
 * node:http entry serves straight from IncomingMessage/ServerResponse, without web Request and
 * Response objects or Hono's layer. The handler logic is the endpoint's own, written against
 * {@link PlainRequest}; the Hono route runs the same function. Everything else goes through Hono.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "@hono/zod-openapi";
import { isRunwardenError, type Logger, rwError } from "@runwarden/core";
import { tooLarge } from "./body.js";
import type { AuthActor } from "./endpoint.js";
import { mapError } from "./errors.js";
import type { StreamSink } from "./sse.js";

/** The request as an endpoint's shared logic reads it, over Hono's context or node's IncomingMessage. */
export interface PlainRequest {
  /** A header's value (lower-case name), repeated headers joined with ", " as the Fetch API does. */
  header(name: string): string | undefined;
  /** Every header, lower-case names, as the Fetch API's `Headers` would list them. */
  headers(): Record<string, string>;
  /** The query parameters as Hono's `c.req.query()` gives them: decoded, the first of repeats. */
  query(): Record<string, string>;
  /** The body as UTF-8, failing with RW_ERR_INPUT_TOO_LARGE past `limit` bytes. */
  readText(limit: number): Promise<string>;
  /** The caller, from the adapter's authentication (undefined when none or invalid). */
  authenticate(): Promise<AuthActor | undefined>;
}

/** A JSON answer of the shared logic: sent as snake_case JSON of `value` under `schema`. */
export interface PlainAnswer {
  status: number;
  schema: z.ZodType;
  value: unknown;
}

/**
 * A streamed answer of the shared logic (`GET /events`): the status and headers, then whatever
 * `open` writes to the sink until the client goes away (the function it returns is then called)
 * or the sink is ended. The Hono route sends it as a web ReadableStream ({@link streamResponse});
 * the node:http entry writes it straight to the ServerResponse.
 */
export interface PlainStream {
  status: number;
  headers: Record<string, string>;
  open(sink: StreamSink): () => void;
}

/** What the shared logic of an endpoint answers: JSON, or a stream. */
export type PlainResult = PlainAnswer | PlainStream;

function isStream(result: PlainResult): result is PlainStream {
  return "open" in result;
}

/**
 * A streamed answer as a web Response (the Hono route's): the chunks queue in a ReadableStream,
 * whose reader (@hono/node-server, or any Fetch host) takes them as the client does. The stream
 * stops when the reader cancels or `signal` (the request's) aborts.
 */
export function streamResponse(stream: PlainStream, signal?: AbortSignal): Response {
  let stop: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        try {
          controller.close();
        } catch {
          // already closed (cancelled)
        }
      };
      stop = stream.open({
        write: (chunk) => controller.enqueue(chunk),
        // What the queue holds past its high-water mark (one chunk): desiredSize goes negative.
        backlog: () => -(controller.desiredSize ?? 0),
        end,
      });
      const abort = () => {
        stop?.();
        end();
      };
      if (signal?.aborted) abort();
      else signal?.addEventListener("abort", abort, { once: true });
    },
    cancel() {
      stop?.();
    },
  });
  return new Response(body, { status: stream.status, headers: stream.headers });
}

/** One fast route, as the adapter registers it for the node:http entry. */
export interface FastRoute {
  method: string;
  /** Matches the full path (base path included); its groups are the path parameters, in order. */
  pattern: RegExp;
  /** The parameter names, in the order of the pattern's groups. */
  names: string[];
  /** The route label of the request metrics (`/tickets/webhook/:source`), as Hono's path gives it. */
  label: string;
  /** Checks access, parses the parameters and query (422 when invalid), runs the shared logic. */
  run(req: PlainRequest, params: Record<string, string>): Promise<PlainResult>;
}

/** What the node:http entry needs from an adapter to serve its fast routes. */
export interface FastPath {
  routes: FastRoute[];
  /** Null when the host's `authenticate` hook is set: it reads a web Request, so Hono serves all. */
  authenticate: ((authorization: string | undefined) => Promise<AuthActor | undefined>) | null;
  /** Snake_case JSON text of an answer (checked against its schema when the adapter validates). */
  serialize(answer: PlainAnswer): string;
  /** Records the request metrics as the Hono middleware does. */
  record(method: string, label: string, status: number, startedMs: number): void;
  log: Logger;
}

/** Set by createHttpAdapter for each adapter; read by toNodeHandler. */
export const fastPaths = new WeakMap<object, FastPath>();

/** The regex and parameter names of an OpenAPI path (`/tickets/webhook/{source}`) under `base`. */
export function compilePath(base: string, path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name) {
        names.push(name);
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  const prefix = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { pattern: new RegExp(`^${prefix}${source}$`), names };
}

/** The fast route for `method` and the request URL, with its raw (decoded) parameters. */
export function matchFast(
  fast: FastPath,
  method: string | undefined,
  url: string,
): { route: FastRoute; params: Record<string, string> } | undefined {
  const path = url.split("?", 1)[0]!;
  for (const route of fast.routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (let i = 0; i < route.names.length; i++) {
      const raw = match[i + 1]!;
      let value = raw;
      try {
        value = decodeURIComponent(raw);
      } catch {
        // Hono keeps a parameter that does not decode as it came.
      }
      params[route.names[i]!] = value;
    }
    return { route, params };
  }
  return undefined;
}

/** The request's headers as the Fetch API lists them: lower-case names, repeats joined by ", ". */
function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return headers;
}

/** Hono's lenient decoding of a query name or value: `+` is a space, bad escapes stay as sent. */
function decodeQuery(text: string): string {
  const spaced = text.includes("+") ? text.replace(/\+/g, " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** The query of a request URL as Hono's `c.req.query()` reads it: the first of repeated names wins. */
export function queryRecord(url: string): Record<string, string> {
  const query: Record<string, string> = Object.create(null);
  const start = url.indexOf("?");
  if (start === -1) return query;
  const hash = url.indexOf("#", start);
  for (const pair of url.slice(start + 1, hash === -1 ? undefined : hash).split("&")) {
    const eq = pair.indexOf("=");
    const name = decodeQuery(eq === -1 ? pair : pair.slice(0, eq));
    if (name === "") continue;
    query[name] ??= eq === -1 ? "" : decodeQuery(pair.slice(eq + 1));
  }
  return query;
}

const decoder = new TextDecoder("utf-8");

/** Reads the body with the same limit rules as readBytes: a declared length past it is refused unread. */
function readNodeText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        // The rest is left for node:http to discard once the answer is sent.
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(decoder.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    };
    // The client went away before the end (node reports "aborted", or only closes): nothing more
    // will come, nobody reads the answer, and it is no fault of ours to log as one.
    const onError = () => {
      cleanup();
      reject(rwError("RW_ERR_INPUT_MALFORMED", "the request body ended early"));
    };
    const onClose = onError;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Writes a streamed answer to the ServerResponse, no web stream between: the chunks of a tick go
 * out as one write at its end. The backlog the hub bounds is what waits for that write plus what
 * was written since the socket last refused more (`write` false) and has not drained: the frames
 * the Hono path would hold in its queue. The stream stops when the response closes (the client
 * went away, or it was ended).
 */
function writeStream(res: ServerResponse, stream: PlainStream): void {
  res.writeHead(stream.status, stream.headers);
  let behind = 0;
  let stop: (() => void) | undefined;
  let closed = false;
  const onDrain = () => {
    behind = 0;
  };
  const onClose = () => {
    closed = true;
    res.off("drain", onDrain);
    stop?.();
  };
  // Chunks written in one tick (a burst of events) go out as one write: node's stream machinery
  // costs more per write than the copy does.
  let pending: Uint8Array[] = [];
  const flush = () => {
    if (pending.length === 0 || closed) return;
    const chunks = pending;
    pending = [];
    if (!res.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))) behind += chunks.length;
  };
  res.on("drain", onDrain);
  res.once("close", onClose);
  stop = stream.open({
    write(chunk) {
      if (pending.push(chunk) === 1) process.nextTick(flush);
    },
    backlog: () => behind + pending.length,
    end() {
      flush();
      res.end();
    },
  });
  // Gone before the stream began (its close came and went while the caller was checked).
  if (!closed && (res.destroyed || res.socket === null || res.socket.destroyed)) {
    res.off("close", onClose);
    onClose();
  }
}

function write(res: ServerResponse, status: number, text: string, extra?: Record<string, string>): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/**
 * Serves one request on a fast route: the same answers as the Hono route (status, JSON body or
 * stream, `Retry-After` on a refusal that says when to come back), the same error bodies and
 * metrics (a stream's once its headers are written, as Hono's middleware sees it).
 */
export async function serveFast(
  fast: FastPath,
  route: FastRoute,
  params: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const authenticate = fast.authenticate!;
  let headers: Record<string, string> | undefined;
  // Asked once per request, as Hono's context caches the actor.
  let actor: Promise<AuthActor | undefined> | undefined;
  const headersOf = (): Record<string, string> => {
    headers ??= headerRecord(req);
    return headers;
  };
  const plain: PlainRequest = {
    header: (name) => headersOf()[name],
    headers: () => ({ ...headersOf() }),
    query: () => queryRecord(req.url ?? "/"),
    readText: (limit) => readNodeText(req, limit),
    authenticate: () => {
      actor ??= authenticate(headersOf()["authorization"]);
      return actor;
    },
  };
  let status: number;
  try {
    const answer = await route.run(plain, params);
    status = answer.status;
    if (isStream(answer)) writeStream(res, answer);
    else write(res, status, fast.serialize(answer));
  } catch (err) {
    const mapped = mapError(err);
    if (mapped.internal) fast.log.error({ err, method: req.method, route: route.label }, "request failed");
    else
      fast.log.debug(
        { code: mapped.body.error.code, status: mapped.status, route: route.label },
        "request refused",
      );
    const retryAfter = isRunwardenError(err) ? err.details?.["retryAfterSeconds"] : undefined;
    status = mapped.status;
    write(
      res,
      status,
      JSON.stringify(mapped.body),
      typeof retryAfter === "number" ? { "retry-after": String(retryAfter) } : undefined,
    );
  }
  fast.record(req.method ?? "POST", route.label, status, started);
}
