/**
 * The analysis pool: the built-in analyzer stages run in worker threads (`node:worker_threads`),
 * so a CSV import parses, folds and writes on the main thread while a worker analyzes its next
 * batch. Each worker builds its own runbook index from a snapshot of the engine's (records and
 * the parts of their plans the index reads, replayed in the order the engine indexed them), and
 * gets a fresh snapshot before its next batch whenever the engine's index changed: a batch is
 * matched against the runbooks current when it was sent. Messages are compact both ways: a
 * batch goes as one array of field tuples, its analyses come back as one JSON string.
 *
 * Workers start lazily (on the first batch) and are ended by `close()` (`engine.close()`). A
 * worker that crashes fails the batches it held with `RW_ERR_ANALYSIS_WORKER` (nothing of them
 * was stored); the next batch starts a new worker.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Analysis } from "../domain.js";
import { rwError } from "../errors.js";
import type { Policy } from "../policy.js";
import type { EngineRunbooks, RunbookIndexSnapshot } from "../runbooks.js";
import { type Analyzer, builtInStages } from "./index.js";
import { normalizeStage } from "./normalize.js";
import type { AnalysisSubject } from "./stage.js";

/** A subject as `identify` left it: normalized, fingerprinted, with the normalize stage's notes. */
export interface IdentifiedSubject {
  ticket: AnalysisSubject;
  fingerprint: string;
  normalizeNotes: readonly string[];
}

/**
 * One subject on the wire: title, description, severity, environment, service, source,
 * externalId, sourceFingerprint, metaData, fingerprint, and the normalize notes (only when the
 * trace is asked for).
 */
export type WireSubject = [
  string,
  string,
  AnalysisSubject["severity"],
  string,
  string,
  string,
  string | null,
  string | null,
  Record<string, unknown>,
  string,
  (readonly string[])?,
];

/** A message to a worker: a new index snapshot, or a batch to analyze. */
export type PoolRequest =
  | ({ type: "index" } & RunbookIndexSnapshot)
  | { type: "analyze"; id: number; analyzedAt: string; trace: boolean; items: WireSubject[] };

/** A worker's answer to a batch: its analyses as one JSON array, or why it failed. */
export type PoolReply = { id: number; json: string } | { id: number; error: string };

/** What a worker is started with: the policy's plain fields (thresholds). */
export interface PoolWorkerData {
  policy: Partial<Policy>;
}

/** Options of {@link createAnalysisPool}. */
export interface AnalysisPoolOptions {
  /** Worker threads at most (started as batches need them). */
  workers: number;
  /** The engine's policy: its plain fields are copied to each worker. */
  policy: Policy;
  /** Where snapshots of the runbook index come from. */
  runbooks: Pick<EngineRunbooks, "indexVersion" | "indexSnapshot">;
  logger: Logger;
}

/** Options of one batch. */
export interface PoolBatchOptions {
  /** Every analysis's `analyzedAt` (and its stages' `now()`). */
  analyzedAt: string;
  /** Return each analysis with its full trace. Default false: no trace. */
  trace?: boolean;
}

/** The worker threads of a pool (for tests: ending one shows how a crash is handled). */
export const poolThreads: unique symbol = Symbol("runwarden.analysisPool.threads");

/** Worker threads that analyze batches with the built-in stages (see the module comment). */
export interface AnalysisPool {
  /** Worker threads at most. */
  readonly size: number;
  /**
   * Analyzes identified subjects with the built-in stages, in order. Rejects with
   * `RW_ERR_ANALYSIS_WORKER` when the worker crashes or the pool closes meanwhile.
   */
  analyze(items: readonly IdentifiedSubject[], options: PoolBatchOptions): Promise<Analysis[]>;
  /** Ends every worker; batches in flight fail. Idempotent. */
  close(): Promise<void>;
  /** The live worker threads. */
  [poolThreads](): Worker[];
}

