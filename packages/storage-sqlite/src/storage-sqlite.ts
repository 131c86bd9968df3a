/**
 * The embedded SQLite store (better-sqlite3): one file, one process, no server. The default store
 * of the example server and of CSV imports.
 */

import { chmodSync, closeSync, existsSync, openSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type {
  BatchResult,
  ClaimOptions,
  Collection,
  CollectionName,
  ExecutionSession,
  IngestOptions,
  IngestOutcome,
  Logger,
  NewDoc,
  Signals,
  StepRecord,
  Storage,
  StoredTypes,
  Ticket,
} from "@runwarden/core";
import {
  createLocalSignals,
  decodeLease,
  encodeLease,
  foldableTicketStatuses,
  indexedFields,
  isRunwardenError,
  leaseKey,
  planIngest,
  rwError,
} from "@runwarden/core";
import BetterSqlite3 from "better-sqlite3";
import { SqliteIntakeQueue } from "./internal/intake-queue.js";
import { fingerprintKey, fingerprintKeyFunction, migrations } from "./internal/schema.js";
import { type Doc, type Row, SqliteTable, StatementCache } from "./internal/table.js";
import { createWriterProxy, type WriterWorkerData } from "./internal/writer-proxy.js";

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /**
   * The database file, created if missing; `":memory:"` for a throwaway store. The file and its
   * `-wal` and `-shm` companions are made readable by the owner only (mode 0600), an existing
   * file included: they hold tickets, step output and sealed credentials.
   */
  path: string;
  /** A pino logger (migrations are logged at info); default silent. */
  logger?: Logger;
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * Where writes commit. `"inline"` (the default): everything on the caller's thread.
   * `"worker"`: a worker thread owns the write connection, so COMMIT and WAL checkpoints never
   * run on the caller's event loop; reads run on the caller's thread on a connection of their
   * own. A `":memory:"` (or `file:` URI) store is always inline: a worker cannot share it. See
   * the README for when each is faster.
   */
  writer?: "worker" | "inline";
}

/** What the worker (and the main thread's read side) need beyond the public options. */
export interface InlineStoreHooks {
  /** Signals to use instead of new in-process ones (the worker forwards them to the main thread). */
  signals?: Signals & { close(): void };
  /** Called after each group commit, before its writes' promises settle. */
  afterCommit?: () => void;
  /** Turns SQLite's automatic checkpoint off on this connection (`wal_autocheckpoint = 0`). */
  manualCheckpoints?: boolean;
}

/** An inline store and its connection. */
export interface InlineStore {
  storage: Storage;
  db: BetterSqlite3.Database;
}

/** The schema version this build writes; a database with a higher one is refused. */
export const sqliteSchemaVersion = migrations.length;

const collectionNames = Object.keys(indexedFields) as CollectionName[];
/** Constant status names, so they can be part of the SQL text. */
const OPEN_STATUSES = foldableTicketStatuses.map((status) => `'${status}'`).join(", ");
/**
 * Tickets a repeat may fold into (open or just resolved) among a JSON list of fingerprint keys
 * (`fingerprintKey`) and the JSON list of those fingerprints, through the (fingerprint key, status)
 * index: never through the status index alone, which would scan every open ticket per batch.
 */
export const openTicketsSql = `SELECT id, version, data FROM tickets INDEXED BY tickets_fingerprint_key_status
  WHERE fingerprint_key IN (SELECT value FROM json_each(?)) AND status IN (${OPEN_STATUSES})
    AND fingerprint IN (SELECT value FROM json_each(?))`;

/**
 * WAL pages after which a commit checkpoints (SQLite's default: 1,000). A bulk ingest dirties the
 * same index pages commit after commit: with a larger WAL each is copied into the database once
 * per checkpoint rather than every few commits, and the checkpoint's fsyncs are fewer. Commits
 * are exactly as durable (WAL, `synchronous = NORMAL`); the WAL file grows to about 40 MB.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * Opens (or creates) a SQLite store and applies pending migrations. Throws
 * `RW_ERR_STORAGE_MIGRATION` when the file's schema is newer than this build, and
 * `RW_ERR_STORAGE_UNAVAILABLE` when the file cannot be opened.
 */
