/**
 * One collection over one PostgreSQL table. Each method takes the client to run on, so the same
 * code serves single statements (the pool) and transactions (one checked-out client).
 */
import type { CollectionName, Condition, Query, Where } from "@runwarden/core";
import { checkQuery, checkWhere, documentNotFound, rwError } from "@runwarden/core";
import { type Column, columnsOf, tableOf } from "./schema.js";

export interface Queryable {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

export type Doc = Record<string, unknown> & { id: number; version: number };

/** Filterable fields held in bigint/integer columns (every other one is text). */
const integerFields = new Set([
  "id",
  "revision",
  "ticketId",
  "sessionId",
  "stepId",
  "runbookId",
  "credentialId",
]);

/** PostgreSQL accepts at most 65,535 bind parameters per statement. */
const maxParams = 60_000;

export class PgTable {
  readonly columns: Column[];
  readonly table: string;
  private readonly leased: boolean;
  private readonly selectList: string;
  private readonly insertColumns: string[];

  constructor(readonly name: CollectionName) {
    this.columns = columnsOf(name);
    this.table = tableOf(name);
    this.leased = name === "sessions";
    this.selectList = this.leased ? "id, version, data, lease_owner, lease_expires_ms" : "id, version, data";
    this.insertColumns = [
      ...this.columns.map((c) => c.column),
      ...(this.leased ? ["lease_owner", "lease_expires_ms"] : []),
      "data",
    ];
  }

  async insert(q: Queryable, input: Record<string, unknown>): Promise<Doc> {
    const fields = withoutIdentity(input);
    const params = this.rowValues(fields);
    const sql = `INSERT INTO ${this.table} (version, ${this.insertColumns.join(", ")})
      VALUES (1, ${params.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING id`;
    const { rows } = await q.query(sql, params);
    return { id: Number(rows[0]!.id), version: 1, ...fields };
  }

  /**
   * Inserts many rows with ids taken from the sequence first, so that ids follow input order
   * whatever order the server inserts a multi-row VALUES in. Run inside a transaction.
   */
  async insertMany(q: Queryable, inputs: readonly Record<string, unknown>[]): Promise<Doc[]> {
    if (inputs.length === 0) return [];
    if (inputs.length === 1) return [await this.insert(q, inputs[0]!)];
    const { rows } = await q.query(
      `SELECT nextval(pg_get_serial_sequence('${this.table}', 'id')) AS id FROM generate_series(1, $1)`,
      [inputs.length],
    );
    const ids = rows.map((row) => Number(row.id)).sort((a, b) => a - b);
    const docs = inputs.map((input, i) => ({ id: ids[i]!, version: 1, ...withoutIdentity(input) }) as Doc);
    const perRow = this.insertColumns.length + 1;
    const chunk = Math.floor(maxParams / perRow);
    for (let start = 0; start < docs.length; start += chunk) {
      const params: unknown[] = [];
      const tuples = docs.slice(start, start + chunk).map((doc) => {
        const values = [doc.id, ...this.rowValues(doc)];
        const base = params.length;
        params.push(...values);
        return `(${values.map((_, i) => `$${base + i + 1}`).join(", ")}, 1)`;
      });
      await q.query(
        `INSERT INTO ${this.table} (id, ${this.insertColumns.join(", ")}, version) VALUES ${tuples.join(", ")}`,
        params,
      );
    }
    return docs;
  }

