import {
  isNetworkErrorCode,
  type SqlDialect,
  type SqlTarget,
  sqlConnectionError,
} from "@runwarden/connector-kit";
import type { RunwardenError } from "@runwarden/core";

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
  cancelVerb: "cancelled",
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

/** True when pg reports the statement cancelled (`57014`, query_canceled). */
export function isCancelled(error: unknown): boolean {
  return (error as { code?: string }).code === "57014";
}

/** psql's shape of a failed statement: `ERROR:`, `DETAIL:`, `HINT:` and the SQLSTATE. */
export function statementError(error: unknown): string {
  const e = error as { message?: string; code?: string; detail?: string; hint?: string };
  const lines = [`ERROR:  ${e.message ?? String(error)}`];
  if (e.detail) lines.push(`DETAIL:  ${e.detail}`);
  if (e.hint) lines.push(`HINT:  ${e.hint}`);
  if (e.code) lines.push(`SQLSTATE: ${e.code}`);
  return `${lines.join("\n")}\n`;
}
