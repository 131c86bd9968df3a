import {
  isNetworkErrorCode,
  type SqlDialect,
  type SqlTarget,
  sqlConnectionError,
} from "@runwarden/connector-kit";
import { type RunwardenError, rwError } from "@runwarden/core";

export interface Target extends SqlTarget {
  database: string;
}

/** What pg (SQLSTATE codes) calls its connection failures. */
export const POSTGRES: SqlDialect = {
  engine: "PostgreSQL",
  authCodes: ["28P01", "28000"],
  missingDatabaseCode: "3D000",
  tooManyConnectionsCode: "53300",
  codeField: "sqlstate",
};

/** True when the error is about the connection, not the statement. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (
    e.code &&
    (isNetworkErrorCode(e.code) ||
      e.code === "ETIMEDOUT" ||
      e.code.startsWith("08") ||
      e.code.startsWith("28") ||
      e.code === "3D000" ||
      e.code === "57P01" ||
      e.code === "53300")
  ) {
    return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
    e.message ?? "",
  );
}

/** Maps a connection failure to a connector code. The driver error stays on `cause`. */
export function connectionError(error: unknown, target: Target): RunwardenError {
  return sqlConnectionError(error, target, POSTGRES);
}

export function abortError(cause?: unknown): RunwardenError {
  return rwError(
    "RW_ERR_CONNECTOR_TIMEOUT",
    "the SQL step was aborted; the query was cancelled on the server",
    {
      cause,
      details: { reason: "aborted" },
    },
  );
}