  async get(q: Queryable, id: number, lock = false): Promise<Doc | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const { rows } = await q.query(
      `SELECT ${this.selectList} FROM ${this.table} WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
      [id],
    );
    return rows[0] && this.toDoc(rows[0]);
  }

  /** Read, merge and write back only if the version is still the one read (no lock needed). */
  async update(
    q: Queryable,
    id: number,
    expectedVersion: number,
    changes: Record<string, unknown>,
  ): Promise<Doc> {
    const current = await this.get(q, id);
    if (!current) {
      throw documentNotFound(this.name, id);
    }
    if (current.version !== expectedVersion) throw this.versionConflict(id, expectedVersion, current.version);
    const { id: _id, version: _version, lease: _lease, ...fields } = changes;
    const next: Doc = { ...current, ...fields, id, version: current.version + 1 };
    if (this.leased) next.lease = current.lease;
    const values = [...this.columns.map((c) => encode(next[c.field])), serialise(next)];
    const sets = [...this.columns.map((c) => c.column), "data"].map((c, i) => `${c} = $${i + 1}`).join(", ");
    const n = values.length;
    const result = await q.query(
      `UPDATE ${this.table} SET version = version + 1, ${sets} WHERE id = $${n + 1} AND version = $${n + 2}`,
      [...values, id, expectedVersion],
    );
    if (result.rowCount !== 1) {
      const now = await this.get(q, id);
      if (!now) throw documentNotFound(this.name, id);
      throw this.versionConflict(id, expectedVersion, now.version);
    }
    return next;
  }

  async delete(q: Queryable, id: number, expectedVersion?: number): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    if (expectedVersion === undefined) {
      return ((await q.query(`DELETE FROM ${this.table} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
    }
    const result = await q.query(`DELETE FROM ${this.table} WHERE id = $1 AND version = $2`, [
      id,
      expectedVersion,
    ]);
    if (result.rowCount === 1) return true;
    const current = await this.get(q, id);
    if (!current) return false;
    throw this.versionConflict(id, expectedVersion, current.version);
  }

  async find(q: Queryable, query: Query<CollectionName> = {}): Promise<Doc[]> {
    const { clauses, params } = this.compile(checkQuery(this.name, query));
    const desc = query.order === "desc";
    if (query.cursor !== undefined) {
      params.push(query.cursor);
      clauses.push(desc ? `id < $${params.length}` : `id > $${params.length}`);
    }
    let sql = `SELECT ${this.selectList} FROM ${this.table}`;
    if (clauses.length > 0) sql += ` WHERE ${clauses.join(" AND ")}`;
    sql += desc ? " ORDER BY id DESC" : " ORDER BY id";
    if (query.limit !== undefined) {
      params.push(query.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const { rows } = await q.query(sql, params);
    return rows.map((row) => this.toDoc(row));
  }

  async count(q: Queryable, where?: Where<CollectionName>): Promise<number> {
    const { clauses, params } = this.compile(checkWhere(this.name, where));
    let sql = `SELECT count(*)::int AS n FROM ${this.table}`;
    if (clauses.length > 0) sql += ` WHERE ${clauses.join(" AND ")}`;
    const { rows } = await q.query(sql, params);
    return rows[0]!.n as number;
  }

  toDoc(row: Record<string, unknown>): Doc {
    const doc: Doc = {
      id: Number(row.id),
      version: row.version as number,
      ...(row.data as Record<string, unknown>),
    };
    if (this.leased) {
      doc.lease =
        row.lease_owner == null
          ? null
          : { owner: row.lease_owner, expiresAt: new Date(Number(row.lease_expires_ms)).toISOString() };
    }
    return doc;
  }

  /** Column names come only from fields `checkQuery` allowed; values are always bound. */
  private compile(conditions: readonly Condition[]): { clauses: string[]; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const condition of conditions) {
      const column =
        condition.field === "id" ? "id" : this.columns.find((c) => c.field === condition.field)!.column;
      const cast = integerFields.has(condition.field) ? "bigint" : "text";
      if ("eq" in condition) {
        if (condition.eq === null) {
          clauses.push(`${column} IS NULL`);
        } else {
          params.push(condition.eq);
          clauses.push(`${column} = $${params.length}`);
        }
        continue;
      }
      const values = condition.in.filter((v) => v !== null);
      params.push(values);
      const anyOf = `${column} = ANY($${params.length}::${cast}[])`;
      clauses.push(condition.in.includes(null) ? `(${anyOf} OR ${column} IS NULL)` : anyOf);
    }
    return { clauses, params };
  }

  private rowValues(fields: Record<string, unknown>): unknown[] {
    const values = this.columns.map((c) => encode(fields[c.field]));
    if (this.leased) values.push(...leaseValues(fields.lease));
    values.push(serialise(fields));
    return values;
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

/** The document but `id`, `version` and the lease (kept in columns), as JSON text for a jsonb column. */
function serialise(doc: Record<string, unknown>): string {
  const { id: _id, version: _version, lease: _lease, ...fields } = doc;
  return JSON.stringify(fields);
}

function encode(value: unknown): unknown {
  return value === undefined ? null : value;
}

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
