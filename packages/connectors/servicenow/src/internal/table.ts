/**
 * The ServiceNow Table API on `incident`: idempotent create / update / work note, pullChanges
 * over sys_updated_on, basic or OAuth (client credentials, token cached until expiry).
 *
 * Over 500 lines: one Table API client; create, update, note and pull share its auth, paging,
 * idempotency markers and error mapping.
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
  TicketSeverity,
} from "@runwarden/core";
import { isRunwardenError, rwError, TicketStatus } from "@runwarden/core";
import { z } from "zod";
import { defaultSeverities, defaultStates, type ServiceNowConfig } from "../config.js";

const TABLE = "api/now/table/incident";
const SYS_ID = /^[0-9a-f]{32}$/;
const FIELD = /^[a-z][a-z0-9_]*$/;
const SN_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const SYNC_FIELDS = [
  "sys_id",
  "number",
  "short_description",
  "description",
  "state",
  "impact",
  "urgency",
  "priority",
  "assignment_group",
  "correlation_id",
  "close_code",
  "sys_created_on",
  "sys_updated_on",
].join(",");

const Incident = z.object({
  sys_id: z.string().regex(SYS_ID),
  number: z.string().default(""),
  short_description: z.string().default(""),
  description: z.string().default(""),
  state: z.string().default(""),
  impact: z.string().default(""),
  urgency: z.string().default(""),
  priority: z.string().default(""),
  assignment_group: z.string().default(""),
  correlation_id: z.string().default(""),
  close_code: z.string().default(""),
  sys_created_on: z.string().default(""),
  sys_updated_on: z.string().regex(SN_TIME),
});
type Incident = z.infer<typeof Incident>;

/** The pull position: the last `sys_updated_on` read and the records read at that second. */
const Cursor = z.object({ t: z.string().regex(SN_TIME), ids: z.array(z.string().regex(SYS_ID)).max(10_000) });
type Cursor = z.infer<typeof Cursor>;

const priorityToSeverity: Record<string, TicketSeverity> = {
  "1": "critical",
  "2": "high",
  "3": "medium",
  "4": "low",
  "5": "info",
};

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The incident's `correlation_id` for an idempotency key: the key itself when it is short and
 * plain, else a hash of it. Only `[A-Za-z0-9._:-]` ever reaches an encoded query.
 */
export function correlationId(idempotencyKey: string): string {
  return /^[A-Za-z0-9._:-]{1,100}$/.test(idempotencyKey)
    ? idempotencyKey
    : `rw:${sha256(idempotencyKey).slice(0, 40)}`;
}

/** The marker appended to a work note, so a retried comment is found instead of added twice. */
export function noteMarker(idempotencyKey: string): string {
  return `runwarden-note:${sha256(idempotencyKey).slice(0, 24)}`;
}

/** `2025-05-14 09:15:10` (ServiceNow, UTC for a GMT integration user) → ISO 8601. */
export function isoFromServiceNow(value: string): string {
  return `${value.replace(" ", "T")}Z`;
}

function serviceNowTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function sysIdOf(ref: RemoteTicketRef): string {
  if (!SYS_ID.test(ref.externalId)) {
    throw rwError("RW_ERR_INPUT_INVALID", "a ServiceNow reference must be an incident sys_id", {
      details: { fields: [{ path: "externalId", message: "expected 32 lower-case hex characters" }] },
    });
  }
  return ref.externalId;
}

/** The `next` URL of a `Link` header, if any. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match && /\brel\s*=\s*"?next"?/i.test(match[2]!)) return match[1];
  }
  return undefined;
}

export interface ServiceNowDeps {
  source: string;
  logger: Logger;
  now(): Date;
}

/**
 * The audit line of a write: the instance's host and the incident, never a credential and never
 * the note's text (which is the ticket's business, not the audit line's).
 */
export function describeIncidentWrite(write: TicketingWrite, instanceUrl: string): string {
  const host = new URL(instanceUrl).host;
  switch (write.operation) {
    case "create":
      return `servicenow ${host}: create an incident for ticket ${write.ticket.id} (correlation_id from the idempotency key)`;
    case "update": {
      const changes = [
        ...(write.change.status === undefined ? [] : [`state → ${write.change.status}`]),
        ...Object.keys(write.change.fields ?? {}).map((name) => clip(name, 40)),
      ];
      return `servicenow ${host}: update incident ${clip(write.ref.externalId, 64)} (${changes.join(", ") || "no change"})`;
    }
    case "comment":
      return `servicenow ${host}: add a work note of ${write.text.length} characters to incident ${clip(write.ref.externalId, 64)}`;
  }
}

