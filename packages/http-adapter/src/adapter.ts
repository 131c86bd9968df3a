/**
 * createHttpAdapter(): the documented REST API over an engine, as a Fetch-standard handler.
 * node:http, Express and Fastify mount the same handler (see node.ts).
 */
import type { IncomingMessage } from "node:http";
import { OpenAPIHono } from "@hono/zod-openapi";
import {
  type Engine,
  isRunwardenError,
  type Logger,
  type Role,
  roles as roleNames,
  rwError,
} from "@runwarden/core";
import { type AdapterEnv, type AuthActor, type Ctx, mount, wireValue } from "./internal/endpoint.js";
import { mapError } from "./internal/errors.js";
import { compilePath, type FastRoute, fastPaths } from "./internal/fast.js";
import { MetricsRegistry } from "./internal/metrics.js";
import { createEventHub, type EventHub } from "./internal/sse.js";
import { createStreamTokens, type StreamTokens } from "./internal/stream-token.js";
import { createWaves } from "./internal/waves.js";
import { approvalRoutes } from "./routes/approvals.js";
import { connectionRoutes } from "./routes/connections.js";
import { connectorConfigRoutes } from "./routes/connector-config.js";
import { connectorRoutes } from "./routes/connectors.js";
import type { RouteContext } from "./routes/context.js";
import { credentialRoutes } from "./routes/credentials.js";
import { executionRoutes } from "./routes/executions.js";
import { notifierRoutes } from "./routes/notifiers.js";
import { runbookRoutes } from "./routes/runbooks.js";
import { systemRoutes } from "./routes/system.js";
import { ticketRoutes } from "./routes/tickets.js";
import { tokenRoutes } from "./routes/tokens.js";
import { webhookSourceRoutes } from "./routes/webhook-sources.js";
import { createTokenStore, type TokenStore } from "./tokens.js";

/** Size limits, in bytes. */
export interface HttpLimits {
  /** JSON request bodies. Default 1 MiB. */
  jsonBytes?: number;
  /** A CSV upload. Default 50 MiB. */
  csvBytes?: number;
  /** A webhook body. Default 1 MiB. */
  webhookBytes?: number;
  /** A runbook's Markdown. Default 512 KiB. */
  runbookBytes?: number;
}

/** How `POST /tickets/webhook/generic` is verified (a token with the operator role always works). */
export interface GenericWebhookOptions {
  /** The shared secret a sender puts in `header`. Unset: only operator tokens are accepted. */
  secret?: string;
  /** Default `x-runwarden-webhook-secret`. */
  header?: string;
}

/** How `GET /events` streams behave. */
export interface EventStreamOptions {
  /** A comment line sent to every stream this often, so proxies keep it open. Default 15 000 ms. */
  heartbeatMs?: number;
  /**
   * A client that lags this many frames behind (written, not yet taken by its connection) has its
   * stream ended: a slow reader costs bounded memory and reconnects with `Last-Event-ID` to replay
   * what is still buffered. Default 5 000.
   */
  maxQueuedFrames?: number;
  /**
   * How many of the newest events are kept for `Last-Event-ID` replay and `/events/recent`.
   * Default 500; at most `maxQueuedFrames` (a replay is written at once and counts against it).
   */
  replayBuffer?: number;
}

