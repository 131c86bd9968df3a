/**
 * CSV import: streams a file into tickets in flat memory. Good rows are analyzed and stored in
 * batches; a row whose fingerprint this import already stored waits with its repeats and is folded
 * in one write per ticket; each refused row is reported with its data row and line.
 *
 * With the intake queue on, the import is durable: the whole file is first stored as intake
 * entries (chunks of whole rows with their row numbers, then a summary with the bad rows), and
 * each chunk is stored as tickets by one write that also removes its entry, folding repeats
 * within the chunk and into the open tickets earlier chunks stored. A process killed midway
 * leaves the unconsumed chunks queued; the next `start()` finishes them (`import:resumed`).
 */
import { randomUUID } from "node:crypto";
import type { Analyzer } from "../analyzer/index.js";
import { normalizeSeverity } from "../analyzer/normalize.js";
import { type AnalysisPool, type BatchOutcome, batchAnalyzer } from "../analyzer/pool.js";
import type { AnalysisSubject } from "../analyzer/stage.js";
import { flapReason, type Ticket } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { type CsvRowInput, readTicketCsv } from "../internal/csv.js";
import { HeldLease } from "../internal/held-lease.js";
import type { IntakeBounds, IntakeEntry, NewDoc } from "../storage.js";
import type { Intake, PreparedStore } from "./intake.js";
import type {
  CsvImportResult,
  CsvRowError,
  CsvRowOutcome,
  CsvRowOutcomeKind,
  ImportProgress,
  IngestResult,
  TicketsApi,
} from "./types.js";

/** Batches of a direct import in analysis or waiting for their write at once (bounded memory). */
const pipelineDepth = 2;
/** Fingerprints an import remembers to skip analyzing repeats (bounded: flat memory). */
const maxSeenFingerprints = 20_000;
/** Repeats an import holds before folding them (distinct fingerprints, rows): flat memory. */
const maxPendingRepeats = 5_000;
const maxPendingRepeatRows = 50_000;

/** A chunk of a durable import as stored (an intake entry of kind `csv`). */
interface CsvChunkPayload {
  /** The chunk's good rows, in file order, with their data row and line. */
  rows: { row: number; line: number; input: CsvRowInput }[];
  /** Data rows the chunk spans, good and bad. */
  spans: number;
  /** Bad rows among them. */
  rejected: number;
  autoExecute: boolean;
  submittedBy: string | null;
}

/** The last entry of a durable import: its totals and bad rows. */
interface CsvSummaryPayload {
  summary: true;
  rows: number;
  rejected: number;
  errors: CsvRowError[];
  errorsTruncated: boolean;
}

/** A CSV import's entries are never refused by the queue's bounds (they count toward them). */
const unbounded: IntakeBounds = {
  maxEntries: Number.MAX_SAFE_INTEGER,
  maxBytes: Number.MAX_SAFE_INTEGER,
  maxSourceEntries: Number.MAX_SAFE_INTEGER,
  maxSourceBytes: Number.MAX_SAFE_INTEGER,
};

/** The intake source of a durable import's entries. */
const csvSourcePrefix = "csv:";

/**
 * The named lease of a durable import (shared store): held by the instance importing it, then by
 * the one instance that resumes it once that one is gone.
 */
export const csvImportLeaseName = (importId: string) => `csv-import:${importId}`;

/** `importCsv`, and `resume` for the durable imports a previous process left unfinished. */
export type CsvImport = TicketsApi["importCsv"] & {
  /**
   * Stores the chunks of durable imports no import of this process owns, then reports each;
   * stops between chunks once `stopping()` is true. With a shared store, only imports whose
   * lease (`csvImportLeaseName`) it takes: the importing instance holds it while it lives, so
   * each unfinished import is resumed, and `import:resumed` reported, by one instance.
   */
  resume(stopping?: () => boolean): Promise<void>;
};

/**
 * Creates `importCsv`; with `durable` (the intake queue on) imports go through the queue and
 * `resume` finishes what a killed process left.
 */
