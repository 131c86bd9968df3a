import { type RunwardenError, rwError } from "@runwarden/core";
import type { Verdict } from "./host-keys.js";

/** Why a connection failed, as the health check reports it. */
export type FailureReason =
  | "DNS"
  | "refused"
  | "unreachable"
  | "auth"
  | "host key"
  | "timeout"
  | "protocol"
  | "aborted";

export interface Target {
  host: string;
  port: number;
}

/** Thrown when the host key is refused; the message tells the operator what to pin. */
export function hostKeyError(
  target: Target,
  verdict: Extract<Verdict, { ok: false }>,
  cause?: unknown,
): RunwardenError {
  const where = `${target.host}:${target.port}`;
  const message =
    verdict.problem === "unknown"
      ? `SSH host key of ${where} is not trusted (unknown host): it presented ${verdict.fingerprint}; if that is the right key, pin it with the connection option host_key_fingerprint: "${verdict.fingerprint}"`
      : verdict.problem === "revoked"
        ? `SSH host key of ${where} (${verdict.fingerprint}) is marked @revoked in known_hosts`
        : `SSH host key of ${where} does not match the pinned key: it presented ${verdict.fingerprint} (a changed server or a man in the middle); re-pin only after checking the server's key`;
  return rwError("RW_ERR_CONNECTOR_AUTH", message, {
    cause,
    details: {
      reason: "host key",
      problem: verdict.problem,
      host: target.host,
      port: target.port,
      fingerprint: verdict.fingerprint,
    },
  });
}

/** Maps a socket or ssh2 failure to a connector code. Driver messages stay on `cause`. */
export function connectError(error: unknown, target: Target): RunwardenError {
  const e = error as { code?: string; level?: string; message?: string };
  const where = `${target.host}:${target.port}`;
  const details = (reason: FailureReason) => ({
    reason,
    host: target.host,
    port: target.port,
    ...(e.code ? { errno: e.code } : {}),
  });
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN" || e.level === "client-dns") {
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `cannot resolve SSH host ${target.host}`, {
      cause: error,
      details: details("DNS"),
    });
  }
  if (e.code === "ECONNREFUSED") {
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `SSH connection to ${where} was refused`, {
      cause: error,
      details: details("refused"),
    });
  }
  if (e.code === "ETIMEDOUT" || e.level === "client-timeout") {
    return rwError("RW_ERR_CONNECTOR_TIMEOUT", `SSH connection to ${where} timed out`, {
      cause: error,
      details: details("timeout"),
    });
  }
  if (e.level === "client-authentication" || e.level === "agent") {
    return rwError("RW_ERR_CONNECTOR_AUTH", `SSH server ${where} refused the credential`, {
      cause: error,
      details: details("auth"),
    });
  }
  if (typeof e.message === "string" && /privateKey|private key|passphrase/i.test(e.message)) {
    return rwError(
      "RW_ERR_CONNECTOR_AUTH",
      "the credential's private key cannot be used (unsupported format, or a missing or wrong passphrase)",
      { cause: error, details: details("auth") },
    );
  }
  if (e.level === "protocol" || e.level === "handshake") {
    return rwError("RW_ERR_CONNECTOR_REJECTED", `SSH handshake with ${where} failed`, {
      cause: error,
      details: details("protocol"),
    });
  }
  return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `SSH connection to ${where} failed`, {
    cause: error,
    details: details("unreachable"),
  });
}

export function abortError(what: string, cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} was aborted`, {
    cause,
    details: { reason: "aborted" },
  });
}
