/**
 * The Zendesk Tickets API as a ticketing connector: idempotent create (through `external_id`),
 * status updates, internal notes (found again by a marker, so a retry adds none), the cursor-based
 * incremental ticket export for `pullChanges`, and Zendesk's rate-limit headers.
 */
import { createHash } from "node:crypto";
import {
  apiHealthFailure,
  clip,
  createHttpClient,
  type HttpRequest,
  type HttpResponse,
} from "@runwarden/connector-kit";
import type {
  HealthResult,
  Logger,
  RemoteChange,
  RemoteTicketRef,
  Ticket,
  TicketingConnector,
  TicketingWrite,
  TicketSeverity,
} from "@runwarden/core";
import { isRunwardenError, rwError, TicketStatus } from "@runwarden/core";
import { z } from "zod";
import { defaultPriorities, defaultStatuses, type ZendeskConfig, zendeskBaseUrl } from "../config.js";

const TICKET_ID = /^[1-9]\d{0,15}$/;
/** Fields `update` may set besides `status`: plain ticket properties, never ids or timestamps. */
const WRITABLE = new Set([
  "priority",
  "type",
  "subject",
  "tags",
  "group_id",
  "assignee_id",
  "custom_status_id",
  "custom_fields",
  "due_at",
]);

/** A ticket as the export and the ticket endpoints return it (only the fields we read). */
export const ZendeskTicket = z.object({
  id: z.number().int().positive(),
  external_id: z.string().nullable().default(null),
  status: z.string().default("open"),
  priority: z.string().nullable().default(null),
  type: z.string().nullable().default(null),
  subject: z.string().nullable().default(null),
  description: z.string().nullable().default(null),
  group_id: z.number().nullable().default(null),
  tags: z.array(z.string()).default([]),
  created_at: z.string().nullable().default(null),
  updated_at: z.string().nullable().default(null),
});
export type ZendeskTicket = z.infer<typeof ZendeskTicket>;

const ExportPage = z.object({
  tickets: z.array(z.unknown()),
  after_cursor: z.string().nullable().optional(),
  end_of_stream: z.boolean(),
});

/** The pull position: Zendesk's `after_cursor`, or the `start_time` of a first pull that read nothing yet. */
const Cursor = z.union([
  z.object({ c: z.string().min(1).max(2_000) }),
  z.object({ t: z.number().int().nonnegative() }),
]);
type Cursor = z.infer<typeof Cursor>;

const priorityToSeverity: Record<string, TicketSeverity> = {
  urgent: "critical",
  high: "high",
  normal: "medium",
  low: "low",
};

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The ticket's `external_id` for an idempotency key: the key itself when it fits, else a hash of it. */
export function externalIdFor(idempotencyKey: string): string {
  return /^[\x21-\x7e]{1,200}$/.test(idempotencyKey)
    ? idempotencyKey
    : `rw:${sha256(idempotencyKey).slice(0, 40)}`;
}

/** The marker ending an internal note, so a retried comment is found instead of added twice. */
export function noteMarker(idempotencyKey: string): string {
  return `runwarden-note:${sha256(idempotencyKey).slice(0, 24)}`;
}

function ticketIdOf(ref: RemoteTicketRef): string {
  if (!TICKET_ID.test(ref.externalId)) {
    throw rwError("RW_ERR_INPUT_INVALID", "a Zendesk reference must be a ticket id", {
      details: { fields: [{ path: "externalId", message: "expected a positive integer" }] },
    });
  }
  return ref.externalId;
}

export interface ZendeskDeps {
  source: string;
  logger: Logger;
  now(): Date;
}

/** The audit line of a write: the Zendesk host and the ticket, never a credential or the note's text. */
export function describeZendeskWrite(write: TicketingWrite, baseUrl: URL): string {
  const host = baseUrl.host;
  switch (write.operation) {
    case "create":
      return `zendesk ${host}: create a ticket for Runwarden ticket ${write.ticket.id} (external_id from the idempotency key)`;
    case "update": {
      const changes = [
        ...(write.change.status === undefined ? [] : [`status → ${clip(String(write.change.status), 40)}`]),
        ...Object.keys(write.change.fields ?? {}).map((name) => clip(name, 40)),
      ];
      return `zendesk ${host}: update ticket ${clip(write.ref.externalId, 64)} (${changes.join(", ") || "no change"})`;
    }
    case "comment":
      return `zendesk ${host}: add an internal note of ${write.text.length} characters to ticket ${clip(write.ref.externalId, 64)}`;
  }
}

