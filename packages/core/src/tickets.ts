/**
 * Ticket intake: SDK calls, CSV imports and webhooks become validated, analyzed, stored tickets.
 * A repeat of an open ticket (same fingerprint, within the dedupe window) is folded into it and
 * never starts a second execution.
 */
import { z } from "zod";
import type { Analyzer } from "./analyzer/index.js";
import { normalizeSeverity } from "./analyzer/normalize.js";
import type { AnalysisSubject } from "./analyzer/stage.js";
import {
  type Analysis,
  openTicketStatuses,
  type Ticket,
  TicketInput,
  type TicketSeverity,
  type TicketStatus,
  type ValidTicketInput,
} from "./domain.js";
import { isRunwardenError, rwError } from "./errors.js";
import type { EngineContext } from "./internal/context.js";
import { type CsvRowInput, type CsvSource, csvTemplate, readTicketCsv } from "./internal/csv.js";
import type { WebhookRequest } from "./plugin.js";
import { type ConnectorRegistry, genericWebhookSource } from "./registry.js";
import type { Page } from "./runbooks.js";
import type { NewDoc } from "./storage.js";

export type { CsvSource } from "./internal/csv.js";

export interface IngestTicketOptions {
  /** Start the matched runbook when analysis decides `auto_execute`. Default true. */
  autoExecute?: boolean;
  /**
   * The actor whose request this is (recorded as the ticket's `submittedBy`, and as `causedBy`
   * of a session auto-executed for it). `ingestMany` also takes one per input.
   */
  submittedBy?: string;
}

/** `ingestMany`'s options: `submittedBy` for all inputs, or one per input (a group commit). */
export interface IngestManyOptions extends Omit<IngestTicketOptions, "submittedBy"> {
  submittedBy?: string | readonly (string | null | undefined)[];
}

/** `ingestWebhook`'s options. */
export interface WebhookIngestOptions {
  /** The webhook's actor: the token's actor, or `webhook:<source>` for a source-verified request. */
  submittedBy?: string;
}

export interface IngestResult {
  ticket: Ticket;
  /** True when the input was folded into an open ticket (occurrences + 1). */
  deduplicated: boolean;
}

export interface ImportProgress {
  rows: number;
  imported: number;
  deduplicated: number;
  rejected: number;
}

export interface CsvImportOptions {
  /** Start matched runbooks that analysis decides to auto-execute. Default false. */
  autoExecute?: boolean;
  /** Called every `progressEvery` rows, and once at the end. */
  onProgress?: (progress: ImportProgress) => void;
  /** Rows between progress reports (and `import:progressed` events). Default 1,000. */
  progressEvery?: number;
  /** The source of rows with no `source` value. Default "csv". */
  source?: string;
  /** Rows stored per transaction. Default 500. */
  batchSize?: number;
  /** The uploader's actor: each ticket's `submittedBy` (see IngestTicketOptions). */
  submittedBy?: string;
  /** How many rejected rows are described in `errors` (all are counted). Default 1,000. */
  maxErrors?: number;
  /** Ticket ids are returned only for files of at most this many stored rows. Default 10,000. */
  maxTicketIds?: number;
}

/** One refused CSV row. */
export interface CsvRowError {
  /** 1-based data row number: row 1 is the first line after the header. */
  row: number;
  /** 1-based line of the file where the row starts (the header is line 1). */
  line: number;
  reason: string;
}

export interface CsvImportResult extends ImportProgress {
  /** The first `maxErrors` refused rows. */
  errors: CsvRowError[];
  /** True when more rows were refused than `errors` lists. */
  errorsTruncated: boolean;
  /** Ids of the stored tickets in row order, for files of at most `maxTicketIds` stored rows. */
  ticketIds?: number[];
}

export interface WebhookResult {
  /** Tickets created or folded into, in payload order. */
  tickets: IngestResult[];
  /** Open tickets the payload resolved. */
  resolved: Ticket[];
  /** What was mapped with a guess (an unknown severity, an ignored field). */
  warnings: string[];
}

export interface ListTicketsQuery {
  status?: TicketStatus | readonly TicketStatus[];
  source?: string;
  /** Default 50, at most 500. */
  limit?: number;
  cursor?: number;
}

