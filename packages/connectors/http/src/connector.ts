/**
 * The HTTP connector: HTTP steps (fenced `http` blocks) with API key, bearer or basic
 * credentials, an egress policy per connection, keep-alive pools, Retry-After aware retries and
 * capped bodies. A 2xx answer is exit code 0; any other status is reported as the exit code.
 */

import { parseConnectionOptions, releasableHandle, retryAfterMs } from "@runwarden/connector-kit";
import {
  type ConnectionHandle,
  defineConnector,
  type ExecRequest,
  type ExecResult,
  type HealthResult,
  type InfrastructureConnector,
  rwError,
} from "@runwarden/core";
import { Agent, type Dispatcher, request as undiciRequest } from "undici";
import {
  type HttpConfig,
  type HttpConnection,
  type HttpConnectionOptions,
  httpConfigSchema,
  httpConnectionOptionsSchema,
  httpCredentialTypes,
} from "./config.js";
import { bareHost, checkEgress, type EgressPolicy, guardedLookup, isHome } from "./internal/egress.js";
import { abortError, reasonOf, transportError } from "./internal/errors.js";
import { type HttpStep, parseHttpStep } from "./internal/parse.js";

const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SECRET_PARAM = /key|token|secret|pass|sig|auth/i;

interface Resolved {
  base: URL | undefined;
  policy: EgressPolicy;
  options: HttpConnectionOptions;
  /** Headers carrying the credential; sent only to the connection's own origin. */
  auth: Record<string, string>;
  authKind: string;
}

/** The typed credential as the auth headers read it. */
function credentialParts(credential: HttpConnection["credential"]): {
  secrets: { token?: string; password?: string; api_key?: string };
  fields: { username?: string };
} {
  switch (credential?.credentialType) {
    case "api": {
      const { username, ...secrets } = credential.value;
      return { secrets, fields: { username } };
    }
    case "bearer":
      return { secrets: { token: credential.value.token }, fields: {} };
    case "basic":
      return {
        secrets: { password: credential.value.password },
        fields: { username: credential.value.username },
      };
    case "api_key":
      return { secrets: { api_key: credential.value.api_key }, fields: {} };
    default:
      return { secrets: {}, fields: {} };
  }
}

function resolve(connection: HttpConnection): Resolved {
  const options = parseConnectionOptions(httpConnectionOptionsSchema, connection, "HTTP");
  let base: URL | undefined;
  if (options.base_url) base = new URL(options.base_url);
  else if (connection.targetHost) {
    const host =
      connection.targetHost.includes(":") && !connection.targetHost.startsWith("[")
        ? `[${connection.targetHost}]`
        : connection.targetHost;
    base = new URL(`${options.scheme}://${host}${connection.targetPort ? `:${connection.targetPort}` : ""}/`);
  }
  const { secrets, fields } = credentialParts(connection.credential);
  const auth: Record<string, string> = {};
  const kinds: string[] = [];
  if (secrets.token) {
    auth.authorization = `Bearer ${secrets.token}`;
    kinds.push("bearer token");
  } else if (secrets.password && typeof fields.username === "string") {
    auth.authorization = `Basic ${Buffer.from(`${fields.username}:${secrets.password}`).toString("base64")}`;
    kinds.push("basic auth");
  }
  if (secrets.api_key) {
    auth[options.api_key_header.toLowerCase()] = secrets.api_key;
    kinds.push(`API key in ${options.api_key_header}`);
  }
  return {
    base,
    policy: {
      home: base?.origin,
      allowed: options.allowed_hosts,
      allowLinkLocal: options.allow_link_local,
    },
    options,
    auth,
    authKind: kinds.length > 0 ? kinds.join(", ") : "no credential",
  };
}

/**
 * Registers for redaction what this connector derives from the credential: each auth header's
 * value and its credential part (`Basic <base64>` and the base64 alone). Raw secrets are
 * registered by core already.
 */
function registerDerived(resolved: Resolved, redact: ((value: string) => void) | undefined): void {
  if (!redact) return;
  for (const value of Object.values(resolved.auth)) {
    redact(value);
    const space = value.indexOf(" ");
    if (space > 0) redact(value.slice(space + 1));
  }
}

function resolveUrl(target: string, base: URL | undefined): URL {
  try {
    return base ? new URL(target, base) : new URL(target);
  } catch (error) {
    throw rwError(
      "RW_ERR_CONNECTOR_REJECTED",
      `cannot resolve the request target ${JSON.stringify(target)} (a relative target needs the connection's host)`,
      {
        cause: error,
        details: { reason: "request" },
      },
    );
  }
}

