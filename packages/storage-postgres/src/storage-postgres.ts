/**
 * The PostgreSQL store: several engine instances share one database, claim sessions with leases
 * (`FOR UPDATE SKIP LOCKED`) and wake each other with LISTEN/NOTIFY.
 */
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
  StepRecord,
  Storage,
  StoredTypes,
  Ticket,
} from "@runwarden/core";
import {
  decodeLease,
  encodeLease,
  foldableTicketStatuses,
  indexedFields,
  isRunwardenError,
  leaseKey,
  planIngest,
  rwError,
} from "@runwarden/core";
import pg from "pg";
import {
  completeIntake,
  consumeIntake,
  enqueueIntake,
  intakeDepth,
  pendingIntake,
} from "./internal/intake-queue.js";
import { migrations } from "./internal/schema.js";
import { PgSignals } from "./internal/signals.js";
import { type Doc, PgTable, type Queryable } from "./internal/table.js";

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /** `postgres://user:password@host:5432/database`; never logged or put in errors. */
  connectionString: string;
  /** Pool sizing (see node-postgres `Pool`). */
  pool?: { max?: number; idleTimeoutMillis?: number; connectionTimeoutMillis?: number };
  /** Server-side limit for any one statement. Default 30,000 ms. */
  statementTimeoutMs?: number;
  /** A pino logger; default silent. */
  logger?: Logger;
}

/** The schema version this build writes; a database with a higher one is refused. */
export const postgresSchemaVersion = migrations.length;

/** `pg_advisory_lock` key held while migrating ("rw-migr" and a zero byte in ASCII). */
const migrationLockKey = "8248111190495425024";
/** First of the advisory lock keys ingestion takes ("rw-ing" and two zero bytes in ASCII). */
const ingestLockKey = "8248111173399412736";
/** Ingests lock fingerprints in this many buckets (bounded lock-table use per transaction). */
const ingestLockBuckets = 64;

const collectionNames = Object.keys(indexedFields) as CollectionName[];

