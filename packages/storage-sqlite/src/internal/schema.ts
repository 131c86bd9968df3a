/**
 * The schema: one table per collection with a time-ordered INTEGER PRIMARY KEY, a `version`, a
 * `data` JSON column holding the whole document, and real columns (indexed) for the fields a query
 * can filter on. Migrations are append-only: a shipped migration never changes; the database's
 * `PRAGMA user_version` is the number of migrations applied.
 */
import type { CollectionName } from "@runwarden/core";
import { indexedFields } from "@runwarden/core";

/** A column copied from the document so that SQL can filter, index and constrain on it. */
export interface Column {
  field: string;
  column: string;
  /**
   * Set on a column that holds not the field but a value computed from it (`fingerprintKey`):
   * filtering on the field filters on this column too, so its compact index serves the query.
   */
  derive?: (value: unknown) => number | null;
}

/**
 * A ticket fingerprint's index key: its 32-bit FNV-1a hash (over UTF-16 code units). Tickets are
 * looked up by fingerprint through an index on this integer instead of the fingerprint itself (a
 * 64-character hash, random): an ingest batch's index inserts then land on five times fewer
 * pages, and a collision costs one row read (the fingerprint itself is compared too). Stored in
 * every ticket row: never change it (migration 6 computes it through the SQL function
 * `fingerprintKeyFunction`).
 */
