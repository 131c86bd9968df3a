/**
 * The one exec path of the SQL connectors: check out a pooled session (an abort while waiting
 * rejects at once), run the statement with its values bound (inside a read-only transaction for
 * checks), cancel it on the server on timeout or abort, render the result, and release the session
 * on every path. A connector supplies only its {@link SqlDriver}.
 */
import { type ExecRequest, type ExecResult, type RunwardenError, rwError } from "@runwarden/core";
import type { SqlConfig } from "./sql-config.js";
import { type JoinParts, sqlStatement } from "./sql-connection.js";
import { type SqlDialect, type SqlTarget, sqlConnectionError } from "./sql-errors.js";
import { jsonSafe, renderTable } from "./sql-render.js";

/** One statement's result as a driver reports it. */
export interface SqlStatementResult {
  /** The result set's columns; empty for a statement without one. */
  columns: string[];
  /** The rows kept (at most the `maxRows` {@link SqlSession.run} was given). */
  rows: Record<string, unknown>[];
  /** Rows returned (all of them, kept or not), or rows affected. */
  rowCount: number;
  /**
   * The line stdout shows instead of a table for a statement without a result set
   * (`UPDATE 3`, `Query OK, 3 rows affected`); `null` renders `columns` and `rows` as a table.
   */
  summary: string | null;
}

/** One pooled connection, checked out for one step. */
export interface SqlSession {
  /** Begins a read-only transaction (`BEGIN READ ONLY`, `START TRANSACTION READ ONLY`). */
  beginReadOnly(): Promise<void>;
  /** Rolls the read-only transaction back. */
  rollback(): Promise<void>;
  /**
   * Runs `text` with `values` bound by the driver (never spliced), keeping at most `maxRows` rows
   * in all; one result a statement.
   */
  run(text: string, values: readonly unknown[], maxRows: number): Promise<SqlStatementResult[]>;
  /** Asks the server to stop the running statement (from another connection); never throws. */
  cancel(): void;
  /** Gives the connection back to the pool, or closes it when `destroy` (broken, or aborted). */
  release(destroy: boolean): void;
}

/** What a SQL connector supplies to {@link runSqlStep} for one connection. */
export interface SqlDriver {
  /** The engine's name and cancel verb (messages), its connection-failure codes (error mapping). */
  dialect: SqlDialect;
  /** Where the connection goes, for mapped connection errors. */
  target: SqlTarget;
  /** Joins `request.sql.parts` with the driver's placeholders. */
  joinParts: JoinParts;
  /** Takes a session from the connector's pool. */
  acquire(): Promise<SqlSession>;
  /** True when the error is about the connection (it cannot be reused), not the statement. */
  isConnectionError(error: unknown): boolean;
  /** True when the error is the server reporting a statement cancelled by {@link SqlSession.cancel}. */
  isCancelled(error: unknown): boolean;
  /** The stderr text of a failed statement, in the engine's usual shape (`ERROR:  …`). */
  statementError(error: unknown): string;
}

const cancelled = (dialect: SqlDialect) => dialect.cancelVerb ?? "cancelled";

/**
 * The error of an aborted SQL step (or open, or health check): `RW_ERR_CONNECTOR_TIMEOUT`,
 * `details.reason: "aborted"`, the abort reason on `cause`.
 */
export function sqlAbortError(dialect: SqlDialect, cause?: unknown): RunwardenError {
  return rwError(
    "RW_ERR_CONNECTOR_TIMEOUT",
    `the SQL step was aborted; the query was ${cancelled(dialect)} on the server`,
    { cause, details: { reason: "aborted" } },
  );
}

/**
 * Takes a session from the driver's pool. An abort while waiting rejects at once with
 * {@link sqlAbortError} (the session goes back when it arrives); a failure to connect is mapped by
 * {@link sqlConnectionError}.
 */
