import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeStorageContract, expectCode } from "../../core/test/storage/contract.js";
import { newConnectorConfig, newTicket, T0 } from "../../core/test/storage/fixtures.js";
import { createSqliteStorage, type SqliteStorageOptions, sqliteSchemaVersion } from "../src/index.js";
import { openTicketsSql } from "../src/storage-sqlite.js";

describeStorageContract("sqlite, worker writer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rw-sqlite-"));
  const path = join(dir, "runwarden.db");
  return {
    storage: createSqliteStorage({ path, writer: "worker" }),
    reopen: async () => createSqliteStorage({ path, writer: "worker" }),
    peer: async () => createSqliteStorage({ path, writer: "worker" }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeStorageContract("sqlite, inline writer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rw-sqlite-"));
  const path = join(dir, "runwarden.db");
  return {
    storage: createSqliteStorage({ path, writer: "inline" }),
    reopen: async () => createSqliteStorage({ path, writer: "inline" }),
    peer: async () => createSqliteStorage({ path, writer: "inline" }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeStorageContract(
  "sqlite :memory:",
  async () => ({ storage: createSqliteStorage({ path: ":memory:" }) }),
  {
    durable: false,
  },
);

describe.each(["worker", "inline"] as const)("createSqliteStorage, %s writer", (writer) => {
  const open = (options: SqliteStorageOptions) => createSqliteStorage({ writer, ...options });

  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rw-sqlite-"));
    path = join(dir, "runwarden.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("applies every migration and enables WAL when opening a new file", async () => {
    const storage = open({ path });
    await storage.close();
    const db = new BetterSqlite3(path);
    expect(db.pragma("user_version", { simple: true })).toBe(sqliteSchemaVersion);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining(["tickets", "sessions", "audit", "outbox", "tokens", "kv"]),
    );
    db.close();
  });

  it("uses an index when filtering on an indexed field", async () => {
    const storage = open({ path });
    await storage.close();
    const db = new BetterSqlite3(path);
    const plan = (sql: string, ...params: unknown[]) =>
      JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params));
    expect(plan("SELECT data FROM tickets WHERE fingerprint_key = ? AND fingerprint = ?", 1, "x")).toContain(
      "USING INDEX tickets_fingerprint_key_status",
    );
    expect(plan("SELECT data FROM steps WHERE status IN (SELECT value FROM json_each(?))", "[]")).toContain(
      "USING INDEX steps_status",
    );
    expect(plan("SELECT data FROM runbooks WHERE key = ?", "k")).toContain(
      "USING INDEX runbooks_key_revision",
    );
    db.close();
  });

  it("keeps only the ticket indexes dedupe, webhook resolution and lists use when migrated", async () => {
    await open({ path }).close();
    const db = new BetterSqlite3(path);
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL",
      )
      .pluck()
      .all();
    expect([...indexes].sort()).toEqual([
      "tickets_fingerprint_key_status",
      "tickets_source_external_id",
      "tickets_status",
    ]);
    // Only tickets with an external id are in the webhook-resolution index (CSV rows have none).
    const partial = (db.pragma("index_list(tickets)") as { name: string; partial: number }[]).find(
      (index) => index.name === "tickets_source_external_id",
    );
    expect(partial?.partial).toBe(1);
    const plan = (sql: string, ...params: unknown[]) =>
      JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params));
    expect(plan("SELECT data FROM tickets WHERE source = ? AND external_id = ?", "s", "e")).toContain(
      "USING INDEX tickets_source_external_id",
    );
    db.close();
  });

  it("migrates a version 1 file and still filters on unindexed ticket fields when reopened", async () => {
    const first = open({ path });
    await first.tickets.insert(newTicket({ service: "api", fingerprint: "f1" }));
    await first.tickets.insert(newTicket({ service: "db", fingerprint: "f2" }));
    await first.close();
    // Roll the file back to schema 1 (the seven single-column ticket indexes, no webhook sources, no connector configs, no intake queue).
    const db = new BetterSqlite3(path);
    db.exec(`DROP TABLE intake_queue; DROP TABLE intake_depth; DROP TABLE webhookSources; DROP TABLE connectorConfigs; DROP INDEX tickets_fingerprint_key_status; DROP INDEX tickets_source_external_id;
      ALTER TABLE tickets DROP COLUMN fingerprint_key;
      CREATE INDEX tickets_fingerprint ON tickets (fingerprint); CREATE INDEX tickets_source ON tickets (source);
      CREATE INDEX tickets_external_id ON tickets (external_id); CREATE INDEX tickets_service ON tickets (service);
      CREATE INDEX tickets_environment ON tickets (environment); CREATE INDEX tickets_severity ON tickets (severity);
      PRAGMA user_version = 1;`);
    db.close();
    const storage = open({ path });
    expect((await storage.tickets.find({ where: { service: "db" } })).map((t) => t.fingerprint)).toEqual([
      "f2",
    ]);
    expect(await storage.tickets.count({ fingerprint: "f1", status: "new" })).toBe(1);
    expect(await storage.webhookSources.count()).toBe(0);
    await storage.close();
    const reopened = new BetterSqlite3(path);
    expect(reopened.pragma("user_version", { simple: true })).toBe(sqliteSchemaVersion);
    reopened.close();
  });

  it("migrates a version 3 file by adding the connector configurations table", async () => {
    const first = open({ path });
    await first.tickets.insert(newTicket({ fingerprint: "kept" }));
    await first.close();
    const db = new BetterSqlite3(path);
    db.exec(`DROP TABLE intake_queue; DROP TABLE intake_depth; DROP TABLE connectorConfigs;
      DROP INDEX tickets_fingerprint_key_status; DROP INDEX tickets_source_external_id;
      ALTER TABLE tickets DROP COLUMN fingerprint_key;
      CREATE INDEX tickets_fingerprint_status ON tickets (fingerprint, status);
      CREATE INDEX tickets_source_external_id ON tickets (source, external_id);
      PRAGMA user_version = 3;`);
    db.close();
    const storage = open({ path });
    expect(await storage.tickets.count({ fingerprint: "kept" })).toBe(1);
    const stored = await storage.connectorConfigs.insert(newConnectorConfig());
    expect(await storage.connectorConfigs.get(stored.id)).toEqual(stored);
    await storage.close();
  });

  it("folds a repeat into a ticket stored before migration 6 once the file is migrated", async () => {
    const first = open({ path });
    const [stored] = await first.ingestTickets([newTicket({ fingerprint: "before-6" })], {
      dedupeWindowMs: 60_000,
      now: T0,
    });
    await first.close();
    // Roll the file back to schema 5: no fingerprint keys, the (fingerprint, status) index.
    const db = new BetterSqlite3(path);
    db.exec(`DROP INDEX tickets_fingerprint_key_status; DROP INDEX tickets_source_external_id;
      ALTER TABLE tickets DROP COLUMN fingerprint_key;
      CREATE INDEX tickets_fingerprint_status ON tickets (fingerprint, status);
      CREATE INDEX tickets_source_external_id ON tickets (source, external_id);
      PRAGMA user_version = 5;`);
    db.close();
    const storage = open({ path });
    const [repeat] = await storage.ingestTickets([newTicket({ fingerprint: "before-6" })], {
      dedupeWindowMs: 60_000,
      now: T0,
    });
    expect(repeat).toMatchObject({ deduplicated: true, ticket: { id: stored!.ticket.id, occurrences: 2 } });
    expect(await storage.tickets.count({ fingerprint: "before-6" })).toBe(1);
    await storage.close();
  });

  it("keeps tickets apart whose fingerprints share an index key", async () => {
    // Two fingerprints with the same 32-bit key (found by search): only the fingerprint tells them apart.
    const [a, b] = ["fp-3959", "fp-63966"];
    const storage = open({ path });
    const first = await storage.ingestTickets([newTicket({ fingerprint: a })], {
      dedupeWindowMs: 60_000,
      now: T0,
    });
    const second = await storage.ingestTickets(
      [newTicket({ fingerprint: b }), newTicket({ fingerprint: a })],
      {
        dedupeWindowMs: 60_000,
        now: T0,
      },
    );
    expect(second.map((o) => [o.ticket.fingerprint, o.deduplicated])).toEqual([
      [b, false],
      [a, true],
    ]);
    expect(second[1]!.ticket.id).toBe(first[0]!.ticket.id);
    expect((await storage.tickets.find({ where: { fingerprint: b } })).map((t) => t.id)).toEqual([
      second[0]!.ticket.id,
    ]);
    expect(await storage.tickets.count({ fingerprint: { in: [a] } })).toBe(1);
    await storage.close();
    const db = new BetterSqlite3(path);
    const keys = db.prepare("SELECT DISTINCT fingerprint_key FROM tickets").pluck().all();
    expect(keys).toHaveLength(1);
    db.close();
  });

  it("gives every ticket of a 101-ticket ingest the id it reads back under, in input order", async () => {
    const storage = open({ path });
    await storage.tickets.insert(newTicket({ fingerprint: "first" }));
    const inputs = Array.from({ length: 101 }, (_, i) => newTicket({ fingerprint: `batch-${i}` }));
    const outcomes = await storage.ingestTickets(inputs, { dedupeWindowMs: 60_000, now: T0 });
    const ids = outcomes.map((o) => o.ticket.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(101);
    for (const { ticket } of outcomes) expect(await storage.tickets.get(ticket.id)).toEqual(ticket);
    await storage.close();
  });

  it("refuses a database whose schema is newer than this build", async () => {
    await open({ path }).close();
    const db = new BetterSqlite3(path);
    db.pragma(`user_version = ${sqliteSchemaVersion + 1}`);
    db.close();
    expect(() => open({ path })).toThrow(expect.objectContaining({ code: "RW_ERR_STORAGE_MIGRATION" }));
  });

  it("keeps rows when a file is reopened", async () => {
    const first = open({ path });
    const outcomes = await first.ingestTickets([newTicket(), newTicket({ fingerprint: "other" })], {
      dedupeWindowMs: 1_000,
      now: newTicket().receivedAt,
    });
    await first.close();
    const second = open({ path });
    expect(await second.tickets.find()).toEqual(outcomes.map((o) => o.ticket));
    await second.close();
  });

  it("creates the file, its WAL and shared-memory file readable by the owner only", async () => {
    const storage = open({ path });
    await storage.tickets.insert(newTicket());
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      expect(existsSync(file)).toBe(true);
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
    }
    await storage.close();
  });

  it("takes group and other access off an existing database file when opening it", async () => {
    await open({ path }).close();
    chmodSync(path, 0o644);
    const storage = open({ path });
    await storage.tickets.insert(newTicket());
    for (const file of [path, `${path}-wal`, `${path}-shm`])
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
    await storage.close();
  });

  it("refuses an empty path", () => {
    expect(() => open({ path: "" })).toThrow(expect.objectContaining({ code: "RW_ERR_CONFIG_INVALID" }));
  });

  it("reports a file that cannot be opened as unavailable", () => {
    expect(() => open({ path: join(dir, "missing", "dir", "x.db") })).toThrow(
      expect.objectContaining({ code: "RW_ERR_STORAGE_UNAVAILABLE" }),
    );
  });

  it("commits concurrent writes together while a conflicting one fails alone", async () => {
    const storage = open({ path });
    const [a, b] = await storage.tickets.insertMany([newTicket(), newTicket({ fingerprint: "b" })]);
    // Issued in one turn of the event loop: they share a transaction, each in its own savepoint.
    const writes = [
      storage.tickets.update(a!.id, a!.version, { title: "first" }),
      storage.tickets.update(b!.id, b!.version + 1, { title: "stale" }),
      storage.tickets.update(b!.id, b!.version, { title: "second" }),
      storage.tickets.insert(newTicket({ fingerprint: "c" })),
    ];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    await expectCode(writes[1]!, "RW_ERR_STORAGE_CONFLICT");
    await storage.close();
    const reopened = open({ path });
    expect((await reopened.tickets.find()).map((t) => t.title)).toEqual([
      "first",
      "second",
      newTicket().title,
    ]);
    await reopened.close();
  });

  it("stores the other writes of a group commit when one cannot be serialised (100k-deep data)", async () => {
    const storage = open({ path });
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const writes = [
      storage.tickets.insert(newTicket({ fingerprint: "good-1" })),
      storage.tickets.insert(newTicket({ fingerprint: "deep", metaData: deep })),
      storage.tickets.insert(newTicket({ fingerprint: "good-2" })),
    ];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await storage.tickets.find()).map((t) => t.fingerprint).sort()).toEqual(["good-1", "good-2"]);
    await storage.close();
  });

  it("lets a read see every write issued before it", async () => {
    const storage = open({ path });
    const inserted = storage.tickets.insert(newTicket());
    expect(await storage.tickets.count()).toBe(1);
    await inserted;
    await storage.close();
  });

  it("refuses a value that does not fit a typed column", async () => {
    const storage = open({ path: ":memory:" });
    await expectCode(storage.runbooks.insert({ key: "k", revision: "one" } as never), "RW_ERR_INPUT_INVALID");
    await storage.close();
  });
});

describe("openTicketsSql", () => {
  it("looks tickets up through the fingerprint index when deduplicating a batch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-sqlite-"));
    const path = join(dir, "runwarden.db");
    await createSqliteStorage({ path }).close();
    const db = new BetterSqlite3(path);
    const plan = JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${openTicketsSql}`).all("[]", "[]"));
    expect(plan).toContain("USING INDEX tickets_fingerprint_key_status");
    expect(plan).not.toContain("tickets_status");
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
