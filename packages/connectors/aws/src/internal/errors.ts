/** Maps AWS SDK and network failures onto the connector codes; the raw error stays on `cause`. */
import { type RunwardenError, rwError } from "@runwarden/core";

const AUTH = new Set([
  "AuthFailure",
  "UnauthorizedOperation",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "ExpiredToken",
  "ExpiredTokenException",
  "AccessDenied",
  "AccessDeniedException",
  "CredentialsProviderError",
  "OptInRequired",
]);
const NOT_FOUND = new Set([
  "InvalidInstanceID.NotFound",
  "InvalidInstanceId",
  "InvalidCommandId",
  "InvocationDoesNotExist",
  "InvalidDocument",
  "ActiveInstanceRefreshNotFound",
  "ActiveInstanceRefreshNotFoundFault",
]);
const CONFLICT = new Set([
  "IncorrectInstanceState",
  "IncorrectState",
  "UnsupportedOperation",
  "InstanceRefreshInProgress",
  "InstanceRefreshInProgressFault",
]);
const RATE = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "TooManyUpdates",
]);
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EPIPE"]);

function networkCode(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === "string" && NETWORK.has(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

/** The error for a call whose signal was aborted (a cancel, engine shutdown). */
export function abortError(cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", "the AWS step was aborted", {
    cause,
    details: { reason: "aborted" },
  });
}

/** AWS's own message, cut short (AWS error messages carry no credential). */
function awsMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message.split("\n", 1)[0]!.slice(0, 300) : String(error);
}

/** Any failure of an SDK call, as a connector error; `what` says what was attempted. */
export function awsError(error: unknown, what: string): RunwardenError {
  if ((error as { code?: unknown })?.code && String((error as { code: unknown }).code).startsWith("RW_ERR_"))
    return error as RunwardenError;
  const name = String((error as { name?: unknown } | null)?.name ?? "");
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const text = `${what}: ${name && name !== "Error" ? `${name}: ` : ""}${awsMessage(error)}`;
  const details = { reason: name || "unknown", ...(status ? { status } : {}) };
  if (name === "AbortError")
    return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what}: the request was aborted or timed out`, {
      cause: error,
      details: { reason: "timeout" },
    });
  if (AUTH.has(name) || status === 401 || status === 403)
    return rwError("RW_ERR_CONNECTOR_AUTH", text, { cause: error, details: { ...details, reason: "auth" } });
  if (NOT_FOUND.has(name)) return rwError("RW_ERR_CONNECTOR_NOT_FOUND", text, { cause: error, details });
  if (CONFLICT.has(name)) return rwError("RW_ERR_CONNECTOR_CONFLICT", text, { cause: error, details });
  if (RATE.has(name) || status === 429)
    return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", text, { cause: error, details });
  const network = networkCode(error);
  if (network)
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: the AWS endpoint did not answer (${network})`, {
      cause: error,
      details: { reason: "unreachable", network },
    });
  if (status !== undefined && status >= 500)
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", text, { cause: error, details });
  if (status !== undefined) return rwError("RW_ERR_CONNECTOR_REJECTED", text, { cause: error, details });
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", text, { cause: error, details: { reason: "unreachable" } });
}