/**
 * Connects, applies pending migrations under an advisory lock (two instances starting together
 * migrate once) and returns the store. Throws `RW_ERR_STORAGE_UNAVAILABLE` when the database
 * cannot be reached and `RW_ERR_STORAGE_MIGRATION` when its schema is newer than this build.
 */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  if (typeof options?.connectionString !== "string" || options.connectionString === "") {
    throw rwError("RW_ERR_CONFIG_INVALID", "createPostgresStorage needs a `connectionString`", {
      details: { issues: [{ path: ["connectionString"], message: "expected a non-empty string" }] },
    });
  }
  const logger = options.logger?.child({ component: "storage-postgres" });
  const clientConfig: pg.ClientConfig = {
    connectionString: options.connectionString,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    connectionTimeoutMillis: options.pool?.connectionTimeoutMillis ?? 10_000,
    application_name: "runwarden",
  };
  const pool = new pg.Pool({
    ...clientConfig,
    max: options.pool?.max ?? 10,
    idleTimeoutMillis: options.pool?.idleTimeoutMillis ?? 30_000,
  });
  // An idle client's connection dropped: the pool replaces it; without a handler it would crash the process.
  pool.on("error", (err) => logger?.warn({ err }, "idle database connection lost"));
  try {
    await migrate(pool, logger);
  } catch (err) {
    await pool.end().catch(() => {});
    throw startError(err, options.connectionString);
  }

  const tables = Object.fromEntries(collectionNames.map((name) => [name, new PgTable(name)])) as Record<
    CollectionName,
    PgTable
  >;
  let closed = false;
  const signals = new PgSignals(
    { ...clientConfig, statement_timeout: undefined },
    (topic, payload) =>
      run((q) => q.query("SELECT pg_notify($1, $2)", [topic, payload])).then(() => undefined),
    logger,
  );

  function assertOpen(): void {
    if (closed) throw rwError("RW_ERR_STORAGE_UNAVAILABLE", "The PostgreSQL store is closed");
  }

  /** One statement (or a few that need no atomicity) on any pooled connection. */
  async function run<R>(work: (q: Queryable) => Promise<R>): Promise<R> {
    assertOpen();
    try {
      return await work(pool as unknown as Queryable);
    } catch (err) {
      throw mapError(err);
    }
  }

  /** A transaction on one connection; rolled back when `work` throws. */
  async function transaction<R>(work: (q: Queryable) => Promise<R>): Promise<R> {
    assertOpen();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw mapError(err);
    }
    try {
      await client.query("BEGIN");
      const result = await work(client as unknown as Queryable);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw mapError(err);
    } finally {
      client.release();
    }
  }

  function collection<C extends CollectionName>(name: C, appendOnly = false): Collection<C> {
    type T = StoredTypes[C];
    const table = tables[name];
    const refuse = async (): Promise<never> => {
      assertOpen();
      throw rwError("RW_ERR_STORAGE_APPEND_ONLY", `The ${name} collection is append-only`, {
        details: { entity: name },
      });
    };
    return {
      insert: (doc) => run((q) => table.insert(q, doc as Record<string, unknown>)) as Promise<T>,
      insertMany: (docs) =>
        transaction((q) => table.insertMany(q, docs as unknown as Record<string, unknown>[])) as Promise<T[]>,
      get: (id) => run((q) => table.get(q, id)) as Promise<T | undefined>,
      update: (id, expectedVersion, changes) =>
        appendOnly
          ? refuse()
          : (run((q) =>
              table.update(q, id, expectedVersion, changes as Record<string, unknown>),
            ) as Promise<T>),
      delete: (id, expectedVersion) =>
        appendOnly ? refuse() : run((q) => table.delete(q, id, expectedVersion)),
      find: (query) => run((q) => table.find(q, query as never)) as Promise<T[]>,
      count: (where) => run((q) => table.count(q, where as never)),
    };
  }

  const tickets = tables.tickets;
  const sessions = tables.sessions;

  return {
    kind: "postgres",
    shared: true,
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
      return transaction(async (q) => {
        // First: entries another instance stored meanwhile fail the batch before anything is written.
        await consumeIntake(q, ingest.consumeIntake ?? []);
        const fingerprints = [...new Set(inputs.map((input) => input.fingerprint))];
        // Instances ingesting the same fingerprints take turns; buckets taken in order cannot deadlock.
        await q.query(
          `SELECT pg_advisory_xact_lock(${ingestLockKey}::bigint + b) FROM (
             SELECT DISTINCT hashtext(f)::bigint & ${ingestLockBuckets - 1} AS b FROM unnest($1::text[]) AS f ORDER BY b
           ) AS buckets`,
          [fingerprints],
        );
        const { rows } = await q.query(
          `SELECT id, version, data FROM rw_tickets WHERE fingerprint = ANY($1::text[]) AND status = ANY($2::text[])`,
          [fingerprints, foldableTicketStatuses],
        );
        const open = new Map<string, Ticket[]>();
        for (const row of rows) {
          const ticket = tickets.toDoc(row) as unknown as Ticket;
          open.set(ticket.fingerprint, [...(open.get(ticket.fingerprint) ?? []), ticket]);
        }
        const plan = planIngest(inputs, ingest, (fingerprint) => open.get(fingerprint) ?? []);
        const inserted = await tickets.insertMany(q, plan.inserts as unknown as Record<string, unknown>[]);
        const updated: Doc[] = [];
        for (const { id, version, ...changes } of plan.updates) {
          updated.push(await tickets.update(q, id, version, changes));
        }
        return plan.outcomes.map(({ target, deduplicated }) => ({
          ticket: {
            ...("insert" in target ? inserted[target.insert]! : updated[target.update]!),
          } as unknown as Ticket,
          deduplicated,
        }));
      });
    },

    createSession(session, steps) {
      return transaction(async (q) => {
        const stored = await sessions.insert(q, session as unknown as Record<string, unknown>);
        const storedSteps = await tables.steps.insertMany(
          q,
          steps.map((step) => ({ ...step, sessionId: stored.id })),
        );
        return {
          session: stored as unknown as ExecutionSession,
          steps: storedSteps as unknown as StepRecord[],
        };
      });
    },

    batch(writes) {
      return transaction(async (q) => {
        const stored: BatchResult[] = [];
        for (const write of writes) {
          const table = tables[write.collection];
          if ("insert" in write) {
            stored.push(
              (await table.insert(q, write.insert as Record<string, unknown>)) as unknown as BatchResult,
            );
            continue;
          }
          if (write.collection === "audit") {
            throw rwError("RW_ERR_STORAGE_APPEND_ONLY", "The audit collection is append-only", {
              details: { entity: "audit" },
            });
          }
          const { id, expectedVersion, changes } = write.update;
          stored.push(
            (await table.update(
              q,
              id,
              expectedVersion,
              changes as Record<string, unknown>,
            )) as unknown as BatchResult,
          );
        }
        return stored;
      });
    },

    claimSessions(claim: ClaimOptions) {
      return run(async (q) => {
        const now = parseTime(claim.now);
        const { rows } = await q.query(
          `UPDATE rw_sessions SET lease_owner = $1, lease_expires_ms = $2
           WHERE id IN (SELECT id FROM rw_sessions
             WHERE status = ANY($3::text[]) AND (lease_owner IS NULL OR lease_expires_ms <= $4)
             ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)
           RETURNING id, version, data, lease_owner, lease_expires_ms`,
          [claim.owner, now + claim.ttlMs, claim.statuses, now, Math.max(0, claim.limit)],
        );
        return rows
          .map((row) => sessions.toDoc(row) as unknown as ExecutionSession)
          .sort((a, b) => a.id - b.id);
      });
    },

    renewLease(sessionId, owner, ttlMs, now) {
      return run(async (q) => {
        const at = parseTime(now);
        const result = await q.query(
          `UPDATE rw_sessions SET lease_expires_ms = $1
           WHERE id = $2 AND lease_owner = $3 AND lease_expires_ms > $4`,
          [at + ttlMs, sessionId, owner, at],
        );
        return result.rowCount === 1;
      });
    },

    async releaseLease(sessionId, owner) {
      await run((q) =>
        q.query(
          "UPDATE rw_sessions SET lease_owner = NULL, lease_expires_ms = NULL WHERE id = $1 AND lease_owner = $2",
          [sessionId, owner],
        ),
      );
    },

    enqueueIntake(entry, bounds) {
      return transaction((q) => enqueueIntake(q, entry, bounds));
    },

    pendingIntake({ afterId = 0, limit, kind }) {
      return run((q) => pendingIntake(q, afterId, limit, kind));
    },

    completeIntake(ids) {
      return run((q) => completeIntake(q, ids));
    },

    intakeDepth() {
      return run((q) => intakeDepth(q));
    },

    getValue(key) {
      return run(async (q) => {
        const { rows } = await q.query("SELECT value FROM rw_kv WHERE key = $1", [key]);
        return rows[0]?.value as string | undefined;
      });
    },

    async setValue(key, value) {
      await run((q) =>
        q.query(
          "INSERT INTO rw_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
          [key, String(value)],
        ),
      );
    },

    leases: {
      acquire(name, owner, ttlMs, now) {
        return run(async (q) => {
          const at = parseTime(now);
          // The upsert locks the row and re-checks the condition: two owners never both win.
          const result = await q.query(
            `INSERT INTO rw_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
             WHERE (rw_kv.value::jsonb ->> 'expiresMs')::bigint <= $3 OR rw_kv.value::jsonb ->> 'owner' = $4`,
            [leaseKey(name), encodeLease(owner, at + ttlMs), at, owner],
          );
          return result.rowCount === 1;
        });
      },
      async release(name, owner) {
        await run((q) =>
          q.query("DELETE FROM rw_kv WHERE key = $1 AND value::jsonb ->> 'owner' = $2", [
            leaseKey(name),
            owner,
          ]),
        );
      },
      get(name) {
        return run(async (q) => {
          const { rows } = await q.query("SELECT value FROM rw_kv WHERE key = $1", [leaseKey(name)]);
          return decodeLease(rows[0]?.value as string | undefined);
        });
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
      closed = true;
      await signals.close();
      await pool.end();
    },
  };
}

