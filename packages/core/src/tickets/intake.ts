/**
 * Ticket intake and validation: the path every ticket takes into the store, whatever brought it
 * (an SDK call, a CSV row, a webhook, a pull). An input is checked against `TicketInput`, analyzed,
 * stored through `storage.ingestTickets` (which folds a repeat of an open ticket into it), and then
 * announced: `ticket:ingested` / `ticket:analyzed` events and, when analysis says so, the start
 * of an auto-execution. `ingest` and `ingestMany` are the SDK's entry points; the CSV import and
 * the monitoring intake build on the same functions.
 */
import type { z } from "zod";
import type { Analyzer, Identity } from "../analyzer/index.js";
import { normalizeStage } from "../analyzer/normalize.js";
import { type AnalyzeBatch, type BatchOutcome, batchAnalyzer } from "../analyzer/pool.js";
import type { AnalysisSubject } from "../analyzer/stage.js";
import {
  type Analysis,
  openTicketStatuses,
  type Ticket,
  TicketInput,
  type ValidTicketInput,
} from "../domain.js";
import { rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { CsvRowInput } from "../internal/csv.js";
import type { NewDoc } from "../storage.js";
import type { IngestResult, TicketsApi } from "./types.js";

/** One bad field of an input, as `RW_ERR_INPUT_INVALID` lists them in `details.fields`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A zod error as field problems, each path prefixed (`[2].`) and its head renamed by `names`. */
export function fieldErrors(
  error: z.ZodError,
  prefix = "",
  names: Readonly<Record<string, string>> = {},
): FieldProblem[] {
  return error.issues.map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const field = [head === undefined ? "" : (names[head] ?? head), ...rest]
      .filter((p) => p !== "")
      .join(".");
    return { field: `${prefix}${field}` || "(body)", message: issue.message };
  });
}

/** `RW_ERR_INPUT_INVALID` listing the bad fields. */
export function invalid(message: string, fields: FieldProblem[]) {
  return rwError("RW_ERR_INPUT_INVALID", message, { details: { fields } });
}

/** The intake functions the other parts of the tickets API build on. */
export interface Intake extends Pick<TicketsApi, "ingest" | "ingestMany"> {
  subjectOf(input: ValidTicketInput | CsvRowInput): AnalysisSubject;
  docOf(
    ticket: AnalysisSubject,
    fingerprint: string,
    analysis: Analysis | null,
    receivedAt: string | undefined,
    now: string,
    autoExecute?: boolean,
    submittedBy?: string | null,
  ): NewDoc<Ticket>;
  analyzeLate(outcome: IngestResult, autoExecute: boolean): Promise<IngestResult>;
  afterStore(outcomes: readonly IngestResult[], autoExecute: boolean): Promise<void>;
  store(
    inputs: readonly (ValidTicketInput | CsvRowInput)[],
    autoExecute: boolean,
    receivedAt?: (i: number) => string | undefined,
    submittedBy?: (i: number) => string | null,
    consumeIntake?: readonly number[],
  ): Promise<IngestResult[]>;
  /**
   * `store` in two steps, so a caller can prepare the next batch while this one is written:
   * identifies the inputs, decides which fold and sends the others to analysis (not awaited);
   * `commit` writes them once analyzed.
   */
  prepare(
    inputs: readonly (ValidTicketInput | CsvRowInput)[],
    autoExecute: boolean,
    receivedAt?: (i: number) => string | undefined,
    submittedBy?: (i: number) => string | null,
    options?: PrepareOptions,
  ): Promise<PreparedStore>;
}

/** Options of {@link Intake.prepare}. */
export interface PrepareOptions {
  /**
   * Fingerprints to treat as open tickets (a batch still being written will have stored them):
   * inputs with one fold, unanalyzed. One that does not fold after all is analyzed late.
   */
  folding?: ReadonlySet<string>;
  /** How the batch is analyzed. Default: in-process, one input after the other. */
  analyze?: AnalyzeBatch;
}

/** A batch identified and sent to analysis: its fingerprints, and the write that stores it. */
export interface PreparedStore {
  /** Each input's fingerprint, in order. */
  readonly fingerprints: readonly string[];
  /** Waits for the analysis, then stores the batch (removing `consumeIntake` in the same write). */
  commit(consumeIntake?: readonly number[]): Promise<IngestResult[]>;
}

