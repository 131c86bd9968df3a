/**
 * CSV import: streams a file into tickets in flat memory. Good rows are analyzed and stored in
 * batches; a row whose fingerprint this import already stored waits with its repeats and is folded
 * in one write per ticket; each refused row is reported with its data row and line.
 */
import type { Analyzer } from "../analyzer/index.js";
import { normalizeSeverity } from "../analyzer/normalize.js";
import type { AnalysisSubject } from "../analyzer/stage.js";
import { flapReason, type Ticket } from "../domain.js";
import type { EngineContext } from "../internal/context.js";
import { readTicketCsv } from "../internal/csv.js";
import type { NewDoc } from "../storage.js";
import type { Intake } from "./intake.js";
import type {
  CsvImportResult,
  CsvRowError,
  CsvRowOutcome,
  CsvRowOutcomeKind,
  ImportProgress,
  IngestResult,
  TicketsApi,
} from "./types.js";

/** Fingerprints an import remembers to skip analyzing repeats (bounded: flat memory). */
const maxSeenFingerprints = 20_000;
/** Repeats an import holds before folding them (distinct fingerprints, rows): flat memory. */
const maxPendingRepeats = 5_000;
const maxPendingRepeatRows = 50_000;

/** Creates `importCsv`. */
export function createCsvImport(
  ctx: EngineContext,
  deps: { analyzer: Analyzer; intake: Intake },
): TicketsApi["importCsv"] {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage, events } = ctx;
  const { analyzer, intake } = deps;
  const { afterStore, analyzeLate, docOf, subjectOf } = intake;

  return async function importCsv(source, options = {}): Promise<CsvImportResult> {
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
    /** Per stored row (same positions as `ticketIds`): its data row, line and outcome. */
    let rowOutcomes: CsvRowOutcome[] | undefined = [];
    /** Data row and line of each good row, by position, while `rowOutcomes` is kept. */
    let places: { row: number; line: number }[] | undefined = [];
    let accepted = 0;
    const seen = new Set<string>();
    let batch: {
      subject: AnalysisSubject;
      fingerprint: string;
      normalizeNotes: readonly string[];
      position: number;
    }[] = [];
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
        const position = positions[i] as number;
        if (ticketIds) ticketIds[position] = ticket.id;
        const place = places?.[position];
        if (rowOutcomes && place) {
          const outcome: CsvRowOutcomeKind = !deduplicated
            ? "imported"
            : ticket.status === "needs_human" && ticket.statusReason === flapReason
              ? "reopened"
              : "folded";
          rowOutcomes[position] = { ...place, ticketId: ticket.id, outcome };
        }
      }
    };
    const flush = async () => {
      if (batch.length === 0) return;
      const now = ctx.nowIso();
      const docs: NewDoc<Ticket>[] = [];
      for (const { subject, fingerprint: known, normalizeNotes } of batch) {
        // `identify` normalized and fingerprinted the row: neither is done again.
        const { ticket, fingerprint, analysis } = await analyzer.analyze(subject, {
          fingerprint: known,
          normalizeNotes,
        });
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
          if (accepted > maxTicketIds) {
            ticketIds = undefined;
            rowOutcomes = undefined;
            places = undefined;
          }
          if (places) places[position] = { row: verdict.row, line: verdict.line };
          const { ticket, fingerprint, normalizeNotes } = analyzer.identify(subjectOf(verdict.input));
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
            batch.push({ subject: ticket, fingerprint, normalizeNotes, position });
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
      ...(rowOutcomes ? { outcomes: rowOutcomes } : {}),
    };
  };
}
