/**
 * The tickets API's contract: `TicketsApi` and the options and results of its calls. The
 * implementation is split by job in this folder (intake.ts, csv-import.ts, monitoring.ts,
 * queries.ts) and assembled in ../tickets.ts.
 */
import type { AnalysisTraceEntry, Ticket, TicketInput, TicketStatus } from "../domain.js";
import type { CsvSource } from "../internal/csv.js";
import type { WebhookRequest } from "../plugin.js";
import type { Page } from "../runbooks.js";

export type { CsvSource } from "../internal/csv.js";

/** Options of {@link TicketsApi.ingest}. */
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
  /** One actor for all inputs, or one per input (null or absent: none named). */
  submittedBy?: string | readonly (string | null | undefined)[];
}

/** `ingestWebhook`'s options. */
export interface WebhookIngestOptions {
  /** The webhook's actor: the token's actor, or `webhook:<source>` for a source-verified request. */
  submittedBy?: string;
}

/** What {@link TicketsApi.ingest} did with one input. */
export interface IngestResult {
  /** The ticket as stored, with its analysis. */
  ticket: Ticket;
  /** True when the input was folded into an open ticket (occurrences + 1). */
  deduplicated: boolean;
}

/** Running counts of a CSV import. */
export interface ImportProgress {
  /** Data rows read so far. */
  rows: number;
  /** Rows stored as new tickets. */
  imported: number;
  /** Rows folded into an existing ticket (a repeat of its fingerprint). */
  deduplicated: number;
  /** Rows refused (see `errors`). */
  rejected: number;
}

/** Options of {@link TicketsApi.importCsv}. */
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
  /** Why the row was refused, naming the field. */
  reason: string;
}

/**
 * What became of one good CSV row: `imported` (a new ticket), `folded` (a repeat folded into an
 * existing ticket: occurrences + 1), or `reopened` (folded into a ticket that is now `needs_human`
 * as a flap: it was resolved and fired again within the dedupe window; a ticket that had already
 * flapped before this import reads the same).
 */
export type CsvRowOutcomeKind = "imported" | "folded" | "reopened";

/** One stored CSV row. */
export interface CsvRowOutcome {
  /** 1-based data row number. */
  row: number;
  /** 1-based line of the file where the row starts (the header is line 1). */
  line: number;
  /** The ticket the row was stored as or folded into. */
  ticketId: number;
  /** What became of the row. */
  outcome: CsvRowOutcomeKind;
}

/** What {@link TicketsApi.importCsv} did with a file: the final counts and the refused rows. */
export interface CsvImportResult extends ImportProgress {
  /** The first `maxErrors` refused rows. */
  errors: CsvRowError[];
  /** True when more rows were refused than `errors` lists. */
  errorsTruncated: boolean;
  /** Ids of the stored tickets in row order, for files of at most `maxTicketIds` stored rows. */
  ticketIds?: number[];
  /** The stored rows in row order, with their line and outcome: present when `ticketIds` is. */
  outcomes?: CsvRowOutcome[];
}

/** `backtestCsv`'s options. */
export interface CsvBacktestOptions {
  /** Rows analyzed and planned; later rows are counted only. Default 200, at most 1,000. */
  maxRows?: number;
  /** The source of rows with no `source` value. Default "csv". */
  source?: string;
}

/** One step of a backtest row's plan. */
export interface CsvBacktestStep {
  /** The phase the step belongs to. */
  phase: string;
  /** The step's name. */
  name: string;
  /** The command as the runbook writes it. */
  command: string;
  /** The command as it would have run for this row; null when it cannot be rendered (`error`). */
  rendered: string | null;
  /** The step's language (`sh`, `sql`, …). */
  language: string;
  /** The step would have waited for approval (with this many approvers). */
  requiresApproval: boolean;
  /** How many approvals it would have needed. */
  approvalsRequired: number;
  /** The step's risk (`safe` … `high_risk`). */
  severity: string;
  /** The connection it would have used, by name, or null. */
  connection: string | null;
  /** Why it could not be prepared, or null. */
  error: string | null;
}