interface Thread {
  worker: Worker;
  /** Batches sent and not answered, by id. */
  pending: Map<number, { resolve(value: Analysis[]): void; reject(err: unknown): void; rows: number }>;
  /** Rows in flight (how busy it is). */
  rows: number;
  /** The index snapshot it holds (-1: none yet). */
  indexVersion: number;
  dead: boolean;
}

/**
 * The worker's module: `analysis-worker.js` beside the bundle once built (dist); from the sources
 * (vitest, tsx) `worker.ts`, started by a bootstrap that registers tsx's loader first (Node 20
 * does not apply `--import` hooks to a worker's entry).
 */
function workerEntry(): { entry: URL } | { entry: string; eval: true } {
  const built = new URL("./analysis-worker.js", import.meta.url);
  if (existsSync(built)) return { entry: built };
  const source = new URL("./worker.ts", import.meta.url).href;
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(
    /\.cjs$/,
    ".mjs",
  );
  return {
    entry: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
    eval: true,
  };
}

/** The policy's plain (cloneable) fields: functions stay on the main thread. */
function plainPolicy(policy: Policy): Partial<Policy> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(policy)) if (typeof value !== "function") out[key] = value;
  return out as Partial<Policy>;
}

/** Creates the pool; no thread starts before the first batch. */
export function createAnalysisPool(options: AnalysisPoolOptions): AnalysisPool {
  const log = options.logger.child({ component: "analysis-pool" });
  const size = Math.max(1, Math.floor(options.workers));
  const workerData: PoolWorkerData = { policy: plainPolicy(options.policy) };
  const threads: Thread[] = [];
  let snapshot: RunbookIndexSnapshot | undefined;
  let nextId = 1;
  let closed = false;

  function failed(thread: Thread, why: string, cause?: unknown): void {
    if (thread.dead) return;
    thread.dead = true;
    const at = threads.indexOf(thread);
    if (at >= 0) threads.splice(at, 1);
    if (thread.pending.size > 0)
      log.warn({ err: cause, batches: thread.pending.size }, "analysis worker failed");
    for (const request of thread.pending.values()) {
      request.reject(
        rwError("RW_ERR_ANALYSIS_WORKER", `an analysis worker thread ${why} while analyzing a batch`, {
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    }
    thread.pending.clear();
  }

  function spawn(): Thread {
    const { entry, ...rest } = workerEntry();
    const worker = new Worker(entry, { workerData, ...rest });
    const thread: Thread = { worker, pending: new Map(), rows: 0, indexVersion: -1, dead: false };
    worker.on("message", (reply: PoolReply) => {
      const request = thread.pending.get(reply.id);
      if (!request) return;
      thread.pending.delete(reply.id);
      thread.rows -= request.rows;
      // An idle worker does not keep the process alive; a busy one does (its caller waits).
      if (thread.pending.size === 0) worker.unref();
      if ("error" in reply) {
        request.reject(
          rwError("RW_ERR_ANALYSIS_WORKER", `analysis failed in a worker thread: ${reply.error}`),
        );
      } else request.resolve(JSON.parse(reply.json) as Analysis[]);
    });
    worker.on("error", (err) => failed(thread, "crashed", err));
    worker.on("exit", (code) =>
      failed(thread, closed ? "was stopped (the engine closed)" : `exited (code ${code})`),
    );
    worker.unref();
    threads.push(thread);
    log.debug({ threads: threads.length }, "analysis worker started");
    return thread;
  }

  /** The least busy thread, a new one while there are fewer than `size` and all are busy. */
  function pick(): Thread {
    let best: Thread | undefined;
    for (const thread of threads) if (!best || thread.rows < best.rows) best = thread;
    if (!best || (best.rows > 0 && threads.length < size)) return spawn();
    return best;
  }

  return {
    size,
    async analyze(items, batch) {
      if (closed) throw rwError("RW_ERR_ANALYSIS_WORKER", "the analysis pool is closed (the engine closed)");
      if (items.length === 0) return [];
      const version = await options.runbooks.indexVersion();
      if (snapshot?.version !== version) snapshot = await options.runbooks.indexSnapshot();
      if (closed) throw rwError("RW_ERR_ANALYSIS_WORKER", "the analysis pool is closed (the engine closed)");
      const current = snapshot;
      const trace = batch.trace === true;
      const wire: WireSubject[] = items.map(({ ticket: t, fingerprint, normalizeNotes }) => {
        const tuple: WireSubject = [
          t.title,
          t.description,
          t.severity,
          t.environment,
          t.service,
          t.source,
          t.externalId,
          t.sourceFingerprint,
          t.metaData,
          fingerprint,
        ];
        if (trace) tuple.push(normalizeNotes);
        return tuple;
      });
      // Picked and posted in one turn: a thread that dies later fails this batch through `pending`.
      const thread = pick();
      if (thread.indexVersion !== current.version) {
        thread.worker.postMessage({ type: "index", ...current } satisfies PoolRequest);
        thread.indexVersion = current.version;
      }
      const id = nextId++;
      const result = new Promise<Analysis[]>((resolve, reject) =>
        thread.pending.set(id, { resolve, reject, rows: items.length }),
      );
      thread.rows += items.length;
      thread.worker.ref();
      try {
        thread.worker.postMessage({
          type: "analyze",
          id,
          analyzedAt: batch.analyzedAt,
          trace,
          items: wire,
        } satisfies PoolRequest);
      } catch (err) {
        // Not sent (a value that cannot be cloned): the batch fails on its own, the thread lives on.
        const request = thread.pending.get(id);
        thread.pending.delete(id);
        thread.rows -= items.length;
        if (thread.pending.size === 0) thread.worker.unref();
        request?.reject(
          rwError("RW_ERR_ANALYSIS_WORKER", "a batch could not be sent to an analysis worker", {
            cause: err,
          }),
        );
      }
      return result;
    },
    async close() {
      closed = true;
      const ending = threads.map((thread) => thread.worker.terminate());
      await Promise.allSettled(ending);
    },
    [poolThreads]() {
      return threads.map((thread) => thread.worker);
    },
  };
}

/** True when `analyzer` runs exactly the built-in stages (what a worker can run). */
export function runsBuiltInStagesOnly(analyzer: Pick<Analyzer, "stages">): boolean {
  return (
    analyzer.stages.length === builtInStages.length &&
    analyzer.stages.every((stage, i) => stage === builtInStages[i])
  );
}

/** What {@link AnalyzeBatch} returns per subject: as the analyzer's outcome, the trace possibly cut. */
export interface BatchOutcome {
  ticket: AnalysisSubject;
  fingerprint: string;
  /** The analysis; its trace holds at least the normalize stage's entry (what a stored ticket keeps). */
  analysis: Analysis;
}

/** Analyzes identified subjects in order (see {@link batchAnalyzer}). */
export type AnalyzeBatch = (items: readonly IdentifiedSubject[]) => Promise<BatchOutcome[]>;

/**
 * How intake analyzes a batch: in the pool when there is one and the analyzer runs only the
 * built-in stages (a host stage is a function of the main thread), each analysis timed when the
 * batch is sent (`now`); otherwise in-process, one subject after the other, as `analyze` does.
 */
export function batchAnalyzer(
  analyzer: Analyzer,
  pool: AnalysisPool | undefined,
  now: () => string,
): AnalyzeBatch {
  if (pool && runsBuiltInStagesOnly(analyzer)) {
    return async (items) => {
      const analyses = await pool.analyze(items, { analyzedAt: now() });
      return items.map(({ ticket, fingerprint, normalizeNotes }, i) => {
        const analysis = analyses[i] as Analysis;
        analysis.trace = [{ stage: normalizeStage.name, notes: [...normalizeNotes] }];
        return { ticket, fingerprint, analysis };
      });
    };
  }
  return async (items) => {
    const out: BatchOutcome[] = [];
    for (const { ticket, fingerprint, normalizeNotes } of items)
      out.push(await analyzer.analyze(ticket, { fingerprint, normalizeNotes }));
    return out;
  };
}
