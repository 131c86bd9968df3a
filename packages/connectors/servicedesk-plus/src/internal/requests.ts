/**
 * ServiceDesk Plus API v3 on `requests`: idempotent create (a correlation marker), status changes,
 * close with closure info, notes (a marker per idempotency key), and pullChanges over
 * `last_updated_time`. Every body is the `input_data` form field holding JSON.
 */
import { createHash } from "node:crypto";
import { apiHealthFailure, clip, createHttpClient, type HttpRequest } from "@runwarden/connector-kit";
import type {
  HealthResult,
  Logger,
  RemoteChange,
  RemoteTicketRef,
  Ticket,
  TicketInput,
  TicketingConnector,
  TicketingWrite,
} from "@runwarden/core";
import { isRunwardenError, rwError, TicketStatus } from "@runwarden/core";
import { z } from "zod";
import {
  defaultPriorityToSeverity,
  defaultSeverities,
  defaultStatuses,
  type ServiceDeskPlusConfig,
} from "../config.js";
import { createSdpAuth } from "./auth.js";

const REQUESTS = "api/v3/requests";
const ACCEPT = "application/vnd.manageengine.sdp.v3+json";
const REQUEST_ID = /^\d{1,20}$/;
const FIELD = /^[a-z][a-z0-9_]*$/;
/** Fields whose value is an entity picked by name (`{ "name": … }`). */
const LOOKUP_FIELDS = new Set([
  "priority",
  "impact",
  "urgency",
  "group",
  "technician",
  "category",
  "subcategory",
  "item",
  "level",
  "mode",
  "site",
  "request_type",
  "service_category",
]);

const Named = z
  .object({ name: z.string().nullish() })
  .nullish()
  .transform((v) => v?.name ?? "");
const Time = z
  .object({ value: z.coerce.string().regex(/^\d{1,15}$/) })
  .nullish()
  .transform((v) => (v ? Number(v.value) : undefined));

const SdpRequest = z.object({
  id: z.coerce.string().regex(REQUEST_ID),
  subject: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  description: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  status: Named,
  priority: Named,
  impact: Named,
  urgency: Named,
  group: Named,
  created_time: Time,
  last_updated_time: Time,
  udf_fields: z.record(z.string(), z.unknown()).nullish(),
});
type SdpRequest = z.infer<typeof SdpRequest>;

/** The pull position: the last `last_updated_time` read (epoch ms) and the ids read at that time. */
const Cursor = z.object({
  t: z.number().int().nonnegative(),
  ids: z.array(z.string().regex(REQUEST_ID)).max(10_000),
});
type Cursor = z.infer<typeof Cursor>;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The correlation value of an idempotency key: the key if short and plain, else a hash of it. */
export function correlationId(idempotencyKey: string): string {
  return /^[A-Za-z0-9._:-]{1,100}$/.test(idempotencyKey)
    ? idempotencyKey
    : `rw:${sha256(idempotencyKey).slice(0, 40)}`;
}

/** The marker a request's description carries when no correlation field is configured. */
export function requestMarker(correlation: string): string {
  return `[runwarden:${correlation}]`;
}

/** The marker appended to a note, so a retried comment is found instead of added twice. */
export function noteMarker(idempotencyKey: string): string {
  return `runwarden-note:${sha256(idempotencyKey).slice(0, 24)}`;
}

