/**
 * Driver failures of a SQL connection mapped onto the connector codes. What differs between
 * databases (the driver's codes, the engine's name) is a {@link SqlDialect}; the mapping is shared.
 */
import { type HealthResult, type RunwardenError, rwError } from "@runwarden/core";

/** Why a SQL connection failed, as health checks and `details.reason` report it. */
export type SqlFailureReason =
  | "DNS"
  | "refused"
  | "auth"
  | "database"
  | "timeout"
  | "unreachable"
  | "protocol";

/** What a SQL driver calls its connection failures. */
export interface SqlDialect {
  /** The engine's name for messages: `"PostgreSQL"`, `"MySQL"`. */
  engine: string;
  /** Driver codes meaning the server refused the credential (`28P01`, `ER_ACCESS_DENIED_ERROR`). */
  authCodes: readonly string[];
  /** The driver code for an unknown database (`3D000`, `ER_BAD_DB_ERROR`). */
  missingDatabaseCode: string;
  /** The driver code for a server out of connections (`53300`, `ER_CON_COUNT_ERROR`). */
  tooManyConnectionsCode: string;
  /** The `details` key the driver's code is reported under: `sqlstate`, `errno`. */
  codeField: string;
  /**
   * What the server does to a statement on timeout or abort, for messages: `cancelled`
   * (`pg_cancel_backend`, the default), `killed` (`KILL QUERY`).
   */
  cancelVerb?: string;
}

/** Where a SQL connection goes, for messages and `details`. */
export interface SqlTarget {
  /** The database host. */
  host: string;
  /** The database port. */
  port: number;
  /** The database name, when the connection names one. */
  database: string | undefined;
}

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  // mysql2: the server closed the connection.
  "PROTOCOL_CONNECTION_LOST",
]);

/** The driver's error code (`code`), or `""`. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : "";
}

/** True for socket-level codes: DNS, refused, reset, unreachable, broken pipe, connection lost. */
export function isNetworkErrorCode(code: string | undefined): boolean {
  return code !== undefined && NETWORK.has(code);
}

/** Why a connection failed, from the driver error's code (and a `timeout` in its message). */
export function sqlFailureReason(error: unknown, dialect: SqlDialect): SqlFailureReason {
  const code = codeOf(error);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "DNS";
  if (code === "ECONNREFUSED") return "refused";
  if (code !== "" && dialect.authCodes.includes(code)) return "auth";
  if (code !== "" && code === dialect.missingDatabaseCode) return "database";
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (code === "ETIMEDOUT" || /timeout/i.test(String(message))) return "timeout";
  if (NETWORK.has(code)) return "unreachable";
  return "protocol";
}

/**
 * Maps a connection failure to a connector code, the driver error kept on `cause`: a refused
 * credential is `AUTH`, an unknown database `NOT_FOUND`, a timeout `TIMEOUT`, a server out of
 * connections `RATE_LIMITED`, anything else `UNREACHABLE`. `details` holds the reason, host, port,
 * database and the driver's code under `dialect.codeField`; never the credential.
 */
export function sqlConnectionError(error: unknown, target: SqlTarget, dialect: SqlDialect): RunwardenError {
  const { engine } = dialect;
  const where = `${target.host}:${target.port}${target.database ? `/${target.database}` : ""}`;
  const reason = sqlFailureReason(error, dialect);
  const code = codeOf(error);
  const details = {
    reason,
    host: target.host,
    port: target.port,
    database: target.database ?? null,
    ...(code ? { [dialect.codeField]: code } : {}),
  };
  switch (reason) {
    case "auth":
      return rwError("RW_ERR_CONNECTOR_AUTH", `${engine} ${where} refused the credential`, {
        cause: error,
        details,
      });
    case "database":
      return rwError(
        "RW_ERR_CONNECTOR_NOT_FOUND",
        `${engine} database ${target.database} does not exist on ${target.host}:${target.port}`,
        { cause: error, details },
      );
    case "timeout":
      return rwError("RW_ERR_CONNECTOR_TIMEOUT", `connecting to ${engine} ${where} timed out`, {
        cause: error,
        details,
      });
    default:
      if (code === dialect.tooManyConnectionsCode) {
        return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", `${engine} ${where} has too many connections`, {
          cause: error,
          details,
        });
      }
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot reach ${engine} ${where} (${reason})`, {
        cause: error,
        details,
      });
  }
}

/**
 * A SQL connector's `healthCheck`: runs `probe` (connect and `SELECT 1`) and returns
 * `{ ok: true, latencyMs }`, or {@link sqlHealthFailure} of what it threw; it never throws.
 *
 * @example
 * const result = await sqlHealthCheck(ACME, async () => {
 *   if (signal.aborted) throw sqlAbortError(ACME, signal.reason);
 *   await probe(resolve(connection), signal);
 * });
 * if (!result.ok) logger.warn({ connection: connection.name, reason: result.reason }, "acme health check failed");
 */
export async function sqlHealthCheck(dialect: SqlDialect, probe: () => Promise<void>): Promise<HealthResult> {
  const start = performance.now();
  const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
  try {
    await probe();
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    return sqlHealthFailure(error, latencyMs(), dialect);
  }
}

/**
 * The `HealthResult` of a failed SQL health check: the reason from a mapped error's
 * `details.reason`, else from the driver error (on `cause`, or `error` itself).
 */
export function sqlHealthFailure(error: unknown, latencyMs: number, dialect: SqlDialect): HealthResult {
  const e = error as { message?: string; details?: { reason?: string }; cause?: unknown } | null | undefined;
  const reason = e?.details?.reason ?? sqlFailureReason(e?.cause ?? error, dialect);
  return { ok: false, latencyMs, reason, message: e?.message ?? String(error) };
}
