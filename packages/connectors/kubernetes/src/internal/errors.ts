/** Maps client, HTTP and WebSocket failures onto the connector codes; the raw error stays on `cause`. */
import { ApiException } from "@kubernetes/client-node";
import { type RunwardenError, rwError } from "@runwarden/core";

function codes(error: unknown): string[] {
  const found: string[] = [];
  let current = error as { code?: unknown; errno?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === "string") found.push(current.code);
    if (typeof current.errno === "string") found.push(current.errno);
    current = current.cause as typeof current;
  }
  return found;
}

/** The Kubernetes Status message of an API error body, cut short (it never holds a credential). */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message.slice(0, 300) : undefined;
}

/** An HTTP status from the API server, as a connector error. */
export function statusError(status: number, what: string, body?: unknown, cause?: unknown): RunwardenError {
  const message = statusMessage(body);
  const text = `${what}: HTTP ${status}${message ? ` (${message})` : ""}`;
  const details = { reason: `status ${status}`, status };
  if (status === 401)
    return rwError("RW_ERR_CONNECTOR_AUTH", text, { cause, details: { ...details, reason: "auth" } });
  if (status === 403)
    return rwError("RW_ERR_CONNECTOR_AUTH", text, { cause, details: { ...details, reason: "forbidden" } });
  if (status === 404) return rwError("RW_ERR_CONNECTOR_NOT_FOUND", text, { cause, details });
  if (status === 409) return rwError("RW_ERR_CONNECTOR_CONFLICT", text, { cause, details });
  if (status === 429) return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", text, { cause, details });
  if (status >= 500) return rwError("RW_ERR_CONNECTOR_UNREACHABLE", text, { cause, details });
  return rwError("RW_ERR_CONNECTOR_REJECTED", text, { cause, details });
}

/** The error for a call whose signal was aborted (a cancel, engine shutdown). */
export function abortError(cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", "the Kubernetes step was aborted", {
    cause,
    details: { reason: "aborted" },
  });
}

/** Any failure of a client call, as a connector error. */
export function apiError(error: unknown, what: string, server: string): RunwardenError {
  if (error instanceof ApiException) return statusError(error.code, what, error.body, error);
  const all = codes(error);
  const name = (error as { name?: string } | null)?.name;
  const host = safeHost(server);
  if (name === "AbortError" || all.includes("ABORT_ERR"))
    return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what}: the request to ${host} was aborted or timed out`, {
      cause: error,
      details: { reason: "timeout", host },
    });
  if (all.some((c) => c === "ENOTFOUND" || c === "EAI_AGAIN"))
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: cannot resolve ${host}`, {
      cause: error,
      details: { reason: "DNS", host },
    });
  if (all.includes("ECONNREFUSED"))
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: connection to ${host} was refused`, {
      cause: error,
      details: { reason: "refused", host },
    });
  if (all.some((c) => c === "ETIMEDOUT" || c === "ECONNRESET"))
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: ${host} did not answer`, {
      cause: error,
      details: { reason: "timeout", host },
    });
  if (all.some((c) => /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(c)))
    return rwError("RW_ERR_CONNECTOR_AUTH", `${what}: the TLS certificate of ${host} could not be verified`, {
      cause: error,
      details: { reason: "tls", host },
    });
  const wsStatus = /Unexpected server response: (\d{3})/.exec(String((error as Error)?.message ?? ""));
  if (wsStatus) return statusError(Number(wsStatus[1]), what, undefined, error);
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: the request to ${host} failed`, {
    cause: error,
    details: { reason: "unreachable", host },
  });
}

function safeHost(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return "the API server";
  }
}
