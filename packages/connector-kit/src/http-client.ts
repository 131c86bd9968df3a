/**
 * A JSON client for a vendor's HTTP API over undici: one call at a time, every failure mapped onto
 * the `RW_ERR_CONNECTOR_*` codes so the engine's single retry policy works for every connector.
 * Retries and backoff are the engine's job, not this module's.
 */
import { type ErrorCode, type HealthResult, isRunwardenError, rwError } from "@runwarden/core";
import { type Dispatcher, request } from "undici";

/** What {@link createHttpClient} needs to know about one vendor API. */
export interface HttpClientOptions {
  /** The vendor's name, for messages and `details`: `"Alertmanager"`. */
  vendor: string;
  /**
   * The API root. A path prefix (a proxy's `/alertmanager`) is kept: request paths resolve under
   * it, with or without a trailing slash here.
   */
  baseUrl: URL;
  /** An undici dispatcher: an `Agent` with keep-alive settings, or a `MockAgent` in tests. */
  dispatcher?: Dispatcher | undefined;
  /** undici's headers and body timeouts, in milliseconds. */
  timeoutMs: number;
  /** Responses larger than this are refused (`RW_ERR_CONNECTOR_REJECTED`), never buffered. */
  maxResponseBytes: number;
  /**
   * Headers sent with every request that is not `anonymous` (the authorization). May be async, to
   * fetch or refresh a token; `signal` is the request's.
   */
  headers(signal: AbortSignal): Record<string, string> | Promise<Record<string, string>>;
  /** The clock, in epoch milliseconds, for `Retry-After` dates. */
  now(): number;
  /**
   * How long a 429 asks us to wait when it has no readable `Retry-After`, from the vendor's own
   * headers (lower-cased), such as `x-ratelimit-reset`. When this is absent or returns
   * `undefined`, the wait is 1 s.
   */
  rateLimitDelayMs?(headers: Readonly<Record<string, string>>, nowMs: number): number | undefined;
}

/** One request to the vendor API. */
export interface HttpRequest {
  /** The HTTP method. */
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /**
   * A path under the base URL, or an absolute URL (a `Link` header's `next`), which must have the
   * base URL's origin: credentials are never sent anywhere else.
   */
  path: string;
  /** Query parameters, appended with `URLSearchParams`; an array repeats the name; undefined is left out. */
  query?: Record<string, string | readonly string[] | undefined>;
  /** A JSON body (`application/json`). */
  json?: unknown;
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** Skip the client's default headers (a token request carries its own credentials). */
  anonymous?: boolean;
  /** Cancels the request; a `TimeoutError` reason counts as a timeout, any other as an abort. */
  signal: AbortSignal;
}

/** A 2xx answer, read whole (within `maxResponseBytes`). */
export interface HttpResponse {
  /** The HTTP status (2xx; other statuses are thrown as connector errors). */
  status: number;
  /** Response headers, names lower-cased, repeated values joined with `", "`. */
  headers: Readonly<Record<string, string>>;
  /** The body, decoded as UTF-8. */
  text: string;
}

/**
 * A vendor API client from {@link createHttpClient}. Any answer other than 2xx, and any transport
 * failure, rejects with a `RunwardenError`:
 *
 * | what happened | code |
 * | --- | --- |
 * | 401, 403 | `RW_ERR_CONNECTOR_AUTH` |
 * | 404 | `RW_ERR_CONNECTOR_NOT_FOUND` |
 * | 409, 412 | `RW_ERR_CONNECTOR_CONFLICT` |
 * | 429 (`details.retryAfterMs`) | `RW_ERR_CONNECTOR_RATE_LIMITED` |
 * | 408, 504, no answer in time, `TimeoutError` abort | `RW_ERR_CONNECTOR_TIMEOUT` |
 * | caller's abort | `RW_ERR_CONNECTOR_TIMEOUT`, not retryable, `details.aborted` |
 * | other 5xx, DNS, refused, reset | `RW_ERR_CONNECTOR_UNREACHABLE` (`details.reason`) |
 * | other 4xx, body too large, link to another origin, invalid JSON | `RW_ERR_CONNECTOR_REJECTED` |
 *
 * `details` holds the vendor, method, path, status and a 300-character excerpt of the answer
 * (`remote`), never a request header; the undici error stays on `cause`.
 */