export interface TicketsApi {
  /**
   * Validates, analyzes and stores one ticket. Throws RW_ERR_INPUT_INVALID listing every bad
   * field in `details.fields`.
   */
  ingest(input: unknown, options?: IngestTicketOptions): Promise<IngestResult>;
  /** The same for many tickets in one transaction; an invalid one refuses the whole call. */
  ingestMany(inputs: readonly unknown[], options?: IngestManyOptions): Promise<IngestResult[]>;
  /**
   * Streams a CSV file into tickets in flat memory. Every good row imports; each bad row is
   * reported with its data row and line number. Throws RW_ERR_INPUT_CSV_HEADER up front when the
   * header has no `title` column.
   */
  importCsv(source: CsvSource, options?: CsvImportOptions): Promise<CsvImportResult>;
  /** The CSV template: the header and one example row. */
  csvTemplate(): string;
  /**
   * Handles `POST /tickets/webhook/{source}`: the built-in `generic` source takes the documented
   * ticket JSON (one object or an array); any other source is the monitoring connector of that
   * name (RW_ERR_PLUGIN_NOT_FOUND when none), which verifies and parses the request.
   */
  ingestWebhook(
    source: string,
    request: WebhookRequest,
    options?: WebhookIngestOptions,
  ): Promise<WebhookResult>;
  /**
   * Takes alerts a monitoring connector pulled (the monitoring poller) through the same intake as
   * its webhook: a repeat folds into the open ticket of its fingerprint, a resolved alert resolves
   * it. An alert that fails validation is skipped and named in `warnings`.
   */
  ingestAlerts(source: string, alerts: readonly TicketInput[]): Promise<WebhookResult>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<Ticket>;
  /** The tickets of these ids, in no particular order; an id with no ticket is skipped. */
  getMany(ids: readonly number[]): Promise<Ticket[]>;
  /** Newest first. */
  list(query?: ListTicketsQuery): Promise<Page<Ticket>>;
  /** Sets a ticket's status and why (the executor's transitions). Retries version conflicts. */
  setStatus(id: number, status: TicketStatus, reason: string | null): Promise<Ticket>;
}

/** The generic webhook's JSON, snake_case as the connector guide writes it. */
export const GenericWebhookTicket = z.object({
  title: z.string(),
  description: z.string().optional(),
  severity: z.string().optional(),
  environment: z.string().optional(),
  service: z.string().optional(),
  source: z.string().optional(),
  external_id: z.union([z.string(), z.number()]).optional(),
  fingerprint: z.string().optional(),
  resolved: z.boolean().optional(),
  meta_data: z.record(z.string(), z.unknown()).optional(),
  received_at: z.string().optional(),
});

const maxWebhookTickets = 1_000;
/** The generic ticket's fields: any other key of a body is ignored, with a warning. */
const genericFields: ReadonlySet<string> = new Set(Object.keys(GenericWebhookTicket.shape));
/** Fingerprints an import remembers to skip analyzing repeats (bounded: flat memory). */
const maxSeenFingerprints = 20_000;
/** Repeats an import holds before folding them (distinct fingerprints, rows): flat memory. */
const maxPendingRepeats = 5_000;
const maxPendingRepeatRows = 50_000;

const snakeCase: Readonly<Record<string, string>> = {
  externalId: "external_id",
  metaData: "meta_data",
  receivedAt: "received_at",
};

function fieldErrors(error: z.ZodError, prefix = "", names: Readonly<Record<string, string>> = {}) {
  return error.issues.map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const field = [head === undefined ? "" : (names[head] ?? head), ...rest]
      .filter((p) => p !== "")
      .join(".");
    return { field: `${prefix}${field}` || "(body)", message: issue.message };
  });
}

function invalid(message: string, fields: { field: string; message: string }[]) {
  return rwError("RW_ERR_INPUT_INVALID", message, { details: { fields } });
}

