/**
 * PostgreSQL's side of connector-kit's SQL step: a pooled pg client as a session, read-only
 * transactions, and `pg_cancel_backend` from a separate connection to stop a statement.
 */
import type { SqlDriver, SqlSession } from "@runwarden/connector-kit";
import type { Logger } from "@runwarden/core";
import pg from "pg";
import { isCancelled, isConnectionError, POSTGRES, statementError } from "./errors.js";
import { joinParts, runQuery } from "./query.js";
import type { Resolved } from "./resolve.js";

/** Asks the server to cancel whatever `pid` runs, from a separate short-lived connection. */
async function cancelBackend(config: pg.ClientConfig, pid: number, logger: Logger): Promise<void> {
  const canceller = new pg.Client({ ...config, connectionTimeoutMillis: 5000 });
  try {
    await canceller.connect();
    await canceller.query("SELECT pg_cancel_backend($1)", [pid]);
  } catch (error) {
    logger.warn({ err: { message: (error as Error).message }, pid }, "postgres cancel failed");
  } finally {
    await canceller.end().catch(() => {});
  }
}

function session(client: pg.PoolClient, resolved: Resolved, logger: Logger): SqlSession {
  const pid = (client as unknown as { processID: number }).processID;
  return {
    async beginReadOnly() {
      await client.query("BEGIN READ ONLY");
    },
    async rollback() {
      await client.query("ROLLBACK");
    },
    run: (text, values, maxRows) =>
      runQuery(client, text, values, maxRows, { multipleStatements: resolved.multipleStatements }),
    cancel: () => void cancelBackend(resolved.client, pid, logger),
    // Destroyed, the client leaves the pool and its backend ends.
    release: (destroy) => client.release(destroy ? true : undefined),
  };
}

/** The driver `runSqlStep` uses for one resolved connection and its pool. */
export function postgresDriver(resolved: Resolved, pool: pg.Pool, logger: Logger): SqlDriver {
  return {
    dialect: POSTGRES,
    target: resolved.target,
    joinParts,
    acquire: async () => session(await pool.connect(), resolved, logger),
    isConnectionError,
    isCancelled,
    statementError,
  };
}