export interface HttpClient {
  /** Sends the request; resolves a 2xx answer, rejects any other. */
  send(req: HttpRequest): Promise<HttpResponse>;
  /** `send`, then the body parsed as JSON: `undefined` for an empty body, REJECTED when it is not JSON. */
  json(req: HttpRequest): Promise<unknown>;
}

const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);
const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds (`"120"`, or `"1.5"` as some vendors
 * send) or an HTTP date (counted from `nowMs`, never negative). `undefined` when the header is
 * missing, empty or unreadable. A repeated header counts by its first value.
 *
 * @example
 * retryAfterMs("3", Date.now()); // 3000
 * retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:00Z")); // 60000
 */
export function retryAfterMs(
  value: string | readonly string[] | undefined,
  nowMs: number,
): number | undefined {
  const first = typeof value === "string" ? value : value?.[0];
  if (first === undefined || first.trim() === "") return undefined;
  const trimmed = first.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** A short excerpt of what the vendor said, for `details` (never a request header). */
function excerpt(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function statusCode(status: number): ErrorCode {
  if (status === 401 || status === 403) return "RW_ERR_CONNECTOR_AUTH";
  if (status === 404) return "RW_ERR_CONNECTOR_NOT_FOUND";
  if (status === 409 || status === 412) return "RW_ERR_CONNECTOR_CONFLICT";
  if (status === 429) return "RW_ERR_CONNECTOR_RATE_LIMITED";
  if (status === 408 || status === 504) return "RW_ERR_CONNECTOR_TIMEOUT";
  if (status >= 500) return "RW_ERR_CONNECTOR_UNREACHABLE";
  return "RW_ERR_CONNECTOR_REJECTED";
}

async function readCapped(body: Dispatcher.ResponseData["body"], max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Creates a JSON client for one vendor API.
 *
 * @example
 * const api = createHttpClient({
 *   vendor: "Acme",
 *   baseUrl: new URL("https://api.acme.example/v2/"),
 *   timeoutMs: 10_000,
 *   maxResponseBytes: 1 << 20,
 *   headers: () => ({ authorization: `Bearer ${config.token}` }),
 *   now: Date.now,
 * });
 * const alerts = await api.json({ method: "GET", path: "alerts", query: { state: "open" }, signal });
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { vendor } = options;
  // A base URL with a path prefix (a proxy's /alertmanager/) keeps it only with a trailing slash.
  const base = new URL(
    options.baseUrl.href.endsWith("/") ? options.baseUrl.href : `${options.baseUrl.href}/`,
  );

  function mapThrown(error: unknown, req: HttpRequest): never {
    if (isRunwardenError(error)) throw error;
    const where = { vendor, method: req.method, path: req.path };
    if (req.signal.aborted) {
      const reason: unknown = req.signal.reason;
      if (reason instanceof Error && reason.name === "TimeoutError") {
        throw rwError("RW_ERR_CONNECTOR_TIMEOUT", `${vendor} did not answer before the deadline`, {
          details: where,
          cause: error,
        });
      }
      // Cancelled by the caller (session cancelled, engine closing): not worth a retry.
      throw rwError("RW_ERR_CONNECTOR_TIMEOUT", `${vendor} request was aborted`, {
        details: { ...where, aborted: true },
        cause: error,
        retryable: false,
      });
    }
    const code = (error as { code?: unknown } | null)?.code;
    const causeCode = (
      (error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined
    )?.code;
    const codes = [code, causeCode].filter((c): c is string => typeof c === "string");
    if (codes.some((c) => timeoutCodes.has(c))) {
      throw rwError("RW_ERR_CONNECTOR_TIMEOUT", `${vendor} did not answer within ${options.timeoutMs} ms`, {
        details: where,
        cause: error,
      });
    }
    const reason = codes.find((c) => unreachableCodes.has(c)) ?? codes[0] ?? "network error";
    throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `${vendor} could not be reached (${reason})`, {
      details: { ...where, reason },
      cause: error,
    });
  }

  async function send(req: HttpRequest): Promise<HttpResponse> {
    const url = /^https?:\/\//i.test(req.path)
      ? new URL(req.path)
      : new URL(req.path.replace(/^\/+/, ""), base);
    if (url.origin !== base.origin) {
      throw rwError("RW_ERR_CONNECTOR_REJECTED", `refusing to follow a ${vendor} link to another origin`, {
        details: { vendor, origin: url.origin },
      });
    }
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value === undefined) continue;
      for (const item of typeof value === "string" ? [value] : value) url.searchParams.append(name, item);
    }
    const headers: Record<string, string> = {
      accept: "application/json",
      ...(req.anonymous ? {} : await options.headers(req.signal)),
    };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(req.form).toString();
    }
    let status: number;
    let responseHeaders: Record<string, string>;
    let text: string | undefined;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body,
        signal: req.signal,
        dispatcher: options.dispatcher,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      status = res.statusCode;
      responseHeaders = flatHeaders(res.headers);
      text = await readCapped(res.body, options.maxResponseBytes);
    } catch (error) {
      mapThrown(error, req);
    }
    const where = { vendor, method: req.method, path: url.pathname, status };
    if (text === undefined) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        `${vendor} answered with more than ${options.maxResponseBytes} bytes`,
        {
          details: where,
        },
      );
    }
    if (status >= 200 && status < 300) return { status, headers: responseHeaders, text };
    const code = statusCode(status);
    const details: Record<string, unknown> = { ...where, remote: excerpt(text) };
    if (code === "RW_ERR_CONNECTOR_RATE_LIMITED") {
      const now = options.now();
      details.retryAfterMs =
        retryAfterMs(responseHeaders["retry-after"], now) ??
        options.rateLimitDelayMs?.(responseHeaders, now) ??
        1000;
    }
    throw rwError(code, `${vendor} answered ${status} to ${req.method} ${url.pathname}`, { details });
  }

  return {
    send,
    async json(req) {
      const res = await send(req);
      if (res.text.trim() === "") return undefined;
      try {
        return JSON.parse(res.text) as unknown;
      } catch (error) {
        throw rwError(
          "RW_ERR_CONNECTOR_REJECTED",
          `${vendor} answered ${req.method} ${req.path} with invalid JSON`,
          {
            details: { vendor, method: req.method, path: req.path, remote: excerpt(res.text) },
            cause: error,
          },
        );
      }
    },
  };
}

/**
 * The `HealthResult` of a failed API health check, from what {@link HttpClient} threw: `reason` is
 * `auth`, `timeout`, `rate limited`, the transport reason of an unreachable API (`ECONNREFUSED`…)
 * or `rejected`. Anything that is not a `RunwardenError` is a bug and is rethrown.
 *
 * @example
 * const started = performance.now();
 * try {
 *   await api.json({ method: "GET", path: "status", signal });
 *   return { ok: true, latencyMs: Math.round(performance.now() - started) };
 * } catch (error) {
 *   return apiHealthFailure(error, Math.round(performance.now() - started));
 * }
 */
export function apiHealthFailure(error: unknown, latencyMs: number): HealthResult {
  if (!isRunwardenError(error)) throw error;
  const reasons: Partial<Record<ErrorCode, string>> = {
    RW_ERR_CONNECTOR_AUTH: "auth",
    RW_ERR_CONNECTOR_TIMEOUT: "timeout",
    RW_ERR_CONNECTOR_RATE_LIMITED: "rate limited",
    RW_ERR_CONNECTOR_UNREACHABLE: String(error.details?.reason ?? "unreachable"),
  };
  return { ok: false, latencyMs, reason: reasons[error.code] ?? "rejected", message: error.message };
}
