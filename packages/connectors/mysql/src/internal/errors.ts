import { type RunwardenError, rwError } from "@runwarden/core";

export interface Target {
  host: string;
  port: number;
  database: string | undefined;
}

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
]);
const AUTH = new Set([
  "ER_ACCESS_DENIED_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_NOT_SUPPORTED_AUTH_MODE",
  "ER_ACCOUNT_HAS_BEEN_LOCKED",
]);

/** Why a connection failed, as the health check reports it. */
export function reasonOf(error: unknown): string {
  const code = (error as { code?: string }).code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "DNS";
  if (code === "ECONNREFUSED") return "refused";
  if (AUTH.has(code)) return "auth";
  if (code === "ER_BAD_DB_ERROR") return "database";
  if (code === "ETIMEDOUT" || /timeout/i.test(String((error as Error).message))) return "timeout";
  if (NETWORK.has(code)) return "unreachable";
  return "protocol";
}

/** True when the error is about the connection (fatal to it), not the statement. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { fatal?: boolean; code?: string };
  return e.fatal === true || NETWORK.has(e.code ?? "") || AUTH.has(e.code ?? "");
}

/** Maps a connection failure to a connector code. The driver error stays on `cause`. */
export function connectionError(error: unknown, target: Target): RunwardenError {
  const where = `${target.host}:${target.port}${target.database ? `/${target.database}` : ""}`;
  const reason = reasonOf(error);
  const code = (error as { code?: string }).code;
  const details = {
    reason,
    host: target.host,
    port: target.port,
    database: target.database ?? null,
    ...(code ? { errno: code } : {}),
  };
  switch (reason) {
    case "auth":
      return rwError("RW_ERR_CONNECTOR_AUTH", `MySQL ${where} refused the credential`, {
        cause: error,
        details,
      });
    case "database":
      return rwError(
        "RW_ERR_CONNECTOR_NOT_FOUND",
        `MySQL database ${target.database} does not exist on ${target.host}:${target.port}`,
        { cause: error, details },
      );
    case "timeout":
      return rwError("RW_ERR_CONNECTOR_TIMEOUT", `connecting to MySQL ${where} timed out`, {
        cause: error,
        details,
      });
    default:
      if (code === "ER_CON_COUNT_ERROR") {
        return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", `MySQL ${where} has too many connections`, {
          cause: error,
          details,
        });
      }
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot reach MySQL ${where} (${reason})`, {
        cause: error,
        details,
      });
  }
}

export function abortError(cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", "the SQL step was aborted; the query was killed on the server", {
    cause,
    details: { reason: "aborted" },
  });
}
