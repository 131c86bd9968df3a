/**
 * BMC Remedy / Helix ITSM through the AR REST API: JWT login (re-login on 401, logout on close),
 * idempotent incident create through `HPD:IncidentInterface_Create` (the key in a correlation
 * field), status and resolution updates on `HPD:IncidentInterface`, work logs through
 * `HPD:WorkLog` (a marker per idempotency key), and pullChanges over 'Last Modified Date'.
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
  type RemedyConfig,
} from "../config.js";

const ENTRY = "api/arsys/v1/entry";
const INTERFACE = `${ENTRY}/HPD:IncidentInterface`;
const CREATE = `${ENTRY}/HPD:IncidentInterface_Create`;
const WORKLOG = `${ENTRY}/HPD:WorkLog`;
const INCIDENT_NUMBER = /^[A-Z]{2,5}\d{6,15}$/;
const FIELD = /^[A-Za-z][A-Za-z0-9 _-]{0,79}$/;
/** Fields an update may not set: identities, and Status (set it through `status`). */
const PROTECTED = new Set(["Request ID", "Incident Number", "Status", "Submitter", "Submit Date"]);

const Entry = z.object({
  "Request ID": z.string().min(1).max(100),
  "Incident Number": z.string().regex(INCIDENT_NUMBER),
  Description: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  "Detailed Decription": z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  Status: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  Impact: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  Urgency: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  Priority: z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  "Assigned Group": z
    .string()
    .nullish()
    .transform((v) => v ?? ""),
  "Submit Date": z.string().nullish(),
  "Last Modified Date": z.string(),
});
type Entry = z.infer<typeof Entry>;

