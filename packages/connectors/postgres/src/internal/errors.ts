import { type RunwardenError, rwError } from "@runwarden/core";

export interface Target {
  host: string;
  port: number;
  database: string;
}

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Why a connection failed, as the health check reports it. */
export function reasonOf(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "DNS";
  if (code === "ECONNREFUSED") return "refused";
  if (code === "28P01" || code === "28000") return "auth";
  if (code === "3D000") return "database";
  if (code === "ETIMEDOUT" || /timeout/i.test(String((error as Error).message))) return "timeout";
  if (code && NETWORK.has(code)) return "unreachable";
  return "protocol";
}

/** True when the error is about the connection, not the statement. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (
    e.code &&
    (NETWORK.has(e.code) ||
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
  const where = `${target.host}:${target.port}/${target.database}`;
  const reason = reasonOf(error);
  const code = (error as { code?: string }).code;
  const details = {
    reason,
    host: target.host,
    port: target.port,
    database: target.database,
    ...(code ? { sqlstate: code } : {}),
  };
  switch (reason) {
    case "auth":
      return rwError("RW_ERR_CONNECTOR_AUTH", `PostgreSQL ${where} refused the credential`, {
        cause: error,
        details,
      });
    case "database":
      return rwError(
        "RW_ERR_CONNECTOR_NOT_FOUND",
        `PostgreSQL database ${target.database} does not exist on ${target.host}:${target.port}`,
        { cause: error, details },
      );
    case "timeout":
      return rwError("RW_ERR_CONNECTOR_TIMEOUT", `connecting to PostgreSQL ${where} timed out`, {
        cause: error,
        details,
      });
    default:
      if (code === "53300") {
        return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", `PostgreSQL ${where} has too many connections`, {
          cause: error,
          details,
        });
      }
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot reach PostgreSQL ${where} (${reason})`, {
        cause: error,
        details,
      });
  }
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
