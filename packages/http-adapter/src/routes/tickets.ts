/**
 * Tickets: CSV upload, backtest and template, webhooks, the demo ticket, list, detail, PATCH and
 * the remote ticket. Over 500 lines: intake (CSV, webhooks) and reads should become two files;
 * they are registered in one order on purpose (static paths before `/tickets/{id}`), which a split
 * must keep. Named as the next clean-up in the stop note.
 */
import { timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import { z } from "@hono/zod-openapi";
import {
  AnalysisTraceEntry,
  type CsvImportResult,
  genericWebhookSource,
  refKey,
  refUrlKey,
  rwError,
  type Ticket,
  TicketInput,
  Ticket as TicketSchema,
  TicketStatus,
  type WebhookResult,
} from "@runwarden/core";
import { mediaType, parseJson, tooLarge } from "../internal/body.js";
import { IdParams, named, PageQuery, plainRequest, unauthenticated } from "../internal/endpoint.js";
import type { PlainAnswer, PlainRequest } from "../internal/fast.js";
import { streamMultipartFile } from "../internal/multipart.js";
import { answer, type RouteContext, send } from "./context.js";

const TicketDoc = named("Ticket", TicketSchema);
const TicketPage = z.object({ items: z.array(TicketDoc), nextCursor: z.number().int().nullable() });
const RemoteWriteDoc = z.object({
  id: z.number().int(),
  /** `comment` (a note written back) or `status` (a status change written back). */
  kind: z.string(),
  /** `pending`, `delivered` or `dead`. */
  delivery: z.string(),
  attempts: z.number().int(),
  createdAt: z.string(),
  lastError: z.string().nullable(),
  /** The note's text (`comment`). */
  text: z.string().nullable(),
  /** The Runwarden status written (`status`). */
  status: TicketStatus.nullable(),
});
const RemoteTicketDoc = named(
  "RemoteTicket",
  z.object({
    /** The ticketing connector synced with. */
    target: z.string(),
    /** The remote ticket's id: the ticket came from it, or the sync created it. Null until created. */
    externalId: z.string().nullable(),
    /** A link to the remote ticket, when the connector gave one. */
    url: z.string().nullable(),
    /** The last status written to it (delivered), in Runwarden's terms; the connector maps it. */
    state: TicketStatus.nullable(),
    /** The notes and status changes written back, oldest first. */
    writes: z.array(RemoteWriteDoc),
  }),
);
const RemoteTicketPage = z.object({ items: z.array(RemoteTicketDoc) });
const AnalysisTraceDoc = named(
  "AnalysisTrace",
  z.object({
    ticketId: z.number().int(),
    /**
     * `recomputed` (the analyzer ran again over the stored ticket, at the time it was analyzed),
     * `stored` (the ticket was stored with its trace by an earlier version) or `none` (no analysis).
     */
    origin: z.enum(["recomputed", "stored", "none"]),
    /**
     * True when the recomputation found the stored category, entities, candidates and decision:
     * the trace is the one the ticket was analyzed with. False when runbooks, the policy or the
     * analyzer's stages changed since: the trace is how the ticket would be analyzed now.
     */
    matchesStored: z.boolean(),
    /** When the ticket was analyzed (null: never). */
    analyzedAt: z.string().nullable(),
    /** One entry per analyzer stage, in order: its name and what it did. */
    trace: z.array(AnalysisTraceEntry),
  }),
);
const DemoTicketBody = named("TicketInput", TicketInput);
const IngestResultDoc = named("IngestResult", z.object({ ticket: TicketDoc, deduplicated: z.boolean() }));

const RowResult = z.object({
  /** 1-based data row (row 1 is the first line after the header). */
  row: z.number().int(),
  /** 1-based line of the file where the row starts (the header is line 1). */
  line: z.number().int().nullable(),
  /**
   * `imported` (a new ticket), `folded` (a repeat folded into an existing ticket), `reopened`
   * (folded into a resolved ticket, which became `needs_human` as a flap) or `rejected`.
   */
  status: z.enum(["imported", "folded", "reopened", "rejected"]),
  ticketId: z.number().int().nullable(),
  title: z.string().nullable(),
  decision: z.enum(["auto_execute", "suggest", "none"]).nullable(),
  /** The runbook the decision chose (auto_execute or suggest), or null. */
  runbook: z.object({ id: z.number().int(), key: z.string(), title: z.string() }).nullable(),
  /** Why: the analysis' decision reason, the fold or reopening, or the rejection. */
  reason: z.string().nullable(),
});
const CsvImportDoc = named(
  "CsvImportResult",
  z.object({
    rows: z.number().int(),
    imported: z.number().int(),
    deduplicated: z.number().int(),
    rejected: z.number().int(),
    errors: z.array(z.object({ row: z.number().int(), line: z.number().int(), reason: z.string() })),
    errorsTruncated: z.boolean(),
    /** One entry per data row, for files of at most 1,000 rows. */
    results: z.array(RowResult).nullable(),
  }),
);

const BacktestStepDoc = z.object({
  phase: z.string(),
  name: z.string(),
  /** The command as the runbook writes it. */
  command: z.string(),
  /** The command as it would have run for the row; null when it cannot be rendered (see error). */
  rendered: z.string().nullable(),
  language: z.string(),
  /** The step would have waited for approval, by this many approvers. */
  requiresApproval: z.boolean(),
  approvalsRequired: z.number().int(),
  severity: z.string(),
  connection: z.string().nullable(),
  error: z.string().nullable(),
});
const CsvBacktestDoc = named(
  "CsvBacktestResult",
  z.object({
    /** Data rows in the file. */
    rows: z.number().int(),
    /** True when the file had more rows than were analyzed (see max_rows). */
    truncated: z.boolean(),
    results: z.array(
      z.object({
        row: z.number().int(),
        line: z.number().int(),
        /** `planned` (a runbook chosen: its plan), `unmatched` (none) or `rejected` (a bad row). */
        status: z.enum(["planned", "unmatched", "rejected"]),
        title: z.string().nullable(),
        decision: z.enum(["auto_execute", "suggest", "none"]).nullable(),
        reason: z.string(),
        runbook: z
          .object({
            id: z.number().int(),
            key: z.string(),
            title: z.string(),
            revision: z.number().int(),
            status: z.string(),
          })
          .nullable(),
        steps: z.array(BacktestStepDoc),
      }),
    ),
  }),
);
const BacktestQuery = z.object({
  max_rows: z.coerce.number().int().min(1).max(1_000).optional().openapi({
    description: "Rows analyzed and planned (later rows are counted only). Default 200, at most 1,000.",
  }),
});

const WebhookResultDoc = named(
  "WebhookResult",
  z.object({
    tickets: z.array(
      z.object({
        id: z.number().int(),
        deduplicated: z.boolean(),
        occurrences: z.number().int(),
        status: TicketStatus,
      }),
    ),
    /** Ids of open tickets the payload resolved. */
    resolved: z.array(z.number().int()),
    warnings: z.array(z.string()),
    /**
     * Present when the delivery went through the intake queue and was answered once durable
     * (`acknowledge: durable`): its entry, and the queue's depth after it. Its tickets are stored
     * right after, so `tickets` and `resolved` are empty.
     */
    queued: z
      .object({
        entryId: z.number().int(),
        entries: z.number().int(),
        sourceEntries: z.number().int(),
      })
      .optional(),
  }),
);

const booleanFlag = z
  .enum(["true", "false", "1", "0"])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === "true" || v === "1"));

