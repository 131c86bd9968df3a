/** Health, Prometheus metrics, the OpenAPI document and the live event stream. */
import { z } from "@hono/zod-openapi";
import { approvalStatuses, rwError, sessionStatuses, ticketStatuses } from "@runwarden/core";
import { plainRequest, unauthenticated } from "../internal/endpoint.js";
import { type PlainRequest, type PlainStream, streamResponse } from "../internal/fast.js";
import { eventNames } from "../internal/sse.js";
import type { RouteContext } from "./context.js";

const Health = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    storage: z.string(),
    instance_id: z.string(),
    uptime_seconds: z.number(),
    /** The webhook intake queue's depth, when the queue is enabled. */
    intake_queue: z
      .object({
        entries: z.number().int(),
        bytes: z.number().int(),
        max_entries: z.number().int(),
        max_bytes: z.number().int(),
      })
      .optional(),
  })
  .openapi("Health");

const StreamToken = z
  .object({
    stream_token: z.string(),
    expires_at: z.string(),
  })
  .openapi("StreamToken");

const RecentEvents = z
  .object({
    items: z.array(
      z.object({
        id: z.number().int(),
        event: z.string(),
        at: z.string(),
        data: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi("RecentEvents");

const PausedAutoExecutions = z
  .object({
    items: z.array(
      z.object({
        runbook_key: z.string(),
        failures: z.number().int(),
        until: z.string().nullable(),
      }),
    ),
  })
  .openapi("PausedAutoExecutions");

const EventsQuery = z.object({
  stream_token: z.string().max(200).optional().openapi({
    description: "A token from POST /events/stream-token (EventSource cannot send Authorization)",
  }),
  types: z
    .string()
    .max(2000)
    .optional()
    .openapi({
      description: `Comma-separated event names to receive; default all. One of: ${eventNames.join(", ")}`,
    }),
});

const startedAt = Date.now();

export function systemRoutes(route: RouteContext): void {
  const { engine, metrics } = route;

  metrics.gauge({
    name: "runwarden_tickets",
    help: "Tickets by status",
    collect: async () => {
      const counts = await engine.countByStatus("tickets");
      return ticketStatuses.map((status) => ({ labels: { status }, value: counts[status] ?? 0 }));
    },
  });
  metrics.gauge({
    name: "runwarden_sessions",
    help: "Execution sessions by status",
    collect: async () => {
      const counts = await engine.countByStatus("sessions");
      return sessionStatuses.map((status) => ({ labels: { status }, value: counts[status] ?? 0 }));
    },
  });
  metrics.gauge({
    name: "runwarden_approvals",
    help: "Approvals by status",
    collect: async () => {
      const counts = await engine.countByStatus("approvals");
      return approvalStatuses.map((status) => ({ labels: { status }, value: counts[status] ?? 0 }));
    },
  });
  if (engine.intake.enabled) {
    metrics.gauge({
      name: "runwarden_intake_queue_entries",
      help: "Webhook deliveries acknowledged and not yet stored, by source",
      collect: async () => {
        const depth = await engine.intake.depth();
        return Object.entries(depth.sources).map(([source, at]) => ({
          labels: { source },
          value: at.entries,
        }));
      },
    });
    metrics.gauge({
      name: "runwarden_intake_queue_bytes",
      help: "Payload bytes of the webhook deliveries queued",
      collect: async () => [{ value: (await engine.intake.depth()).bytes }],
    });
  }
  metrics.gauge({
    name: "runwarden_sse_clients",
    help: "Open event streams",
    collect: () => [{ value: route.hub.clients }],
  });
  metrics.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes",
    collect: () => [{ value: process.memoryUsage.rss() }],
  });
  metrics.gauge({
    name: "process_uptime_seconds",
    help: "Seconds since the adapter was created",
    collect: () => [{ value: (Date.now() - startedAt) / 1000 }],
  });

  route.add({
    method: "get",
    path: "/health",
    tag: "system",
    summary: "Liveness and store reachability",
    access: "public",
    responses: {
      200: { description: "Healthy", wire: Health },
      503: { description: "The store cannot be reached", wire: Health },
    },
    async handler(c) {
      const storage = await engine.checkStorage();
      if (!storage.ok) route.log.warn({ err: storage.error }, "health check failed");
      const depth = storage.ok && engine.intake.enabled ? await engine.intake.depth() : undefined;
      return c.json(
        {
          status: storage.ok ? "ok" : "unavailable",
          storage: storage.kind,
          instance_id: engine.instanceId,
          uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
          ...(depth
            ? {
                intake_queue: {
                  entries: depth.entries,
                  bytes: depth.bytes,
                  max_entries: depth.bounds.maxEntries,
                  max_bytes: depth.bounds.maxBytes,
                },
              }
            : {}),
        },
        storage.ok ? 200 : 503,
      );
    },
  });

  route.add({
    method: "get",
    path: "/metrics",
    tag: "system",
    summary: "Prometheus metrics (text exposition format)",
    access: route.publicMetrics ? "public" : { roles: ["viewer", "operator", "approver"] },
    responses: {
      200: { description: "Metrics", wire: z.string(), contentType: "text/plain; version=0.0.4" },
    },
    async handler(c) {
      return c.body(await metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      });
    },
  });

  route.add({
    method: "get",
    path: "/openapi.json",
    tag: "system",
    summary: "This API's OpenAPI 3.1 document",
    access: "public",
    responses: { 200: { description: "The document", wire: z.record(z.string(), z.unknown()) } },
    handler: (c) => c.json(route.openapi()),
  });

  route.add({
    method: "post",
    path: "/events/stream-token",
    tag: "events",
    summary: "Mint a short-lived token for GET /events",
    description:
      "A browser's EventSource cannot send an Authorization header, and a long-lived token in a URL lands in access logs. This returns a token valid for one minute, bound to the caller's API token: pass it as `?stream_token=`.",
    access: { roles: ["viewer", "operator", "approver"] },
    responses: { 200: { description: "The stream token", wire: StreamToken } },
    handler(c, { actor }) {
      const minted = route.streamTokens.mint(actor.tokenId ?? 0, Date.now());
      return c.json({ stream_token: minted.token, expires_at: new Date(minted.expiresAt).toISOString() });
    },
  });

  route.add({
    method: "get",
    path: "/events/recent",
    tag: "events",
    summary: "The newest events still buffered, oldest first",
    description:
      "What GET /events sent most recently (this process's buffer), filtered as the stream is for the caller's roles: the dashboard's live activity shows them on arrival.",
    access: { roles: ["viewer", "operator", "approver"] },
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    responses: { 200: { description: "Recent events", wire: RecentEvents } },
    handler(c, { query, actor }) {
      const items = route.hub
        .recent({ roles: actor.roles, limit: query.limit })
        .map((e) => ({ id: e.id, event: e.name, at: new Date(e.at).toISOString(), data: e.data }));
      return c.json({ items });
    },
  });

  route.add({
    method: "get",
    path: "/auto-execution/paused",
    tag: "executions",
    summary: "Runbooks whose auto-execution storm control paused",
    description:
      "A runbook's circuit breaker opens after consecutive failed sessions; until it closes (after the cool-down, or resumed by a person) its tickets wait for a person instead of running. The state is this process's.",
    access: { roles: ["viewer", "operator", "approver"] },
    responses: { 200: { description: "The paused runbooks", wire: PausedAutoExecutions } },
    handler(c) {
      const items = route.engine.executions
        .pausedAutoExecutions()
        .map((p) => ({ runbook_key: p.runbookKey, failures: p.failures, until: p.until }));
      return c.json({ items });
    },
  });

  route.add({
    method: "post",
    path: "/auto-execution/paused/{key}/resume",
    tag: "executions",
    summary: "Resume a runbook's auto-execution",
    description: "Closes the runbook's circuit breaker (audited as runbook.auto_execution_resumed).",
    access: { roles: ["approver"] },
    params: z.object({ key: z.string().min(1).max(128) }),
    responses: { 204: { description: "Resumed" } },
    async handler(c, { params, actor }) {
      await route.engine.executions.resetBreaker(params.key, {
        actor: { id: actor.id, roles: actor.roles },
        origin: route.originOf(c),
      });
      return c.body(null, 204);
    },
  });

  route.add({
    method: "get",
    path: "/events",
    tag: "events",
    summary: "The engine's events as server-sent events",
    description:
      "Authenticate with `Authorization: Bearer <token>` or `?stream_token=` (POST /events/stream-token). Each event's `event:` is its name (`approval:requested`, …) and `data:` its payload in snake_case. Credential and connection events need the operator role. Reconnects with `Last-Event-ID` replay what is still buffered.",
    access: "custom",
    query: EventsQuery,
    responses: {
      200: { description: "An endless event stream", wire: z.string(), contentType: "text/event-stream" },
    },
    handler: async (c, { query }) =>
      streamResponse(await openEvents(route, plainRequest(c, route.authenticate), query), c.req.raw.signal),
    // Served straight from node:http by toNodeHandler: frames go to the socket, no web stream per client.
    fast: (req, { query }) => openEvents(route, req, query),
  });
}

/**
 * `GET /events`: authenticate (a Bearer token, or a single-use `stream_token`), check `types`,
 * and stream what the caller's roles may see from `Last-Event-ID` on. Shared by the Hono route and
 * the node:http fast path, so both answer alike.
 */
async function openEvents(
  route: RouteContext,
  req: PlainRequest,
  query: z.output<typeof EventsQuery>,
): Promise<PlainStream> {
  let roles = (await req.authenticate())?.roles;
  if (!roles && query.stream_token) {
    const tokenId = route.streamTokens.check(query.stream_token, Date.now());
    if (tokenId !== undefined) {
      const token = await route.tokens.get(tokenId);
      if (token && token.revokedAt === null) roles = token.roles;
    }
  }
  if (!roles) throw unauthenticated("send `Authorization: Bearer <token>` or a fresh `stream_token`");
  let types: Set<string> | undefined;
  if (query.types) {
    types = new Set(query.types.split(",").map((t) => t.trim()));
    const unknown = [...types].filter((t) => !(eventNames as readonly string[]).includes(t));
    if (unknown.length > 0) {
      throw rwError("RW_ERR_INPUT_INVALID", `unknown event name: ${unknown[0]!.slice(0, 64)}`, {
        details: {
          fields: [{ field: "types", message: `unknown event name: ${unknown[0]!.slice(0, 64)}` }],
        },
      });
    }
  }
  const lastHeader = req.header("last-event-id");
  const lastEventId = lastHeader && /^\d{1,15}$/.test(lastHeader) ? Number(lastHeader) : undefined;
  return {
    status: 200,
    headers: eventStreamHeaders,
    open: (sink) => route.hub.open({ roles, types, lastEventId }, sink),
  };
}

const eventStreamHeaders: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};
