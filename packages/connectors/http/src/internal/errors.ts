import { type RunwardenError, rwError } from "@runwarden/core";
import { EGRESS_ERROR_CODE } from "./egress.js";

const TLS = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

function codes(error: unknown): string[] {
  const found: string[] = [];
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === "string") found.push(current.code);
    current = current.cause as typeof current;
  }
  return found;
}

/** Why a request failed at the transport: DNS, refused, timeout, tls, egress, unreachable. */
export function reasonOf(error: unknown): string {
  const all = codes(error);
  if (all.includes(EGRESS_ERROR_CODE)) return "egress";
  if (all.some((c) => c === "ENOTFOUND" || c === "EAI_AGAIN")) return "DNS";
  if (all.includes("ECONNREFUSED")) return "refused";
  if (
    all.some(
      (c) =>
        c === "UND_ERR_CONNECT_TIMEOUT" ||
        c === "ETIMEDOUT" ||
        c === "UND_ERR_HEADERS_TIMEOUT" ||
        c === "UND_ERR_BODY_TIMEOUT",
    )
  )
    return "timeout";
  if (all.some((c) => TLS.test(c))) return "tls";
  return "unreachable";
}

/** Maps an undici or socket failure to a connector code; the raw error stays on `cause`. */
export function transportError(error: unknown, host: string): RunwardenError {
  const reason = reasonOf(error);
  const details = { reason, host, ...(codes(error)[0] ? { errno: codes(error)[0] } : {}) };
  switch (reason) {
    case "egress":
      return rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `egress policy refused ${host}: it resolves to a link-local or metadata address`,
        { cause: error, details },
      );
    case "timeout":
      return rwError("RW_ERR_CONNECTOR_TIMEOUT", `HTTP request to ${host} timed out`, {
        cause: error,
        details,
      });
    case "tls":
      return rwError("RW_ERR_CONNECTOR_AUTH", `the TLS certificate of ${host} could not be verified`, {
        cause: error,
        details,
      });
    case "DNS":
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot resolve ${host}`, { cause: error, details });
    case "refused":
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `connection to ${host} was refused`, {
        cause: error,
        details,
      });
    default:
      return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `HTTP request to ${host} failed`, {
        cause: error,
        details,
      });
  }
}

export function abortError(cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", "the HTTP step was aborted", {
    cause,
    details: { reason: "aborted" },
  });
}