/** The agent-interface link of a ticket. */
export function agentUrl(baseUrl: URL, id: string | number): string {
  return new URL(`agent/tickets/${id}`, baseUrl.href.endsWith("/") ? baseUrl : `${baseUrl.href}/`).href;
}

export function createZendeskTickets(config: ZendeskConfig, deps: ZendeskDeps): TicketingConnector {
  const base = zendeskBaseUrl(config);
  const priorities = { ...defaultPriorities, ...config.priorities };
  const statuses = { ...defaultStatuses, ...config.statuses };
  const { auth } = config;
  const authorization =
    auth.type === "token"
      ? `Basic ${Buffer.from(`${auth.email}/token:${auth.token}`).toString("base64")}`
      : `Bearer ${auth.accessToken}`;
  /** Set when a response said the rate limit is used up: calls before it fail fast as RATE_LIMITED. */
  let exhaustedUntil = 0;

  const http = createHttpClient({
    vendor: "Zendesk",
    baseUrl: base,
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 50 * 1024 * 1024,
    now: () => deps.now().getTime(),
    rateLimitDelayMs: (headers) => resetMs(headers),
    headers: () => ({ authorization }),
  });

  /** `ratelimit-reset` (seconds until the window resets) when present. */
  function resetMs(headers: Readonly<Record<string, string>>): number | undefined {
    const reset = Number(headers["ratelimit-reset"]);
    return Number.isFinite(reset) && reset >= 0 ? reset * 1000 : undefined;
  }

  /**
   * One call. Honours `x-rate-limit-remaining` (and `ratelimit-remaining`): once Zendesk says none
   * are left, calls fail as RW_ERR_CONNECTOR_RATE_LIMITED with `retryAfterMs` until the window
   * resets (its `ratelimit-reset`, else a minute), so core backs off before Zendesk answers 429.
   * After a 429, calls fail the same way until its `Retry-After` has passed.
   */
  async function call(req: HttpRequest): Promise<HttpResponse> {
    const now = deps.now().getTime();
    if (now < exhaustedUntil) {
      throw rwError(
        "RW_ERR_CONNECTOR_RATE_LIMITED",
        "Zendesk's rate limit is used up until its window resets",
        {
          details: {
            vendor: "Zendesk",
            retryAfterMs: exhaustedUntil - now,
            reason: "x-rate-limit-remaining: 0",
          },
        },
      );
    }
    let res: HttpResponse;
    try {
      res = await http.send(req);
    } catch (error) {
      // A 429: no call before its Retry-After, whoever schedules the next one (the inbound poll too).
      const wait =
        isRunwardenError(error) && error.code === "RW_ERR_CONNECTOR_RATE_LIMITED"
          ? Number(error.details?.retryAfterMs)
          : 0;
      if (wait > 0) exhaustedUntil = Math.max(exhaustedUntil, deps.now().getTime() + wait);
      throw error;
    }
    const remaining = Number(res.headers["x-rate-limit-remaining"] ?? res.headers["ratelimit-remaining"]);
    if (Number.isFinite(remaining) && remaining <= 0) {
      exhaustedUntil = deps.now().getTime() + (resetMs(res.headers) ?? 60_000);
      deps.logger.warn({ retryAfterMs: exhaustedUntil - deps.now().getTime() }, "zendesk rate limit used up");
    }
    return res;
  }

  async function json(req: HttpRequest): Promise<unknown> {
    const res = await call(req);
    try {
      return res.text === "" ? undefined : (JSON.parse(res.text) as unknown);
    } catch (error) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `Zendesk answered ${req.method} ${req.path} with invalid JSON`,
        {
          details: { vendor: "Zendesk", path: req.path },
          cause: error,
        },
      );
    }
  }

  function refOf(id: number | string): RemoteTicketRef {
    return { externalId: String(id), url: agentUrl(base, id) };
  }

  async function findByExternalId(
    externalId: string,
    signal: AbortSignal,
  ): Promise<RemoteTicketRef | undefined> {
    const body = await json({
      method: "GET",
      path: "api/v2/tickets.json",
      query: { external_id: externalId },
      signal,
    });
    const found = z
      .object({ tickets: z.array(z.object({ id: z.number().int().positive() })) })
      .safeParse(body);
    const first = found.success ? found.data.tickets[0] : undefined;
    return first ? refOf(first.id) : undefined;
  }

  function toChange(ticket: ZendeskTicket): RemoteChange {
    const closed = (config.closedStatuses as readonly string[]).includes(ticket.status);
    const id = String(ticket.id);
    const updatedAt = ticket.updated_at ?? deps.now().toISOString();
    return {
      externalId: id,
      kind: closed
        ? "closed"
        : ticket.created_at !== null && ticket.created_at === ticket.updated_at
          ? "created"
          : "updated",
      ticket: {
        title: (ticket.subject || `Zendesk ticket #${id}`).slice(0, 500),
        description: (ticket.description ?? "").slice(0, 20_000),
        severity: priorityToSeverity[ticket.priority ?? ""] ?? "medium",
        source: deps.source,
        externalId: id,
        resolved: closed,
        metaData: {
          zendeskId: ticket.id,
          url: agentUrl(base, id),
          status: ticket.status,
          priority: ticket.priority,
          type: ticket.type,
          groupId: ticket.group_id,
          tags: ticket.tags.slice(0, 50),
          // Core recognises its own tickets by this (an echo of a create is not brought back in).
          correlationId: ticket.external_id,
        },
      },
      updatedAt,
    };
  }

  /** The configured groups and tags; a remote close always passes (core ignores tickets it does not know). */
  function wanted(ticket: ZendeskTicket): boolean {
    if ((config.closedStatuses as readonly string[]).includes(ticket.status)) return true;
    const { groupIds, tags } = config.pull;
    if (groupIds.length > 0 && (ticket.group_id === null || !groupIds.includes(ticket.group_id)))
      return false;
    if (tags.length > 0 && !ticket.tags.some((tag) => tags.includes(tag))) return false;
    return true;
  }

  function parseCursor(cursor: string | undefined): Cursor {
    if (cursor === undefined || cursor === "") {
      return { t: Math.floor((deps.now().getTime() - config.pull.lookbackMs) / 1000) };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(cursor);
    } catch {
      raw = undefined;
    }
    const parsed = Cursor.safeParse(raw);
    if (!parsed.success) {
      throw rwError("RW_ERR_INPUT_INVALID", "not a Zendesk pull cursor", {
        details: {
          fields: [{ path: "cursor", message: "expected the cursor returned by the previous pullChanges" }],
        },
      });
    }
    return parsed.data;
  }

  return {
    async create(ticket: Ticket, { idempotencyKey, signal }) {
      const externalId = externalIdFor(idempotencyKey);
      const existing = await findByExternalId(externalId, signal);
      if (existing) {
        deps.logger.info(
          { ticketId: ticket.id, zendeskId: existing.externalId },
          "zendesk ticket already exists",
        );
        return existing;
      }
      const { defaults } = config;
      const body = [
        ticket.description,
        `Runwarden ticket #${ticket.id} (${ticket.source}${ticket.externalId ? ` ${ticket.externalId}` : ""}), severity ${ticket.severity}${ticket.service ? `, service ${ticket.service}` : ""}${ticket.environment ? `, environment ${ticket.environment}` : ""}.`,
      ]
        .filter(Boolean)
        .join("\n\n");
      const created = await json({
        method: "POST",
        path: "api/v2/tickets.json",
        json: {
          ticket: {
            subject: ticket.title.slice(0, 250),
            comment: { body: body.slice(0, 60_000), public: false },
            priority: priorities[ticket.severity],
            type: "incident",
            status: statuses[ticket.status],
            tags: defaults.tags,
            external_id: externalId,
            ...(defaults.groupId === undefined ? {} : { group_id: defaults.groupId }),
            ...(defaults.requesterId === undefined ? {} : { requester_id: defaults.requesterId }),
          },
        },
        signal,
      });
      const row = z.object({ ticket: z.object({ id: z.number().int().positive() }) }).safeParse(created);
      if (!row.success) {
        throw rwError("RW_ERR_CONNECTOR_REJECTED", "Zendesk created the ticket but returned no ticket id", {
          details: { vendor: "Zendesk" },
        });
      }
      deps.logger.info({ ticketId: ticket.id, zendeskId: row.data.ticket.id }, "zendesk ticket created");
      return refOf(row.data.ticket.id);
    },

    async update(ref, change, { signal }) {
      const id = ticketIdOf(ref);
      const body: Record<string, unknown> = {};
      const fields: { path: string; message: string }[] = [];
      for (const [name, value] of Object.entries(change.fields ?? {})) {
        if (!WRITABLE.has(name))
          fields.push({ path: `fields.${clip(name, 40)}`, message: "not a writable ticket field" });
        else if (!["string", "number", "boolean"].includes(typeof value) && !Array.isArray(value)) {
          fields.push({ path: `fields.${name}`, message: "must be a string, number, boolean or array" });
        } else body[name] = value;
      }
      if (change.status !== undefined) {
        const status = TicketStatus.safeParse(change.status);
        if (status.success) body.status = statuses[status.data];
        else
          fields.push({ path: "status", message: `not a ticket status: ${clip(String(change.status), 40)}` });
      }
      if (fields.length > 0) {
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          `Zendesk update refused: ${fields[0]!.path}: ${fields[0]!.message}`,
          {
            details: { fields },
          },
        );
      }
      if (Object.keys(body).length === 0) return;
      // Setting the same values again changes nothing: retrying an update is safe.
      await call({ method: "PUT", path: `api/v2/tickets/${id}.json`, json: { ticket: body }, signal });
    },

    async comment(ref, text, { idempotencyKey, signal }) {
      const id = ticketIdOf(ref);
      const marker = noteMarker(idempotencyKey);
      let next: HttpRequest | undefined = {
        method: "GET",
        path: `api/v2/tickets/${id}/comments.json`,
        query: { "page[size]": "100" },
        signal,
      };
      for (let page = 0; next && page < 20; page++) {
        const body = z
          .object({
            comments: z.array(z.object({ body: z.string().default("") })),
            meta: z.object({ has_more: z.boolean() }).optional(),
            links: z.object({ next: z.string().nullable().optional() }).optional(),
          })
          .safeParse(await json(next));
        if (!body.success) {
          throw rwError("RW_ERR_CONNECTOR_REJECTED", "Zendesk's comment list has an unexpected shape", {
            details: { vendor: "Zendesk" },
          });
        }
        if (body.data.comments.some((c) => c.body.includes(marker))) {
          deps.logger.debug({ zendeskId: id }, "zendesk note already added");
          return;
        }
        const link = body.data.meta?.has_more ? body.data.links?.next : undefined;
        next = link ? { method: "GET", path: link, signal } : undefined;
      }
      await call({
        method: "PUT",
        path: `api/v2/tickets/${id}.json`,
        json: { ticket: { comment: { body: `${text.slice(0, 60_000)}\n\n[${marker}]`, public: false } } },
        signal,
      });
    },

    async pullChanges({ cursor, signal }) {
      let position = parseCursor(cursor);
      const changes: RemoteChange[] = [];
      for (let page = 0; page < config.pull.maxPages; page++) {
        const query: Record<string, string> =
          "c" in position
            ? { cursor: position.c, per_page: String(config.pull.pageSize), exclude_deleted: "true" }
            : {
                start_time: String(position.t),
                per_page: String(config.pull.pageSize),
                exclude_deleted: "true",
              };
        const parsed = ExportPage.safeParse(
          await json({ method: "GET", path: "api/v2/incremental/tickets/cursor.json", query, signal }),
        );
        if (!parsed.success) {
          throw rwError("RW_ERR_CONNECTOR_REJECTED", "Zendesk's incremental export has an unexpected shape", {
            details: { vendor: "Zendesk" },
          });
        }
        for (const item of parsed.data.tickets) {
          const row = ZendeskTicket.safeParse(item);
          if (!row.success) {
            deps.logger.warn({ issues: row.error.issues.slice(0, 3) }, "skipped malformed zendesk ticket");
            continue;
          }
          if (wanted(row.data)) changes.push(toChange(row.data));
        }
        if (parsed.data.after_cursor) position = { c: parsed.data.after_cursor };
        if (parsed.data.end_of_stream) break;
      }
      return { changes, cursor: JSON.stringify(position) };
    },

    describe: (write) => describeZendeskWrite(write, base),

    async healthCheck({ signal }): Promise<HealthResult> {
      const started = performance.now();
      try {
        await call({ method: "GET", path: "api/v2/users/me.json", signal });
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },
  };
}