/** Applies pending migrations while holding a session advisory lock on one connection. */
async function migrate(pool: pg.Pool, logger: Logger | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${migrationLockKey})`);
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS rw_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const { rows } = await client.query<{ v: number }>(
        "SELECT coalesce(max(version), 0)::int AS v FROM rw_migrations",
      );
      const found = rows[0]!.v;
      if (found > migrations.length) {
        throw rwError(
          "RW_ERR_STORAGE_MIGRATION",
          "The PostgreSQL database was written by a newer Runwarden",
          {
            details: { schemaVersion: found, supported: migrations.length },
          },
        );
      }
      for (let next = found + 1; next <= migrations.length; next++) {
        try {
          await client.query("BEGIN");
          await client.query(migrations[next - 1]!);
          await client.query("INSERT INTO rw_migrations (version) VALUES ($1)", [next]);
          await client.query("COMMIT");
        } catch (cause) {
          await client.query("ROLLBACK").catch(() => {});
          throw rwError("RW_ERR_STORAGE_MIGRATION", "A PostgreSQL schema migration failed", {
            cause,
            details: { migration: next },
          });
        }
        logger?.info({ schemaVersion: next }, "schema migrated");
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${migrationLockKey})`).catch(() => {});
    }
  } finally {
    client.release();
  }
}

