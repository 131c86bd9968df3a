/**
 * Mounting the Fetch handler in Node servers: node:http, Express and Fastify. Each one hands the
 * raw request stream to the adapter, so uploads are streamed and webhook signatures are checked
 * over the exact bytes received.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { rwError } from "@runwarden/core";
import type { HttpAdapter } from "./adapter.js";
import { type DirectJson, directJson } from "./internal/endpoint.js";
import { fastPaths, matchFast, serveFast } from "./internal/fast.js";

/** A node:http request listener; with `next` (Connect style), requests outside the API are passed on. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

function listenerFor(adapter: HttpAdapter) {
  // Never replace the host's global Request/Response: the adapter is a guest in its process.
  return getRequestListener(
    async (request, env) => {
      const direct: DirectJson = {};
      directJson.set(env, direct);
      const response = await adapter.fetch(request, env);
      if (direct.text === undefined || !isDirect(request, response, direct)) return response;
      writeJson(env.outgoing as ServerResponse, response, direct.text);
      return RESPONSE_ALREADY_SENT;
    },
    { overrideGlobalObjects: false },
  );
}

/**
 * The answer is the bodiless one sendJson built, or a copy of it (Hono copies its response when
 * a middleware had read `c.res` first): anything else — an error answered after it, a HEAD's
 * empty copy — is sent as it is.
 */
function isDirect(request: Request, response: Response, direct: DirectJson): boolean {
  if (response === direct.response) return true;
  return response.body === null && request.method !== "HEAD" && response.status === direct.response?.status;
}

/** Writes a JSON answer as @hono/node-server would: the Response's status and headers, and a length. */
function writeJson(outgoing: ServerResponse, response: Response, text: string): void {
  const headers: Record<string, string | string[] | number> = {};
  const cookies: string[] = [];
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") cookies.push(value);
    else headers[name] = value;
  }
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  headers["content-length"] = Buffer.byteLength(text);
  outgoing.writeHead(response.status, headers);
  outgoing.end(text);
}

function isUnder(adapter: HttpAdapter, url: string): boolean {
  const path = url.split("?", 1)[0]!;
  return path === adapter.basePath || path.startsWith(`${adapter.basePath}/`);
}

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /**
   * Serve the routes declared fast (`POST /tickets/webhook/{source}` and `GET /events`) straight
   * from IncomingMessage/ServerResponse, with the same answers, without web Request/Response
   * objects (event frames are written to the socket, no web stream per client). Default true. Off
   * when the adapter has an `authenticate` hook (it reads a web Request).
   */
  fastPath?: boolean;
}

/**
 * A `(req, res)` listener for `http.createServer`. Requests outside `${prefix}/api/v1` get the
 * API's 404, or go to `next` when one is given.
 */
export function toNodeHandler(adapter: HttpAdapter, options: NodeHandlerOptions = {}): NodeHandler {
  const listener = listenerFor(adapter);
  const fast = options.fastPath === false ? undefined : fastPaths.get(adapter);
  const useFast = fast !== undefined && fast.authenticate !== null && fast.routes.length > 0;
  return (req, res, next) => {
    if (next && !isUnder(adapter, req.url ?? "/")) {
      next();
      return;
    }
    if (useFast) {
      const hit = matchFast(fast, req.method, req.url ?? "/");
      if (hit) {
        serveFast(fast, hit.route, hit.params, req, res).catch((err: unknown) =>
          next ? next(err) : res.destroy(err as Error),
        );
        return;
      }
    }
    listener(req, res).catch((err: unknown) => (next ? next(err) : res.destroy(err as Error)));
  };
}

/** The parts of an Express request the middleware reads. */
interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
  body?: unknown;
}

/**
 * Express middleware: `app.use(expressMiddleware(adapter))`, or `app.use("/rw", …)` with
 * `createHttpAdapter({ prefix: "/rw" })`. Mount it before body parsers; if one already read the
 * body, a Buffer or string body is passed on as is and a parsed JSON body is re-serialised
 * (webhook signatures then need `express.raw()`).
 */
export function expressMiddleware(adapter: HttpAdapter): NodeHandler {
  const listener = listenerFor(adapter);
  return (req, res, next) => {
    const request = req as ExpressLikeRequest;
    const url = request.originalUrl ?? request.url ?? "/";
    if (!isUnder(adapter, url)) {
      next?.();
      return;
    }
    const mountedUrl = request.url;
    request.url = url;
    if (request.readableEnded && request.body !== undefined && !("rawBody" in request)) {
      const body = request.body;
      const raw = Buffer.isBuffer(body)
        ? body
        : typeof body === "string"
          ? Buffer.from(body)
          : Buffer.from(JSON.stringify(body));
      Object.defineProperty(request, "rawBody", { value: raw, configurable: true });
    }
    listener(request, res)
      .catch((err: unknown) => next?.(err))
      .finally(() => {
        request.url = mountedUrl;
      });
  };
}

/** The parts of a Fastify instance the plugin uses (no type dependency on fastify). */
interface FastifyLikeInstance {
  prefix: string;
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    type: string,
    parser: (request: unknown, payload: unknown, done: (err: Error | null, body?: unknown) => void) => void,
  ): void;
  all(path: string, handler: (request: { raw: IncomingMessage }, reply: FastifyLikeReply) => unknown): void;
}
interface FastifyLikeReply {
  raw: ServerResponse;
  hijack(): void;
}

/**
 * A Fastify plugin: `app.register(fastifyPlugin(adapter))`, or with `{ prefix: "/rw" }` and
 * `createHttpAdapter({ prefix: "/rw" })`. Inside the plugin's scope bodies are left unparsed and
 * streamed to the adapter.
 */
export function fastifyPlugin(adapter: HttpAdapter): (instance: FastifyLikeInstance) => Promise<void> {
  const listener = listenerFor(adapter);
  return async (instance) => {
    const scope = instance.prefix ?? "";
    if (scope && !adapter.basePath.startsWith(`${scope}/`)) {
      throw rwError(
        "RW_ERR_CONFIG_INVALID",
        `the Fastify prefix "${scope}" must match the adapter's: createHttpAdapter({ prefix: "${scope}" })`,
      );
    }
    const base = adapter.basePath.slice(scope.length);
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser("*", (_request, _payload, done) => done(null));
    const handler = async (request: { raw: IncomingMessage }, reply: FastifyLikeReply) => {
      reply.hijack();
      await listener(request.raw, reply.raw);
    };
    instance.all(base, handler);
    instance.all(`${base}/*`, handler);
  };
}