export function createServiceNowTable(config: ServiceNowConfig, deps: ServiceNowDeps): TicketingConnector {
  const base = new URL(config.instanceUrl);
  const severities = { ...defaultSeverities, ...config.severities };
  const states = { ...defaultStates, ...config.states };
  const { auth } = config;
  let token: { value: string; expiresAt: number } | undefined;
  let pendingToken: Promise<string> | undefined;

  const http = createHttpClient({
    vendor: "ServiceNow",
    baseUrl: base,
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 100 * 1024 * 1024,
    now: () => deps.now().getTime(),
    // X-RateLimit-Reset is a unix time in seconds (inbound REST API rate limiting).
    rateLimitDelayMs: (headers, now) => {
      const reset = Number(headers["x-ratelimit-reset"]);
      return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
    },
    headers: async (signal): Promise<Record<string, string>> => {
      if (auth.type === "basic") {
        return {
          authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
        };
      }
      return { authorization: `Bearer ${await accessToken(signal)}` };
    },
  });

  async function fetchToken(signal: AbortSignal): Promise<string> {
    if (auth.type !== "oauth") throw new Error("unreachable: basic auth has no token");
    const body = await http.json({
      method: "POST",
      path: auth.tokenPath,
      form: { grant_type: "client_credentials", client_id: auth.clientId, client_secret: auth.clientSecret },
      anonymous: true,
      signal,
    });
    const parsed = z
      .object({ access_token: z.string().min(1), expires_in: z.coerce.number().positive().default(1_800) })
      .safeParse(body);
    if (!parsed.success) {
      throw rwError("RW_ERR_CONNECTOR_AUTH", "ServiceNow's token endpoint answered without an access token", {
        details: { vendor: "ServiceNow", path: auth.tokenPath },
      });
    }
    // Renew a minute early (or halfway, for very short tokens) so no call carries a dying token.
    const lifetimeMs = parsed.data.expires_in * 1000;
    token = {
      value: parsed.data.access_token,
      expiresAt: deps.now().getTime() + lifetimeMs - Math.min(60_000, lifetimeMs / 2),
    };
    deps.logger.debug({ expiresInS: parsed.data.expires_in }, "servicenow oauth token obtained");
    return token.value;
  }

  function accessToken(signal: AbortSignal): Promise<string> {
    if (token && deps.now().getTime() < token.expiresAt) return Promise.resolve(token.value);
    pendingToken ??= fetchToken(signal).finally(() => {
      pendingToken = undefined;
    });
    return pendingToken;
  }

  /** One call; with OAuth, a 401 drops the cached token and retries once with a fresh one. */
  async function call(req: HttpRequest) {
    try {
      return await http.send(req);
    } catch (error) {
      if (auth.type === "oauth" && isRunwardenError(error) && error.details?.status === 401 && token) {
        token = undefined;
        return http.send(req);
      }
      throw error;
    }
  }

  async function result(req: HttpRequest): Promise<unknown> {
    const res = await call(req);
    try {
      return (JSON.parse(res.text) as { result?: unknown }).result;
    } catch (error) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `ServiceNow answered ${req.method} ${req.path} with invalid JSON`,
        {
          details: { vendor: "ServiceNow", path: req.path },
          cause: error,
        },
      );
    }
  }

  /** The incident's link in the instance's UI. */
  function incidentUrl(sysId: string): string {
    const url = new URL("nav_to.do", base.href.endsWith("/") ? base : `${base.href}/`);
    url.searchParams.set("uri", `incident.do?sys_id=${sysId}`);
    return url.href;
  }

  function refOf(sysId: string, number?: string): RemoteTicketRef {
    deps.logger.debug({ sysId, number }, "servicenow incident reference");
    return { externalId: sysId, url: incidentUrl(sysId) };
  }

  async function findByCorrelation(cid: string, signal: AbortSignal): Promise<RemoteTicketRef | undefined> {
    const found = await result({
      method: "GET",
      path: TABLE,
      query: { sysparm_query: `correlation_id=${cid}`, sysparm_fields: "sys_id,number", sysparm_limit: "1" },
      signal,
    });
    const first = z
      .array(z.object({ sys_id: z.string().regex(SYS_ID), number: z.string().default("") }))
      .safeParse(found);
    const row = first.success ? first.data[0] : undefined;
    return row ? refOf(row.sys_id, row.number) : undefined;
  }

  function toChange(row: Incident, since: string | undefined): RemoteChange {
    const closed = config.closedStates.includes(row.state);
    const created =
      since === undefined ? row.sys_created_on === row.sys_updated_on : row.sys_created_on >= since;
    const ticket: TicketInput = {
      title: (row.short_description || row.number || row.sys_id).slice(0, 500),
      description: row.description.slice(0, 20_000),
      severity: priorityToSeverity[row.priority] ?? "medium",
      source: deps.source,
      externalId: row.sys_id,
      resolved: closed,
      metaData: {
        number: row.number,
        state: row.state,
        priority: row.priority,
        impact: row.impact,
        urgency: row.urgency,
        assignmentGroup: row.assignment_group,
        correlationId: row.correlation_id,
        closeCode: row.close_code,
        url: incidentUrl(row.sys_id),
      },
    };
    return {
      externalId: row.sys_id,
      kind: closed ? "closed" : created ? "created" : "updated",
      ticket,
      updatedAt: isoFromServiceNow(row.sys_updated_on),
    };
  }

  function parseCursor(cursor: string | undefined): Cursor {
    if (cursor === undefined || cursor === "") {
      return { t: serviceNowTime(deps.now().getTime() - config.pull.lookbackMs), ids: [] };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(cursor);
    } catch {
      raw = undefined;
    }
    const parsed = Cursor.safeParse(raw);
    if (!parsed.success) {
      throw rwError("RW_ERR_INPUT_INVALID", "not a ServiceNow pull cursor", {
        details: {
          fields: [{ path: "cursor", message: "expected the cursor returned by the previous pullChanges" }],
        },
      });
    }
    return parsed.data;
  }

  return {
    async create(ticket: Ticket, { idempotencyKey, signal }) {
      const cid = correlationId(idempotencyKey);
      const existing = await findByCorrelation(cid, signal);
      if (existing) {
        deps.logger.info(
          { ticketId: ticket.id, sysId: existing.externalId },
          "servicenow incident already exists",
        );
        return existing;
      }
      const { impact, urgency } = severities[ticket.severity];
      const { defaults } = config;
      const body: Record<string, string> = {
        ...defaults.fields,
        short_description: ticket.title.slice(0, 160),
        description: [
          ticket.description,
          `Runwarden ticket #${ticket.id} (${ticket.source}${ticket.externalId ? ` ${ticket.externalId}` : ""}), severity ${ticket.severity}${ticket.service ? `, service ${ticket.service}` : ""}${ticket.environment ? `, environment ${ticket.environment}` : ""}.`,
        ]
          .filter(Boolean)
          .join("\n\n"),
        impact,
        urgency,
        correlation_id: cid,
        correlation_display: defaults.correlationDisplay,
        ...(defaults.assignmentGroup ? { assignment_group: defaults.assignmentGroup } : {}),
        ...(defaults.callerId ? { caller_id: defaults.callerId } : {}),
        ...(defaults.category ? { category: defaults.category } : {}),
      };
      const created = await result({
        method: "POST",
        path: TABLE,
        query: {
          sysparm_fields: "sys_id,number,state,priority,sys_updated_on",
          sysparm_exclude_reference_link: "true",
        },
        json: body,
        signal,
      });
      const row = z
        .object({ sys_id: z.string().regex(SYS_ID), number: z.string().default("") })
        .safeParse(created);
      if (!row.success) {
        throw rwError("RW_ERR_CONNECTOR_REJECTED", "ServiceNow created the incident but returned no sys_id", {
          details: { vendor: "ServiceNow" },
        });
      }
      deps.logger.info(
        { ticketId: ticket.id, sysId: row.data.sys_id, number: row.data.number },
        "servicenow incident created",
      );
      return refOf(row.data.sys_id, row.data.number);
    },

    async update(ref, change, { signal }) {
      const sysId = sysIdOf(ref);
      const body: Record<string, string | number | boolean> = {};
      const fields: { path: string; message: string }[] = [];
      for (const [name, value] of Object.entries(change.fields ?? {})) {
        if (!FIELD.test(name) || name.startsWith("sys_"))
          fields.push({ path: `fields.${name}`, message: "not a writable field name" });
        else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
          fields.push({ path: `fields.${name}`, message: "must be a string, number or boolean" });
        } else body[name] = value;
      }
      if (change.status !== undefined) {
        const status = TicketStatus.safeParse(change.status);
        if (!status.success)
          fields.push({
            path: "status",
            message: `not a ticket status: ${String(change.status).slice(0, 40)}`,
          });
        else {
          const state = states[status.data];
          body.state = state;
          if (config.closedStates.includes(state)) {
            body.close_code ??= config.closeCode;
            body.close_notes ??= config.closeNotes;
          }
        }
      }
      if (fields.length > 0) {
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          `ServiceNow update refused: ${fields[0]!.path}: ${fields[0]!.message}`,
          {
            details: { fields },
          },
        );
      }
      if (Object.keys(body).length === 0) return;
      // A PATCH of the same values is a no-op: retrying an update is safe.
      await call({
        method: "PATCH",
        path: `${TABLE}/${sysId}`,
        query: { sysparm_fields: "sys_id,state" },
        json: body,
        signal,
      });
    },

    async comment(ref, text, { idempotencyKey, signal }) {
      const sysId = sysIdOf(ref);
      const marker = noteMarker(idempotencyKey);
      const found = await result({
        method: "GET",
        path: "api/now/table/sys_journal_field",
        query: {
          sysparm_query: `element_id=${sysId}^name=incident^element=work_notes^valueLIKE${marker}`,
          sysparm_fields: "sys_id",
          sysparm_limit: "1",
        },
        signal,
      });
      if (Array.isArray(found) && found.length > 0) {
        deps.logger.debug({ sysId }, "servicenow work note already added");
        return;
      }
      await call({
        method: "PATCH",
        path: `${TABLE}/${sysId}`,
        query: { sysparm_fields: "sys_id" },
        json: { work_notes: `${text.slice(0, 30_000)}\n\n[${marker}]` },
        signal,
      });
    },

    async pullChanges({ cursor, signal }) {
      const position = parseCursor(cursor);
      const since = cursor === undefined || cursor === "" ? undefined : position.t;
      const clauses = [`sys_updated_on>=${position.t}`];
      if (config.pull.assignmentGroups.length > 0)
        clauses.push(`assignment_groupIN${config.pull.assignmentGroups.join(",")}`);
      if (config.pull.query) clauses.push(config.pull.query);
      const seen = new Set(position.ids);
      const changes: RemoteChange[] = [];
      let last: Cursor = position;

      let next: HttpRequest | undefined = {
        method: "GET",
        path: TABLE,
        query: {
          // `>=` plus the ids already read at that second: nothing updated within the same second
          // as the last record is missed, and nothing is returned twice.
          sysparm_query: `${clauses.join("^")}^ORDERBYsys_updated_on`,
          sysparm_fields: SYNC_FIELDS,
          sysparm_display_value: "false",
          sysparm_exclude_reference_link: "true",
          sysparm_limit: String(config.pull.pageSize),
          sysparm_offset: "0",
        },
        signal,
      };
      for (let page = 0; next && page < config.pull.maxPages; page++) {
        const res = await call(next);
        let rows: unknown;
        try {
          rows = (JSON.parse(res.text) as { result?: unknown }).result;
        } catch {
          rows = undefined;
        }
        if (!Array.isArray(rows)) {
          throw rwError("RW_ERR_CONNECTOR_REJECTED", "ServiceNow's incident list is not an array", {
            details: { vendor: "ServiceNow" },
          });
        }
        for (const item of rows) {
          const row = Incident.safeParse(item);
          if (!row.success) {
            deps.logger.warn(
              { issues: row.error.issues.slice(0, 3) },
              "skipped malformed servicenow incident",
            );
            continue;
          }
          const { sys_id: id, sys_updated_on: t } = row.data;
          if (t === position.t && seen.has(id)) continue;
          changes.push(toChange(row.data, since));
          last = t === last.t ? { t, ids: [...last.ids, id] } : { t, ids: [id] };
        }
        const link = nextLink(res.headers.link);
        next = link && rows.length > 0 ? { method: "GET", path: link, signal } : undefined;
      }
      if (next)
        deps.logger.info({ maxPages: config.pull.maxPages }, "servicenow pull stopped at the page limit");
      return { changes, cursor: JSON.stringify(last) };
    },

    describe: (write) => describeIncidentWrite(write, config.instanceUrl),

    async healthCheck({ signal }): Promise<HealthResult> {
      const started = performance.now();
      try {
        await call({
          method: "GET",
          path: TABLE,
          query: { sysparm_limit: "1", sysparm_fields: "sys_id" },
          signal,
        });
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },
  };
}