export interface HttpAdapterOptions {
  /** The engine whose API is served. */
  engine: Engine;
  /** Where the API is mounted in the host's URL space: routes are `${prefix}/api/v1/…`. Default "". */
  prefix?: string;
  /** The host's pino logger; the adapter logs through a `{ component: "http" }` child. Default silent. */
  logger?: Logger;
  /** The API token store. Default: one over `engine.storage.tokens`. */
  tokens?: TokenStore;
  /** How the built-in generic webhook is verified. */
  webhooks?: { generic?: GenericWebhookOptions };
  /** Request size limits. */
  limits?: HttpLimits;
  /**
   * Key for signing `GET /events` stream tokens. Default: random per process (set it when several
   * instances sit behind one load balancer).
   */
  streamTokenSecret?: string | Uint8Array;
  /** How long a stream token is valid. Default 60 s. */
  streamTokenTtlMs?: number;
  /** The live event stream's heartbeat, slow-client bound and replay buffer. */
  events?: EventStreamOptions;
  /** `GET /metrics` without a token (a scraper on a private network). Default false: viewer role. */
  publicMetrics?: boolean;
  /** Check every response against its schema (tests, development). Default false. */
  validateResponses?: boolean;
  /** Trust `X-Forwarded-For` for the audit log's origin. Default false. */
  trustProxy?: boolean;
  /**
   * The server's public base URL (`https://runwarden.example`), for the webhook URLs and vendor
   * set-up snippets the connector endpoints show. Default: the request's own origin (with
   * `trustProxy`, `X-Forwarded-Proto` and `X-Forwarded-Host` when sent).
   */
  publicUrl?: string;
  /**
   * The host's own authentication, asked first on every request that needs a caller: map the
   * host's session or JWT to a Runwarden actor and roles, or return `undefined` to fall back to
   * Runwarden API tokens (`Authorization: Bearer`). `node` is the Node request when mounted with
   * `toNodeHandler`, `expressMiddleware` or `fastifyPlugin` (so `req.user`, set by the host's own
   * middleware, is readable there).
   *
   * @example
   * ```ts
   * authenticate: ({ node }) => {
   *   const user = (node as { user?: { email: string; admin: boolean } } | undefined)?.user;
   *   return user ? { actor: user.email, roles: user.admin ? ["admin"] : ["viewer"] } : undefined;
   * }
   * ```
   */
  authenticate?: AuthenticateHook;
}

/** What {@link HttpAdapterOptions.authenticate} returns for a caller the host recognises. */
export interface HostIdentity {
  /** Recorded as the actor in the audit log, approvals and sessions. */
  actor: string;
  /** The roles the caller holds (they decide which routes it may call). */
  roles: readonly Role[];
}

/** The host's authentication hook: see {@link HttpAdapterOptions.authenticate}. */
export type AuthenticateHook = (input: {
  request: Request;
  node: IncomingMessage | undefined;
}) => HostIdentity | undefined | Promise<HostIdentity | undefined>;

export interface HttpAdapter {
  /** The Fetch-standard handler: `(request) => response`. */
  readonly fetch: (request: Request, env?: unknown) => Promise<Response>;
  /** Where the API is mounted (`${prefix}/api/v1`). */
  readonly prefix: string;
  /** The root of the API: `${prefix}/api/v1`. */
  readonly basePath: string;
  /** The API token store the adapter authenticates with. */
  readonly tokens: TokenStore;
  /** The OpenAPI 3.1 document, as served at `/api/v1/openapi.json`. */
  openapi(): Record<string, unknown>;
  /** Ends open event streams and detaches from the engine's event bus. */
  close(): void;
}

function normalizePrefix(prefix: string | undefined): string {
  if (!prefix || prefix === "/") return "";
  const p = prefix.startsWith("/") ? prefix : `/${prefix}`;
  return p.endsWith("/") ? p.slice(0, -1) : p;
}