/** The URL for people: query values that look secret are masked. */
function displayUrl(url: URL): string {
  const shown = new URL(url);
  for (const [name] of shown.searchParams) if (SECRET_PARAM.test(name)) shown.searchParams.set(name, "***");
  shown.username = "";
  shown.password = "";
  return shown.toString();
}

/** Reads at most `cap` bytes of a body; past the cap it stops reading and drops the socket's rest. */
async function readCapped(
  body: Dispatcher.ResponseData["body"],
  cap: number,
): Promise<{ text: string; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = cap - size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      const cut = chunk.length > room;
      if (cut) body.destroy();
      // Exactly at the cap: the body may still go on, so it counts as cut only if more arrives.
      return { text: Buffer.concat(chunks).toString("utf8"), cut: cut || !(await ended(body)) };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), cut: false };
}

async function ended(body: Dispatcher.ResponseData["body"]): Promise<boolean> {
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (chunk.length > 0) {
      body.destroy();
      return false;
    }
  }
  return true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolvePromise();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The HTTP connector declaration (default export of `@runwarden/connector-http`). */
const httpConnector = defineConnector({
  kind: "infrastructure",
  name: "http",
  version: "0.1.0",
  sdk: "^0.1.0",
  description: "Runs HTTP steps (undici) with API key, bearer or basic credentials and an egress policy.",
  configSchema: httpConfigSchema,
  capabilities: [
    "http-request",
    "egress-policy",
    "retry-after",
    "timeout",
    "health-check",
    "describe",
    "connection-pool",
  ],
  connectionTypes: ["api", "http"],
  languages: ["http"],
  credentialTypes: httpCredentialTypes,
  create(config: HttpConfig, ctx): InfrastructureConnector<NonNullable<HttpConnection["credential"]>> {
    const logger = ctx.logger.child({ component: "http" });
    const agents = new Map<string, Agent>();

    function dispatcherFor(options: HttpConnectionOptions): Dispatcher {
      if (config.dispatcher) return config.dispatcher;
      const key = `${options.allow_link_local}:${options.tls_verify}`;
      let agent = agents.get(key);
      if (!agent) {
        agent = new Agent({
          connections: config.connectionsPerOrigin,
          keepAliveTimeout: config.keepAliveTimeoutMs,
          connect: {
            timeout: config.connectTimeoutMs,
            rejectUnauthorized: options.tls_verify,
            ...(options.allow_link_local ? {} : { lookup: guardedLookup }),
          },
        });
        agents.set(key, agent);
      }
      return agent;
    }

    async function send(resolved: Resolved, step: HttpStep, request: ExecRequest): Promise<ExecResult> {
      const { signal } = request;
      if (request.readOnly && !READ_ONLY_METHODS.has(step.method)) {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `a read-only check may not send ${step.method}: use GET, HEAD or OPTIONS`,
          {
            details: { reason: "read-only", method: step.method },
          },
        );
      }
      const timeoutMs = request.timeoutMs ?? config.timeoutMs;
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = AbortSignal.any([signal, timeout]);
      const dispatcher = dispatcherFor(resolved.options);
      let url = resolveUrl(step.target, resolved.base);
      let method = step.method;
      let body = step.body;
      let redirects = 0;
      let retries = 0;
      // Once a redirect leaves the connection's origin, no later hop carries its credential.
      let leftHome = false;
      const hasContentType = step.headers.some(([name]) => name.toLowerCase() === "content-type");

      for (;;) {
        checkEgress(url, resolved.policy, redirects > 0 ? "redirect" : "request");
        if (!isHome(url, resolved.policy)) leftHome = true;
        const home = !leftHome;
        const headers: Record<string, string> = {
          "user-agent": config.userAgent,
          ...lower(resolved.options.headers),
        };
        for (const [name, value] of step.headers) headers[name.toLowerCase()] = value;
        if (home) for (const [name, value] of Object.entries(resolved.auth)) headers[name] ??= value;
        if (body !== undefined && !hasContentType)
          headers["content-type"] = looksLikeJson(body) ? "application/json" : "text/plain; charset=utf-8";
        const started = performance.now();
        let response: Dispatcher.ResponseData;
        try {
          response = await undiciRequest(url, {
            method: method as Dispatcher.HttpMethod,
            headers,
            body,
            dispatcher,
            signal: combined,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          });
        } catch (error) {
          if (signal.aborted) throw abortError(signal.reason);
          if (timeout.aborted) return timedOutResult(timeoutMs);
          throw transportError(error, bareHost(url.hostname));
        }
        const status = response.statusCode;
        logger.debug(
          { method, host: url.host, path: url.pathname, status, ms: Math.round(performance.now() - started) },
          "http response",
        );

        const location = response.headers.location;
        if (
          status >= 300 &&
          status < 400 &&
          status !== 304 &&
          typeof location === "string" &&
          redirects < config.maxRedirects
        ) {
          await response.body.dump();
          const next = resolveUrl(location, url);
          checkEgress(next, resolved.policy, "redirect");
          redirects++;
          url = next;
          if (status === 303 || ((status === 301 || status === 302) && method === "POST")) {
            method = method === "HEAD" ? "HEAD" : "GET";
            body = undefined;
          }
          continue;
        }

        if ((status === 429 || status === 503) && retries < config.retries.max) {
          const wait =
            retryAfterMs(response.headers["retry-after"], Date.now()) ??
            config.retries.baseDelayMs * 2 ** retries;
          if (wait <= config.retries.maxDelayMs) {
            await response.body.dump();
            logger.warn(
              { method, host: url.host, status, waitMs: wait, attempt: retries + 1 },
              "http retrying after rate limit",
            );
            retries++;
            try {
              await sleep(wait, combined);
            } catch {
              if (signal.aborted) throw abortError(signal.reason);
              return timedOutResult(timeoutMs);
            }
            continue;
          }
        }

        let read: { text: string; cut: boolean };
        try {
          read = await readCapped(response.body, config.maxBodyBytes);
        } catch (error) {
          if (signal.aborted) throw abortError(signal.reason);
          if (timeout.aborted) return timedOutResult(timeoutMs);
          throw transportError(error, bareHost(url.hostname));
        }
        const notes: string[] = [];
        if (status < 200 || status >= 300) notes.push(`HTTP ${status}`);
        if (read.cut) notes.push(`[runwarden: response body cut at ${config.maxBodyBytes} bytes]`);
        return {
          exitCode: status >= 200 && status < 300 ? 0 : status,
          exitSignal: null,
          stdout: read.text,
          stderr: notes.length ? `${notes.join("\n")}\n` : "",
        };
      }
    }

    return {
      async open(connection, { signal, redact }): Promise<ConnectionHandle> {
        if (signal.aborted) throw abortError(signal.reason);
        const resolved = resolve(connection);
        registerDerived(resolved, redact);
        return releasableHandle("HTTP", async (request) => {
          if (request.signal.aborted) throw abortError(request.signal.reason);
          return send(resolved, parseHttpStep(request.command), request);
        });
      },

      async healthCheck(connection, { signal, redact }): Promise<HealthResult> {
        const start = performance.now();
        const latencyMs = () => Math.round((performance.now() - start) * 10) / 10;
        try {
          if (signal.aborted) throw abortError(signal.reason);
          const resolved = resolve(connection);
          registerDerived(resolved, redact);
          const result = await send(
            resolved,
            { method: "GET", target: resolved.options.health_path, headers: [], body: undefined },
            {
              command: "",
              language: "http",
              readOnly: true,
              signal,
              timeoutMs: config.connectTimeoutMs,
            },
          );
          if (result.timedOut)
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: "timeout",
              message: "the health check timed out",
            };
          const status = result.exitCode === 0 ? 200 : (result.exitCode ?? 0);
          if (status === 401 || status === 403)
            return { ok: false, latencyMs: latencyMs(), reason: "auth", message: `HTTP ${status}` };
          if (status >= 400)
            return {
              ok: false,
              latencyMs: latencyMs(),
              reason: `status ${status}`,
              message: `HTTP ${status}`,
            };
          return { ok: true, latencyMs: latencyMs() };
        } catch (error) {
          const e = error as { message?: string; details?: { reason?: string } };
          const reason = e.details?.reason ?? reasonOf(error);
          logger.warn({ connection: connection.name, reason }, "http health check failed");
          return { ok: false, latencyMs: latencyMs(), reason, message: e.message ?? String(error) };
        }
      },

      describe(request, connection) {
        let resolved: Resolved;
        try {
          resolved = resolve(connection);
        } catch {
          return `HTTP step on connection ${connection.name} (invalid options)`;
        }
        try {
          const step = parseHttpStep(request.command);
          return `${step.method} ${displayUrl(resolveUrl(step.target, resolved.base))} (${resolved.authKind})`;
        } catch {
          return `HTTP step on ${resolved.base ? displayUrl(resolved.base) : connection.name} (${resolved.authKind})`;
        }
      },

      async close() {
        const all = [...agents.values()];
        agents.clear();
        await Promise.all(all.map((agent) => agent.close()));
      },
    };
  },
});

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function looksLikeJson(body: string): boolean {
  const t = body.trimStart();
  return t.startsWith("{") || t.startsWith("[");
}

function timedOutResult(ms: number): ExecResult {
  return {
    exitCode: null,
    exitSignal: null,
    stdout: "",
    stderr: `request timed out after ${ms} ms\n`,
    timedOut: true,
  };
}

export default httpConnector;