export function createCsvImport(
  ctx: EngineContext,
  deps: {
    analyzer: Analyzer;
    intake: Intake;
    durable?: boolean;
    /** Analysis worker threads (`analysis.workers`): imports analyze there while they write. */
    pool?: AnalysisPool | undefined;
  },
): CsvImport {
  const log = ctx.logger.child({ component: "tickets" });
  const { storage, events } = ctx;
  const { analyzer, intake } = deps;
  const { afterStore, analyzeLate, docOf, subjectOf } = intake;
  const analyzeBatch = batchAnalyzer(analyzer, deps.pool, () => ctx.nowIso());
  /** Imports running in this process (their entries are theirs, not resumed). */
  const active = new Set<string>();

  /**
   * Reads a chunk and prepares its write: its rows identified and sent to analysis (`folding`:
   * fingerprints the chunk before it, still being written, will have stored).
   */
  async function prepareChunk(
    entry: IntakeEntry,
    folding?: ReadonlySet<string>,
  ): Promise<{ chunk: CsvChunkPayload; prepared: PreparedStore | undefined }> {
    const chunk = JSON.parse(entry.payload) as CsvChunkPayload;
    if (chunk.rows.length === 0) return { chunk, prepared: undefined };
    const prepared = await intake.prepare(
      chunk.rows.map((r) => r.input),
      chunk.autoExecute,
      undefined,
      () => chunk.submittedBy,
      { analyze: analyzeBatch, ...(folding ? { folding } : {}) },
    );
    return { chunk, prepared };
  }

  /**
   * Stores a prepared chunk's rows as tickets with the write that removes its entry. Undefined
   * when the entry is gone (another instance stored it).
   */
  async function commitChunk(
    entry: IntakeEntry,
    prepared: PreparedStore | undefined,
  ): Promise<IngestResult[] | undefined> {
    try {
      if (!prepared) {
        await storage.completeIntake([entry.id]);
        return [];
      }
      return await prepared.commit([entry.id]);
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT" && err.details?.reason === "intake")
        return undefined;
      throw err;
    }
  }

  /** Stores one chunk's rows as tickets (see `commitChunk`). */
  async function storeChunk(entry: IntakeEntry): Promise<IngestResult[] | undefined> {
    return commitChunk(entry, (await prepareChunk(entry)).prepared);
  }

  /** The pending entry `id`, or undefined when it is no longer queued. */
  async function pendingEntry(id: number): Promise<IntakeEntry | undefined> {
    const [entry] = await storage.pendingIntake({ afterId: id - 1, limit: 1, kind: "csv" });
    return entry?.id === id ? entry : undefined;
  }

  /** Shared store: the imports nobody holds, claimed under their leases (none of this process's). */
  async function claimImports(): Promise<Map<string, HeldLease>> {
    const claimed = new Map<string, HeldLease>();
    const { sources } = await storage.intakeDepth();
    for (const source of Object.keys(sources)) {
      if (!source.startsWith(csvSourcePrefix)) continue;
      const importId = source.slice(csvSourcePrefix.length);
      if (active.has(importId)) continue;
      const lease = importLease(importId);
      if (await lease.take()) claimed.set(importId, lease);
    }
    return claimed;
  }

  function importLease(importId: string): HeldLease {
    return new HeldLease(ctx, csvImportLeaseName(importId), Math.max(300, ctx.policy.leaseTtlMs), log);
  }

  async function resume(stopping: () => boolean = () => false): Promise<void> {
    const claimed = storage.shared ? await claimImports() : undefined;
    if (claimed?.size === 0) return;
    try {
      await resumeClaimed(stopping, claimed);
    } finally {
      for (const lease of claimed?.values() ?? []) await lease.release();
    }
  }

  async function resumeClaimed(
    stopping: () => boolean,
    claimed: Map<string, HeldLease> | undefined,
  ): Promise<void> {
    // The entry ids of each unfinished import, in order (payloads are read again one at a time).
    const imports = new Map<string, number[]>();
    let afterId = 0;
    for (;;) {
      if (stopping()) return;
      const page = await storage.pendingIntake({ afterId, limit: 16, kind: "csv" });
      if (page.length === 0) break;
      afterId = page.at(-1)!.id;
      for (const entry of page) {
        if (entry.kind !== "csv") continue;
        const importId = entry.source.slice(csvSourcePrefix.length);
        if (active.has(importId) || (claimed && !claimed.has(importId))) continue;
        imports.set(importId, [...(imports.get(importId) ?? []), entry.id]);
      }
    }
    for (const [importId, ids] of imports) {
      if (active.has(importId)) continue;
      const lease = claimed?.get(importId);
      active.add(importId);
      try {
        const counts = { imported: 0, deduplicated: 0 };
        log.info({ importId, entries: ids.length }, "resuming an unfinished csv import");
        for (const id of ids) {
          if (stopping()) return;
          // Lost (this process stalled past it): the instance that took it over finishes the import.
          if (lease && !(await lease.confirm())) break;
          const entry = await pendingEntry(id);
          if (!entry) continue;
          const parsed = JSON.parse(entry.payload) as CsvChunkPayload | CsvSummaryPayload;
          if ("summary" in parsed) {
            await storage.completeIntake([entry.id]);
            const { rows, rejected, errors, errorsTruncated } = parsed;
            events.emit("import:resumed", { importId, rows, rejected, errors, errorsTruncated, ...counts });
            events.emit("import:finished", { rows, rejected, ...counts });
            log.info({ importId, rows, rejected, ...counts }, "csv import resumed and finished");
            continue;
          }
          for (const { deduplicated } of (await storeChunk(entry)) ?? []) {
            if (deduplicated) counts.deduplicated++;
            else counts.imported++;
          }
        }
      } finally {
        active.delete(importId);
      }
    }
  }

  const importCsv: TicketsApi["importCsv"] = async function importCsv(
    source,
    options = {},
  ): Promise<CsvImportResult> {
    if (deps.durable) return importDurably(source, options);
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
    /**
     * The write of the batch sent last (after the writes before it): not awaited by `flush`, so
     * the rows after it are read, identified and folded while it is analyzed (in a worker with
     * `analysis.workers`). A failed write fails the next `flush` or `drain`.
     */
    let writing: Promise<void> = Promise.resolve();
    /** The writes of the batches sent and not yet awaited, oldest first. */
    const inFlight: Promise<void>[] = [];
    const write = async (rows: typeof batch, outcomes: readonly BatchOutcome[]) => {
      const now = ctx.nowIso();
      const docs = outcomes.map(({ ticket, fingerprint, analysis }) =>
        docOf(ticket, fingerprint, analysis, undefined, now, autoExecute, submittedBy),
      );
      const stored = await storage.ingestTickets(docs, { dedupeWindowMs: ctx.policy.dedupeWindowMs, now });
      await afterStore(stored, autoExecute);
      record(
        stored,
        rows.map((row) => row.position),
      );
    };
    /** Sends the batch to analysis and waits for the write of the one before it (a pipeline). */
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      // `identify` normalized and fingerprinted each row: neither is done again.
      const analyzed = analyzeBatch(
        rows.map(({ subject, fingerprint, normalizeNotes }) => ({
          ticket: subject,
          fingerprint,
          normalizeNotes,
        })),
      );
      const before = writing;
      writing = (async () => {
        const outcomes = await analyzed;
        await before;
        await write(rows, outcomes);
      })();
      // Awaited by a later flush or drain; marked handled so a failure meanwhile is not "unhandled".
      writing.catch(() => undefined);
      // Up to `pipelineDepth` batches in analysis or waiting to be written: reading goes on while
      // the worker is behind by a batch, and the worker while a write is slow.
      inFlight.push(writing);
      while (inFlight.length > pipelineDepth) await inFlight.shift();
    };
    /** Every batch analyzed and written. */
    const drain = async () => {
      await flush();
      await writing;
      inFlight.length = 0;
    };
    const flushRepeats = async () => {
      // The tickets the repeats fold into are stored first.
      await drain();
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

    try {
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
            // Progress counts stored rows: the pending batch is sent on, and the one before it
            // stored first (batches in analysis, and repeats still waiting to be folded, are
            // counted once they are stored).
            await flush();
            lastProgress = counts.rows;
            report(false);
          }
        },
      );
    } catch (err) {
      // Nothing keeps writing once the import has failed.
      await writing.catch(() => undefined);
      throw err;
    }
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

  /** The import through the intake queue: the file made durable in chunks, then stored chunk by chunk. */
  async function importDurably(
    source: Parameters<TicketsApi["importCsv"]>[0],
    options: NonNullable<Parameters<TicketsApi["importCsv"]>[1]>,
  ): Promise<CsvImportResult> {
    const chunkSize = Math.max(1, options.batchSize ?? 500);
    const progressEvery = Math.max(1, options.progressEvery ?? 1_000);
    const maxErrors = options.maxErrors ?? 1_000;
    const maxTicketIds = options.maxTicketIds ?? 10_000;
    const autoExecute = options.autoExecute ?? false;
    const submittedBy = options.submittedBy ?? null;
    const importId = randomUUID();
    const entrySource = `${csvSourcePrefix}${importId}`;
    const counts: ImportProgress = { rows: 0, imported: 0, deduplicated: 0, rejected: 0 };
    const errors: CsvRowError[] = [];
    const started = performance.now();
    const ids: number[] = [];
    let chunk: CsvChunkPayload = { rows: [], spans: 0, rejected: 0, autoExecute, submittedBy };
    let rows = 0;
    let rejected = 0;
    let accepted = 0;
    const enqueue = async (payload: CsvChunkPayload | CsvSummaryPayload) => {
      const outcome = await storage.enqueueIntake(
        { source: entrySource, kind: "csv", payload: JSON.stringify(payload), receivedAt: ctx.nowIso() },
        unbounded,
      );
      if (outcome.accepted) ids.push(outcome.entry.id);
    };
    active.add(importId);
    // Shared store: held while this import runs, so no other instance resumes it meanwhile.
    const lease = storage.shared ? importLease(importId) : undefined;
    await lease?.take();
    try {
      // 1. The whole file durable, in chunks of whole rows (flat memory).
      try {
        await readTicketCsv(
          source,
          { defaultSource: options.source ?? "csv", severity: normalizeSeverity },
          async (verdict) => {
            rows++;
            chunk.spans++;
            if (verdict.ok) {
              accepted++;
              chunk.rows.push({ row: verdict.row, line: verdict.line, input: verdict.input });
            } else {
              rejected++;
              chunk.rejected++;
              if (errors.length < maxErrors)
                errors.push({ row: verdict.row, line: verdict.line, reason: verdict.reason });
            }
            if (chunk.spans >= chunkSize) {
              await enqueue(chunk);
              chunk = { rows: [], spans: 0, rejected: 0, autoExecute, submittedBy };
            }
          },
        );
        if (chunk.spans > 0) await enqueue(chunk);
        await enqueue({ summary: true, rows, rejected, errors, errorsTruncated: rejected > errors.length });
      } catch (err) {
        // Not accepted: nothing of it stays queued.
        if (ids.length > 0) await storage.completeIntake(ids);
        throw err;
      }
      // 2. Each chunk stored with the write that consumes it.
      const keep = accepted <= maxTicketIds;
      const ticketIds: number[] = [];
      const rowOutcomes: CsvRowOutcome[] = [];
      let lastProgress = 0;
      /** An entry read and, for a chunk, prepared; undefined when it is no longer queued. */
      const prepareEntry = async (
        id: number,
        folding?: ReadonlySet<string>,
      ): Promise<
        { entry: IntakeEntry; chunk?: CsvChunkPayload; prepared?: PreparedStore | undefined } | undefined
      > => {
        const entry = await pendingEntry(id);
        if (!entry) return undefined;
        // The summary entry: nothing to prepare.
        if ((JSON.parse(entry.payload) as Partial<CsvSummaryPayload>).summary) return { entry };
        return { entry, ...(await prepareChunk(entry, folding)) };
      };
      // A pipeline: chunk k+1 is read, identified and analyzed while chunk k is written.
      let next = ids.length > 0 ? prepareEntry(ids[0] as number) : Promise.resolve(undefined);
      for (let k = 0; k < ids.length; k++) {
        const current = await next;
        const following = ids[k + 1];
        const folding = current?.prepared && new Set(current.prepared.fingerprints);
        next = following === undefined ? Promise.resolve(undefined) : prepareEntry(following, folding);
        // Awaited at the next turn; marked handled so a failure of this chunk's write comes first.
        next.catch(() => undefined);
        if (!current) continue;
        const { entry } = current;
        if (!current.chunk) {
          await storage.completeIntake([entry.id]);
          continue;
        }
        const parsed = current.chunk;
        const outcomes = (await commitChunk(entry, current.prepared)) ?? [];
        parsed.rows.forEach(({ row, line }, i) => {
          const result = outcomes[i];
          if (!result) return;
          const { ticket, deduplicated } = result;
          if (deduplicated) counts.deduplicated++;
          else counts.imported++;
          if (!keep) return;
          ticketIds.push(ticket.id);
          const outcome: CsvRowOutcomeKind = !deduplicated
            ? "imported"
            : ticket.status === "needs_human" && ticket.statusReason === flapReason
              ? "reopened"
              : "folded";
          rowOutcomes.push({ row, line, ticketId: ticket.id, outcome });
        });
        counts.rows += parsed.spans;
        counts.rejected += parsed.rejected;
        if (counts.rows - lastProgress >= progressEvery) {
          lastProgress = counts.rows;
          const progress = { ...counts };
          events.emit("import:progressed", progress);
          options.onProgress?.(progress);
        }
      }
      const progress = { ...counts };
      events.emit("import:finished", progress);
      options.onProgress?.(progress);
      log.info({ ...counts, importId, ms: Math.round(performance.now() - started) }, "csv import finished");
      return {
        ...counts,
        errors,
        errorsTruncated: counts.rejected > errors.length,
        ...(keep ? { ticketIds, outcomes: rowOutcomes } : {}),
      };
    } finally {
      active.delete(importId);
      await lease?.release();
    }
  }

  return Object.assign(importCsv, { resume });
}