export function createSqliteStorage(options: SqliteStorageOptions): Storage {
  const writer = options?.writer;
  if (writer !== undefined && writer !== "worker" && writer !== "inline") {
    throw rwError("RW_ERR_CONFIG_INVALID", 'createSqliteStorage `writer` is "worker" or "inline"', {
      details: { issues: [{ path: ["writer"], message: 'expected "worker" or "inline"' }] },
    });
  }
  const inline = openInlineStore(options);
  if (!usesWorker(options)) return inline.storage;
  // The connection opened (and migrated) above serves the reads; it never commits again, and
  // never checkpoints: the worker does, between its batches.
  inline.db.pragma("wal_autocheckpoint = 0");
  return createWriterProxy({
    local: inline.storage,
    logger: options.logger?.child({ component: "storage-sqlite" }),
    ...writerWorkerEntry(),
    workerData: { path: options.path, busyTimeoutMs: options.busyTimeoutMs } satisfies WriterWorkerData,
  });
}

/** True when `options` ask for the worker writer on an on-disk file. */
function usesWorker(options: SqliteStorageOptions): boolean {
  const onDisk =
    typeof options?.path === "string" &&
    options.path !== "" &&
    options.path !== ":memory:" &&
    !options.path.startsWith("file:");
  return onDisk && options.writer === "worker";
}

/**
 * The worker's file: `writer-worker.js` beside this module once built (dist, or an installed
 * package). From the sources (vitest, tsx) the `.ts` file, started by a two-line bootstrap that
 * registers tsx's loader first (Node 20 does not apply `--import` hooks to a worker's entry).
 */
function writerWorkerEntry(): { entry: URL } | { entry: string; eval: true } {
  const built = new URL("./writer-worker.js", import.meta.url);
  if (existsSync(built)) return { entry: built };
  const source = new URL("./writer-worker.ts", import.meta.url).href;
  // tsx's ESM API (its `import` export sits beside the `require` one Node resolves here).
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(
    /\.cjs$/,
    ".mjs",
  );
  return {
    entry: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
    eval: true,
  };
}

/**
 * Opens the store with every statement on the calling thread: the `"inline"` writer, the
 * worker's own store, and the main thread's read side of the `"worker"` writer.
 */
