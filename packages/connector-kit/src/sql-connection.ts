/**
 * Turning a resolved connection and a SQL step into what a driver needs: the login, the TLS
 * default, the statement with its bound values, and the approver's one-line description.
 */
import {
  type CredentialOf,
  databaseCredential,
  type ExecRequest,
  type ResolvedConnection,
  rwError,
} from "@runwarden/core";

/** The credential types the SQL connectors accept: core's `database` (the connector guide's body). */
export const sqlCredentialTypes = { database: databaseCredential };

/** A SQL connection's credential, typed. */
export type SqlCredential = CredentialOf<typeof sqlCredentialTypes>;

/** A connection as a SQL connector receives it. */
export type SqlConnection = ResolvedConnection<SqlCredential>;

/** Where and as whom a SQL connection logs in, from the connection record and its credential. */
export interface SqlLogin {
  /** The database host (the connection's `targetHost`). */
  host: string;
  /** The port (the connection's, or the driver's default). */
  port: number;
  /** The user name, from the credential. */
  user: string;
  /** The credential's `password` secret, when it has one. */
  password: string | undefined;
  /** The credential's `database_name` field; connection options take precedence. */
  database: string | undefined;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/;

/** True for `localhost`, `127.x.x.x` and `::1`: hosts whose traffic never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Reads the login of a SQL connection: the host from `targetHost` (else the credential's `host`
 * field), the port from `targetPort` (else the `port` field, else `defaultPort`), the user from
 * the `username` field and the `password` secret of its `database` credential. A missing host throws
 * `RW_ERR_CONNECTOR_REJECTED`; a missing user `RW_ERR_CONNECTOR_AUTH` (`details.reason: "auth"`).
 */
export function resolveSqlLogin(
  connection: Pick<SqlConnection, "name" | "targetHost" | "targetPort" | "credential">,
  { defaultPort }: { defaultPort: number },
): SqlLogin {
  const fields = connection.credential?.value;
  const host = connection.targetHost ?? fields?.host;
  if (!host) throw rwError("RW_ERR_CONNECTOR_REJECTED", `connection ${connection.name} has no target_host`);
  const port = connection.targetPort ?? fields?.port ?? defaultPort;
  const user = fields?.username;
  if (!user) {
    throw rwError(
      "RW_ERR_CONNECTOR_AUTH",
      `connection ${connection.name} has no username (credential field username)`,
      { details: { reason: "auth" } },
    );
  }
  return {
    host,
    port,
    user,
    password: fields?.password,
    database: fields?.database_name,
  };
}

/** Joins `ExecRequest.sql.parts` with the driver's placeholders (`?` for mysql2, `$1`… for pg). */
export type JoinParts = (parts: readonly string[]) => string;

/**
 * The statement a SQL step runs: `request.sql`'s parts joined with the driver's placeholders and
 * its values to bind, or the command as it is with no values. Parts that do not number one more
 * than the values throw `RW_ERR_CONNECTOR_REJECTED`: a value is never spliced into the text.
 */
export function sqlStatement(
  request: Pick<ExecRequest, "command" | "sql">,
  joinParts: JoinParts,
): { text: string; values: unknown[] } {
  if (!request.sql) return { text: request.command, values: [] };
  if (request.sql.parts.length !== request.sql.values.length + 1) {
    throw rwError("RW_ERR_CONNECTOR_REJECTED", "sql.parts must have one more entry than sql.values", {
      details: { parts: request.sql.parts.length, values: request.sql.values.length },
    });
  }
  return { text: joinParts(request.sql.parts), values: request.sql.values };
}

/**
 * One line for an approver: `target`, ` (read-only)` for checks, how many values are bound, and
 * the statement with its white space folded, cut at 200 characters. Bound values are never shown.
 *
 * @example
 * describeSql("postgresql db1:5432/app", { command: "", language: "sql", readOnly: false,
 *   sql: { parts: ["DELETE FROM jobs WHERE id = ", ""], values: [42] } }, joinParts);
 * // "postgresql db1:5432/app, 1 bound values: DELETE FROM jobs WHERE id = $1"
 */
export function describeSql(
  target: string,
  request: Pick<ExecRequest, "command" | "sql" | "readOnly">,
  joinParts: JoinParts,
): string {
  const sql = (request.sql ? joinParts(request.sql.parts) : request.command).trim().replace(/\s+/g, " ");
  const bound = request.sql ? `, ${request.sql.values.length} bound values` : "";
  return `${target}${request.readOnly ? " (read-only)" : ""}${bound}: ${sql.length > 200 ? `${sql.slice(0, 199)}…` : sql}`;
}
