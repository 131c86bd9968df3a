/**
 * The MySQL / MariaDB connector: SQL steps with server-side bound parameters, read-only prechecks
 * and postchecks, KILL QUERY on timeout or abort, pooled connections.
 */

import {
  describeSql,
  isLoopbackHost,
  jsonSafe,
  parseConnectionOptions,
  releasableHandle,
  renderTable,
  resolveSqlLogin,
  type SqlConnection,
  type SqlCredential,
  sqlCredentialTypes,
  sqlHealthFailure,
  sqlStatement,
} from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type ExecRequest,
  type ExecResult,
  type HealthResult,
  type InfrastructureConnector,
  type Logger,
  rwError,
} from "@runwarden/core";
import mysql, { type ConnectionOptions, type Pool, type PoolConnection } from "mysql2";
import { type MysqlConfig, mysqlConfigSchema, mysqlConnectionOptionsSchema } from "./config.js";
import { abortError, connectionError, isConnectionError, MYSQL, type Target } from "./internal/errors.js";
import { joinParts, runQuery, type StatementResult } from "./internal/query.js";

interface Resolved {
  key: string;
  target: Target;
  options: ConnectionOptions;
}

function resolve(connection: SqlConnection, config: MysqlConfig): Resolved {
  const options = parseConnectionOptions(mysqlConnectionOptionsSchema, connection, "MySQL");
  const login = resolveSqlLogin(connection, { defaultPort: 3306 });
  const { host, port, user, password } = login;
  const database = options.database ?? login.database;
  const tls = options.tls ?? (isLoopbackHost(host) ? "disable" : "verify-full");
  const connectionOptions: ConnectionOptions = {
    host,
    port,
    user,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
    ...(tls === "disable" ? {} : { ssl: { rejectUnauthorized: tls === "verify-full" } }),
    connectTimeout: config.connectTimeoutMs,
    // One statement per step unless the connection asks for scripts (`multiple_statements`);
    // a step with values is a server-side prepared statement, which is always one statement.
    multipleStatements: options.multiple_statements,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: "utf8mb4",
  };
  // The pool key stays in memory, beside the pool config that holds the password anyway.
  const key = JSON.stringify([
    connection.id,
    host,
    port,
    database ?? null,
    user,
    password ?? null,
    tls,
    options.multiple_statements,
  ]);
  return { key, target: { host, port, database }, options: connectionOptions };
}