export function openInlineStore(options: SqliteStorageOptions, hooks: InlineStoreHooks = {}): InlineStore {
  if (typeof options?.path !== "string" || options.path === "") {
    throw rwError("RW_ERR_CONFIG_INVALID", 'createSqliteStorage needs a `path` (a file, or ":memory:")', {
      details: { issues: [{ path: ["path"], message: "expected a non-empty string" }] },
    });
  }
  const logger = options.logger?.child({ component: "storage-sqlite" });
  let db: BetterSqlite3.Database;
  const onDisk = options.path !== ":memory:" && !options.path.startsWith("file:");
  try {
    // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm the file's mode.
    if (onDisk) ownerOnly(options.path, true);
    db = new BetterSqlite3(options.path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    db.pragma(`wal_autocheckpoint = ${hooks.manualCheckpoints ? 0 : WAL_AUTOCHECKPOINT_PAGES}`);
    db.function(fingerprintKeyFunction, { deterministic: true }, fingerprintKey);
  } catch (cause) {
    throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "Cannot open the SQLite database", { cause });
  }
  try {
    migrate(db, logger);
    if (onDisk) for (const suffix of ["-wal", "-shm"]) ownerOnly(`${options.path}${suffix}`, false);
  } catch (err) {
    db.close();
    throw err;
  }

  const statements = new StatementCache(db);
  const tables = Object.fromEntries(
    collectionNames.map((name) => [name, new SqliteTable(name, statements)]),
  ) as Record<CollectionName, SqliteTable>;
  const intake = new SqliteIntakeQueue(statements);
  const signals = hooks.signals ?? createLocalSignals(logger);
  let closed = false;

  function assertOpen(): void {
    if (closed) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "The SQLite store is closed");
  }

  /** Writes waiting for the next group commit, in call order. */
  let queued: { work: () => unknown; resolve(value: unknown): void; reject(err: unknown): void }[] = [];
  let flushScheduled = false;

  /**
   * Runs `work` synchronously (no await inside, so nothing interleaves) and maps driver errors
   * onto Runwarden codes. A read runs at once. A write is group-committed: the writes issued
   * during one turn of the event loop (say, several sessions' step results) share one IMMEDIATE
   * transaction, each in its own savepoint, so one that fails (a version conflict) rolls back
   * alone. Every write's promise settles only after the commit: resolved means durable, as before.
   */
  function run<R>(work: () => R, mode: "read" | "write" = "write"): Promise<R> {
    if (mode === "read") {
      try {
        assertOpen();
        // A read sees every write issued before it, as if each had run when it was called.
        flushWrites();
        return Promise.resolve(work());
      } catch (err) {
        return Promise.reject(mapError(err));
      }
    }
    try {
      assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<R>((resolve, reject) => {
      queued.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushWrites);
      }
    });
  }

  /** Runs a queued write; called inside the group's transaction, it is a savepoint of its own. */
  const inSavepoint = db.transaction((work: () => unknown) => work());

  /** Commits the queued writes together (see run), settling each once the commit is done. */
  function flushWrites(): void {
    flushScheduled = false;
    if (queued.length === 0) return;
    const batch = queued;
    queued = [];
    try {
      commit(batch);
    } finally {
      hooks.afterCommit?.();
    }
  }

  function commit(batch: typeof queued): void {
    if (batch.length === 1) {
      const [only] = batch;
      try {
        only!.resolve(inSavepoint.immediate(only!.work));
      } catch (err) {
        only!.reject(mapError(err));
      }
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const { work } of batch) {
          try {
            // Nested: a savepoint, rolled back alone when this write throws.
            outcomes.push({ ok: true, value: inSavepoint(work) });
          } catch (err) {
            // An error that ended the whole transaction fails the group: retried one by one below.
            if (!db.inTransaction) throw err;
            outcomes.push({ ok: false, err });
          }
        }
      }).immediate();
    } catch {
      // Nothing of the group was stored: each write gets its own transaction, as if alone.
      for (const { work, resolve, reject } of batch) {
        try {
          resolve(inSavepoint.immediate(work));
        } catch (err) {
          reject(mapError(err));
        }
      }
      return;
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(mapError(outcome.err));
    });
  }

  function collection<C extends CollectionName>(name: C, appendOnly = false): Collection<C> {
    type T = StoredTypes[C];
    const table = tables[name];
    const refuse = () =>
      Promise.reject(
        rwError("RW_ERR_STORAGE_APPEND_ONLY", `The ${name} collection is append-only`, {
          details: { entity: name },
        }),
      );
    return {
      insert: (doc) => run(() => table.insert(doc as Record<string, unknown>) as unknown as T),
      insertMany: (docs) =>
        run(() => docs.map((doc) => table.insert(doc as Record<string, unknown>)) as unknown as T[]),
      get: (id) => run(() => table.get(id) as unknown as T | undefined, "read"),
      update: (id, expectedVersion, changes) =>
        appendOnly
          ? refuse()
          : run(() => table.update(id, expectedVersion, changes as Record<string, unknown>) as unknown as T),
      delete: (id, expectedVersion) => (appendOnly ? refuse() : run(() => table.delete(id, expectedVersion))),
      find: (query) => run(() => table.find(query as never) as unknown as T[], "read"),
      count: (where) => run(() => table.count(where as never), "read"),
    };
  }

  const tickets = tables.tickets;
  const sessions = tables.sessions;

  const storage: Storage = {
    kind: "sqlite",
    shared: false,
    tickets: collection("tickets"),
    runbooks: collection("runbooks"),
    sessions: collection("sessions"),
    steps: collection("steps"),
    approvals: collection("approvals"),
    credentials: collection("credentials"),
    connections: collection("connections"),
    audit: collection("audit", true),
    outbox: collection("outbox"),
    tokens: collection("tokens"),
    webhookSources: collection("webhookSources"),
    connectorConfigs: collection("connectorConfigs"),

    ingestTickets(inputs: readonly NewDoc<Ticket>[], ingest: IngestOptions): Promise<IngestOutcome[]> {
      return run(() => {
        // First: an entry another caller stored meanwhile fails the batch before anything is written.
        intake.consume(ingest.consumeIntake ?? []);
        // One indexed query for the whole batch finds every open ticket it could fold into.
        const unique = [...new Set(inputs.map((input) => input.fingerprint))];
        const keys = JSON.stringify(unique.map(fingerprintKey));
        const open = new Map<string, Ticket[]>();
        const read = new Map<number, Doc>();
        for (const row of statements.get(openTicketsSql).all(keys, JSON.stringify(unique)) as Row[]) {
          const doc = tickets.toDoc(row);
          read.set(doc.id, doc);
          const ticket = doc as unknown as Ticket;
          open.set(ticket.fingerprint, [...(open.get(ticket.fingerprint) ?? []), ticket]);
        }
        const plan = planIngest(inputs, ingest, (fingerprint) => open.get(fingerprint) ?? []);
        const inserted = plan.inserts.map((doc) => tickets.insert(doc as unknown as Record<string, unknown>));
        // Fold targets were read above in this same transaction: write them without reading again.
        const updated = plan.updates.map((ticket) =>
          tickets.rewrite(ticket as unknown as Doc, read.get(ticket.id)),
        );
        // Each stored document is a fresh object: the first outcome naming it takes it, later ones
        // (repeats folded into it) a copy each, so that no two results alias.
        const handedOut = new Set<Doc>();
        return plan.outcomes.map(({ target, deduplicated }) => {
          const doc = "insert" in target ? inserted[target.insert]! : updated[target.update]!;
          const ticket = handedOut.has(doc) ? { ...doc } : doc;
          handedOut.add(doc);
          return { ticket: ticket as unknown as Ticket, deduplicated };
        });
      });
    },

    createSession(session, steps) {
      return run(() => {
        const stored = sessions.insert(session as unknown as Record<string, unknown>);
        const storedSteps = steps.map((step) => tables.steps.insert({ ...step, sessionId: stored.id }));
        return {
          session: stored as unknown as ExecutionSession,
          steps: storedSteps as unknown as StepRecord[],
        };
      });
    },

    batch(writes) {
      return run(() =>
        writes.map((write) => {
          const table = tables[write.collection];
          if ("insert" in write)
            return table.insert(write.insert as Record<string, unknown>) as unknown as BatchResult;
          if (write.collection === "audit") {
            throw rwError("RW_ERR_STORAGE_APPEND_ONLY", "The audit collection is append-only", {
              details: { entity: "audit" },
            });
          }
          const { id, expectedVersion, changes } = write.update;
          return table.update(
            id,
            expectedVersion,
            changes as Record<string, unknown>,
          ) as unknown as BatchResult;
        }),
      );
    },

    claimSessions(claim: ClaimOptions) {
      return run(() => {
        const now = parseTime(claim.now);
        const rows = statements
          .get(
            `UPDATE sessions SET lease_owner = ?, lease_expires_ms = ?
             WHERE id IN (SELECT id FROM sessions
               WHERE status IN (SELECT value FROM json_each(?))
                 AND (lease_owner IS NULL OR lease_expires_ms <= ?)
               ORDER BY id LIMIT ?)
             RETURNING id, version, data, lease_owner, lease_expires_ms`,
          )
          .all(
            claim.owner,
            now + claim.ttlMs,
            JSON.stringify(claim.statuses),
            now,
            Math.max(0, claim.limit),
          ) as Doc[];
        return rows
          .map((row) => sessions.toDoc(row as never) as unknown as ExecutionSession)
          .sort((a, b) => a.id - b.id);
      });
    },

    renewLease(sessionId, owner, ttlMs, now) {
      return run(() => {
        const at = parseTime(now);
        const sql = `UPDATE sessions SET lease_expires_ms = ?
          WHERE id = ? AND lease_owner = ? AND lease_expires_ms > ?`;
        return statements.get(sql).run(at + ttlMs, sessionId, owner, at).changes === 1;
      });
    },

    async releaseLease(sessionId, owner) {
      await run(() => {
        const sql =
          "UPDATE sessions SET lease_owner = NULL, lease_expires_ms = NULL WHERE id = ? AND lease_owner = ?";
        statements.get(sql).run(sessionId, owner);
      });
    },

    enqueueIntake(entry, bounds) {
      return run(() => intake.enqueue(entry, bounds));
    },

    pendingIntake({ afterId = 0, limit, kind }) {
      return run(() => intake.pending(afterId, limit, kind), "read");
    },

    async completeIntake(ids) {
      await run(() => intake.complete(ids));
    },

    intakeDepth() {
      return run(() => intake.depth(), "read");
    },

    getValue(key) {
      return run(
        () => statements.get("SELECT value FROM kv WHERE key = ?").pluck().get(key) as string | undefined,
        "read",
      );
    },

    async setValue(key, value) {
      await run(() => {
        const sql =
          "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        statements.get(sql).run(key, String(value));
      });
    },

    leases: {
      acquire(name, owner, ttlMs, now) {
        return run(() => {
          const at = parseTime(now);
          // One statement: free, expired or our own lease is (re)written; anyone else's is kept.
          const sql = `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
            WHERE json_extract(kv.value, '$.expiresMs') <= ? OR json_extract(kv.value, '$.owner') = ?`;
          return (
            statements.get(sql).run(leaseKey(name), encodeLease(owner, at + ttlMs), at, owner).changes === 1
          );
        });
      },
      async release(name, owner) {
        await run(() => {
          const sql = "DELETE FROM kv WHERE key = ? AND json_extract(value, '$.owner') = ?";
          statements.get(sql).run(leaseKey(name), owner);
        });
      },
      get(name) {
        return run(
          () =>
            decodeLease(
              statements.get("SELECT value FROM kv WHERE key = ?").pluck().get(leaseKey(name)) as
                | string
                | undefined,
            ),
          "read",
        );
      },
    },

    signals: {
      publish: async (topic, payload) => {
        assertOpen();
        await signals.publish(topic, payload);
      },
      subscribe: (topic, listener) => {
        assertOpen();
        return signals.subscribe(topic, listener);
      },
    },

    async close() {
      if (closed) return;
      // Writes already issued are committed (and answered) before the file closes.
      flushWrites();
      closed = true;
      signals.close();
      db.close();
    },
  };
  return { storage, db };
}