/** How many fingerprints intake remembers it stored (about 100 bytes each). */
const maxRecentFingerprints = 20_000;

/** Creates the intake shared by every way a ticket comes in. */
export function createIntake(
  ctx: EngineContext,
  deps: {
    analyzer: Analyzer;
    /** Starts the auto-execution analysis decided (the executor's; absent: nothing starts). */
    autoExecute?: (ticket: Ticket) => Promise<void>;
  },
): Intake {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage, events } = ctx;
  const { analyzer } = deps;
  // In-process: a batch of webhooks analyzed in a worker would come back in separate turns and
  // lose the shared commit concurrent deliveries get (CSV imports pass the pool themselves).
  const analyzeBatch = batchAnalyzer(analyzer, undefined, () => ctx.nowIso());

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
      analysis: storedAnalysis(analysis, autoExecute),
      statusReason: null,
      submittedBy,
    };
  }

  /**
   * Fingerprints this process stored lately, oldest first: only these are looked up before
   * analysis, so a stream of distinct alerts costs no extra query. A repeat of a ticket another
   * instance stored (or one forgotten here) is analyzed, and the store still folds it.
   */
  const recent = new Map<string, true>();
  function remember(fingerprint: string): void {
    recent.delete(fingerprint);
    recent.set(fingerprint, true);
    if (recent.size > maxRecentFingerprints) recent.delete(recent.keys().next().value as string);
  }

  /** The fingerprints among `fingerprints` with an open ticket last seen within the dedupe window. */
  async function openFingerprints(fingerprints: readonly string[], now: string): Promise<Set<string>> {
    const open = new Set<string>();
    const unique = [...new Set(fingerprints)];
    if (unique.length === 0) return open;
    const since = Date.parse(now) - ctx.policy.dedupeWindowMs;
    const found = await storage.tickets.find({
      where: { fingerprint: { in: unique }, status: { in: [...openTicketStatuses] } },
      limit: unique.length * 4,
    });
    for (const ticket of found) if (Date.parse(ticket.lastSeenAt) >= since) open.add(ticket.fingerprint);
    return open;
  }

  /** A repeat whose analysis was skipped but that did not fold (its ticket closed meanwhile): analyze it now. */
  async function analyzeLate(outcome: IngestResult, autoExecute: boolean): Promise<IngestResult> {
    const { ticket } = outcome;
    // Fingerprinted when it came in: not hashed again.
    const { analysis } = await analyzer.analyze(storedSubject(ticket), { fingerprint: ticket.fingerprint });
    const updated = await storage.tickets.update(ticket.id, ticket.version, {
      analysis: storedAnalysis(analysis, autoExecute),
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
      if (autoExecute && ticket.analysis.decision.action === "auto_execute" && deps.autoExecute) {
        starts.push(
          deps.autoExecute(ticket).catch((err: unknown) => {
            log.error({ ticketId: ticket.id, err }, "auto-execution failed to start");
          }),
        );
      }
    }
    // The batch's sessions start together, so their writes share commits; the caller still
    // hears back only once every one of them is stored.
    await Promise.all(starts);
  }

  async function prepare(
    inputs: readonly (ValidTicketInput | CsvRowInput)[],
    autoExecute: boolean,
    receivedAt: (i: number) => string | undefined = () => undefined,
    submittedBy: (i: number) => string | null = () => null,
    options: PrepareOptions = {},
  ): Promise<PreparedStore> {
    const now = ctx.nowIso();
    // Normalized and fingerprinted once; a repeat of an open ticket (or of an earlier input of
    // this batch) is only a counter update for the store, so it is not analyzed at all.
    const identified = inputs.map((input) => analyzer.identify(subjectOf(input)));
    const folding = await openFingerprints(
      identified.map((x) => x.fingerprint).filter((fp) => recent.has(fp) && !options.folding?.has(fp)),
      now,
    );
    for (const fingerprint of options.folding ?? []) folding.add(fingerprint);
    /** Per input: the place of its analysis in `analyzed`, or -1 when it folds. */
    const at: number[] = [];
    const toAnalyze: Identity[] = [];
    for (const identity of identified) {
      if (folding.has(identity.fingerprint)) {
        at.push(-1);
        continue;
      }
      folding.add(identity.fingerprint);
      at.push(toAnalyze.length);
      toAnalyze.push(identity);
    }
    const analyzed =
      toAnalyze.length === 0 ? Promise.resolve([]) : (options.analyze ?? analyzeBatch)(toAnalyze);
    // Awaited by `commit`; marked handled so a failure before then is not "unhandled".
    analyzed.catch(() => undefined);
    return {
      fingerprints: identified.map((x) => x.fingerprint),
      async commit(consumeIntake) {
        const outcomes = await analyzed;
        // Stored as of the write (analysis in a worker may have taken a while).
        const now = ctx.nowIso();
        const docs: NewDoc<Ticket>[] = identified.map(({ ticket, fingerprint }, i) => {
          const place = at[i] as number;
          if (place < 0)
            return docOf(ticket, fingerprint, null, receivedAt(i), now, autoExecute, submittedBy(i));
          const done = outcomes[place] as BatchOutcome;
          return docOf(
            done.ticket,
            done.fingerprint,
            done.analysis,
            receivedAt(i),
            now,
            autoExecute,
            submittedBy(i),
          );
        });
        const stored = await storage.ingestTickets(docs, {
          dedupeWindowMs: ctx.policy.dedupeWindowMs,
          now,
          ...(consumeIntake ? { consumeIntake } : {}),
        });
        for (let i = 0; i < stored.length; i++) {
          const outcome = stored[i]!;
          // Its open ticket closed (or aged out of the window) meanwhile: a ticket of its own, analyzed now.
          if (!outcome.deduplicated && outcome.ticket.analysis === null)
            stored[i] = await analyzeLate(outcome, autoExecute);
        }
        for (const { ticket } of stored) remember(ticket.fingerprint);
        await afterStore(stored, autoExecute);
        return stored;
      },
    };
  }

  async function store(
    inputs: readonly (ValidTicketInput | CsvRowInput)[],
    autoExecute: boolean,
    receivedAt: (i: number) => string | undefined = () => undefined,
    submittedBy: (i: number) => string | null = () => null,
    consumeIntake?: readonly number[],
  ): Promise<IngestResult[]> {
    if (inputs.length === 0) return [];
    return (await prepare(inputs, autoExecute, receivedAt, submittedBy)).commit(consumeIntake);
  }

  function validate(input: unknown, prefix = ""): ValidTicketInput {
    const parsed = TicketInput.safeParse(input);
    if (!parsed.success) throw invalid("the ticket is invalid", fieldErrors(parsed.error, prefix));
    return parsed.data;
  }

  return {
    subjectOf,
    docOf,
    analyzeLate,
    afterStore,
    prepare,
    store,

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
      const fields: FieldProblem[] = [];
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
  };
}