const UploadQuery = z.object({
  auto_execute: booleanFlag.openapi({
    description: "Start matching runbooks that analysis decides to auto-execute. Default false.",
  }),
});
const DemoQuery = z.object({
  auto_execute: booleanFlag.openapi({ description: "Default true" }),
});
const ListQuery = z.object({
  status: z.string().max(200).optional().openapi({ description: "One status or a comma-separated list" }),
  source: z.string().max(64).optional(),
  ...PageQuery,
});
const SourceParams = z.object({
  source: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, "must be a connector name such as prometheus or generic")
    .openapi({ param: { name: "source", in: "path" }, example: "generic" }),
});

/** Rows listed one by one in the upload's answer. */
const maxRowResults = 1_000;

const demoTitles = [
  [
    "Database connection timeout",
    "Unable to connect to PostgreSQL on db-prod-01.internal (10.0.1.21:5432)",
    "high",
    "prod",
    "database",
  ],
  [
    "Disk usage above 90% on /var",
    "Filesystem /var on web-prod-03.internal is 93% full",
    "high",
    "prod",
    "nginx",
  ],
  [
    "High CPU usage on api-prod-02",
    "CPU at 97% for 15 minutes on api-prod-02.internal",
    "high",
    "prod",
    "api",
  ],
] as const;

function equalSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Per-row results from the import's outcomes and errors (row order), with the decision of each row's ticket. */
async function rowResults(route: RouteContext, result: CsvImportResult) {
  if (result.rows > maxRowResults || result.errorsTruncated || !result.outcomes) return null;
  const tickets = new Map<number, Ticket>();
  const ids = [...new Set(result.outcomes.map((o) => o.ticketId))];
  for (const t of await route.engine.tickets.getMany(ids)) tickets.set(t.id, t);
  const rows: z.infer<typeof RowResult>[] = [];
  for (const error of result.errors) {
    rows.push({
      row: error.row,
      line: error.line,
      status: "rejected",
      ticketId: null,
      title: null,
      decision: null,
      runbook: null,
      reason: error.reason,
    });
  }
  for (const outcome of result.outcomes) {
    const ticket = tickets.get(outcome.ticketId);
    const decision = ticket?.analysis?.decision;
    const chosen =
      decision?.runbookId === undefined
        ? undefined
        : ticket?.analysis?.candidates.find((c) => c.runbookId === decision.runbookId);
    let reason = decision?.reason ?? null;
    if (outcome.outcome === "folded")
      reason = `folded into ticket #${outcome.ticketId} (${ticket?.occurrences ?? "?"} occurrences, ${ticket?.status ?? "?"}): nothing new was analyzed or run`;
    else if (outcome.outcome === "reopened")
      reason = `folded into ticket #${outcome.ticketId}, which was resolved: reopened as needs_human (${ticket?.statusReason ?? "it fired again within the dedupe window"})`;
    rows.push({
      row: outcome.row,
      line: outcome.line,
      status: outcome.outcome,
      ticketId: outcome.ticketId,
      title: ticket?.title ?? null,
      decision: decision?.action ?? null,
      runbook:
        decision?.runbookId === undefined
          ? null
          : {
              id: decision.runbookId,
              key: chosen?.runbookKey ?? String(decision.runbookId),
              title: chosen?.title ?? chosen?.runbookKey ?? `runbook ${decision.runbookId}`,
            },
      reason,
    });
  }
  return rows.sort((x, y) => x.row - y.row);
}

