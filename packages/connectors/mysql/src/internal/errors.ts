import {
  isNetworkErrorCode,
  type SqlDialect,
  type SqlTarget,
  sqlConnectionError,
} from "@runwarden/connector-kit";
import type { RunwardenError } from "@runwarden/core";

export type Target = SqlTarget;

/** What mysql2 calls its connection failures. */
export const MYSQL: SqlDialect = {
  engine: "MySQL",
  authCodes: [
    "ER_ACCESS_DENIED_ERROR",
    "ER_DBACCESS_DENIED_ERROR",
    "ER_NOT_SUPPORTED_AUTH_MODE",
    "ER_ACCOUNT_HAS_BEEN_LOCKED",
  ],
  missingDatabaseCode: "ER_BAD_DB_ERROR",
  tooManyConnectionsCode: "ER_CON_COUNT_ERROR",
  codeField: "errno",
  cancelVerb: "killed",
};

/** True when the error is about the connection (fatal to it), not the statement. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { fatal?: boolean; code?: string };
  return e.fatal === true || isNetworkErrorCode(e.code) || MYSQL.authCodes.includes(e.code ?? "");
}

/** Maps a connection failure to a connector code. The driver error stays on `cause`. */
export function connectionError(error: unknown, target: Target): RunwardenError {
  return sqlConnectionError(error, target, MYSQL);
}

/** True when the server reports the statement killed or past `max_statement_time`. */
export function isCancelled(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ER_QUERY_INTERRUPTED" || code === "ER_STATEMENT_TIMEOUT";
}

/** The mysql client's shape of a failed statement: `ERROR <errno> (<SQLSTATE>): <message>`. */
export function statementError(error: unknown): string {
  const e = error as { message?: string; errno?: number; sqlState?: string };
  const head = e.errno ? `ERROR ${e.errno}${e.sqlState ? ` (${e.sqlState})` : ""}: ` : "ERROR: ";
  return `${head}${e.message ?? String(error)}\n`;
}