/** Ticket text is plain text; SDP descriptions and notes are HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(/\r?\n/g, "<br>");
}

function requestIdOf(ref: RemoteTicketRef): string {
  if (!REQUEST_ID.test(ref.externalId)) {
    throw rwError("RW_ERR_INPUT_INVALID", "a ServiceDesk Plus reference must be a numeric request id", {
      details: { fields: [{ path: "externalId", message: "expected 1 to 20 digits" }] },
    });
  }
  return ref.externalId;
}

/** The audit line of a write: the host and the request, never a credential nor the note's text. */
export function describeRequestWrite(write: TicketingWrite, baseUrl: string): string {
  const host = new URL(baseUrl).host;
  switch (write.operation) {
    case "create":
      return `servicedesk-plus ${host}: create a request for ticket ${write.ticket.id} (correlation from the idempotency key)`;
    case "update": {
      const changes = [
        ...(write.change.status === undefined ? [] : [`status → ${clip(String(write.change.status), 40)}`]),
        ...Object.keys(write.change.fields ?? {}).map((field) => clip(field, 40)),
      ];
      return `servicedesk-plus ${host}: update request ${clip(write.ref.externalId, 64)} (${changes.join(", ") || "no change"})`;
    }
    case "comment":
      return `servicedesk-plus ${host}: add a private note of ${write.text.length} characters to request ${clip(write.ref.externalId, 64)}`;
  }
}

export interface SdpDeps {
  source: string;
  logger: Logger;
  now(): Date;
}