/**
 * The analysis as a ticket stores it: what the dashboard and the API show, without the trace
 * (`tickets.analysisTrace` recomputes it), keeping the normalize stage's notes when it changed
 * anything (the stored ticket is already normalized, so they cannot be recomputed). An analysis
 * whose decision the caller asked to carry out is marked (`autoExecuteRequested`) in the same
 * write that stores the ticket: if the process dies before the session starts, the next
 * `engine.start()` finds the ticket still `analyzed` and starts it.
 */
export function storedAnalysis(analysis: Analysis | null, autoExecute: boolean): Analysis | null {
  if (!analysis) return null;
  const { trace, ...stored } = analysis as Analysis;
  const normalized = trace?.find((entry) => entry.stage === normalizeStage.name)?.notes;
  if (normalized && normalized.length > 0) stored.normalized = [...normalized];
  if (autoExecute && stored.decision.action === "auto_execute") stored.autoExecuteRequested = true;
  return stored;
}

/**
 * A stored ticket as the analyzer's subject: its (normalized) fields, and the source's own
 * fingerprint when the ticket's fingerprint is one (`<source>:<fingerprint>`; a computed one is
 * hex and has no colon).
 */
export function storedSubject(ticket: Ticket): AnalysisSubject {
  const prefix = `${ticket.source}:`;
  return {
    title: ticket.title,
    description: ticket.description,
    severity: ticket.severity,
    environment: ticket.environment,
    service: ticket.service,
    source: ticket.source,
    externalId: ticket.externalId,
    sourceFingerprint: ticket.fingerprint.startsWith(prefix) ? ticket.fingerprint.slice(prefix.length) : null,
    metaData: ticket.metaData,
  };
}
