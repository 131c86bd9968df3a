/**
 * The one error type Runwarden throws. Callers match on `code` (stable, public API), never on
 * `instanceof`: two copies of the library can coexist in one process.
 */

const BRAND = Symbol.for("runwarden.error");

interface CodeInfo {
  /** HTTP status the adapter answers with. */
  readonly status: number;
  readonly retryable: boolean;
  /** When it happens (docs/errors.md). */
  readonly when: string;
  /** How to fix it (docs/errors.md). */
  readonly fix: string;
}

/**
 * Every error code, with its HTTP status, whether a retry can help, when it happens and how to
 * fix it. docs/errors.md lists the same table; a test keeps the two in step.
 */
export const errorCatalog = {
  RW_ERR_CONFIG_INVALID: {
    status: 500,
    retryable: false,
    when: "createEngine() or a component was given options that do not validate",
    fix: "Read `details.issues`: each names the option path and what was expected",
  },
  RW_ERR_CONFIG_HOST_OWNED: {
    status: 409,
    retryable: false,
    when: "a connector configured by the host (environment variables) was sent a configuration through the API",
    fix: "Change or unset the variable `details.configuredBy` names and restart: the host's configuration wins over a stored one",
  },
  RW_ERR_INPUT_INVALID: {
    status: 422,
    retryable: false,
    when: "a ticket, request body or other input failed validation",
    fix: "Read `details.fields`: each entry names a field and why it was refused",
  },
  RW_ERR_INPUT_CSV_HEADER: {
    status: 422,
    retryable: false,
    when: "a CSV file's header has no `title` column, so no row can be imported",
    fix: "Download the CSV template and keep its header row",
  },
  RW_ERR_INPUT_TOO_LARGE: {
    status: 413,
    retryable: false,
    when: "an upload or request body exceeds the configured size limit",
    fix: "Split the file or raise the limit in the host's configuration",
  },
  RW_ERR_INPUT_MALFORMED: {
    status: 400,
    retryable: false,
    when: "a request body cannot be read at all: JSON that does not parse or nests deeper than 64 levels, a broken or cut-off multipart upload",
    fix: "Send well-formed JSON (or the documented body) with a matching Content-Type; flatten deeply nested `meta_data`",
  },
  RW_ERR_INPUT_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    when: "a request body's Content-Type is not one the endpoint accepts",
    fix: "Use a Content-Type listed for the endpoint in /api/v1/openapi.json",
  },
  RW_ERR_INPUT_NO_ROUTE: {
    status: 404,
    retryable: false,
    when: "no HTTP endpoint answers this method and path",
    fix: "Check the path against /api/v1/openapi.json",
  },
  RW_ERR_INPUT_MAPPING: {
    status: 422,
    retryable: false,
    when: "a webhook source's JSONata expression does not compile, fails or runs past its time or depth limit on a body, or maps it to no valid ticket",
    fix: "Read `details`: `expression` names which one (items, mapping, fingerprint, resolveWhen), `position` and `token` point into it; try it on the body with POST /webhook-sources/try",
  },
  RW_ERR_PLUGIN_INVALID: {
    status: 500,
    retryable: false,
    when: "a connector declaration or its configuration does not validate at registration",
    fix: "Read `details.issues`; fix the connector's declaration or the config passed to it",
  },
  RW_ERR_PLUGIN_VERSION_MISMATCH: {
    status: 500,
    retryable: false,
    when: "a connector's `sdk` range does not include the running @runwarden/core version",
    fix: "Install a connector version built for this core, or upgrade core",
  },
  RW_ERR_PLUGIN_DUPLICATE: {
    status: 500,
    retryable: false,
    when: "two connectors with the same kind and name were registered",
    fix: "Register each connector once; give custom connectors a distinct name",
  },
  RW_ERR_PLUGIN_FROZEN: {
    status: 500,
    retryable: false,
    when: "a connector was registered after the engine started",
    fix: "Pass every connector to createEngine({ connectors }) before calling engine.start()",
  },
  RW_ERR_PLUGIN_NOT_FOUND: {
    status: 404,
    retryable: false,
    when: "no connector is registered under the requested name (a webhook source, a connection type)",
    fix: "Register the connector, or use one of the names listed by GET /connectors/*",
  },
  RW_ERR_PLUGIN_NOT_CONFIGURED: {
    status: 503,
    retryable: false,
    when: "a connector is registered but not configured (e.g. a webhook source without its secret)",
    fix: "Set what the message and `details.needs` name (an environment variable or config fields), then restart",
  },
  RW_ERR_RUNBOOK_INVALID: {
    status: 422,
    retryable: false,
    when: "a runbook has error diagnostics and cannot be loaded",
    fix: "Read `details.diagnostics`: each has a line, column, rule id and message",
  },
  RW_ERR_RUNBOOK_NOT_APPROVED: {
    status: 409,
    retryable: false,
    when: "a draft or retired runbook was asked to run automatically",
    fix: "Approve the runbook first, or start it by hand",
  },
  RW_ERR_RUNBOOK_LIFECYCLE: {
    status: 409,
    retryable: false,
    when: "a runbook lifecycle change is not allowed from its current status (e.g. approving a retired runbook)",
    fix: "Upload a new version instead",
  },
  RW_ERR_APPROVAL_FORBIDDEN: {
    status: 403,
    retryable: false,
    when: "the actor does not hold the approver role required to decide",
    fix: "Ask someone with the approver role, or change the host's policy",
  },
  RW_ERR_APPROVAL_SAME_ACTOR: {
    status: 403,
    retryable: false,
    when: "the actor who started or caused a session (for an auto-execution: who uploaded or sent its ticket) tried to approve one of its high_risk steps",
    fix: "A second person must approve high_risk steps",
  },
  RW_ERR_APPROVAL_CONFLICT: {
    status: 409,
    retryable: false,
    when: "the approval was already decided (or decided concurrently by someone else)",
    fix: "Reload the approval: its current status says who decided it",
  },
  RW_ERR_APPROVAL_EXPIRED: {
    status: 410,
    retryable: false,
    when: "the approval's time to live ran out before it was decided",
    fix: "Start the execution again; the step will ask for approval afresh",
  },
  RW_ERR_APPROVAL_VOID: {
    status: 409,
    retryable: false,
    when: "the rendered command, target or credential changed after approval was requested",
    fix: "Review the new approval that replaces it",
  },
  RW_ERR_EXEC_TEMPLATE: {
    status: 422,
    retryable: false,
    when: "a step template references an unknown field, or a value cannot be rendered safely",
    fix: "Fix the runbook's template, or the ticket field holding control characters",
  },
  RW_ERR_EXEC_CONNECTION: {
    status: 422,
    retryable: false,
    when: "a step's connection cannot be resolved, or the ticket may not use it (environment, host policy)",
    fix: "Register the connection for the ticket's environment, or allow the host in the policy",
  },
  RW_ERR_EXEC_STATE: {
    status: 409,
    retryable: false,
    when: "an operation does not apply to the session's or step's current state",
    fix: "Reload the execution and act on its current state",
  },
  RW_ERR_EXEC_TIMEOUT: {
    status: 504,
    retryable: true,
    when: "a step ran past its timeout and was killed",
    fix: "Raise the step's `timeout`, or look at why the command hangs",
  },
  RW_ERR_EXEC_CIRCUIT_OPEN: {
    status: 503,
    retryable: true,
    when: "auto-execution of a runbook is paused after repeated failures",
    fix: "Look at the failed sessions; the breaker closes after its cool-down or when reset",
  },
  RW_ERR_EXEC_CANCELLED: {
    status: 409,
    retryable: false,
    when: "the session was cancelled while the operation was running",
    fix: "Nothing to fix: start a new execution if it is still needed",
  },
  RW_ERR_STORAGE_NOT_FOUND: {
    status: 404,
    retryable: false,
    when: "the requested object does not exist",
    fix: "Check the id; `details.entity` names what was looked up",
  },
  RW_ERR_STORAGE_CONFLICT: {
    status: 409,
    retryable: true,
    when: "an object changed between read and write (optimistic version check) or a unique name is taken",
    fix: "Reload and try again",
  },
  RW_ERR_STORAGE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    when: "the store cannot be reached or is closed",
    fix: "Check the database is up and reachable; the engine retries",
  },
  RW_ERR_INTAKE_FULL: {
    status: 503,
    retryable: true,
    when: "the intake queue holds its bound of webhook deliveries (entries or bytes) waiting to be stored",
    fix: "Retry after the `Retry-After` seconds (monitoring tools retry 5xx); if it lasts, raise the bound (RUNWARDEN_INTAKE_MAX_ENTRIES / _MAX_BYTES) or add capacity",
  },
  RW_ERR_INTAKE_SOURCE_FULL: {
    status: 429,
    retryable: true,
    when: "one webhook source holds its share of the intake queue, so it cannot crowd out the other sources",
    fix: "Retry after the `Retry-After` seconds; slow the sender down, or raise its share (RUNWARDEN_INTAKE_SOURCE_SHARE)",
  },
  RW_ERR_ANALYSIS_WORKER: {
    status: 503,
    retryable: true,
    when: "an analysis worker thread (`analysis.workers`) crashed, or the engine closed, while it analyzed a batch: nothing of that batch was stored",
    fix: "Retry: the next batch starts a new worker, and a durable import's unstored chunks resume at the next start; if it repeats, read the logged cause and set `analysis: { workers: 0 }` to analyze in-process",
  },
  RW_ERR_STORAGE_APPEND_ONLY: {
    status: 405,
    retryable: false,
    when: "update or delete was called on an append-only collection (the audit log)",
    fix: "Append a new event that records the correction instead",
  },
  RW_ERR_STORAGE_MIGRATION: {
    status: 500,
    retryable: false,
    when: "the store's schema is newer than this version of Runwarden, or a migration failed",
    fix: "Upgrade Runwarden, or restore the database and read `cause`",
  },
  RW_ERR_VAULT_KEY: {
    status: 500,
    retryable: false,
    when: "the vault's master key is missing or is not 32 bytes (base64 or hex)",
    fix: "Set RUNWARDEN_MASTER_KEY to 32 random bytes, e.g. `openssl rand -base64 32`",
  },
  RW_ERR_VAULT_DECRYPT: {
    status: 500,
    retryable: false,
    when: "a stored secret cannot be decrypted with the configured key (wrong key, tampered data)",
    fix: "Configure the key the secret was written with, or rotate from the old key",
  },
  RW_ERR_AUTH_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    when: "a request carries no valid token, or a webhook fails its source's verification",
    fix: "Send `Authorization: Bearer <token>`; for webhooks, configure the source's secret",
  },
  RW_ERR_AUTH_FORBIDDEN: {
    status: 403,
    retryable: false,
    when: "the token's roles do not allow the operation",
    fix: "Use a token with the needed role (viewer, operator, approver, admin)",
  },
  RW_ERR_INTERNAL: {
    status: 500,
    retryable: false,
    when: "an unexpected failure inside Runwarden (a bug): the HTTP adapter answers with this code",
    fix: "Read the server's log for the request; report it with the log line",
  },
  RW_ERR_CONNECTOR_UNREACHABLE: {
    status: 502,
    retryable: true,
    when: "the connector could not reach its target (DNS, refused, reset)",
    fix: "Check the host, port and network path",
  },
  RW_ERR_CONNECTOR_AUTH: {
    status: 502,
    retryable: false,
    when: "the target refused the credential, or its identity could not be verified (host key)",
    fix: "Check the credential; for SSH pin the host key shown in `details`",
  },
  RW_ERR_CONNECTOR_TIMEOUT: {
    status: 504,
    retryable: true,
    when: "the target did not answer in time",
    fix: "Check the target's load, or raise the timeout",
  },
  RW_ERR_CONNECTOR_NOT_FOUND: {
    status: 502,
    retryable: false,
    when: "the target answered that the object does not exist",
    fix: "Check the identifier sent to the target",
  },
  RW_ERR_CONNECTOR_CONFLICT: {
    status: 502,
    retryable: false,
    when: "the target refused the change as conflicting with its state",
    fix: "Reload the remote object and retry",
  },
  RW_ERR_CONNECTOR_RATE_LIMITED: {
    status: 502,
    retryable: true,
    when: "the target asked us to slow down (429, Retry-After)",
    fix: "Nothing: the engine backs off and retries; lower the poll rate if it persists",
  },
  RW_ERR_CONNECTOR_REJECTED: {
    status: 502,
    retryable: false,
    when: "the target rejected the request as invalid, or the egress policy refused it",
    fix: "Read the message; for egress, allow the host on the connection",
  },
} as const satisfies Record<string, CodeInfo>;

