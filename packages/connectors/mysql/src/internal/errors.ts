import {
  isNetworkErrorCode,
  type SqlDialect,
  type SqlTarget,
  sqlConnectionError,
} from "@runwarden/connector-kit";
import { type RunwardenError, rwError } from "@runwarden/core";

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

export function abortError(cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", "the SQL step was aborted; the query was killed on the server", {
    cause,
    details: { reason: "aborted" },
  });
}
