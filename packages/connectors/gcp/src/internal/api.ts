/**
 * The few Compute Engine and OS Login REST calls the connector makes, with undici. Every call
 * carries the access token as a bearer header and registers the token for redaction first.
 */
import { type RunwardenError, rwError } from "@runwarden/core";
import { request } from "undici";
import type { GcpConfig } from "../config.js";

export interface Instance {
  name: string;
  status: string;
  zone?: string;
  id?: string;
  networkInterfaces?: { networkIP?: string; accessConfigs?: { natIP?: string }[] }[];
}

export interface Operation {
  name: string;
  status: "PENDING" | "RUNNING" | "DONE";
  operationType?: string;
  error?: { errors?: { code?: string; message?: string }[] };
}

export interface LoginProfile {
  name?: string;
  posixAccounts?: { primary?: boolean; username?: string }[];
}

export interface Where {
  project: string;
  zone: string;
  instance: string;
}

function abortError(what: string, cause?: unknown): RunwardenError {
  return rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} was aborted`, {
    cause,
    details: { reason: "aborted" },
  });
}

function apiError(status: number, body: unknown, what: string): RunwardenError {
  const message = (body as { error?: { message?: string } })?.error?.message;
  const said = typeof message === "string" ? `: ${message.slice(0, 300)}` : "";
  const details = { status, reason: "api" };
  if (status === 401 || status === 403)
    return rwError("RW_ERR_CONNECTOR_AUTH", `${what} was refused (${status})${said}`, {
      details: { ...details, reason: "auth" },
    });
  if (status === 404) return rwError("RW_ERR_CONNECTOR_NOT_FOUND", `${what}: not found${said}`, { details });
  if (status === 409) return rwError("RW_ERR_CONNECTOR_CONFLICT", `${what} conflicts${said}`, { details });
  if (status === 429)
    return rwError("RW_ERR_CONNECTOR_RATE_LIMITED", `${what} was rate limited${said}`, { details });
  if (status >= 500)
    return rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what} failed (${status})${said}`, { details });
  return rwError("RW_ERR_CONNECTOR_REJECTED", `${what} was rejected (${status})${said}`, { details });
}

/** A client for one credential's token. */
export class GcpApi {
  readonly #config: GcpConfig;
  readonly #token: () => Promise<string>;

  constructor(config: GcpConfig, token: () => Promise<string>) {
    this.#config = config;
    this.#token = token;
  }

  async #call<T>(
    method: "GET" | "POST",
    url: string,
    what: string,
    signal: AbortSignal,
    body?: unknown,
  ): Promise<T> {
    if (signal.aborted) throw abortError(what, signal.reason);
    const token = await this.#token();
    const timeout = AbortSignal.timeout(this.#config.requestTimeoutMs);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      if (signal.aborted) throw abortError(what, signal.reason);
      if (timeout.aborted)
        throw rwError("RW_ERR_CONNECTOR_TIMEOUT", `${what} timed out`, { details: { reason: "timeout" } });
      const code = (error as { code?: string }).code ?? null;
      throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${what}: cannot reach ${new URL(url).host}`, {
        details: { reason: code === "ENOTFOUND" ? "DNS" : "unreachable", code },
      });
    }
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (response.statusCode >= 300) throw apiError(response.statusCode, parsed, what);
    if (parsed === undefined || typeof parsed !== "object")
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `${what}: the answer is not JSON`, {
        details: { reason: "protocol" },
      });
    return parsed as T;
  }

  #instanceUrl(where: Where): string {
    const { project, zone, instance } = where;
    return `${this.#config.endpoints.compute}/projects/${project}/zones/${zone}/instances/${instance}`;
  }

  /** `instances.get`. */
  getInstance(where: Where, signal: AbortSignal): Promise<Instance> {
    return this.#call("GET", this.#instanceUrl(where), `reading instance ${where.instance}`, signal);
  }

  /** `instances.reset` / `stop` / `start`: returns the zone operation. */
  instanceAction(where: Where, action: "reset" | "stop" | "start", signal: AbortSignal): Promise<Operation> {
    return this.#call(
      "POST",
      `${this.#instanceUrl(where)}/${action}`,
      `${action} of ${where.instance}`,
      signal,
    );
  }

  /** `zoneOperations.wait`: returns when the operation is DONE or after about two minutes. */
  waitOperation(where: Where, operation: string, signal: AbortSignal): Promise<Operation> {
    const { project, zone } = where;
    return this.#call(
      "POST",
      `${this.#config.endpoints.compute}/projects/${project}/zones/${zone}/operations/${encodeURIComponent(operation)}/wait`,
      `waiting for operation ${operation}`,
      signal,
    );
  }

  /** `instances.testIamPermissions`: the subset of `permissions` the caller has. */
  async testPermissions(where: Where, permissions: string[], signal: AbortSignal): Promise<string[]> {
    const answer = await this.#call<{ permissions?: string[] }>(
      "POST",
      `${this.#instanceUrl(where)}/testIamPermissions`,
      `checking permissions on ${where.instance}`,
      signal,
      { permissions },
    );
    return answer.permissions ?? [];
  }

  /** OS Login `users.importSshPublicKey`. */
  importSshPublicKey(
    email: string,
    project: string,
    key: string,
    expirationTimeUsec: string,
    signal: AbortSignal,
  ): Promise<{ loginProfile?: LoginProfile }> {
    const url = `${this.#config.endpoints.oslogin}/users/${encodeURIComponent(email)}:importSshPublicKey?projectId=${encodeURIComponent(project)}`;
    return this.#call("POST", url, "importing the SSH key into OS Login", signal, {
      key,
      expirationTimeUsec,
    });
  }
}