/** One CSV row of a backtest: what analysis decided and the plan that would have run. */
export interface CsvBacktestRow {
  /** 1-based data row number. */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  /** `planned` (a runbook chosen: its plan), `unmatched` (no runbook) or `rejected` (a bad row). */
  status: "planned" | "unmatched" | "rejected";
  /** The row's title; null for a row refused before it was read. */
  title: string | null;
  /** What analysis decided; null for a refused row. */
  decision: "auto_execute" | "suggest" | "none" | null;
  /** The decision's reason, or the rejection's. */
  reason: string;
  /** The runbook chosen; null when none was. */
  runbook: { id: number; key: string; title: string; revision: number; status: string } | null;
  /** The plan that would have run, in order; empty when no runbook was chosen. */
  steps: CsvBacktestStep[];
}

/** What a backtest found: nothing stored, nothing run. */
export interface CsvBacktestResult {
  /** Data rows in the file. */
  rows: number;
  /** Rows analyzed and planned (the first `maxRows`). */
  rowResults: CsvBacktestRow[];
  /** True when the file had more rows than were analyzed. */
  truncated: boolean;
}

/** What {@link TicketsApi.ingestWebhook} did with one webhook request. */
export interface WebhookResult {
  /** Tickets created or folded into, in payload order. */
  tickets: IngestResult[];
  /** Open tickets the payload resolved. */
  resolved: Ticket[];
  /** What was mapped with a guess (an unknown severity, an ignored field). */
  warnings: string[];
}

/** A ticket's analysis trace (`TicketsApi.analysisTrace`). */
export interface AnalysisTraceResult {
  /** The ticket the trace is of. */
  ticketId: number;
  /**
   * `recomputed`: the analyzer ran again over the stored ticket, at the time it was analyzed;
   * `stored`: the ticket was stored with its trace (before traces were recomputed on demand);
   * `none`: the ticket has no analysis (the trace is empty).
   */
  origin: "recomputed" | "stored" | "none";
  /**
   * True when the recomputation found the stored category, entities, candidates and decision, so
   * its trace is the one the ticket was analyzed with. False when runbooks, the policy or the
   * analyzer's stages changed since: the trace says how the ticket would be analyzed now.
   */
  matchesStored: boolean;
  /** When the ticket was analyzed (null: never). */
  analyzedAt: string | null;
  /** One entry per analyzer stage, in order. */
  trace: AnalysisTraceEntry[];
}

/** Filters of {@link TicketsApi.list}. */
export interface ListTicketsQuery {
  /** Only tickets in this status (or any of these). */
  status?: TicketStatus | readonly TicketStatus[];
  /** Only tickets from this source (`csv`, `alertmanager`, …). */
  source?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** Keyset pagination: the `nextCursor` of the previous page. */
  cursor?: number;
}

/**
 * `engine.tickets`: bring tickets in (one by one, in bulk, from CSV, from webhooks), backtest CSV
 * files and list them.
 */
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
  /**
   * A backtest ("dry run") of a CSV file: each row is analyzed and, when a runbook is chosen, its
   * plan rendered for the row as a session would (commands, connections, approvals) — nothing is
   * stored, run or announced. Bounded by `maxRows`.
   */
  backtestCsv(source: CsvSource, options?: CsvBacktestOptions): Promise<CsvBacktestResult>;
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
  /**
   * The ticket's analysis trace, stage by stage. A ticket stores what is shown (candidates with
   * their reasons, the decision), so the trace is recomputed, deterministically: the same
   * runbooks, policy and stages give the trace intake computed (`matchesStored` says whether they
   * did). Throws RW_ERR_STORAGE_NOT_FOUND.
   */
  analysisTrace(id: number): Promise<AnalysisTraceResult>;
  /** The tickets of these ids, in no particular order; an id with no ticket is skipped. */
  getMany(ids: readonly number[]): Promise<Ticket[]>;
  /** Newest first. */
  list(query?: ListTicketsQuery): Promise<Page<Ticket>>;
  /** Sets a ticket's status and why (the executor's transitions). Retries version conflicts. */
  setStatus(id: number, status: TicketStatus, reason: string | null): Promise<Ticket>;
  /**
   * Sets (null: removes) the ticket's `metaData.connection_config`: the connector guide's "Option
   * 2: via ticket metadata". Honoured by a session only under the runbook's `ticket_connections`
   * (docs/security.md). Audited. Throws RW_ERR_STORAGE_NOT_FOUND, RW_ERR_INPUT_INVALID.
   */
  setConnectionConfig(
    id: number,
    config: Record<string, unknown> | null,
    options?: { actor?: string; origin?: string },
  ): Promise<Ticket>;
}
