/**
 * One collection over one SQLite table. Every method is synchronous (better-sqlite3 is), so a
 * read-check-write runs without yielding; the public store wraps them in promises.
 */
import type { CollectionName, Condition, Query } from "@runwarden/core";
import { checkQuery, checkWhere, documentNotFound, rwError } from "@runwarden/core";
import type { Database, Statement } from "better-sqlite3";
import { type Column, columnsOf } from "./schema.js";

export type Doc = Record<string, unknown> & { id: number; version: number };
export interface Row {
  id: number;
  version: number;
  data: string;
  lease_owner?: string | null;
  lease_expires_ms?: number | null;
}

/** Prepared statements by SQL text, kept for the life of the connection. */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();
  constructor(private readonly db: Database) {}

  get(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // Find queries differ only by their shape; cap the cache so odd shapes cannot grow it forever.
      if (this.statements.size >= 500) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

export class SqliteTable {
  readonly columns: Column[];
  private readonly leased: boolean;
  private readonly selectList: string;
  private readonly insertSql: string;
  private readonly updateSql: string;
  /** UPDATEs assigning only some indexed columns, by which (bit i: column i). */
  private readonly partialUpdateSql = new Map<number, string>();

  constructor(
    readonly name: CollectionName,
    private readonly statements: StatementCache,
  ) {
    this.columns = columnsOf(name);
    this.leased = name === "sessions";
    this.selectList = this.leased ? "id, version, data, lease_owner, lease_expires_ms" : "id, version, data";
    const names = this.columns.map((c) => c.column);
    const leaseNames = this.leased ? ["lease_owner", "lease_expires_ms"] : [];
    const all = [...names, ...leaseNames, "data"];
    this.insertSql = `INSERT INTO ${name} (version, ${all.join(", ")}) VALUES (1, ${all.map(() => "?").join(", ")})`;
    this.updateSql = `UPDATE ${name} SET version = version + 1, ${[...names, "data"].map((c) => `${c} = ?`).join(", ")} WHERE id = ? AND version = ?`;
  }

  /** Inserts one document (fields only: `id`, `version` are dropped); returns it as stored. */
  insert(input: Record<string, unknown>): Doc {
    // The hot path of bulk imports: copy the input only when it carries keys the store owns.
    const fields = "id" in input || "version" in input ? withoutIdentity(input) : input;
    const params = this.columnValues(fields);
    if (this.leased) params.push(...leaseValues(fields.lease));
    params.push(this.serialise(fields));
    const { lastInsertRowid } = this.statements.get(this.insertSql).run(params);
    return { id: Number(lastInsertRowid), version: 1, ...fields };
  }

  get(id: number): Doc | undefined {
    const row = this.statements.get(`SELECT ${this.selectList} FROM ${this.name} WHERE id = ?`).get(id) as
      | Row
      | undefined;
    return row && this.toDoc(row);
  }

  /** Applies changes with a version check; returns the stored document. */
  update(id: number, expectedVersion: number, changes: Record<string, unknown>): Doc {
    const current = this.get(id);
    if (!current) {
      throw documentNotFound(this.name, id);
    }
    if (current.version !== expectedVersion) throw this.versionConflict(id, expectedVersion, current.version);
    const { id: _id, version: _version, lease: _lease, ...fields } = changes;
    const next: Doc = { ...current, ...fields, id, version: current.version + 1 };
    if (this.leased) next.lease = current.lease;
    const { sql, params } = this.changedColumns(next, current);
    params.push(this.serialise(next), id, expectedVersion);
    this.statements.get(sql).run(params);
    return next;
  }

  /**
   * The UPDATE assigning only the indexed columns whose value differs between `next` and
   * `current`, with their values: SQLite rewrites the index entry of every column an UPDATE
   * assigns, changed or not (a status change costs half as much; a folded repeat, nothing).
   */
  private changedColumns(next: Doc, current: Doc): { sql: string; params: unknown[] } {
    const params: unknown[] = [];
    let assigned = 0;
    this.columns.forEach((column, i) => {
      const value = columnValue(column, next);
      if (value === columnValue(column, current)) return;
      assigned |= 1 << i;
      params.push(value);
    });
    return { sql: this.partialUpdate(assigned), params };
  }

  private partialUpdate(assigned: number): string {
    let sql = this.partialUpdateSql.get(assigned);
    if (sql === undefined) {
      const sets = this.columns.filter((_, i) => assigned & (1 << i)).map((c) => `${c.column} = ?, `);
      sql = `UPDATE ${this.name} SET version = version + 1, ${sets.join("")}data = ? WHERE id = ? AND version = ?`;
      this.partialUpdateSql.set(assigned, sql);
    }
    return sql;
  }

  /**
   * Writes a document read earlier in the same transaction (so its version still holds) with
   * changed fields; returns it with its version bumped. The write transaction's callers only.
   * `read`: the document as read, when the caller still has it (fewer columns assigned).
   */
  rewrite(doc: Doc, read?: Doc): Doc {
    const next: Doc = { ...doc, version: doc.version + 1 };
    const { sql, params } = read
      ? this.changedColumns(next, read)
      : { sql: this.updateSql, params: this.columnValues(next) };
    params.push(this.serialise(next), doc.id, doc.version);
    if (this.statements.get(sql).run(params).changes !== 1) {
      throw this.versionConflict(doc.id, doc.version, this.get(doc.id)?.version ?? -1);
    }
    return next;
  }

  delete(id: number, expectedVersion?: number): boolean {
    if (expectedVersion === undefined) {
      return this.statements.get(`DELETE FROM ${this.name} WHERE id = ?`).run(id).changes > 0;
    }
    const current = this.statements.get(`SELECT version FROM ${this.name} WHERE id = ?`).pluck().get(id) as
      | number
      | undefined;
    if (current === undefined) return false;
    if (current !== expectedVersion) throw this.versionConflict(id, expectedVersion, current);
    return (
      this.statements.get(`DELETE FROM ${this.name} WHERE id = ? AND version = ?`).run(id, expectedVersion)
        .changes > 0
    );
  }

  find(query: Query<CollectionName> = {}): Doc[] {
    const conditions = checkQuery(this.name, query);
    const { clauses, params } = this.compile(conditions);
    const desc = query.order === "desc";
    if (query.cursor !== undefined) {
      clauses.push(desc ? "id < ?" : "id > ?");
      params.push(query.cursor);
    }
    let sql = `SELECT ${this.selectList} FROM ${this.name}`;
    if (clauses.length > 0) sql += ` WHERE ${clauses.join(" AND ")}`;
    sql += desc ? " ORDER BY id DESC" : " ORDER BY id";
    if (query.limit !== undefined) {
      sql += " LIMIT ?";
      params.push(query.limit);
    }
    return (this.statements.get(sql).all(params) as Row[]).map((row) => this.toDoc(row));
  }

  count(where?: Query<CollectionName>["where"]): number {
    const { clauses, params } = this.compile(checkWhere(this.name, where));
    let sql = `SELECT count(*) FROM ${this.name}`;
    if (clauses.length > 0) sql += ` WHERE ${clauses.join(" AND ")}`;
    return this.statements.get(sql).pluck().get(params) as number;
  }

  toDoc(row: Row): Doc {
    const doc: Doc = {
      id: row.id,
      version: row.version,
      ...(JSON.parse(row.data) as Record<string, unknown>),
    };
    if (this.leased) {
      doc.lease =
        row.lease_owner == null
          ? null
          : { owner: row.lease_owner, expiresAt: new Date(row.lease_expires_ms ?? 0).toISOString() };
    }
    return doc;
  }

  /** Column names come only from fields `checkQuery` allowed; values are always bound. */
  private compile(conditions: readonly Condition[]): { clauses: string[]; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const condition of conditions) {
      const column =
        condition.field === "id"
          ? "id"
          : this.columns.find((c) => c.field === condition.field && !c.derive)!.column;
      // A column derived from this field narrows the rows first, through its (compact) index.
      const derived = this.columns.find((c) => c.field === condition.field && c.derive);
      if (derived?.derive && "eq" in condition && condition.eq !== null) {
        clauses.push(`${derived.column} = ?`);
        params.push(derived.derive(condition.eq));
      } else if (derived?.derive && "in" in condition && !condition.in.includes(null)) {
        clauses.push(`${derived.column} IN (SELECT value FROM json_each(?))`);
        params.push(JSON.stringify(condition.in.map(derived.derive)));
      }
      if ("eq" in condition) {
        if (condition.eq === null) {
          clauses.push(`${column} IS NULL`);
        } else {
          clauses.push(`${column} = ?`);
          params.push(encode(condition.eq));
        }
        continue;
      }
      const values = condition.in.filter((v) => v !== null).map(encode);
      const inList = `${column} IN (SELECT value FROM json_each(?))`;
      clauses.push(condition.in.includes(null) ? `(${inList} OR ${column} IS NULL)` : inList);
      params.push(JSON.stringify(values));
    }
    return { clauses, params };
  }

  private columnValues(doc: Record<string, unknown>): unknown[] {
    return this.columns.map((c) => columnValue(c, doc));
  }

  /** The whole document but `id`, `version` and the lease (kept in columns). */
  private serialise(doc: Record<string, unknown>): string {
    if (!this.leased && !("id" in doc) && !("version" in doc)) return JSON.stringify(doc);
    return JSON.stringify(withoutKeys(doc));
  }

  private versionConflict(id: number, expectedVersion: number, actualVersion: number) {
    return rwError("RW_ERR_STORAGE_CONFLICT", `The ${this.name} document changed since it was read`, {
      details: { entity: this.name, id, reason: "version", expectedVersion, actualVersion },
    });
  }
}

function withoutIdentity(doc: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, version: _version, ...fields } = doc;
  return fields;
}

function withoutKeys(doc: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, version: _version, lease: _lease, ...fields } = doc;
  return fields;
}

/** What a document puts in a column (a derived column: computed from its field). */
function columnValue(column: Column, doc: Record<string, unknown>): unknown {
  return column.derive ? column.derive(doc[column.field]) : encode(doc[column.field]);
}

function encode(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

/** A lease object as its two columns; the expiry is kept in epoch milliseconds so it compares as a number. */
export function leaseValues(lease: unknown): [string | null, number | null] {
  if (lease === null || lease === undefined) return [null, null];
  const { owner, expiresAt } = lease as { owner: string; expiresAt: string };
  const ms = Date.parse(expiresAt);
  if (typeof owner !== "string" || Number.isNaN(ms)) {
    throw rwError("RW_ERR_INPUT_INVALID", "A session lease needs an owner and an ISO expiresAt", {
      details: { fields: [{ field: "lease", message: "owner and expiresAt required" }] },
    });
  }
  return [owner, ms];
}
