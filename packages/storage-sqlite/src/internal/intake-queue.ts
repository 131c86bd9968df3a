/**
 * The intake queue's table: raw webhook deliveries kept until their tickets are stored. Every
 * method is synchronous, like SqliteTable's, and runs inside the store's `run(() => …)`: an
 * enqueue checks the bounds and inserts in one transaction; consuming entries happens in the
 * transaction that stores their tickets.
 */
import type { IntakeBounds, IntakeDepth, IntakeEnqueueResult, IntakeEntry } from "@runwarden/core";
import { intakeGone, intakeOverflow, utf8Bytes } from "@runwarden/core";
import type { StatementCache } from "./table.js";

interface EntryRow {
  id: number;
  source: string;
  kind: string;
  payload: string;
  bytes: number;
  received_at: string;
}

const toEntry = (row: EntryRow): IntakeEntry => ({
  id: row.id,
  source: row.source,
  kind: row.kind as IntakeEntry["kind"],
  payload: row.payload,
  bytes: row.bytes,
  receivedAt: row.received_at,
});

export class SqliteIntakeQueue {
  constructor(private readonly statements: StatementCache) {}

  /**
   * The depth, from the per-source counters (one row per source with entries queued): the whole
   * queue's and `source`'s in one pass over those few rows.
   */
  private depthOf(source: string): IntakeDepth {
    return this.statements
      .get(
        `SELECT coalesce(sum(entries), 0) AS entries, coalesce(sum(bytes), 0) AS bytes,
           coalesce(sum(entries) FILTER (WHERE source = @source), 0) AS sourceEntries,
           coalesce(sum(bytes) FILTER (WHERE source = @source), 0) AS sourceBytes
         FROM intake_depth`,
      )
      .get({ source }) as IntakeDepth;
  }

  /** Deletes entries and takes them off the counters; returns how many were deleted. */
  private remove(ids: readonly number[]): number {
    const removed = this.statements
      .get("DELETE FROM intake_queue WHERE id IN (SELECT value FROM json_each(?)) RETURNING source, bytes")
      .all(JSON.stringify(ids)) as { source: string; bytes: number }[];
    const bySource = new Map<string, { entries: number; bytes: number }>();
    for (const { source, bytes } of removed) {
      const at = bySource.get(source) ?? { entries: 0, bytes: 0 };
      at.entries++;
      at.bytes += bytes;
      bySource.set(source, at);
    }
    let emptied = false;
    for (const [source, { entries, bytes }] of bySource) {
      const left = this.statements
        .get(
          "UPDATE intake_depth SET entries = entries - ?, bytes = bytes - ? WHERE source = ? RETURNING entries",
        )
        .pluck()
        .get(entries, bytes, source) as number | undefined;
      if (left !== undefined && left <= 0) emptied = true;
    }
    // A source whose last entry went is dropped from the counters (only then: it costs a statement).
    if (emptied) this.statements.get("DELETE FROM intake_depth WHERE entries <= 0").run();
    return removed.length;
  }

  /** Inserts the entry when it fits the bounds (read and insert in the caller's transaction). */
  enqueue(entry: Omit<IntakeEntry, "id" | "bytes">, bounds: IntakeBounds): IntakeEnqueueResult {
    const bytes = utf8Bytes(entry.payload);
    const depth = this.depthOf(entry.source);
    const full = intakeOverflow(depth, bytes, bounds);
    if (full) return { accepted: false, full, depth };
    const { lastInsertRowid } = this.statements
      .get("INSERT INTO intake_queue (source, kind, payload, bytes, received_at) VALUES (?, ?, ?, ?, ?)")
      .run(entry.source, entry.kind, entry.payload, bytes, entry.receivedAt);
    this.statements
      .get(
        `INSERT INTO intake_depth (source, entries, bytes) VALUES (?, 1, ?)
         ON CONFLICT (source) DO UPDATE SET entries = entries + 1, bytes = bytes + excluded.bytes`,
      )
      .run(entry.source, bytes);
    return {
      accepted: true,
      entry: { ...entry, id: Number(lastInsertRowid), bytes },
      depth: {
        entries: depth.entries + 1,
        bytes: depth.bytes + bytes,
        sourceEntries: depth.sourceEntries + 1,
        sourceBytes: depth.sourceBytes + bytes,
      },
    };
  }

  pending(afterId: number, limit: number, kind?: IntakeEntry["kind"]): IntakeEntry[] {
    const rows = (
      kind === undefined
        ? this.statements
            .get(
              "SELECT id, source, kind, payload, bytes, received_at FROM intake_queue WHERE id > ? ORDER BY id LIMIT ?",
            )
            .all(afterId, Math.max(0, limit))
        : this.statements
            .get(
              "SELECT id, source, kind, payload, bytes, received_at FROM intake_queue WHERE id > ? AND kind = ? ORDER BY id LIMIT ?",
            )
            .all(afterId, kind, Math.max(0, limit))
    ) as EntryRow[];
    return rows.map(toEntry);
  }

  /** Deletes the entries; unknown ids are ignored. */
  complete(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.remove([...new Set(ids)]);
  }

  /**
   * Deletes the entries an ingest is made of, all or none: throws `RW_ERR_STORAGE_CONFLICT` (the
   * caller's savepoint rolls back) when one is no longer queued.
   */
  consume(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const unique = [...new Set(ids)];
    if (this.remove(unique) !== unique.length) throw intakeGone();
  }

  depth(): { entries: number; bytes: number; sources: Record<string, { entries: number; bytes: number }> } {
    const rows = this.statements.get("SELECT source, entries, bytes FROM intake_depth").all() as {
      source: string;
      entries: number;
      bytes: number;
    }[];
    const sources: Record<string, { entries: number; bytes: number }> = {};
    let entries = 0;
    let bytes = 0;
    for (const row of rows) {
      sources[row.source] = { entries: row.entries, bytes: row.bytes };
      entries += row.entries;
      bytes += row.bytes;
    }
    return { entries, bytes, sources };
  }
}