/** The pull position: the last 'Last Modified Date' read (epoch seconds) and the incidents read at it. */
const Cursor = z.object({
  t: z.number().int().nonnegative(),
  ids: z.array(z.string().regex(INCIDENT_NUMBER)).max(10_000),
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

/** The work log summary (`Description`) that marks a note, so a retried comment is found. */
export function workLogMarker(idempotencyKey: string): string {
  return `Runwarden note rw:${sha256(idempotencyKey).slice(0, 24)}`;
}

/** An AR date (`2025-05-14T09:15:10.000+0000`) in epoch milliseconds. */
export function arDateMs(value: string): number {
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
}

function incidentNumberOf(ref: RemoteTicketRef): string {
  if (!INCIDENT_NUMBER.test(ref.externalId)) {
    throw rwError("RW_ERR_INPUT_INVALID", "a Remedy reference must be an incident number", {
      details: {
        fields: [{ path: "externalId", message: "expected an incident number such as INC000000000103" }],
      },
    });
  }
  return ref.externalId;
}

/** The audit line of a write: the server and the incident, never a credential nor the note's text. */
export function describeIncidentWrite(write: TicketingWrite, serverUrl: string): string {
  const host = new URL(serverUrl).host;
  switch (write.operation) {
    case "create":
      return `remedy ${host}: create an incident for ticket ${write.ticket.id} (HPD:IncidentInterface_Create, correlation from the idempotency key)`;
    case "update": {
      const changes = [
        ...(write.change.status === undefined ? [] : [`Status → ${clip(String(write.change.status), 40)}`]),
        ...Object.keys(write.change.fields ?? {}).map((field) => clip(field, 40)),
      ];
      return `remedy ${host}: update incident ${clip(write.ref.externalId, 64)} (${changes.join(", ") || "no change"})`;
    }
    case "comment":
      return `remedy ${host}: add a work log of ${write.text.length} characters to incident ${clip(write.ref.externalId, 64)}`;
  }
}

export interface RemedyDeps {
  source: string;
  logger: Logger;
  now(): Date;
}

export function createRemedyIncidents(config: RemedyConfig, deps: RemedyDeps): TicketingConnector {
  const base = new URL(config.serverUrl);
  const severities = { ...defaultSeverities, ...config.severities };
  const statuses = { ...defaultStatuses, ...config.statuses };
  const closedStatuses = new Set(config.closedStatuses);
  const corrField = config.correlationField;
  const syncFields = [
    "Request ID",
    "Incident Number",
    "Description",
    "Detailed Decription",
    "Status",
    "Impact",
    "Urgency",
    "Priority",
    "Assigned Group",
    "Submit Date",
    "Last Modified Date",
    corrField,
  ];
  let jwt: { value: string; at: number } | undefined;
  let pendingLogin: Promise<string> | undefined;

  const http = createHttpClient({
    vendor: "Remedy",
    baseUrl: base,
    dispatcher: config.dispatcher,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: 32 * 1024 * 1024,
    now: () => deps.now().getTime(),
    headers: async (signal) => ({ authorization: `AR-JWT ${await token(signal)}` }),
  });

  async function login(signal: AbortSignal): Promise<string> {
    const res = await http.send({
      method: "POST",
      path: "api/jwt/login",
      form: {
        username: config.auth.username,
        password: config.auth.password,
        ...(config.auth.authString ? { authString: config.auth.authString } : {}),
      },
      anonymous: true,
      signal,
    });
    const value = res.text.trim();
    if (!/^[A-Za-z0-9._-]{10,8192}$/.test(value)) {
      throw rwError("RW_ERR_CONNECTOR_AUTH", "Remedy's JWT login answered without a token", {
        details: { vendor: "Remedy", path: "/api/jwt/login" },
      });
    }
    jwt = { value, at: deps.now().getTime() };
    deps.logger.debug({}, "remedy jwt obtained");
    return value;
  }

  function token(signal: AbortSignal): Promise<string> {
    if (jwt && deps.now().getTime() - jwt.at < config.tokenTtlMs) return Promise.resolve(jwt.value);
    pendingLogin ??= login(signal).finally(() => {
      pendingLogin = undefined;
    });
    return pendingLogin;
  }

  /** AR answers many refusals (a missing required field, ARERR 326) with 500 and a message list. */
  function arRefusal(error: unknown, req: HttpRequest): never {
    if (isRunwardenError(error) && error.details?.status === 500) {
      const remote = String(error.details.remote ?? "");
      const number = /"messageNumber"\s*:\s*(\d+)/.exec(remote)?.[1];
      if (/"messageType"\s*:\s*"ERROR"/.test(remote)) {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `Remedy refused ${req.method} ${req.path}${number ? ` (ARERR ${number})` : ""}`,
          {
            details: {
              vendor: "Remedy",
              path: req.path,
              status: 500,
              arError: number ? Number(number) : undefined,
              remote,
            },
            cause: error,
          },
        );
      }
    }
    throw error;
  }

  /** One call; a 401 drops the JWT, logs in again and retries once. */
  async function call(req: HttpRequest) {
    try {
      return await http.send(req);
    } catch (error) {
      if (isRunwardenError(error) && error.details?.status === 401 && jwt) {
        jwt = undefined;
        try {
          return await http.send(req);
        } catch (again) {
          arRefusal(again, req);
        }
      }
      arRefusal(error, req);
    }
  }

  async function entries(req: HttpRequest): Promise<{ rows: unknown[]; next: boolean }> {
    const res = await call(req);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch (error) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "Remedy answered an entry search with invalid JSON", {
        details: { vendor: "Remedy", path: req.path },
        cause: error,
      });
    }
    const parsed = z
      .object({
        entries: z.array(z.object({ values: z.record(z.string(), z.unknown()) })),
        _links: z
          .object({ next: z.array(z.unknown()).optional() })
          .passthrough()
          .optional(),
      })
      .safeParse(body);
    if (!parsed.success) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", "Remedy's entry search has no entries array", {
        details: { vendor: "Remedy", path: req.path },
      });
    }
    return {
      rows: parsed.data.entries.map((e) => e.values),
      next: (parsed.data._links?.next?.length ?? 0) > 0,
    };
  }

  const values = (names: readonly string[]) => `values(${names.join(",")})`;

  async function findOne(form: string, q: string, fields: readonly string[], signal: AbortSignal) {
    const { rows } = await entries({
      method: "GET",
      path: form,
      query: { q, fields: values(fields), limit: "1" },
      signal,
    });
    return rows[0] as Record<string, unknown> | undefined;
  }

  async function incidentByCorrelation(
    correlation: string,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const row = await findOne(INTERFACE, `'${corrField}' = "${correlation}"`, ["Incident Number"], signal);
    const number = row?.["Incident Number"];
    return typeof number === "string" && INCIDENT_NUMBER.test(number) ? number : undefined;
  }

  async function requestIdOf(
    number: string,
    signal: AbortSignal,
  ): Promise<{ requestId: string; status: string }> {
    const row = await findOne(INTERFACE, `'Incident Number' = "${number}"`, ["Request ID", "Status"], signal);
    const requestId = row?.["Request ID"];
    if (typeof requestId !== "string" || requestId === "") {
      throw rwError("RW_ERR_CONNECTOR_NOT_FOUND", `Remedy has no incident ${number}`, {
        details: { vendor: "Remedy", incident: number },
      });
    }
    return { requestId, status: typeof row?.Status === "string" ? row.Status : "" };
  }

  function toChange(
    row: Entry,
    correlation: unknown,
    updatedS: number,
    since: number | undefined,
  ): RemoteChange {
    const closed = closedStatuses.has(row.Status);
    const submitted = row["Submit Date"] ? Math.floor(arDateMs(row["Submit Date"]) / 1000) : undefined;
    const created =
      since === undefined ? submitted === updatedS : submitted !== undefined && submitted >= since;
    const ticket: TicketInput = {
      title: (row.Description || row["Incident Number"]).slice(0, 500),
      description: row["Detailed Decription"].slice(0, 20_000),
      severity: defaultPriorityToSeverity[row.Priority] ?? "medium",
      source: deps.source,
      externalId: row["Incident Number"],
      resolved: closed,
      metaData: {
        requestId: row["Request ID"],
        status: row.Status,
        impact: row.Impact,
        urgency: row.Urgency,
        priority: row.Priority,
        assignedGroup: row["Assigned Group"],
        ...(typeof correlation === "string" && correlation !== "" ? { correlationId: correlation } : {}),
      },
    };
    return {
      externalId: row["Incident Number"],
      kind: closed ? "closed" : created ? "created" : "updated",
      ticket,
      updatedAt: new Date(updatedS * 1000).toISOString(),
    };
  }

  function parseCursor(cursor: string | undefined): Cursor {
    if (cursor === undefined || cursor === "") {
      return { t: Math.floor((deps.now().getTime() - config.pull.lookbackMs) / 1000), ids: [] };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(cursor);
    } catch {
      raw = undefined;
    }
    const parsed = Cursor.safeParse(raw);
    if (!parsed.success) {
      throw rwError("RW_ERR_INPUT_INVALID", "not a Remedy pull cursor", {
        details: {
          fields: [{ path: "cursor", message: "expected the cursor returned by the previous pullChanges" }],
        },
      });
    }
    return parsed.data;
  }

  return {
    async create(ticket: Ticket, { idempotencyKey, signal }) {
      const correlation = correlationId(idempotencyKey);
      const existing = await incidentByCorrelation(correlation, signal);
      if (existing) {
        deps.logger.info({ ticketId: ticket.id, incident: existing }, "remedy incident already exists");
        return { externalId: existing };
      }
      const { impact, urgency } = severities[ticket.severity];
      const { defaults } = config;
      const context = `Runwarden ticket #${ticket.id} (${ticket.source}${ticket.externalId ? ` ${ticket.externalId}` : ""}), severity ${ticket.severity}${ticket.service ? `, service ${ticket.service}` : ""}${ticket.environment ? `, environment ${ticket.environment}` : ""}.`;
      const body: Record<string, string> = {
        ...defaults.fields,
        z1D_Action: "CREATE",
        First_Name: config.customer.firstName,
        Last_Name: config.customer.lastName,
        Description: ticket.title.slice(0, 100),
        Detailed_Decription: [ticket.description.slice(0, 20_000), context].filter(Boolean).join("\n\n"),
        Impact: impact,
        Urgency: urgency,
        Status: statuses.new,
        "Reported Source": defaults.reportedSource,
        Service_Type: defaults.serviceType,
        [corrField]: correlation,
        ...(defaults.company ? { "Assigned Support Company": defaults.company } : {}),
        ...(defaults.supportOrganization
          ? { "Assigned Support Organization": defaults.supportOrganization }
          : {}),
        ...(defaults.assignedGroup ? { "Assigned Group": defaults.assignedGroup } : {}),
        ...(defaults.assignee ? { Assignee: defaults.assignee } : {}),
        ...(defaults.templateId ? { TemplateID: defaults.templateId } : {}),
      };
      const res = await call({
        method: "POST",
        path: CREATE,
        query: { fields: values(["Incident Number"]) },
        json: { values: body },
        signal,
      });
      let number: unknown;
      try {
        number = (JSON.parse(res.text) as { values?: Record<string, unknown> }).values?.["Incident Number"];
      } catch {
        number = undefined;
      }
      // Some releases answer 201 with only a Location header: find what was made.
      if (typeof number !== "string" || !INCIDENT_NUMBER.test(number)) {
        number = await incidentByCorrelation(correlation, signal);
      }
      if (typeof number !== "string") {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          "Remedy created the incident but returned no incident number",
          {
            details: { vendor: "Remedy" },
          },
        );
      }
      deps.logger.info({ ticketId: ticket.id, incident: number }, "remedy incident created");
      return { externalId: number };
    },

    async update(ref, change, { signal }) {
      const number = incidentNumberOf(ref);
      const body: Record<string, string | number> = {};
      const problems: { path: string; message: string }[] = [];
      for (const [field, value] of Object.entries(change.fields ?? {})) {
        if (!FIELD.test(field) || PROTECTED.has(field)) {
          problems.push({ path: `fields.${field}`, message: "not a writable field name" });
        } else if (typeof value !== "string" && typeof value !== "number") {
          problems.push({ path: `fields.${field}`, message: "must be a string or number" });
        } else body[field] = value;
      }
      if (change.status !== undefined) {
        const status = TicketStatus.safeParse(change.status);
        if (!status.success) {
          problems.push({
            path: "status",
            message: `not a ticket status: ${String(change.status).slice(0, 40)}`,
          });
        } else {
          body.Status = statuses[status.data];
          if (closedStatuses.has(body.Status)) {
            body.Status_Reason ??= config.resolution.statusReason;
            body.Resolution ??= config.resolution.text;
          }
        }
      }
      if (problems.length > 0) {
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          `Remedy update refused: ${problems[0]!.path}: ${problems[0]!.message}`,
          {
            details: { fields: problems },
          },
        );
      }
      if (Object.keys(body).length === 0) return;
      const { requestId, status } = await requestIdOf(number, signal);
      if (
        body.Status !== undefined &&
        status === body.Status &&
        Object.keys(body).every((k) => k === "Status" || k === "Status_Reason" || k === "Resolution")
      ) {
        deps.logger.debug({ incident: number }, "remedy incident already in that status");
        return;
      }
      // A PUT of the same values is a no-op: retrying an update is safe.
      await call({
        method: "PUT",
        path: `${INTERFACE}/${encodeURIComponent(requestId)}`,
        json: { values: body },
        signal,
      });
    },

    async comment(ref, text, { idempotencyKey, signal }) {
      const number = incidentNumberOf(ref);
      const marker = workLogMarker(idempotencyKey);
      const found = await findOne(
        WORKLOG,
        `'Incident Number' = "${number}" AND 'Description' = "${marker}"`,
        ["Incident Number"],
        signal,
      );
      if (found) {
        deps.logger.debug({ incident: number }, "remedy work log already added");
        return;
      }
      await call({
        method: "POST",
        path: WORKLOG,
        json: {
          values: {
            "Incident Number": number,
            "Work Log Type": config.workLog.type,
            Description: marker,
            "Detailed Description": text.slice(0, 30_000),
            "View Access": config.workLog.viewAccess,
            "Secure Work Log": "No",
          },
        },
        signal,
      });
    },

    async pullChanges({ cursor, signal }) {
      const position = parseCursor(cursor);
      const since = cursor === undefined || cursor === "" ? undefined : position.t;
      const seen = new Set(position.ids);
      // Date/time fields compare as epoch seconds in a qualification, whatever the server's locale.
      const clauses = [`'Last Modified Date' >= ${position.t}`];
      if (config.pull.assignedGroups.length > 0) {
        clauses.push(`(${config.pull.assignedGroups.map((g) => `'Assigned Group' = "${g}"`).join(" OR ")})`);
      }
      if (config.pull.qualification) clauses.push(`(${config.pull.qualification})`);
      const changes: RemoteChange[] = [];
      let last: Cursor = position;
      let more = true;
      let page = 0;
      for (; more && page < config.pull.maxPages; page++) {
        const result = await entries({
          method: "GET",
          path: INTERFACE,
          query: {
            q: clauses.join(" AND "),
            fields: values(syncFields),
            sort: "Last Modified Date.asc",
            offset: String(page * config.pull.pageSize),
            limit: String(config.pull.pageSize),
          },
          signal,
        });
        for (const item of result.rows) {
          const row = Entry.safeParse(item);
          const updatedMs = row.success ? arDateMs(row.data["Last Modified Date"]) : Number.NaN;
          if (!row.success || Number.isNaN(updatedMs)) {
            deps.logger.warn({ issues: row.error?.issues.slice(0, 3) }, "skipped malformed remedy incident");
            continue;
          }
          const t = Math.floor(updatedMs / 1000);
          const id = row.data["Incident Number"];
          if (t < position.t || (t === position.t && seen.has(id))) continue;
          changes.push(toChange(row.data, (item as Record<string, unknown>)[corrField], t, since));
          last = t === last.t ? { t, ids: [...last.ids, id] } : { t, ids: [id] };
        }
        more = result.rows.length === config.pull.pageSize || result.next;
        if (result.rows.length === 0) more = false;
      }
      if (more) deps.logger.info({ maxPages: config.pull.maxPages }, "remedy pull stopped at the page limit");
      return { changes, cursor: JSON.stringify(last) };
    },

    describe: (write) => describeIncidentWrite(write, config.serverUrl),

    async healthCheck({ signal }): Promise<HealthResult> {
      const started = performance.now();
      try {
        await entries({
          method: "GET",
          path: INTERFACE,
          query: { fields: values(["Incident Number"]), limit: "1" },
          signal,
        });
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return apiHealthFailure(error, Math.round(performance.now() - started));
      }
    },

    async close() {
      // Release the session's token; one past its lifetime is not worth a login to log out.
      const live = jwt !== undefined && deps.now().getTime() - jwt.at < config.tokenTtlMs;
      try {
        if (live)
          await http.send({
            method: "POST",
            path: "api/jwt/logout",
            signal: AbortSignal.timeout(config.timeoutMs),
          });
      } catch (error) {
        deps.logger.warn({ err: error }, "remedy jwt logout failed");
      } finally {
        jwt = undefined;
      }
    },
  };
}