/** The uploaded CSV as a stream: a multipart file (with the form's other fields) or a text/csv body. */
async function csvSource(
  route: RouteContext,
  request: Request,
  contentType: string | undefined,
  contentLength: string | undefined,
): Promise<{ source: Readable; fields: Record<string, string> }> {
  const type = mediaType(contentType);
  const limit = route.limits.csvBytes;
  if (type === "multipart/form-data") {
    const upload = await streamMultipartFile(request, { limitBytes: limit });
    return { source: upload.file, fields: upload.fields };
  }
  if (type === "text/csv" || type === "text/plain" || type === "application/csv") {
    const declared = Number(contentLength ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
    return { source: limitStream(request.body, limit), fields: {} };
  }
  throw rwError(
    "RW_ERR_INPUT_MEDIA_TYPE",
    "send the CSV as multipart/form-data or with Content-Type text/csv",
  );
}

export function ticketRoutes(route: RouteContext): void {
  const { engine } = route;
  const viewer = { roles: ["viewer", "operator", "approver"] } as const;
  const operator = { roles: ["operator"] } as const;

  route.add({
    method: "post",
    path: "/tickets/upload-csv",
    tag: "tickets",
    summary: "Import tickets from a CSV file",
    description:
      "A `multipart/form-data` upload (the file in any file field) or a `text/csv` body, streamed into the store. Every good row imports; each refused row is reported with its row and line. The columns are those of GET /tickets/csv-template.",
    access: operator,
    query: UploadQuery,
    requestBody: {
      description: "The CSV file",
      content: {
        "text/csv": { schema: z.string() },
        "multipart/form-data": { schema: z.object({ file: z.string().openapi({ format: "binary" }) }) },
      },
    },
    responses: {
      200: { description: "The import's counts and per-row results", schema: CsvImportDoc },
      413: { description: "The file exceeds the size limit" },
    },
    async handler(c, { query, actor }) {
      const { source, fields } = await csvSource(
        route,
        c.req.raw,
        c.req.header("content-type"),
        c.req.header("content-length"),
      );
      let autoExecute = query.auto_execute ?? false;
      if (fields["auto_execute"] !== undefined && query.auto_execute === undefined) {
        autoExecute = fields["auto_execute"] === "true" || fields["auto_execute"] === "1";
      }
      const result = await engine.tickets.importCsv(source, {
        autoExecute,
        source: "csv",
        progressEvery: 10,
        submittedBy: actor.id,
      });
      return send(route, c, 200, CsvImportDoc, { ...result, results: await rowResults(route, result) });
    },
  });

  route.add({
    method: "post",
    path: "/tickets/backtest-csv",
    tag: "tickets",
    summary: "Backtest a CSV file (dry run)",
    description:
      "The same upload as POST /tickets/upload-csv, but nothing is stored, run or announced: each row is analyzed and, when a runbook is chosen, its plan is rendered for the row as a session would (steps, rendered commands, connections, which steps would wait for approval). The first `max_rows` rows are analyzed; the rest are counted.",
    access: operator,
    query: BacktestQuery,
    requestBody: {
      description: "The CSV file",
      content: {
        "text/csv": { schema: z.string() },
        "multipart/form-data": { schema: z.object({ file: z.string().openapi({ format: "binary" }) }) },
      },
    },
    responses: {
      200: {
        description: "Per row: the decision, the runbook and its rendered plan",
        schema: CsvBacktestDoc,
      },
      413: { description: "The file exceeds the size limit" },
    },
    async handler(c, { query }) {
      const { source } = await csvSource(
        route,
        c.req.raw,
        c.req.header("content-type"),
        c.req.header("content-length"),
      );
      const result = await engine.tickets.backtestCsv(source, {
        source: "csv",
        ...(query.max_rows !== undefined ? { maxRows: query.max_rows } : {}),
      });
      return send(route, c, 200, CsvBacktestDoc, {
        rows: result.rows,
        truncated: result.truncated,
        results: result.rowResults,
      });
    },
  });

  route.add({
    method: "get",
    path: "/tickets/csv-template",
    tag: "tickets",
    summary: "Download the CSV template",
    access: viewer,
    responses: { 200: { description: "The template", wire: z.string(), contentType: "text/csv" } },
    handler(c) {
      return c.body(engine.tickets.csvTemplate(), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": 'attachment; filename="tickets_template.csv"',
      });
    },
  });

  route.add({
    method: "post",
    path: "/tickets/webhook/{source}",
    tag: "tickets",
    summary: "Receive a monitoring tool's webhook",
    description:
      "The body goes to the source's monitoring connector, which verifies it (shared secret, HMAC signature or basic auth, as the tool supports) and maps it to tickets. The built-in `generic` source takes the documented ticket JSON (an object or an array) and is verified by the configured shared-secret header or a token with the operator role. A webhook source created with `POST /webhook-sources` maps any JSON with its JSONata mapping and is verified by its own token (`Authorization: Bearer` or `X-Runwarden-Webhook-Token`). Answers 202 once the tickets are stored; with the intake queue enabled (`RUNWARDEN_INTAKE_QUEUE`), once the delivery is durable (`acknowledge: durable`, the body then names the queued entry) or its tickets are stored (`processed`), and 429 (`RW_ERR_INTAKE_SOURCE_FULL`: the source holds its share) or 503 (`RW_ERR_INTAKE_FULL`) with `Retry-After` when the queue is full.",
    access: "custom",
    params: SourceParams,
    requestBody: {
      description: "The tool's payload",
      content: { "application/json": { schema: z.unknown() } },
    },
    responses: {
      202: { description: "Stored", schema: WebhookResultDoc },
      401: { description: "Verification failed" },
      404: { description: "No monitoring connector of that name (`details.known` lists the sources)" },
      429: {
        description: "The source holds its share of the intake queue: retry after `Retry-After` seconds",
      },
      503: {
        description:
          "The source's connector is registered but not configured (the message says how), or the intake queue is full (`RW_ERR_INTAKE_FULL`, with `Retry-After`)",
      },
    },
    handler: async (c, { params }) =>
      answer(route, c, await receiveWebhook(route, plainRequest(c, route.authenticate), params.source)),
    // Served straight from node:http by toNodeHandler: the framework layer costs more than it gives here.
    fast: (req, { params }) => receiveWebhook(route, req, params.source),
  });

  route.add({
    method: "post",
    path: "/tickets/demo/ticket",
    tag: "tickets",
    summary: "Create a ticket (a demo one when the body is empty)",
    description:
      "Takes the ticket JSON (snake_case: title, description, severity, environment, service, source, external_id, meta_data). With no body, a sample incident is created. The ticket is analyzed and, unless `auto_execute=false`, its matching runbook starts when analysis says so.",
    access: operator,
    query: DemoQuery,
    body: { schema: DemoTicketBody, required: false },
    responses: {
      201: { description: "The ticket (or the open one it was folded into)", schema: IngestResultDoc },
    },
    async handler(c, { body, query, actor }) {
      const input = body ?? demoInput();
      const result = await engine.tickets.ingest(input, {
        autoExecute: query.auto_execute ?? true,
        submittedBy: actor.id,
      });
      return send(route, c, 201, IngestResultDoc, result);
    },
  });

  route.add({
    method: "get",
    path: "/tickets",
    tag: "tickets",
    summary: "List tickets, newest first",
    access: viewer,
    query: ListQuery,
    responses: { 200: { description: "A page of tickets", schema: TicketPage } },
    async handler(c, { query }) {
      let status: z.infer<typeof TicketStatus>[] | undefined;
      if (query.status) {
        const parsed = z.array(TicketStatus).safeParse(query.status.split(",").map((s) => s.trim()));
        if (!parsed.success) {
          throw rwError("RW_ERR_INPUT_INVALID", "unknown ticket status", {
            details: {
              fields: [{ field: "status", message: `must be one of ${TicketStatus.options.join(", ")}` }],
            },
          });
        }
        status = parsed.data;
      }
      const page = await engine.tickets.list({
        ...(status ? { status } : {}),
        ...(query.source ? { source: query.source } : {}),
        limit: query.limit,
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      return send(route, c, 200, TicketPage, page);
    },
  });

  route.add({
    method: "get",
    path: "/tickets/{id}",
    tag: "tickets",
    summary: "Get a ticket with its analysis",
    description:
      "The analysis holds what is shown: category, entities, the ranked runbooks with the reasons for their scores, and the decision. Its stage-by-stage trace is at GET /tickets/{id}/trace (a ticket stored by an earlier version still carries its own `trace`).",
    access: viewer,
    params: IdParams,
    responses: { 200: { description: "The ticket", schema: TicketDoc } },
    async handler(c, { params }) {
      return send(route, c, 200, TicketDoc, await engine.tickets.get(params.id));
    },
  });

  route.add({
    method: "get",
    path: "/tickets/{id}/trace",
    tag: "tickets",
    summary: "The ticket's analysis trace, stage by stage",
    description:
      "A ticket stores what analysis showed (candidates with their reasons, the decision), not the trace: it is recomputed here, deterministically, by running the analyzer again over the stored ticket at the time it was analyzed. With the same runbooks, policy and stages it is the trace intake computed, and `matches_stored` is true; when they changed since, `matches_stored` is false and the trace says how the ticket would be analyzed now.",
    access: viewer,
    params: IdParams,
    responses: { 200: { description: "The trace", schema: AnalysisTraceDoc } },
    async handler(c, { params }) {
      return send(route, c, 200, AnalysisTraceDoc, await engine.tickets.analysisTrace(params.id));
    },
  });

  route.add({
    method: "get",
    path: "/tickets/{id}/remote",
    tag: "tickets",
    summary: "The ticket's remote ticket in the synced ticketing tool: link, notes and status written back",
    access: viewer,
    params: IdParams,
    responses: {
      200: {
        description: "The remote ticket (none when no ticketing tool is synced)",
        schema: RemoteTicketPage,
      },
    },
    async handler(c, { params }) {
      const ticket = await engine.tickets.get(params.id);
      const target = engine.sync?.target;
      if (target === undefined) return send(route, c, 200, RemoteTicketPage, { items: [] });
      const fromTarget = ticket.source === target && ticket.externalId !== null;
      const externalId = fromTarget
        ? ticket.externalId
        : ((await engine.storage.getValue(refKey(target, ticket.id))) ?? null);
      const items = await engine.storage.outbox.find({
        where: { ticketId: ticket.id, target },
        order: "asc",
        limit: 500,
      });
      const writes = items.map((item) => ({
        id: item.id,
        kind: item.kind,
        delivery: item.status,
        attempts: item.attempts,
        createdAt: item.createdAt,
        lastError: item.lastError,
        text: typeof item.payload.text === "string" ? item.payload.text : null,
        status: TicketStatus.safeParse(item.payload.status).data ?? null,
      }));
      const lastStatus = writes.filter((w) => w.status !== null && w.delivery === "delivered").at(-1);
      // The connector's link, when it is a web address (metaData comes from outside: never a javascript: URL).
      const url = webLink(
        fromTarget ? ticket.metaData.url : await engine.storage.getValue(refUrlKey(target, ticket.id)),
      );
      if (externalId === null && writes.length === 0)
        return send(route, c, 200, RemoteTicketPage, { items: [] });
      return send(route, c, 200, RemoteTicketPage, {
        items: [{ target, externalId, url, state: lastStatus?.status ?? null, writes }],
      });
    },
  });

  route.add({
    method: "patch",
    path: "/tickets/{id}",
    tag: "tickets",
    summary: "Set where a ticket's steps may run (meta_data.connection_config)",
    description:
      "The connector guide's \"Option 2: via ticket metadata\" body works verbatim (`ticket_id`, when sent, must be the path's id). Only `meta_data.connection_config` can change (`null` removes it); its keys are stored as written. A session honours it only for a runbook whose front matter opts in with `ticket_connections`, only within that list, a raw host only when the policy allows it and a credential only of the ticket's environment (docs/security.md). A secret field is refused: name a credential by `credential_id`. Audited.",
    access: operator,
    params: IdParams,
    body: { wire: TicketPatchWire },
    responses: { 200: { description: "The ticket", schema: TicketDoc } },
    async handler(c, { params, body, actor }) {
      const patch = body as z.output<typeof TicketPatchWire>;
      if (patch.ticket_id !== undefined && patch.ticket_id !== params.id) {
        throw rwError("RW_ERR_INPUT_INVALID", "ticket_id does not match the ticket in the path", {
          details: {
            fields: [{ field: "ticket_id", message: `must be ${params.id} (the path's id) or absent` }],
          },
        });
      }
      const updated = await engine.tickets.setConnectionConfig(params.id, patch.meta_data.connection_config, {
        actor: actor.id,
        origin: route.originOf(c),
      });
      return send(route, c, 200, TicketDoc, updated);
    },
  });
}

/** The connector guide's Option 2 body: `{ ticket_id?, meta_data: { connection_config } }`. */
const TicketPatchWire = z
  .object({
    ticket_id: z.number().int().positive().optional(),
    meta_data: z
      .object({
        connection_config: z.record(z.string(), z.unknown()).nullable(),
      })
      .strict(),
  })
  .strict()
  .openapi("TicketPatch", {
    example: {
      ticket_id: 123,
      meta_data: {
        connection_config: {
          connector_type: "ssh",
          host: "192.168.1.100",
          port: 22,
          username: "admin",
          credential_id: 5,
        },
      },
    },
  });

function demoInput(): z.output<typeof TicketInput> {
  const [title, description, severity, environment, service] =
    demoTitles[Math.floor(Math.random() * demoTitles.length)]!;
  return TicketInput.parse({ title, description, severity, environment, service, source: "demo" });
}

/**
 * `POST /tickets/webhook/{source}`: verify, read and parse the body, queue or ingest it. Shared by
 * the Hono route and the node:http fast path, so both answer alike.
 */
async function receiveWebhook(route: RouteContext, req: PlainRequest, source: string): Promise<PlainAnswer> {
  const { engine } = route;
  // Who sent it: the token's actor, or the source itself when its own secret verified it.
  let submittedBy = `webhook:${source}`;
  // A named webhook source with a mapping: core checks its token and maps the body.
  let mapped = false;
  if (source === genericWebhookSource) submittedBy = await verifyGeneric(route, req);
  else if (!engine.connectors.has("monitoring", source) && (await engine.webhookSources.has(source)))
    mapped = true;
  else if (!engine.connectors.has("monitoring", source)) {
    const waiting = engine.connectors.notConfigured("monitoring", source);
    if (waiting) {
      throw rwError(
        "RW_ERR_PLUGIN_NOT_CONFIGURED",
        `the webhook source "${source}" is not configured: ${waiting.hint}`,
        { details: { kind: "monitoring", name: source, needs: waiting.needs } },
      );
    }
    const listed = await engine.connectors.list("monitoring", { health: false });
    const stored = await engine.webhookSources.list();
    const known = [
      genericWebhookSource,
      ...listed.map((info) => info.name),
      ...stored.map((info) => info.name),
    ].sort();
    throw rwError(
      "RW_ERR_PLUGIN_NOT_FOUND",
      `no webhook source named "${source.slice(0, 80)}"; known sources: ${known.join(", ")}`,
      { details: { kind: "monitoring", name: source.slice(0, 80), known } },
    );
  }
  const rawBody = await req.readText(route.limits.webhookBytes);
  let body: unknown;
  if (rawBody.trim() !== "") {
    try {
      body = parseJson(rawBody);
    } catch (err) {
      // Not JSON to this source: its connector reads the raw body (a form, say).
      if (
        source === genericWebhookSource ||
        mapped ||
        mediaType(req.header("content-type")).endsWith("json")
      ) {
        throw err;
      }
    }
  }
  let result: WebhookResult;
  if (engine.intake.accepts(source)) {
    // The intake queue: verified, made durable (or refused with 429/503 and Retry-After),
    // then stored behind the answer or before it, as `intake.acknowledge` says.
    const receipt = await engine.intake.submitWebhook(
      source,
      { headers: req.headers(), body, rawBody },
      { submittedBy },
    );
    if (engine.intake.acknowledge === "durable") {
      return {
        status: 202,
        schema: WebhookResultDoc,
        value: {
          tickets: [],
          resolved: [],
          warnings: [],
          queued: {
            entryId: receipt.entryId,
            entries: receipt.depth.entries,
            sourceEntries: receipt.depth.sourceEntries,
          },
        },
      };
    }
    result = await receipt.processed;
  } else {
    const ingest = () =>
      engine.tickets.ingestWebhook(source, { headers: req.headers(), body, rawBody }, { submittedBy });
    // Generic webhooks enter core in waves, so that their writes share the store's commits.
    result = source === genericWebhookSource ? await route.webhookWave(ingest) : await ingest();
  }
  return {
    status: 202,
    schema: WebhookResultDoc,
    value: {
      tickets: result.tickets.map(({ ticket, deduplicated }) => ({
        id: ticket.id,
        deduplicated,
        occurrences: ticket.occurrences,
        status: ticket.status,
      })),
      resolved: result.resolved.map((t) => t.id),
      warnings: result.warnings,
    },
  };
}

/** `value` when it is an http(s) URL, else null. */
function webLink(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const link = new URL(value);
    return link.protocol === "https:" || link.protocol === "http:" ? link.href : null;
  } catch {
    return null;
  }
}

/**
 * The generic source: the configured shared secret in its header, or a token with the operator
 * role. Anything else is 401. Returns who sent it: `webhook:generic` for the shared secret, the
 * token's actor otherwise.
 */
async function verifyGeneric(route: RouteContext, req: PlainRequest): Promise<string> {
  const { secret, header } = route.genericWebhook;
  const given = req.header(header);
  if (secret !== undefined && given !== undefined && equalSecret(given, secret))
    return `webhook:${genericWebhookSource}`;
  const actor = await req.authenticate();
  if (actor && (actor.roles.includes("operator") || actor.roles.includes("admin"))) return actor.id;
  throw unauthenticated(
    secret === undefined
      ? "the generic webhook needs a token with the operator role"
      : `the generic webhook needs its shared secret in ${header}, or a token with the operator role`,
  );
}

/** A web body stream as a Node Readable that fails with RW_ERR_INPUT_TOO_LARGE past `limit`. */
function limitStream(body: ReadableStream<Uint8Array> | null, limit: number): Readable {
  if (!body) return Readable.from([]);
  let size = 0;
  const reader = body.getReader();
  return new Readable({
    async read() {
      try {
        const { done, value } = await reader.read();
        if (done) {
          this.push(null);
          return;
        }
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel().catch(() => {});
          this.destroy(tooLarge(limit));
          return;
        }
        this.push(value);
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, callback) {
      reader.cancel().catch(() => {});
      callback(err);
    },
  });
}