/** Applies pending migrations, each in its own write transaction with the version re-read inside. */
function migrate(db: BetterSqlite3.Database, logger: Logger | undefined): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  const found = version();
  if (found > migrations.length) {
    throw rwError("RW_ERR_STORAGE_MIGRATION", "The SQLite database was written by a newer Runwarden", {
      details: { schemaVersion: found, supported: migrations.length },
    });
  }
  for (let next = found + 1; next <= migrations.length; next++) {
    try {
      db.transaction(() => {
        if (version() >= next) return; // another process migrated meanwhile
        db.exec(migrations[next - 1]!);
        db.pragma(`user_version = ${next}`);
      }).immediate();
    } catch (cause) {
      throw rwError("RW_ERR_STORAGE_MIGRATION", "A SQLite schema migration failed", {
        cause,
        details: { migration: next },
      });
    }
    logger?.info({ schemaVersion: next }, "schema migrated");
  }
}

function mapError(err: unknown): unknown {
  if (isRunwardenError(err)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return err;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    return rwError("RW_ERR_STORAGE_CONFLICT", "A unique key is already taken", {
      cause: err,
      details: { reason: "unique" },
    });
  }
  if (code.startsWith("SQLITE_CONSTRAINT") || code === "SQLITE_MISMATCH" || code === "SQLITE_TOOBIG") {
    return rwError("RW_ERR_INPUT_INVALID", "The document does not fit the store's schema", {
      cause: err,
      details: { fields: [{ field: "document", message: code }] },
    });
  }
  if (code.startsWith("SQLITE_")) {
    return rwError("RW_ERR_STORAGE_UNAVAILABLE", "The SQLite database failed", {
      cause: err,
      details: { code },
    });
  }
  return err;
}

function parseTime(iso: string): number {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) {
    throw rwError("RW_ERR_INPUT_INVALID", "Expected an ISO timestamp", {
      details: { fields: [{ field: "now", message: "must be an ISO timestamp" }] },
    });
  }
  return at;
}

/**
 * Makes `path` readable and writable by its owner only: creates it empty with mode 0600 when
 * `create` and it is missing, and takes group and other bits off an existing file.
 */
function ownerOnly(path: string, create: boolean): void {
  if (!existsSync(path)) {
    if (create) closeSync(openSync(path, "a", 0o600));
    return;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}