/**
 * Every `RW_ERR_*` code core defines (the keys of {@link errorCatalog}); public API: codes may be
 * deprecated, never renamed.
 */
export type ErrorCode = keyof typeof errorCatalog;

/** Options of {@link rwError} and the {@link RunwardenError} constructor. */
export interface RunwardenErrorOptions {
  /** The underlying failure (a driver's error), kept on `error.cause` and never serialised. */
  cause?: unknown;
  /** Context for a person or a program (ids, field names); must never hold secrets. */
  details?: Record<string, unknown>;
  /** Overrides the code's default. */
  retryable?: boolean;
}

/**
 * Base error of every Runwarden package. `details` carries context for a person or a program;
 * it never carries secrets (the vault redacts what it handed out before an error leaves core).
 */
export class RunwardenError extends Error {
  /** The `RW_ERR_*` code: match on it, not on `instanceof`. */
  readonly code: ErrorCode;
  /**
   * Whether trying the same call again may succeed (a timeout, a conflict); the code's default
   * unless overridden.
   */
  readonly retryable: boolean;
  /** Context for a person or a program; never secrets. */
  readonly details: Record<string, unknown> | undefined;
  /** HTTP status the adapter answers with. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: RunwardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RunwardenError";
    this.code = code;
    const info: CodeInfo = errorCatalog[code];
    this.retryable = options.retryable ?? info.retryable;
    this.status = info.status;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain, serialisable view (no `cause`, which may hold a driver's raw error). */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

/** True for any Runwarden error, from this copy of the library or another one. */
export function isRunwardenError(value: unknown): value is RunwardenError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Shorthand used across the packages: `rwError("RW_ERR_X", "message", { details })`. */
export function rwError(code: ErrorCode, message: string, options?: RunwardenErrorOptions): RunwardenError {
  return new RunwardenError(code, message, options);
}