export function createSdpRequests(config: ServiceDeskPlusConfig, deps: SdpDeps): TicketingConnector {
  const base = new URL(config.baseUrl);
  const severities = { ...defaultSeverities, ...config.severities };
  const statuses = { ...defaultStatuses, ...config.statuses };
  const closedStatuses = new Set(config.closedStatuses.map((s) => s.toLowerCase()));
  const noteKey = config.noteKey ?? (config.auth.type === "authtoken" ? "note" : "request_note");
  const auth = createSdpAuth(config, { logger: deps.logger, now: () => deps.now().getTime() });

  const http = createHttpClient({
    vendor: "ServiceDesk Plus",
    baseUrl: base,
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 32 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: async (signal) => ({ accept: ACCEPT, ...(await auth.headers(signal)) }),
  });

  /** One call; with OAuth, a 401 drops the cached token and retries once with a fresh one. */
  async function call(req: HttpRequest): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = (await http.send(req)).text;
    } catch (error) {
      if (!(isRunwardenError(error) && error.details?.status === 401 && auth.invalidate())) throw error;
      text = (await http.send(req)).text;
    }
    let body: unknown;
    try {
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch (error) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `ServiceDesk Plus answered ${req.method} with invalid JSON`,
        {
          details: { vendor: "ServiceDesk Plus", path: req.path },
          cause: error,
        },
      );
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "ServiceDesk Plus answered with an unexpected body", {
        details: { vendor: "ServiceDesk Plus", path: req.path },
      });
    }
    // A 2xx can still carry `response_status.status: "failed"` (an object, or an array on lists).
    const statuses = [(body as { response_status?: unknown }).response_status].flat();
    const failed = statuses.find(
      (s): s is { status_code?: unknown } =>
        typeof s === "object" && s !== null && (s as { status?: unknown }).status === "failed",
    );
    if (failed) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `ServiceDesk Plus refused ${req.method} ${req.path}`, {
        details: { vendor: "ServiceDesk Plus", path: req.path, statusCode: failed.status_code },
      });
    }
    return body as Record<string, unknown>;
  }

  const form = (data: unknown) => ({ input_data: JSON.stringify(data) });

  /** The request's page: `WorkOrder.do` on-premises, `ui/requests/<id>/details` on Cloud. */
  function refOf(id: string): RemoteTicketRef {
    const page =
      config.auth.type === "oauth" ? `ui/requests/${id}/details` : `WorkOrder.do?woMode=viewWO&woID=${id}`;
    const url = new URL(page, base.href.endsWith("/") ? base : `${base.href}/`);
    return { externalId: id, url: url.href };
  }

  async function list(listInfo: Record<string, unknown>, signal: AbortSignal) {
    const body = await call({
      method: "GET",
      path: REQUESTS,
      query: { input_data: JSON.stringify({ list_info: listInfo }) },
      signal,
    });
    const rows = body.requests;
    if (!Array.isArray(rows)) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "ServiceDesk Plus's request list has no requests array", {
        details: { vendor: "ServiceDesk Plus" },
      });
    }
    const info = z
      .object({ has_more_rows: z.boolean().default(false) })
      .catch({ has_more_rows: false })
      .parse(body.list_info ?? {});
    return { rows, hasMore: info.has_more_rows };
  }

  async function findByCorrelation(correlation: string, signal: AbortSignal): Promise<string | undefined> {
    const criterion = config.correlationField
      ? { field: `udf_fields.${config.correlationField}`, condition: "is", value: correlation }
      : { field: "description", condition: "contains", value: requestMarker(correlation) };
    const { rows } = await list(
      {
        row_count: 1,
        start_index: 1,
        sort_field: "created_time",
        sort_order: "asc",
        search_criteria: [criterion],
      },
      signal,
    );
    const first = z.object({ id: z.coerce.string().regex(REQUEST_ID) }).safeParse(rows[0]);
    return first.success ? first.data.id : undefined;
  }

  function correlationOf(row: SdpRequest): string | undefined {
    if (config.correlationField) {
      const value = row.udf_fields?.[config.correlationField];
      return typeof value === "string" && value !== "" ? value : undefined;
    }
    return /\[runwarden:([A-Za-z0-9._:-]{1,100})\]/.exec(row.description)?.[1];
  }

  function toChange(row: SdpRequest, updatedMs: number, since: number | undefined): RemoteChange {
    const closed = closedStatuses.has(row.status.toLowerCase());
    const createdMs = row.created_time;
    const created =
      since === undefined ? createdMs === updatedMs : createdMs !== undefined && createdMs >= since;
    const text = row.description
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<[^>]*>/g, "")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
    const ticket: TicketInput = {
      title: (row.subject || `Request ${row.id}`).slice(0, 500),
      description: text.slice(0, 20_000),
      severity: defaultPriorityToSeverity[row.priority.toLowerCase()] ?? "medium",
      source: deps.source,
      externalId: row.id,
      resolved: closed,
      metaData: {
        status: row.status,
        priority: row.priority,
        impact: row.impact,
        urgency: row.urgency,
        group: row.group,
        ...(correlationOf(row) ? { correlationId: correlationOf(row) } : {}),
      },
    };
    return {
      externalId: row.id,
      kind: closed ? "closed" : created ? "created" : "updated",
      ticket,
      updatedAt: new Date(updatedMs).toISOString(),
    };
  }

  function parseCursor(cursor: string | undefined): Cursor {
    if (cursor === undefined || cursor === "") {
      return { t: deps.now().getTime() - config.pull.lookbackMs, ids: [] };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(cursor);
    } catch {
      raw = undefined;
    }
    const parsed = Cursor.safeParse(raw);
    if (!parsed.success) {
      throw rwError("RW_ERR_INPUT_INVALID", "not a ServiceDesk Plus pull cursor", {
        details: {
          fields: [{ path: "cursor", message: "expected the cursor returned by the previous pullChanges" }],
        },
      });
    }
    return parsed.data;
  }

  async function close(id: string, signal: AbortSignal): Promise<void> {
    // Closing a closed request is refused by SDP: look first, so a retried close is a no-op.
    const current = await call({ method: "GET", path: `${REQUESTS}/${id}`, signal });
    const status = z
      .object({ status: Named })
      .catch({ status: "" })
      .parse(current.request ?? {}).status;
    if (status.toLowerCase() === statuses.closed.toLowerCase()) {
      deps.logger.debug({ requestId: id }, "servicedesk plus request already closed");
      return;
    }
    const { closureCode, closureComments, requesterAckResolution } = config.closure;
    await call({
      method: "PUT",
      path: `${REQUESTS}/${id}/close`,
      form: form({
        request: {
          closure_info: {
            requester_ack_resolution: requesterAckResolution,
            requester_ack_comments: closureComments,
            closure_comments: closureComments,
            closure_code: { name: closureCode },
          },
        },
      }),
      signal,
    });
    deps.logger.info({ requestId: id }, "servicedesk plus request closed");
  }

  return {
    async create(ticket: Ticket, { idempotencyKey, signal }) {
      const correlation = correlationId(idempotencyKey);
      const existing = await findByCorrelation(correlation, signal);
      if (existing) {
        deps.logger.info(
          { ticketId: ticket.id, requestId: existing },
          "servicedesk plus request already exists",
        );
        return refOf(existing);
      }
      const { defaults } = config;
      const mapped = severities[ticket.severity];
      const context = `Runwarden ticket #${ticket.id} (${ticket.source}${ticket.externalId ? ` ${ticket.externalId}` : ""}), severity ${ticket.severity}${ticket.service ? `, service ${ticket.service}` : ""}${ticket.environment ? `, environment ${ticket.environment}` : ""}.`;
      const description = [
        ...(ticket.description ? [escapeHtml(ticket.description.slice(0, 20_000))] : []),
        escapeHtml(context),
        ...(config.correlationField ? [] : [requestMarker(correlation)]),
      ].join("<br><br>");
      const request: Record<string, unknown> = {
        subject: ticket.title.slice(0, 250),
        description,
        request_type: { name: defaults.requestType },
        ...(mapped.priority ? { priority: { name: mapped.priority } } : {}),
        ...(mapped.impact ? { impact: { name: mapped.impact } } : {}),
        ...(mapped.urgency ? { urgency: { name: mapped.urgency } } : {}),
        ...(defaults.requester ? { requester: { name: defaults.requester } } : {}),
        ...(defaults.group ? { group: { name: defaults.group } } : {}),
        ...(defaults.technician ? { technician: { name: defaults.technician } } : {}),
        ...(defaults.category ? { category: { name: defaults.category } } : {}),
        ...(defaults.site ? { site: { name: defaults.site } } : {}),
        ...(config.correlationField ? { udf_fields: { [config.correlationField]: correlation } } : {}),
      };
      const body = await call({ method: "POST", path: REQUESTS, form: form({ request }), signal });
      const created = z.object({ id: z.coerce.string().regex(REQUEST_ID) }).safeParse(body.request);
      if (!created.success) {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          "ServiceDesk Plus created the request but returned no id",
          {
            details: { vendor: "ServiceDesk Plus" },
          },
        );
      }
      deps.logger.info(
        { ticketId: ticket.id, requestId: created.data.id },
        "servicedesk plus request created",
      );
      return refOf(created.data.id);
    },

    async update(ref, change, { signal }) {
      const id = requestIdOf(ref);
      const request: Record<string, unknown> = {};
      const udf: Record<string, string | number | boolean> = {};
      const problems: { path: string; message: string }[] = [];
      for (const [field, value] of Object.entries(change.fields ?? {})) {
        if (!FIELD.test(field) || field === "id" || field === "status") {
          problems.push({ path: `fields.${field}`, message: "not a writable field name" });
        } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
          problems.push({ path: `fields.${field}`, message: "must be a string, number or boolean" });
        } else if (field.startsWith("udf_")) udf[field] = value;
        else if (LOOKUP_FIELDS.has(field)) request[field] = { name: String(value) };
        else if (field === "subject") request.subject = String(value).slice(0, 250);
        else problems.push({ path: `fields.${field}`, message: "not a field this connector writes" });
      }
      let closing = false;
      if (change.status !== undefined) {
        const status = TicketStatus.safeParse(change.status);
        if (!status.success) {
          problems.push({
            path: "status",
            message: `not a ticket status: ${String(change.status).slice(0, 40)}`,
          });
        } else if (status.data === "closed") closing = true;
        else {
          request.status = { name: statuses[status.data] };
          if (closedStatuses.has(statuses[status.data].toLowerCase())) {
            request.resolution = { content: escapeHtml(config.closure.closureComments) };
          }
        }
      }
      if (problems.length > 0) {
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          `ServiceDesk Plus update refused: ${problems[0]!.path}: ${problems[0]!.message}`,
          { details: { fields: problems } },
        );
      }
      if (Object.keys(udf).length > 0) request.udf_fields = udf;
      // A PUT of the same values is a no-op: retrying an update is safe.
      if (Object.keys(request).length > 0) {
        await call({ method: "PUT", path: `${REQUESTS}/${id}`, form: form({ request }), signal });
      }
      if (closing) await close(id, signal);
    },

    async comment(ref, text, { idempotencyKey, signal }) {
      const id = requestIdOf(ref);
      const marker = noteMarker(idempotencyKey);
      for (let start = 1, page = 0; page < 50; page++, start += 100) {
        const body = await call({
          method: "GET",
          path: `${REQUESTS}/${id}/notes`,
          query: { input_data: JSON.stringify({ list_info: { row_count: 100, start_index: start } }) },
          signal,
        });
        const notes = [body.notes, body.request_notes].find(Array.isArray) ?? [];
        if (notes.some((n) => typeof n?.description === "string" && n.description.includes(marker))) {
          deps.logger.debug({ requestId: id }, "servicedesk plus note already added");
          return;
        }
        const more = (body.list_info as { has_more_rows?: unknown } | undefined)?.has_more_rows === true;
        if (!more) break;
      }
      const note: Record<string, unknown> = {
        description: `${escapeHtml(text.slice(0, 30_000))}<br><br>[${marker}]`,
        show_to_requester: false,
        mark_first_response: false,
        add_to_linked_requests: false,
        ...(noteKey === "request_note" ? { notify_technician: false } : {}),
      };
      await call({
        method: "POST",
        path: `${REQUESTS}/${id}/notes`,
        form: form({ [noteKey]: note }),
        signal,
      });
    },

    async pullChanges({ cursor, signal }) {
      const position = parseCursor(cursor);
      const since = cursor === undefined || cursor === "" ? undefined : position.t;
      const seen = new Set(position.ids);
      const criteria: Record<string, unknown>[] = [
        // "greater than t-1" is "at or after t" for integer milliseconds.
        { field: "last_updated_time", condition: "greater than", value: String(position.t - 1) },
      ];
      if (config.pull.groups.length > 0) {
        criteria.push({
          field: "group.name",
          condition: "is",
          values: config.pull.groups,
          logical_operator: "AND",
        });
      }
      const changes: RemoteChange[] = [];
      let last: Cursor = position;
      let more = true;
      let page = 0;
      for (; more && page < config.pull.maxPages; page++) {
        const result = await list(
          {
            row_count: config.pull.pageSize,
            start_index: 1 + page * config.pull.pageSize,
            sort_field: "last_updated_time",
            sort_order: "asc",
            get_total_count: false,
            search_criteria: criteria,
          },
          signal,
        );
        for (const item of result.rows) {
          const row = SdpRequest.safeParse(item);
          if (!row.success || row.data.last_updated_time === undefined) {
            deps.logger.warn(
              { issues: row.error?.issues.slice(0, 3) },
              "skipped malformed servicedesk plus request",
            );
            continue;
          }
          const t = row.data.last_updated_time;
          if (t < position.t || (t === position.t && seen.has(row.data.id))) continue;
          changes.push(toChange(row.data, t, since));
          last = t === last.t ? { t, ids: [...last.ids, row.data.id] } : { t, ids: [row.data.id] };
        }
        more = result.hasMore && result.rows.length > 0;
      }
      if (more)
        deps.logger.info(
          { maxPages: config.pull.maxPages },
          "servicedesk plus pull stopped at the page limit",
        );
      return { changes, cursor: JSON.stringify(last) };
    },

    describe: (write) => describeRequestWrite(write, config.baseUrl),

    async healthCheck({ signal }): Promise<HealthResult> {
      const started = performance.now();
      try {
        await list({ row_count: 1, start_index: 1 }, signal);
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },
  };
}