export function createTicketsApi(
  ctx: EngineContext,
  deps: { analyzer: Analyzer; registry: ConnectorRegistry },
): TicketsApi {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage, events } = ctx;
  const { analyzer } = deps;

  function subjectOf(input: ValidTicketInput | CsvRowInput): AnalysisSubject {
    return {
      title: input.title,
      description: input.description,
      severity: input.severity,
      environment: input.environment,
      service: input.service,
      source: input.source,
      externalId: input.externalId ?? null,
      sourceFingerprint: input.fingerprint ?? null,
      metaData: input.metaData,
    };
  }

  function docOf(
    ticket: AnalysisSubject,
    fingerprint: string,
    analysis: Analysis | null,
    receivedAt: string | undefined,
    now: string,
    autoExecute = false,
    submittedBy: string | null = null,
  ): NewDoc<Ticket> {
    return {
      title: ticket.title,
      description: ticket.description,
      severity: ticket.severity,
      environment: ticket.environment,
      service: ticket.service,
      source: ticket.source,
      externalId: ticket.externalId,
      fingerprint,
      status: "analyzed",
      occurrences: 1,
      metaData: ticket.metaData,
      receivedAt: receivedAt ?? now,
      lastSeenAt: now,
      updatedAt: now,
      analysis: withIntent(analysis, autoExecute),
      statusReason: null,
      submittedBy,
    };
  }

  async function toDoc(
    input: ValidTicketInput | CsvRowInput,
    receivedAt: string | undefined,
    now: string,
    autoExecute: boolean,
    submittedBy: string | null,
  ): Promise<NewDoc<Ticket>> {
    const { ticket, fingerprint, analysis } = await analyzer.analyze(subjectOf(input));
    return docOf(ticket, fingerprint, analysis, receivedAt, now, autoExecute, submittedBy);
  }

  /** A repeat whose analysis was skipped but that did not fold (its ticket closed meanwhile): analyze it now. */
  async function analyzeLate(outcome: IngestResult, autoExecute: boolean): Promise<IngestResult> {
    const { ticket } = outcome;
    const { analysis } = await analyzer.analyze({
      title: ticket.title,
      description: ticket.description,
      severity: ticket.severity,
      environment: ticket.environment,
      service: ticket.service,
      source: ticket.source,
      externalId: ticket.externalId,
      sourceFingerprint: null,
      metaData: ticket.metaData,
    });
    const updated = await storage.tickets.update(ticket.id, ticket.version, {
      analysis: withIntent(analysis, autoExecute),
      updatedAt: ctx.nowIso(),
    });
    return { ticket: updated, deduplicated: false };
  }

  /** Emits events and starts auto-executions for stored outcomes. */
  async function afterStore(outcomes: readonly IngestResult[], autoExecute: boolean): Promise<void> {
    const announce = events.listenerCount("ticket:ingested") > 0;
    const announceAnalysis = events.listenerCount("ticket:analyzed") > 0;
    const starts: Promise<void>[] = [];
    for (const { ticket, deduplicated } of outcomes) {
      if (announce) {
        events.emit("ticket:ingested", {
          ticketId: ticket.id,
          source: ticket.source,
          deduplicated,
          occurrences: ticket.occurrences,
        });
      }
      if (deduplicated || !ticket.analysis) continue;
      if (announceAnalysis) {
        events.emit("ticket:analyzed", {
          ticketId: ticket.id,
          category: ticket.analysis.category,
          decision: ticket.analysis.decision,
        });
      }
      if (autoExecute && ticket.analysis.decision.action === "auto_execute" && ctx.hooks.autoExecute) {
        starts.push(
          ctx.hooks.autoExecute(ticket).catch((err: unknown) => {
            log.error({ ticketId: ticket.id, err }, "auto-execution failed to start");
          }),
        );
      }
    }
    // The batch's sessions start together, so their writes share commits; the caller still
    // hears back only once every one of them is stored.
    await Promise.all(starts);
  }

  async function store(
    inputs: readonly ValidTicketInput[],
    autoExecute: boolean,
    receivedAt: (i: number) => string | undefined = () => undefined,
    submittedBy: (i: number) => string | null = () => null,
  ): Promise<IngestResult[]> {
    if (inputs.length === 0) return [];
    const now = ctx.nowIso();
    const docs: NewDoc<Ticket>[] = [];
    for (let i = 0; i < inputs.length; i++)
      docs.push(await toDoc(inputs[i]!, receivedAt(i), now, autoExecute, submittedBy(i)));
    const outcomes = await storage.ingestTickets(docs, { dedupeWindowMs: ctx.policy.dedupeWindowMs, now });
    await afterStore(outcomes, autoExecute);
    return outcomes;
  }

  async function resolveOpen(input: ValidTicketInput, reason: string): Promise<Ticket[]> {
    const { ticket: subject, fingerprint } = analyzer.identify(subjectOf(input));
    const open = [...openTicketStatuses];
    const found = new Map<number, Ticket>();
    for (const t of await storage.tickets.find({ where: { fingerprint, status: { in: open } }, limit: 100 }))
      found.set(t.id, t);
    if (subject.externalId) {
      const byId = await storage.tickets.find({
        where: { externalId: subject.externalId, source: subject.source, status: { in: open } },
        limit: 100,
      });
      for (const t of byId) found.set(t.id, t);
    }
    const resolved: Ticket[] = [];
    for (const ticket of found.values()) {
      const updated = await setStatus(ticket.id, "resolved", reason);
      resolved.push(updated);
      if (ctx.hooks.ticketResolved) {
        try {
          await ctx.hooks.ticketResolved(updated, reason);
        } catch (err) {
          log.error({ ticketId: ticket.id, err }, "ticket resolution hook failed");
        }
      }
    }
    return resolved;
  }

  async function setStatus(id: number, status: TicketStatus, reason: string | null): Promise<Ticket> {
    for (let attempt = 0; ; attempt++) {
      const ticket = await get(id);
      try {
        const updated = await storage.tickets.update(id, ticket.version, {
          status,
          statusReason: reason,
          updatedAt: ctx.nowIso(),
        });
        events.emit("ticket:updated", { ticketId: id, status, reason });
        log.info({ ticketId: id, status }, "ticket status changed");
        return updated;
      } catch (err) {
        if (attempt >= 4 || !isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
  }

  async function get(id: number): Promise<Ticket> {
    const ticket = await storage.tickets.get(id);
    if (!ticket)
      throw rwError("RW_ERR_STORAGE_NOT_FOUND", `ticket ${id} does not exist`, {
        details: { entity: "ticket", id },
      });
    return ticket;
  }

  function validate(input: unknown, prefix = ""): ValidTicketInput {
    const parsed = TicketInput.safeParse(input);
    if (!parsed.success) throw invalid("the ticket is invalid", fieldErrors(parsed.error, prefix));
    return parsed.data;
  }

  async function ingestValid(
    inputs: ValidTicketInput[],
    autoExecute: boolean,
    submittedBy: string | null,
  ): Promise<IngestResult[]> {
    const results: IngestResult[] = [];
    const open = inputs.filter((input) => !input.resolved);
    const stored = await store(
      open,
      autoExecute,
      (i) => open[i]?.receivedAt,
      () => submittedBy,
    );
    let next = 0;
    for (const input of inputs) {
      if (input.resolved) continue;
      results.push(stored[next++] as IngestResult);
    }
    return results;
  }

  async function webhookInputs(
    source: string,
    request: WebhookRequest,
  ): Promise<{ inputs: ValidTicketInput[]; warnings: string[] }> {
    const warnings: string[] = [];
    if (source === genericWebhookSource) {
      const body = request.body;
      const items = Array.isArray(body) ? body : [body];
      if (body === undefined || body === null || typeof body !== "object") {
        throw invalid("the webhook body must be a JSON ticket object or an array of them", [
          { field: "(body)", message: "expected a JSON object or array" },
        ]);
      }
      if (items.length > maxWebhookTickets) {
        throw rwError("RW_ERR_INPUT_TOO_LARGE", `a webhook may carry at most ${maxWebhookTickets} tickets`, {
          details: { limit: maxWebhookTickets, count: items.length },
        });
      }
      const inputs: ValidTicketInput[] = [];
      const fields: { field: string; message: string }[] = [];
      items.forEach((item, i) => {
        const prefix = Array.isArray(body) ? `[${i}].` : "";
        const parsed = GenericWebhookTicket.safeParse(item);
        if (!parsed.success) {
          fields.push(...fieldErrors(parsed.error, prefix));
          return;
        }
        const t = parsed.data;
        const ignored = Object.keys(item as object).filter((k) => !genericFields.has(k));
        if (ignored.length > 0)
          warnings.push(`${prefix}ignored unknown field(s): ${ignored.slice(0, 10).join(", ")}`);
        const candidate: Record<string, unknown> = {
          title: t.title,
          description: t.description,
          severity: mapSeverity(t.severity, `${prefix}severity`, warnings),
          environment: t.environment,
          service: t.service,
          source: t.source ?? source,
          externalId: t.external_id === undefined ? undefined : String(t.external_id),
          fingerprint: t.fingerprint,
          resolved: t.resolved,
          metaData: t.meta_data,
          receivedAt: t.received_at,
        };
        const valid = TicketInput.safeParse(candidate);
        if (valid.success) inputs.push(valid.data);
        else fields.push(...fieldErrors(valid.error, prefix, snakeCase));
      });
      if (fields.length > 0) throw invalid("the webhook payload is invalid", fields);
      return { inputs, warnings };
    }

    const connector = deps.registry.monitoring(source);
    if (connector.verifyWebhook && !(await connector.verifyWebhook(request))) {
      throw rwError("RW_ERR_AUTH_UNAUTHENTICATED", `the webhook failed ${source}'s verification`, {
        details: { source },
      });
    }
    if (!connector.parseWebhook) {
      throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `monitoring connector "${source}" does not accept webhooks`, {
        details: { kind: "monitoring", name: source },
      });
    }
    const parsed = await connector.parseWebhook(request);
    warnings.push(...parsed.warnings);
    if (parsed.tickets.length > maxWebhookTickets) {
      throw rwError("RW_ERR_INPUT_TOO_LARGE", `a webhook may carry at most ${maxWebhookTickets} tickets`, {
        details: { limit: maxWebhookTickets, count: parsed.tickets.length },
      });
    }
    const fields: { field: string; message: string }[] = [];
    const inputs = connectorInputs(source, parsed.tickets, warnings, fields);
    if (fields.length > 0) throw invalid(`connector "${source}" produced an invalid ticket`, fields);
    return { inputs, warnings };
  }

  /**
   * A monitoring connector's tickets (a webhook's or a pull's) as intake takes them: the source
   * defaulted, the severity mapped onto the scale, each checked. Problems go to `fields`.
   */
  function connectorInputs(
    source: string,
    tickets: readonly TicketInput[],
    warnings: string[],
    fields: { field: string; message: string }[],
  ): ValidTicketInput[] {
    const inputs: ValidTicketInput[] = [];
    tickets.forEach((ticket, i) => {
      const prefix = tickets.length > 1 ? `[${i}].` : "";
      const candidate = {
        ...ticket,
        source: ticket.source ?? source,
        severity: mapSeverity(ticket.severity as unknown, `${prefix}severity`, warnings),
      };
      const valid = TicketInput.safeParse(candidate);
      if (valid.success) inputs.push(valid.data);
      else fields.push(...fieldErrors(valid.error, prefix));
    });
    return inputs;
  }

  /** What every monitoring source shares after parsing: resolutions first, then the rest folded or stored. */
  async function monitoringIntake(
    source: string,
    inputs: ValidTicketInput[],
    warnings: string[],
    submittedBy: string | null,
  ): Promise<WebhookResult> {
    const resolved: Ticket[] = [];
    for (const input of inputs) {
      if (!input.resolved) continue;
      const done = await resolveOpen(input, `resolved by ${input.source}`);
      if (done.length === 0)
        warnings.push(`no open ticket matched the resolved alert "${input.title.slice(0, 80)}"`);
      resolved.push(...done);
    }
    const tickets = await ingestValid(inputs, true, submittedBy);
    if (warnings.length > 0) log.debug({ source, warnings: warnings.length }, "alerts mapped with warnings");
    return { tickets, resolved, warnings };
  }

  return {
    async ingest(input, options = {}) {
      const valid = validate(input);
      if (valid.resolved) {
        throw invalid("use ingestWebhook (or resolve the ticket) to report a resolved alert", [
          { field: "resolved", message: "a new ticket cannot start resolved" },
        ]);
      }
      const [result] = await store(
        [valid],
        options.autoExecute ?? true,
        () => valid.receivedAt,
        () => options.submittedBy ?? null,
      );
      return result as IngestResult;
    },

    async ingestMany(inputs, options = {}) {
      const valid: ValidTicketInput[] = [];
      const fields: { field: string; message: string }[] = [];
      inputs.forEach((input, i) => {
        const parsed = TicketInput.safeParse(input);
        if (parsed.success) valid.push(parsed.data);
        else fields.push(...fieldErrors(parsed.error, `[${i}].`));
      });
      if (fields.length > 0) throw invalid("some tickets are invalid", fields);
      if (valid.some((v) => v.resolved)) {
        throw invalid("a new ticket cannot start resolved", [
          { field: "resolved", message: "use ingestWebhook" },
        ]);
      }
      const by = options.submittedBy;
      return store(
        valid,
        options.autoExecute ?? true,
        (i) => valid[i]?.receivedAt,
        (i) => (typeof by === "string" ? by : (by?.[i] ?? null)),
      );
    },

    async importCsv(source, options = {}) {
      const batchSize = Math.max(1, options.batchSize ?? 500);
      const progressEvery = Math.max(1, options.progressEvery ?? 1_000);
      const maxErrors = options.maxErrors ?? 1_000;
      const maxTicketIds = options.maxTicketIds ?? 10_000;
      const autoExecute = options.autoExecute ?? false;
      const submittedBy = options.submittedBy ?? null;
      const counts: ImportProgress = { rows: 0, imported: 0, deduplicated: 0, rejected: 0 };
      const errors: CsvRowError[] = [];
      /** Ticket ids by the position of their row among the good rows. */
      let ticketIds: number[] | undefined = [];
      let accepted = 0;
      const seen = new Set<string>();
      let batch: { subject: AnalysisSubject; position: number }[] = [];
      /**
       * Rows whose fingerprint this import already stored (or is about to): folding them is all
       * that is left to do, so they wait here, one entry per fingerprint, and are folded together
       * (one write per ticket instead of one per row) — always before the import resolves.
       */
      const repeats = new Map<string, { subject: AnalysisSubject; positions: number[] }>();
      let repeatRows = 0;
      let lastProgress = 0;
      const started = performance.now();

      const report = (final: boolean) => {
        const progress = { ...counts };
        if (final) events.emit("import:finished", progress);
        else events.emit("import:progressed", progress);
        options.onProgress?.(progress);
      };
      const record = (outcomes: readonly IngestResult[], positions: readonly number[]) => {
        for (let i = 0; i < outcomes.length; i++) {
          const { ticket, deduplicated } = outcomes[i] as IngestResult;
          if (deduplicated) counts.deduplicated++;
          else counts.imported++;
          if (ticketIds) ticketIds[positions[i] as number] = ticket.id;
        }
      };
      const flush = async () => {
        if (batch.length === 0) return;
        const now = ctx.nowIso();
        const docs: NewDoc<Ticket>[] = [];
        for (const { subject } of batch) {
          const { ticket, fingerprint, analysis } = await analyzer.analyze(subject);
          docs.push(docOf(ticket, fingerprint, analysis, undefined, now, autoExecute, submittedBy));
        }
        const positions = batch.map((row) => row.position);
        batch = [];
        const outcomes = await storage.ingestTickets(docs, {
          dedupeWindowMs: ctx.policy.dedupeWindowMs,
          now,
        });
        await afterStore(outcomes, autoExecute);
        record(outcomes, positions);
      };
      const flushRepeats = async () => {
        await flush();
        if (repeats.size === 0) return;
        const now = ctx.nowIso();
        // Each fingerprint's rows as one document repeated: the store folds them all into its
        // ticket with a single write.
        const docs: NewDoc<Ticket>[] = [];
        const positions: number[] = [];
        for (const [fingerprint, { subject, positions: at }] of repeats) {
          const doc = docOf(subject, fingerprint, null, undefined, now, false, submittedBy);
          for (const position of at) {
            docs.push(doc);
            positions.push(position);
          }
        }
        repeats.clear();
        repeatRows = 0;
        const outcomes = await storage.ingestTickets(docs, {
          dedupeWindowMs: ctx.policy.dedupeWindowMs,
          now,
        });
        for (let i = 0; i < outcomes.length; i++) {
          const outcome = outcomes[i] as IngestResult;
          // Its ticket closed meanwhile, so the repeat became a ticket of its own: analyze it.
          if (!outcome.deduplicated && outcome.ticket.analysis === null)
            outcomes[i] = await analyzeLate(outcome, autoExecute);
        }
        await afterStore(outcomes, autoExecute);
        record(outcomes, positions);
      };

      await readTicketCsv(
        source,
        { defaultSource: options.source ?? "csv", severity: normalizeSeverity },
        async (verdict) => {
          counts.rows++;
          if (verdict.ok) {
            const position = accepted++;
            if (accepted > maxTicketIds) ticketIds = undefined;
            const { ticket, fingerprint } = analyzer.identify(subjectOf(verdict.input));
            const repeat = repeats.get(fingerprint);
            if (repeat) {
              repeat.positions.push(position);
              repeatRows++;
            } else if (seen.has(fingerprint)) {
              repeats.set(fingerprint, { subject: ticket, positions: [position] });
              repeatRows++;
            } else {
              if (seen.size >= maxSeenFingerprints) {
                await flushRepeats();
                seen.clear();
              }
              seen.add(fingerprint);
              batch.push({ subject: subjectOf(verdict.input), position });
              if (batch.length >= batchSize) await flush();
            }
            if (repeats.size >= maxPendingRepeats || repeatRows >= maxPendingRepeatRows) await flushRepeats();
          } else {
            counts.rejected++;
            if (errors.length < maxErrors)
              errors.push({ row: verdict.row, line: verdict.line, reason: verdict.reason });
          }
          if (counts.rows - lastProgress >= progressEvery) {
            // Progress counts stored rows: the pending batch is stored first (repeats still waiting
            // to be folded are counted once they are).
            await flush();
            lastProgress = counts.rows;
            report(false);
          }
        },
      );
      await flushRepeats();
      report(true);
      log.info({ ...counts, ms: Math.round(performance.now() - started) }, "csv import finished");
      return {
        ...counts,
        errors,
        errorsTruncated: counts.rejected > errors.length,
        ...(ticketIds ? { ticketIds } : {}),
      };
    },

    csvTemplate,

    async ingestWebhook(source, request, options = {}) {
      const { inputs, warnings } = await webhookInputs(source, request);
      return monitoringIntake(source, inputs, warnings, options.submittedBy ?? null);
    },

    async ingestAlerts(source, alerts) {
      const warnings: string[] = [];
      const fields: { field: string; message: string }[] = [];
      const inputs = connectorInputs(source, alerts, warnings, fields);
      for (const { field, message } of fields.slice(0, 20)) warnings.push(`refused ${field}: ${message}`);
      return monitoringIntake(source, inputs, warnings, `monitoring:${source}`);
    },

    get,

    async getMany(ids) {
      if (ids.length === 0) return [];
      return storage.tickets.find({ where: { id: { in: [...new Set(ids)] } } });
    },

    async list(query = {}) {
      const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
      const where: { status?: TicketStatus | { in: readonly TicketStatus[] }; source?: string } = {};
      if (query.status !== undefined)
        where.status = typeof query.status === "string" ? query.status : { in: query.status };
      if (query.source) where.source = query.source;
      const items = await storage.tickets.find({
        where,
        order: "desc",
        limit: limit + 1,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? (page[page.length - 1]?.id ?? null) : null };
    },

    setStatus,
  };
}

/** A webhook's severity onto the scale: an unknown one becomes `medium`, with a warning. */
function mapSeverity(raw: unknown, field: string, warnings: string[]): TicketSeverity | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const mapped = normalizeSeverity(raw);
  if (mapped) return mapped;
  warnings.push(`${field}: unknown severity "${String(raw).slice(0, 40)}" mapped to medium`);
  return "medium";
}

/**
 * Marks an analysis whose decision the caller asked to carry out (`autoExecuteRequested`), in the
 * same write that stores the ticket: if the process dies before the session starts, the next
 * `engine.start()` finds the ticket still `analyzed` and starts it.
 */
function withIntent(analysis: Analysis | null, autoExecute: boolean): Analysis | null {
  if (!analysis || !autoExecute || analysis.decision.action !== "auto_execute") return analysis;
  return { ...analysis, autoExecuteRequested: true };
}