export function fingerprintKey(fingerprint: unknown): number | null {
  if (typeof fingerprint !== "string") return null;
  let hash = 0x811c9dc5;
  for (let i = 0; i < fingerprint.length; i++) {
    hash ^= fingerprint.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The name of `fingerprintKey` as a SQL function (registered on every connection, for migration 6). */
export const fingerprintKeyFunction = "runwarden_fingerprint_key";

/** Columns computed from a field (see `Column.derive`). */
const derivedColumns: Partial<Record<CollectionName, readonly Column[]>> = {
  tickets: [{ field: "fingerprint", column: "fingerprint_key", derive: fingerprintKey }],
};

/** Fields beyond `indexedFields` that need a column (the live-session unique key). */
const extraColumns: Partial<Record<CollectionName, readonly string[]>> = {
  sessions: ["runbookKey", "dryRun"],
};

export function columnsOf(collection: CollectionName): Column[] {
  const copied = [...indexedFields[collection], ...(extraColumns[collection] ?? [])].map((field) => ({
    field,
    column: field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
  }));
  return [...copied, ...(derivedColumns[collection] ?? [])];
}

const table = (name: string, columns: string, extra = "") => `
CREATE TABLE ${name} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  version INTEGER NOT NULL,
  ${columns},${extra}
  data TEXT NOT NULL
) STRICT;`;

const index = (name: string, ...columns: string[]) =>
  columns.map((c) => `CREATE INDEX ${name}_${c} ON ${name} (${c});`).join("\n");

const V1 = `
${table("tickets", "status TEXT, fingerprint TEXT, source TEXT, external_id TEXT, service TEXT, environment TEXT, severity TEXT")}
${index("tickets", "status", "fingerprint", "source", "external_id", "service", "environment", "severity")}

${table("runbooks", "key TEXT, status TEXT, hash TEXT, revision INTEGER")}
${index("runbooks", "status", "hash", "revision")}
CREATE UNIQUE INDEX runbooks_key_revision ON runbooks (key, revision);

${table(
  "sessions",
  "ticket_id INTEGER, status TEXT, runbook_id INTEGER, fingerprint TEXT, runbook_key TEXT, dry_run INTEGER",
  "\n  lease_owner TEXT, lease_expires_ms INTEGER,",
)}
${index("sessions", "ticket_id", "status", "runbook_id", "fingerprint")}
CREATE UNIQUE INDEX sessions_live ON sessions (fingerprint, runbook_key)
  WHERE dry_run = 0 AND fingerprint <> ''
    AND status NOT IN ('succeeded', 'failed', 'rolled_back', 'rejected', 'cancelled');

${table("steps", "session_id INTEGER, status TEXT")}
${index("steps", "session_id", "status")}

${table("approvals", "status TEXT, session_id INTEGER, step_id INTEGER, ticket_id INTEGER")}
${index("approvals", "status", "session_id", "step_id", "ticket_id")}

${table("credentials", "name TEXT, environment TEXT")}
${index("credentials", "environment")}
CREATE UNIQUE INDEX credentials_name ON credentials (name);

${table("connections", "name TEXT, environment TEXT, credential_id INTEGER")}
${index("connections", "environment", "credential_id")}
CREATE UNIQUE INDEX connections_name ON connections (name);

${table("audit", "object_type TEXT, object_id TEXT, actor TEXT, action TEXT")}
${index("audit", "object_id", "actor", "action")}
CREATE INDEX audit_object ON audit (object_type, object_id);

${table("outbox", "status TEXT, ticket_id INTEGER, target TEXT, idempotency_key TEXT")}
${index("outbox", "status", "ticket_id", "target")}
CREATE UNIQUE INDEX outbox_idempotency_key ON outbox (idempotency_key);

${table("tokens", "token_hash TEXT, actor TEXT")}
${index("tokens", "actor")}
CREATE UNIQUE INDEX tokens_token_hash ON tokens (token_hash);

CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
`;

/**
 * Tickets keep only the indexes their queries use: every secondary index costs each ingest (a CSV
 * import writes hundreds of thousands of rows). Dedupe looks up (fingerprint, open status), a
 * resolved webhook (source, external id), lists filter by status. The other filterable fields
 * (service, environment, severity) are still columns and still filter correctly, by scan.
 */
const V2 = `
DROP INDEX tickets_fingerprint;
DROP INDEX tickets_source;
DROP INDEX tickets_external_id;
DROP INDEX tickets_service;
DROP INDEX tickets_environment;
DROP INDEX tickets_severity;
CREATE INDEX tickets_fingerprint_status ON tickets (fingerprint, status);
CREATE INDEX tickets_source_external_id ON tickets (source, external_id);
`;

/** Named webhook sources (the generic webhook with a JSONata mapping), unique by name. */
const V3 = `
${table("webhookSources", "name TEXT")}
CREATE UNIQUE INDEX webhook_sources_name ON webhookSources (name);
`;

/** Connector configurations stored through the API: one per (kind, name). */
const V4 = `
${table("connectorConfigs", "kind TEXT, name TEXT")}
CREATE UNIQUE INDEX connectorConfigs_kind_name ON connectorConfigs (kind, name);
`;

/**
 * The intake queue: raw webhook deliveries acknowledged but not yet stored as tickets, processed
 * in id order, and its depth per source kept beside it in the same transactions (a bound check
 * reads a few rows, not the whole queue). Not a collection (no `data` document): core reaches it
 * through `Storage.enqueueIntake` and friends only.
 */
const V5 = `
CREATE TABLE intake_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX intake_queue_source ON intake_queue (source);
CREATE TABLE intake_depth (
  source TEXT PRIMARY KEY,
  entries INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;

/**
 * Cheaper ticket writes (a CSV import inserts tens of thousands per minute). Dedupe looks tickets
 * up by `fingerprint_key` (see `fingerprintKey`: a 4-byte integer, where the fingerprint is 64
 * random characters) and status; the webhook-resolution index keeps only tickets that have an
 * external id (every query on it names one; CSV and most monitoring tickets have none). Needs the
 * `runwarden_fingerprint_key` SQL function, registered before migrating.
 */
const V6 = `
ALTER TABLE tickets ADD COLUMN fingerprint_key INTEGER;
UPDATE tickets SET fingerprint_key = ${fingerprintKeyFunction}(fingerprint);
DROP INDEX tickets_fingerprint_status;
CREATE INDEX tickets_fingerprint_key_status ON tickets (fingerprint_key, status);
DROP INDEX tickets_source_external_id;
CREATE INDEX tickets_source_external_id ON tickets (source, external_id) WHERE external_id IS NOT NULL;
`;

/** Every migration, in order. Append new ones; never edit a shipped one. */
export const migrations: readonly string[] = [V1, V2, V3, V4, V5, V6];
