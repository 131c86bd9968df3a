import { type RunwardenError, rwError } from "@runwarden/core";

/** Why a call failed, as the health check reports it. */
export type FailureReason =
  | "DNS"
  | "refused"
  | "unreachable"
  | "auth"
  | "tls"
  | "timeout"
  | "protocol"
  | "aborted";

const tlsCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
]);

/** Maps a socket, TLS or undici failure onto a connector code; the driver's error stays on `cause`. */
export function transportError(error: unknown, where: string): RunwardenError {
  const e = error as { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  const details = (reason: FailureReason) => ({ reason, target: where, ...(code ? { errno: code } : {}) });
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot resolve WinRM host of ${where}`, {
      cause: error,
      details: details("DNS"),
    });
  if (code === "ECONNREFUSED")
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `WinRM connection to ${where} was refused`, {
      cause: error,
      details: details("refused"),
    });
  if (code && tlsCodes.has(code))
    return rwError(
      "RW_ERR_CONNECTOR_AUTH",
      `the TLS certificate of ${where} could not be verified (${code}): give the connection the CA that signed it (options.ca), or the name it was issued for (options.tls_server_name)`,
      { cause: error, details: details("tls") },
    );
  if (
    code === "UND_ERR_CONNECT_TIMEOUT" ||
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "ETIMEDOUT"
  )
    return rwError("RW_ERR_CONNECTOR_TIMEOUT", `WinRM server ${where} did not answer in time`, {
      cause: error,
      details: details("timeout"),
    });
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `WinRM request to ${where} failed`, {
    cause: error,
    details: details("unreachable"),
  });
}

export function authError(where: string, why: string, cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_AUTH", `WinRM server ${where} refused the credential (${why})`, {
    cause,
    details: { reason: "auth", target: where },
  });
}

export function protocolError(
  where: string,
  message: string,
  cause?: unknown,
  extra: Record<string, unknown> = {},
): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_REJECTED", `WinRM ${where}: ${message}`, {
    cause,
    details: { reason: "protocol", target: where, ...extra },
  });
}

export function abortError(what: string, cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} was aborted`, {
    cause,
    details: { reason: "aborted", aborted: true },
  });
}