export function checkoutSqlSession(driver: SqlDriver, signal: AbortSignal): Promise<SqlSession> {
  if (signal.aborted) return Promise.reject(sqlAbortError(driver.dialect, signal.reason));
  return new Promise((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(sqlAbortError(driver.dialect, signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    driver.acquire().then(
      (session) => {
        signal.removeEventListener("abort", onAbort);
        if (done) session.release(false);
        else resolve(session);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (!done) reject(sqlConnectionError(error, driver.target, driver.dialect));
      },
    );
  });
}

function render(results: readonly SqlStatementResult[], tableRows: number): string {
  return results
    .map((r) =>
      r.summary === null
        ? renderTable(r.columns, r.rows, r.rowCount, { maxRows: tableRows })
        : `${r.summary}\n`,
    )
    .join("\n");
}

function failed(driver: SqlDriver, error: unknown): ExecResult {
  return { exitCode: 1, exitSignal: null, stdout: "", stderr: driver.statementError(error) };
}

/**
 * Runs one SQL step on a session of `driver`:
 * - only `sql` steps (else `RW_ERR_CONNECTOR_REJECTED`); `request.sql`'s values are bound;
 * - a read-only step runs inside a read-only transaction that is rolled back after;
 * - after `request.timeoutMs` (else `limits.statementTimeoutMs`) the statement is cancelled on the
 *   server and the result is `timedOut` with a null exit code;
 * - an abort of `request.signal` cancels it on the server and rejects at once with
 *   {@link sqlAbortError}; the session is closed once the cancelled statement has settled;
 * - a failed statement is exit code 1 with the driver's message on stderr; a lost connection
 *   rejects with the mapped connection error and closes the session;
 * - at most `limits.maxRows` rows are kept (all counted), `limits.tableRows` shown in stdout;
 * - the session is released on every path.
 */
export async function runSqlStep(
  driver: SqlDriver,
  request: ExecRequest,
  limits: Pick<SqlConfig, "statementTimeoutMs" | "maxRows" | "tableRows">,
): Promise<ExecResult> {
  const { signal } = request;
  if (signal.aborted) throw sqlAbortError(driver.dialect, signal.reason);
  // Only SQL steps: a shell-rendered command would carry ticket values as text, not parameters.
  if (request.language !== "sql") {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `the ${driver.dialect.engine} connector runs sql steps, not ${request.language}: write the step as a \`\`\`sql fence`,
      { details: { reason: "language", language: request.language } },
    );
  }
  const { text, values } = sqlStatement(request, driver.joinParts);
  const session = await checkoutSqlSession(driver, signal);
  let timedOut = false;
  let aborted = false;
  let broken = false;
  const timer = setTimeout(() => {
    timedOut = true;
    session.cancel();
  }, request.timeoutMs ?? limits.statementTimeoutMs);
  let rejectAbort: (error: unknown) => void = () => {};
  const abortPromise = new Promise<never>((_, reject) => {
    rejectAbort = reject;
  });
  const onAbort = () => {
    aborted = true;
    session.cancel();
    rejectAbort(sqlAbortError(driver.dialect, signal.reason));
  };
  signal.addEventListener("abort", onAbort, { once: true });

  const work = (async (): Promise<ExecResult> => {
    try {
      if (request.readOnly) await session.beginReadOnly();
      const results = await session.run(text, values, limits.maxRows);
      if (request.readOnly) await session.rollback();
      // A cancelled statement may return instead of failing (a killed SLEEP()): the timeout decides.
      if (timedOut) {
        return {
          exitCode: null,
          exitSignal: null,
          stdout: "",
          stderr: `query ${cancelled(driver.dialect)} after its timeout\n`,
          timedOut: true,
        };
      }
      const last = results.at(-1);
      return {
        exitCode: 0,
        exitSignal: null,
        stdout: render(results, limits.tableRows),
        stderr: "",
        rows: (last?.rows ?? []).map((row) => jsonSafe({ ...row }) as Record<string, unknown>),
        rowCount: last?.rowCount ?? 0,
      };
    } catch (error) {
      if (driver.isConnectionError(error)) {
        broken = true;
        throw sqlConnectionError(error, driver.target, driver.dialect);
      }
      if (request.readOnly) await session.rollback().catch(() => (broken = true));
      if (timedOut && driver.isCancelled(error)) {
        return { ...failed(driver, error), exitCode: null, timedOut: true };
      }
      return failed(driver, error);
    }
  })();
  try {
    return await Promise.race([work, abortPromise]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    if (aborted) {
      // The session is closed once the cancelled statement has settled.
      void work.then(
        () => session.release(true),
        () => session.release(true),
      );
    } else {
      session.release(broken);
    }
  }
}
