/**
 * The intake queue's table: raw webhook deliveries kept until their tickets are stored. Each
 * method runs on the connection (or transaction) it is given; an enqueue takes an advisory lock
 * so that instances sharing the store check the bounds one at a time.
 */
import type { IntakeBounds, IntakeDepth, IntakeEnqueueResult, IntakeEntry } from "@runwarden/core";
import { intakeGone, intakeOverflow, utf8Bytes } from "@runwarden/core";
import type { Queryable } from "./table.js";

/** `pg_advisory_xact_lock` key of enqueues ("rw-itq" and two zero bytes in ASCII). */
const intakeLockKey = "8248111173500731392";

interface EntryRow {
  id: string | number;
  source: string;
  kind: string;
  payload: string;
  bytes: string | number;
  received_at: string;
}

const toEntry = (row: EntryRow): IntakeEntry => ({
  id: Number(row.id),
  source: row.source,
  kind: row.kind as IntakeEntry["kind"],
  payload: row.payload,
  bytes: Number(row.bytes),
  receivedAt: row.received_at,
});

/** Inserts the entry when it fits the bounds; `q` must be a transaction. */
export async function enqueueIntake(
  q: Queryable,
  entry: Omit<IntakeEntry, "id" | "bytes">,
  bounds: IntakeBounds,
): Promise<IntakeEnqueueResult> {
  await q.query(`SELECT pg_advisory_xact_lock(${intakeLockKey}::bigint)`);
  const bytes = utf8Bytes(entry.payload);
  const { rows } = await q.query(
    `SELECT count(*) AS entries, coalesce(sum(bytes), 0) AS bytes,
       count(*) FILTER (WHERE source = $1) AS source_entries,
       coalesce(sum(bytes) FILTER (WHERE source = $1), 0) AS source_bytes
     FROM rw_intake_queue`,
    [entry.source],
  );
  const row = rows[0] as Record<string, string>;
  const depth: IntakeDepth = {
    entries: Number(row["entries"]),
    bytes: Number(row["bytes"]),
    sourceEntries: Number(row["source_entries"]),
    sourceBytes: Number(row["source_bytes"]),
  };
  const full = intakeOverflow(depth, bytes, bounds);
  if (full) return { accepted: false, full, depth };
  const inserted = await q.query(
    "INSERT INTO rw_intake_queue (source, kind, payload, bytes, received_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    [entry.source, entry.kind, entry.payload, bytes, entry.receivedAt],
  );
  return {
    accepted: true,
    entry: { ...entry, id: Number((inserted.rows[0] as { id: string }).id), bytes },
    depth: {
      entries: depth.entries + 1,
      bytes: depth.bytes + bytes,
      sourceEntries: depth.sourceEntries + 1,
      sourceBytes: depth.sourceBytes + bytes,
    },
  };
}

export async function pendingIntake(
  q: Queryable,
  afterId: number,
  limit: number,
  kind?: IntakeEntry["kind"],
): Promise<IntakeEntry[]> {
  const { rows } = await q.query(
    "SELECT id, source, kind, payload, bytes, received_at FROM rw_intake_queue WHERE id > $1 AND ($3::text IS NULL OR kind = $3) ORDER BY id LIMIT $2",
    [afterId, Math.max(0, limit), kind ?? null],
  );
  return (rows as unknown as EntryRow[]).map(toEntry);
}

/** Deletes the entries; unknown ids are ignored. */
export async function completeIntake(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query("DELETE FROM rw_intake_queue WHERE id = ANY($1::bigint[])", [ids]);
}

/**
 * Deletes the entries an ingest is made of, all or none: throws `RW_ERR_STORAGE_CONFLICT` (the
 * caller's transaction rolls back) when one is no longer queued.
 */
export async function consumeIntake(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  const unique = [...new Set(ids)];
  const result = await q.query("DELETE FROM rw_intake_queue WHERE id = ANY($1::bigint[])", [unique]);
  if (result.rowCount !== unique.length) throw intakeGone();
}

export async function intakeDepth(
  q: Queryable,
): Promise<{ entries: number; bytes: number; sources: Record<string, { entries: number; bytes: number }> }> {
  const { rows } = await q.query(
    "SELECT source, count(*) AS entries, coalesce(sum(bytes), 0) AS bytes FROM rw_intake_queue GROUP BY source",
  );
  const sources: Record<string, { entries: number; bytes: number }> = {};
  let entries = 0;
  let bytes = 0;
  for (const row of rows as unknown as { source: string; entries: string; bytes: string }[]) {
    sources[row.source] = { entries: Number(row.entries), bytes: Number(row.bytes) };
    entries += Number(row.entries);
    bytes += Number(row.bytes);
  }
  return { entries, bytes, sources };
}
