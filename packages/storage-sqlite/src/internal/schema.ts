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
}

/** Fields beyond `indexedFields` that need a column (the live-session unique key). */
const extraColumns: Partial<Record<CollectionName, readonly string[]>> = {
  sessions: ["runbookKey", "dryRun"],
};

export function columnsOf(collection: CollectionName): Column[] {
  return [...indexedFields[collection], ...(extraColumns[collection] ?? [])].map((field) => ({
    field,
    column: field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
  }));
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

/** Every migration, in order. Append new ones; never edit a shipped one. */
export const migrations: readonly string[] = [V1, V2, V3, V4, V5];
