/**
 * Mounting the Fetch handler in Node servers: node:http, Express and Fastify. Each one hands the
 * raw request stream to the adapter, so uploads are streamed and webhook signatures are checked
 * over the exact bytes received.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { rwError } from "@runwarden/core";
import type { HttpAdapter } from "./adapter.js";

/** A node:http request listener; with `next` (Connect style), requests outside the API are passed on. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

function listenerFor(adapter: HttpAdapter) {
  // Never replace the host's global Request/Response: the adapter is a guest in its process.
  return getRequestListener(adapter.fetch, { overrideGlobalObjects: false });
}

function isUnder(adapter: HttpAdapter, url: string): boolean {
  const path = url.split("?", 1)[0]!;
  return path === adapter.basePath || path.startsWith(`${adapter.basePath}/`);
}

/**
 * A `(req, res)` listener for `http.createServer`. Requests outside `${prefix}/api/v1` get the
 * API's 404, or go to `next` when one is given.
 */
export function toNodeHandler(adapter: HttpAdapter): NodeHandler {
  const listener = listenerFor(adapter);
  return (req, res, next) => {
    if (next && !isUnder(adapter, req.url ?? "/")) {
      next();
      return;
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