function checkout(pool: Pool, signal: AbortSignal): Promise<PoolConnection> {
  if (signal.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(abortError(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pool.getConnection((error, connection) => {
      signal.removeEventListener("abort", onAbort);
      if (error) {
        if (!done) reject(error);
        return;
      }
      if (done) connection.release();
      else resolvePromise(connection);
    });
  });
}

function query(connection: PoolConnection, sql: string): Promise<void> {
  return new Promise((resolvePromise, reject) =>
    connection.query(sql, (error) => (error ? reject(error) : resolvePromise())),
  );
}

/** Kills the running statement of `threadId` from a separate short-lived connection. */
function killQuery(options: ConnectionOptions, threadId: number, logger: Logger): void {
  const killer = mysql.createConnection({ ...options, connectTimeout: 5000 });
  killer.on("error", () => {});
  killer.query("KILL QUERY ?", [threadId], (error) => {
    if (error) logger.warn({ err: { message: error.message }, threadId }, "mysql kill query failed");
    killer.destroy();
  });
}

function render(results: StatementResult[], tableRows: number): string {
  return results
    .map((r) =>
      r.isResultSet
        ? renderTable(r.columns, r.rows, r.rowCount, { maxRows: tableRows })
        : `Query OK, ${r.rowCount} rows affected\n`,
    )
    .join("\n");
}

/** Only SQL steps: a shell-rendered command would carry ticket values as text, not parameters. */
function refuseOtherLanguages(request: ExecRequest): void {
  if (request.language === "sql") return;
  throw rwError(
    "RW_ERR_CONNECTOR_REJECTED",
    `the MySQL connector runs sql steps, not ${request.language}: write the step as a \`\`\`sql fence`,
    { details: { reason: "language", language: request.language } },
  );
}

function statementError(error: unknown): ExecResult {
  const e = error as { message?: string; errno?: number; sqlState?: string };
  const head = e.errno ? `ERROR ${e.errno}${e.sqlState ? ` (${e.sqlState})` : ""}: ` : "ERROR: ";
  return { exitCode: 1, exitSignal: null, stdout: "", stderr: `${head}${e.message ?? String(error)}\n` };
}

/** The MySQL / MariaDB connector declaration (default export of `@runwarden/connector-mysql`). */
const mysqlConnector = defineConnector({
  kind: "infrastructure",
  name: "mysql",
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Runs SQL steps on MySQL and MariaDB (mysql2) with bound parameters and read-only checks.",
  configSchema: mysqlConfigSchema,
  capabilities: [
    "run-query",
    "read-only-transaction",
    "cancel-query",
    "timeout",
    "health-check",
    "describe",
    "connection-pool",
  ],
  connectionTypes: ["database:mysql", "database:mariadb"],
  languages: ["sql"],
  credentialTypes: sqlCredentialTypes,
  create(config: MysqlConfig, ctx): InfrastructureConnector<SqlCredential> {
    const logger = ctx.logger.child({ component: "mysql" });
    const pools = new Map<string, Pool>();
    const warm = new Set<string>();
    let closed = false;
    // The same connection object maps to the same pool without parsing its options again.
    const resolvedCache = new WeakMap<SqlConnection, Resolved>();

    function poolFor(resolved: Resolved): Pool {
      let pool = pools.get(resolved.key);
      if (!pool) {
        pool = mysql.createPool({
          ...resolved.options,
          connectionLimit: config.pool.max,
          maxIdle: config.pool.max,
          idleTimeout: config.pool.idleTimeoutMs,
          enableKeepAlive: true,
        });
        pools.set(resolved.key, pool);
      }
      return pool;
    }

    async function acquire(resolved: Resolved, signal: AbortSignal): Promise<PoolConnection> {
      try {
        return await checkout(poolFor(resolved), signal);
      } catch (error) {
        if ((error as { code?: string }).code === "RW_ERR_CONNECTOR_TIMEOUT") throw error;
        throw connectionError(error, resolved.target);
      }
    }

    async function exec(resolved: Resolved, request: ExecRequest): Promise<ExecResult> {
      const { signal } = request;
      if (signal.aborted) throw abortError(signal.reason);
      refuseOtherLanguages(request);
      const { text: sql, values } = sqlStatement(request, joinParts);
      const connection = await acquire(resolved, signal);
      let timedOut = false;
      let aborted = false;
      let broken = false;
      const kill = () => killQuery(resolved.options, connection.threadId, logger);
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, request.timeoutMs ?? config.statementTimeoutMs);
      let rejectAbort: (error: unknown) => void = () => {};
      const abortPromise = new Promise<never>((_, reject) => {
        rejectAbort = reject;
      });
      const onAbort = () => {
        aborted = true;
        kill();
        rejectAbort(abortError(signal.reason));
      };
      signal.addEventListener("abort", onAbort, { once: true });

      const work = (async (): Promise<ExecResult> => {
        try {
          if (request.readOnly) await query(connection, "START TRANSACTION READ ONLY");
          const results = await runQuery(connection, sql, values, config.maxRows);
          if (request.readOnly) await query(connection, "ROLLBACK");
          // A killed SLEEP() returns instead of failing: the timeout still decides.
          if (timedOut)
            return {
              exitCode: null,
              exitSignal: null,
              stdout: "",
              stderr: "query killed after its timeout\n",
              timedOut: true,
            };
          const last = results.at(-1);
          return {
            exitCode: 0,
            exitSignal: null,
            stdout: render(results, config.tableRows),
            stderr: "",
            rows: (last?.rows ?? []).map((row) => jsonSafe({ ...row }) as Record<string, unknown>),
            rowCount: last?.rowCount ?? 0,
          };
        } catch (error) {
          if (isConnectionError(error)) {
            broken = true;
            throw connectionError(error, resolved.target);
          }
          if (request.readOnly) await query(connection, "ROLLBACK").catch(() => (broken = true));
          const code = (error as { code?: string }).code;
          if (timedOut && (code === "ER_QUERY_INTERRUPTED" || code === "ER_STATEMENT_TIMEOUT")) {
            return { ...statementError(error), exitCode: null, timedOut: true };
          }
          return statementError(error);
        }
      })();
      try {
        return await Promise.race([work, abortPromise]);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (aborted) {
          // After an abort the connection is dropped once the killed query has settled.
          void work.then(
            () => connection.destroy(),
            () => connection.destroy(),
          );
        } else if (broken) connection.destroy();
        else connection.release();
      }
    }

    return {
      async open(connection, { signal }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError(signal.reason);
        if (closed) throw rwError("RW_ERR_CONNECTOR_REJECTED", "the MySQL connector is closed");
        let resolved = resolvedCache.get(connection);
        if (!resolved) {
          resolved = resolve(connection, config);
          resolvedCache.set(connection, resolved);
        }
        // The first open checks out a connection, so bad credentials or an unknown database fail
        // here; once the pool holds a connection, opening costs nothing.
        if (!warm.has(resolved.key)) {
          (await acquire(resolved, signal)).release();
          warm.add(resolved.key);
        }
        return releasableHandle("MySQL", (request) => exec(resolved, request));
      },

      async healthCheck(connection, { signal }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError(signal.reason);
          const resolved = resolve(connection, config);
          await new Promise<void>((resolvePromise, reject) => {
            const probe = mysql.createConnection(resolved.options);
            const onAbort = () => {
              probe.destroy();
              reject(abortError(signal.reason));
            };
            signal.addEventListener("abort", onAbort, { once: true });
            probe.on("error", () => {});
            probe.query("SELECT 1", (error) => {
              signal.removeEventListener("abort", onAbort);
              probe.destroy();
              if (error) reject(connectionError(error, resolved.target));
              else resolvePromise();
            });
          });
          return { ok: true, latencyMs: latencyMs() };
        } catch (error) {
          const failure = sqlHealthFailure(error, latencyMs(), MYSQL);
          logger.warn({ connection: connection.name, reason: failure.reason }, "mysql health check failed");
          return failure;
        }
      },

      describe(request, connection) {
        const db =
          (connection.options?.database as string | undefined) ?? connection.credential?.value.database_name;
        const target = `${connection.targetService ?? "mysql"} ${connection.targetHost ?? "?"}:${connection.targetPort ?? 3306}${db ? `/${String(db)}` : ""}`;
        return describeSql(target, request, joinParts);
      },

      async close() {
        closed = true;
        const all = [...pools.values()];
        pools.clear();
        await Promise.all(all.map((pool) => new Promise<void>((done) => pool.end(() => done()))));
      },
    };
  },
});

export default mysqlConnector;