const inputErrors = new Set([
  "23502",
  "23514",
  "22P02",
  "22003",
  "22P05",
  "22021",
  "22023",
  "54000",
  "22001",
]);

/**
 * The first connection failed: says where it tried and why (never the user or password), so the
 * operator can tell a server that is down from a missing database or a refused login.
 */
function startError(err: unknown, connectionString: string): unknown {
  const mapped = mapError(err);
  if (!isRunwardenError(mapped) || mapped.code !== "RW_ERR_STORAGE_UNAVAILABLE") return mapped;
  let where = "the configured server";
  let database = "";
  try {
    const url = new URL(connectionString);
    where = `${url.hostname || "localhost"}:${url.port || "5432"}`;
    database = decodeURIComponent(url.pathname.slice(1));
  } catch {
    // Not a URL (a libpq keyword string): the driver's error on `cause` says more.
  }
  const code = (err as { code?: unknown }).code;
  const why =
    code === "3D000"
      ? `the database "${database}" does not exist there: create it first`
      : code === "28P01" || code === "28000"
        ? "the server refused the login: check the user and password"
        : typeof code === "string"
          ? `${code}: ${(err as Error).message.split("\n")[0]}`
          : (err as Error)?.message || "unknown error";
  return rwError("RW_ERR_STORAGE_UNAVAILABLE", `Cannot use PostgreSQL at ${where}: ${why}`, {
    cause: err,
    details: { host: where, ...(typeof code === "string" ? { code } : {}) },
  });
}

/** Maps driver errors onto Runwarden codes; never copies the connection string or values into the message. */
function mapError(err: unknown): unknown {
  if (isRunwardenError(err)) return err;
  const sqlState = (err as { code?: unknown }).code;
  if (sqlState === "23505") {
    return rwError("RW_ERR_STORAGE_CONFLICT", "A unique key is already taken", {
      cause: err,
      details: { reason: "unique", constraint: (err as { constraint?: string }).constraint },
    });
  }
  if (sqlState === "40001" || sqlState === "40P01") {
    return rwError("RW_ERR_STORAGE_CONFLICT", "The transaction collided with another one", { cause: err });
  }
  if (typeof sqlState === "string" && inputErrors.has(sqlState)) {
    return rwError("RW_ERR_INPUT_INVALID", "The document does not fit the store's schema", {
      cause: err,
      details: { fields: [{ field: "document", message: `rejected by PostgreSQL (${sqlState})` }] },
    });
  }
  return rwError("RW_ERR_STORAGE_UNAVAILABLE", "The PostgreSQL database cannot be reached or failed", {
    cause: err,
    details: typeof sqlState === "string" ? { code: sqlState } : {},
  });
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
