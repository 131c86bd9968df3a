/** One statement (or a multi-statement script without parameters) on one client, rows capped. */
import type { SqlStatementResult } from "@runwarden/connector-kit";
import pg from "pg";

/** Joins the template's parts with `$1..$n`; values are bound, never spliced. */
export function joinParts(parts: readonly string[]): string {
  return parts.reduce((text, part, i) => (i === 0 ? part : `${text}$${i}${part}`), "");
}

/**
 * Runs `text` with `values` bound. Rows stream through a `row` listener so at most `maxRows` are
 * kept in memory; the rest are only counted. The extended protocol is used unless
 * `multipleStatements` is set and there are no values, so one step is one statement.
 */
export function runQuery(
  client: pg.PoolClient,
  text: string,
  values: readonly unknown[],
  maxRows: number,
  options: { multipleStatements?: boolean } = {},
): Promise<SqlStatementResult[]> {
  return new Promise((resolve, reject) => {
    const simple = options.multipleStatements === true && values.length === 0;
    const query = new pg.Query({
      text,
      ...(values.length > 0 ? { values: [...values] } : {}),
      ...(simple ? {} : { queryMode: "extended" as const }),
    });
    const kept = new Map<unknown, Record<string, unknown>[]>();
    let total = 0;
    query.on("row", (row: Record<string, unknown>, result: unknown) => {
      let rows = kept.get(result);
      if (!rows) {
        rows = [];
        kept.set(result, rows);
      }
      if (total++ < maxRows) rows.push(row);
    });
    query.on("error", reject);
    query.on("end", (end: pg.QueryResult | pg.QueryResult[]) => {
      const results = Array.isArray(end) ? end : [end];
      resolve(
        results.map((result) => {
          const columns = (result.fields ?? []).map((field) => field.name);
          const rowCount = result.rowCount ?? 0;
          return {
            columns,
            rows: kept.get(result) ?? [],
            rowCount,
            // A statement without columns shows psql's command tag: `UPDATE 3`.
            summary: columns.length > 0 ? null : `${result.command ?? ""} ${rowCount}`,
          };
        }),
      );
    });
    client.query(query);
  });
}
