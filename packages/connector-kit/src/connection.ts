/** What every infrastructure connector does with a connection: read its options, hand out a handle. */
import {
  type ConnectionHandle,
  type ExecRequest,
  type ExecResult,
  type ResolvedConnection,
  rwError,
} from "@runwarden/core";
import type { z } from "zod";

/**
 * Parses `connection.options` (absent counts as `{}`) with the connector's options schema and
 * returns the parsed output. Invalid options throw `RW_ERR_CONNECTOR_REJECTED`
 * (`the <label> options of connection <name> are invalid`) with every zod issue as
 * `details.issues: { path, message }[]`.
 *
 * @param label - the system's name for the message: `"PostgreSQL"`, `"SSH"`.
 *
 * @example
 * const options = parseConnectionOptions(acmeConnectionOptionsSchema, connection, "Acme");
 */
export function parseConnectionOptions<S extends z.ZodType>(
  schema: S,
  connection: Pick<ResolvedConnection, "name" | "options">,
  label: string,
): z.output<S> {
  const parsed = schema.safeParse(connection.options ?? {});
  if (!parsed.success) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `the ${label} options of connection ${connection.name} are invalid`,
      {
        details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
      },
    );
  }
  return parsed.data;
}

/**
 * The `ConnectionHandle` that `open()` returns when releasing it only has to stop further steps
 * (the connector's pool keeps the connection): `exec` runs `run` until `release()` is called, and
 * rejects with `RW_ERR_CONNECTOR_REJECTED` (`exec() on a released <label> handle`) after.
 *
 * @example
 * async open(connection, { signal }) {
 *   const target = resolve(connection);
 *   await pool.warm(target, signal);
 *   return releasableHandle("Acme", (request) => run(target, request));
 * }
 */
export function releasableHandle(
  label: string,
  run: (request: ExecRequest) => Promise<ExecResult>,
): ConnectionHandle {
  let released = false;
  return {
    exec(request) {
      if (released) {
        return Promise.reject(rwError("RW_ERR_CONNECTOR_REJECTED", `exec() on a released ${label} handle`));
      }
      return run(request);
    },
    async release() {
      released = true;
    },
  };
}
