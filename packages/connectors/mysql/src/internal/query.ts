/** One statement (or a script without parameters) on one connection, rows capped. */
import type { SqlStatementResult } from "@runwarden/connector-kit";
import type { FieldPacket, PoolConnection, ResultSetHeader } from "mysql2";

interface ResultSet {
  /** Columns of a result set; empty for a statement that returns none. */
  columns: string[];
  rows: Record<string, unknown>[];
  /** Rows returned, or rows affected for a statement without a result set. */
  rowCount: number;
  isResultSet: boolean;
}

/** Joins the template's parts with `?`; values are bound by the server, never spliced. */
export function joinParts(parts: readonly string[]): string {
  return parts.join("?");
}

/**
 * Runs `sql`: a server-side prepared statement (`execute`) when there are values, a plain query
 * otherwise. Rows arrive as events so at most `maxRows` are kept in memory.
 */
export function runQuery(
  connection: PoolConnection,
  sql: string,
  values: readonly unknown[],
  maxRows: number,
): Promise<SqlStatementResult[]> {
  return new Promise((resolve, reject) => {
    const sets: ResultSet[] = [];
    let kept = 0;
    const command =
      values.length > 0
        ? connection.execute(sql, values.map((v) => (v === undefined ? null : v)) as never)
        : connection.query(sql);
    const emitter = command as unknown as NodeJS.EventEmitter;
    emitter.on("fields", (fields?: FieldPacket[]) => {
      sets.push({
        columns: fields ? fields.map((f) => f.name) : [],
        rows: [],
        rowCount: 0,
        isResultSet: fields !== undefined,
      });
    });
    emitter.on("result", (row: Record<string, unknown> | ResultSetHeader) => {
      let set = sets.at(-1);
      if (!set) {
        set = { columns: [], rows: [], rowCount: 0, isResultSet: false };
        sets.push(set);
      }
      if (!set.isResultSet) {
        set.rowCount = (row as ResultSetHeader).affectedRows ?? 0;
        return;
      }
      set.rowCount++;
      if (kept < maxRows) {
        kept++;
        set.rows.push(row as Record<string, unknown>);
      }
    });
    emitter.on("error", reject);
    emitter.on("end", () =>
      resolve(
        sets.map(({ columns, rows, rowCount, isResultSet }) => ({
          columns,
          rows,
          rowCount,
          summary: isResultSet ? null : `Query OK, ${rowCount} rows affected`,
        })),
      ),
    );
  });
}
