/**
 * MySQL's side of connector-kit's SQL step: a pooled mysql2 connection as a session, read-only
 * transactions, and `KILL QUERY` from a separate connection to stop a statement.
 */
import type { SqlDriver, SqlSession } from "@runwarden/connector-kit";
import type { Logger } from "@runwarden/core";
import mysql, { type ConnectionOptions, type Pool, type PoolConnection } from "mysql2";
import { isCancelled, isConnectionError, MYSQL, statementError } from "./errors.js";
import { joinParts, runQuery } from "./query.js";
import type { Resolved } from "./resolve.js";

function query(connection: PoolConnection, sql: string): Promise<void> {
  return new Promise((resolve, reject) =>
    connection.query(sql, (error) => (error ? reject(error) : resolve())),
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

function session(connection: PoolConnection, resolved: Resolved, logger: Logger): SqlSession {
  return {
    beginReadOnly: () => query(connection, "START TRANSACTION READ ONLY"),
    rollback: () => query(connection, "ROLLBACK"),
    run: (sql, values, maxRows) => runQuery(connection, sql, values, maxRows),
    cancel: () => killQuery(resolved.options, connection.threadId, logger),
    release: (destroy) => (destroy ? connection.destroy() : connection.release()),
  };
}

/** The driver `runSqlStep` uses for one resolved connection and its pool. */
export function mysqlDriver(resolved: Resolved, pool: Pool, logger: Logger): SqlDriver {
  return {
    dialect: MYSQL,
    target: resolved.target,
    joinParts,
    acquire: () =>
      new Promise((resolve, reject) =>
        pool.getConnection((error, connection) =>
          error ? reject(error) : resolve(session(connection, resolved, logger)),
        ),
      ),
    isConnectionError,
    isCancelled,
    statementError,
  };
}