/** A logger that drops everything: the default, as library code never writes to stdout. */
const silentLogger = {
  child: () => silentLogger,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
} as unknown as Logger;

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Creates the REST API over `engine`. Nothing is listened on: mount `fetch` where you like. */
export function createHttpAdapter(options: HttpAdapterOptions): HttpAdapter {
  const { engine } = options;
  const prefix = normalizePrefix(options.prefix);
  const basePath = `${prefix}/api/v1`;
  const log = (options.logger ?? silentLogger).child({ component: "http" });
  const tokens = options.tokens ?? createTokenStore(engine.storage);
  const streamTokens: StreamTokens = createStreamTokens(
    options.streamTokenSecret,
    options.streamTokenTtlMs ?? 60_000,
  );
  for (const [name, value] of Object.entries(options.events ?? {})) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw rwError("RW_ERR_CONFIG_INVALID", `events.${name} must be a positive integer`);
    }
  }
  if ((options.events?.replayBuffer ?? 500) > (options.events?.maxQueuedFrames ?? 5_000)) {
    throw rwError(
      "RW_ERR_CONFIG_INVALID",
      "events.replayBuffer must not exceed events.maxQueuedFrames: a replay is written at once",
    );
  }
  const hub: EventHub = createEventHub(engine.events, {
    heartbeatMs: options.events?.heartbeatMs,
    maxQueuedFrames: options.events?.maxQueuedFrames,
    bufferSize: options.events?.replayBuffer,
  });
  const metrics = new MetricsRegistry();
  const requests = metrics.counter(
    "runwarden_http_requests_total",
    "HTTP requests answered, by route and status",
  );
  const durations = metrics.histogram(
    "runwarden_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response headers)",
    durationBuckets,
  );
  const eventsTotal = metrics.counter("runwarden_events_total", "Engine events, by name");
  hub.onEvent((name) => eventsTotal.inc({ event: name }));

  const limits = {
    jsonBytes: options.limits?.jsonBytes ?? 1024 * 1024,
    csvBytes: options.limits?.csvBytes ?? 50 * 1024 * 1024,
    webhookBytes: options.limits?.webhookBytes ?? 1024 * 1024,
    runbookBytes: options.limits?.runbookBytes ?? 512 * 1024,
  };

  async function authenticate(c: Ctx): Promise<AuthActor | undefined> {
    const cached = c.get("actor");
    if (cached) return cached;
    if (options.authenticate) {
      const node = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      const identity = await options.authenticate({ request: c.req.raw, node });
      if (identity) {
        const roles = identity.roles.filter((r): r is Role => (roleNames as readonly string[]).includes(r));
        const actor: AuthActor = { id: String(identity.actor), roles, tokenId: null };
        c.set("actor", actor);
        return actor;
      }
    }
    const actor = await bearerActor(c.req.header("authorization"));
    if (actor) c.set("actor", actor);
    return actor;
  }

  /** The caller of an `Authorization: Bearer <token>` header holding a valid API token. */
  async function bearerActor(header: string | undefined): Promise<AuthActor | undefined> {
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return undefined;
    const token = await tokens.verify(match[1]!);
    if (!token) return undefined;
    return { id: token.actor, roles: token.roles, tokenId: token.id };
  }

  /** The public base URL (no trailing slash) and the API root under it. */
  function publicBaseOf(c: Ctx): string {
    if (options.publicUrl) return options.publicUrl.replace(/\/+$/, "");
    const url = new URL(c.req.url);
    if (options.trustProxy) {
      const proto = c.req.header("x-forwarded-proto")?.split(",", 1)[0]?.trim();
      const host = c.req.header("x-forwarded-host")?.split(",", 1)[0]?.trim();
      if (proto && /^https?$/.test(proto)) url.protocol = `${proto}:`;
      if (host && /^[A-Za-z0-9.:[\]-]+$/.test(host)) url.host = host;
    }
    return url.origin;
  }

  function originOf(c: Ctx): string {
    if (options.trustProxy) {
      const forwarded = c.req.header("x-forwarded-for")?.split(",", 1)[0]?.trim();
      if (forwarded) return forwarded.slice(0, 64);
    }
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    return incoming?.socket?.remoteAddress ?? "http";
  }

  const api = new OpenAPIHono<AdapterEnv>();
  const components = new Map<string, unknown>();
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API token: `Authorization: Bearer <token>`. Admins create them with POST /tokens.",
  });

  const validateResponses = options.validateResponses ?? false;
  const fastRoutes: FastRoute[] = [];
  const route: RouteContext = {
    engine,
    tokens,
    log,
    limits,
    hub,
    streamTokens,
    metrics,
    validateResponses,
    publicMetrics: options.publicMetrics ?? false,
    genericWebhook: {
      secret: options.webhooks?.generic?.secret,
      header: (options.webhooks?.generic?.header ?? "x-runwarden-webhook-secret").toLowerCase(),
    },
    webhookWave: createWaves(),
    authenticate,
    originOf,
    apiUrl: (c) => `${publicBaseOf(c)}${basePath}`,
    publicBase: (c) => `${publicBaseOf(c)}${prefix}`,
    add(spec) {
      mount(api, spec, {
        authenticate,
        jsonLimitBytes: limits.jsonBytes,
        component(name, schema) {
          let registered = components.get(name);
          if (!registered) {
            registered = api.openAPIRegistry.register(name, schema);
            components.set(name, registered);
          }
          return registered as typeof schema;
        },
        fast(spec) {
          fastRoutes.push({ ...spec, ...compilePath(basePath, spec.path) });
        },
      });
    },
    openapi: () => document(),
  };

  for (const install of [
    ticketRoutes,
    connectorRoutes,
    connectorConfigRoutes,
    credentialRoutes,
    connectionRoutes,
    runbookRoutes,
    executionRoutes,
    approvalRoutes,
    tokenRoutes,
    webhookSourceRoutes,
    notifierRoutes,
    systemRoutes,
  ]) {
    install(route);
  }

  let cachedDocument: Record<string, unknown> | undefined;
  function document(): Record<string, unknown> {
    cachedDocument ??= api.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Runwarden API",
        version: "1",
        description:
          "Approval-gated incident auto-remediation. JSON in snake_case; errors are `{ error: { code, message, fields? } }`.",
      },
      servers: [{ url: basePath }],
      security: [{ bearer: [] }],
    }) as unknown as Record<string, unknown>;
    return cachedDocument;
  }

  const app = new OpenAPIHono<AdapterEnv>();
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    // Only a matched route's path is under basePath: "unmatched" is a label, not a path to cut.
    const matched = c.req.routePath !== "*" && c.req.routePath !== "/*";
    const route = matched ? c.req.routePath.slice(basePath.length) || "/" : "unmatched";
    const labels = { method: c.req.method, route };
    requests.inc({ ...labels, status: String(c.res.status) });
    durations.observe(labels, (performance.now() - started) / 1000);
  });
  app.route(basePath, api);
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: "RW_ERR_INPUT_NO_ROUTE",
          message: `no endpoint ${c.req.method} ${new URL(c.req.url).pathname}`,
        },
      },
      404,
    ),
  );
  app.onError((err, c) => {
    const mapped = mapError(err);
    if (mapped.internal) log.error({ err, method: c.req.method, route: c.req.routePath }, "request failed");
    else
      log.debug(
        { code: mapped.body.error.code, status: mapped.status, route: c.req.routePath },
        "request refused",
      );
    // A refusal that says when to come back (the intake queue is full): HTTP's Retry-After too.
    const retryAfter = isRunwardenError(err) ? err.details?.["retryAfterSeconds"] : undefined;
    if (typeof retryAfter === "number") c.header("retry-after", String(retryAfter));
    return c.json(mapped.body, mapped.status as 400);
  });

  const adapter: HttpAdapter = {
    fetch: (request, env) => Promise.resolve(app.fetch(request, env)),
    prefix,
    basePath,
    tokens,
    openapi: document,
    close() {
      hub.close();
    },
  };
  fastPaths.set(adapter, {
    routes: fastRoutes,
    // The host's hook reads a web Request: with one, every request goes through Hono.
    authenticate: options.authenticate ? null : bearerActor,
    serialize: (answer) => JSON.stringify(wireValue(answer.schema, answer.value, validateResponses)),
    record(method, label, status, startedMs) {
      const labels = { method, route: label };
      requests.inc({ ...labels, status: String(status) });
      durations.observe(labels, (performance.now() - startedMs) / 1000);
    },
    log,
  });
  return adapter;
}
