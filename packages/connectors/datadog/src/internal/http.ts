/**
 * One HTTP call to a vendor API, with every failure mapped onto the connector error codes, so the
 * engine's single retry policy works. Retries and backoff are the engine's job, not this file's.
 */
import { type ErrorCode, isRunwardenError, rwError } from "@runwarden/core";
import { type Dispatcher, request } from "undici";

export interface HttpClientOptions {
  /** The vendor's name, for messages: "Alertmanager". */
  vendor: string;
  baseUrl: URL;
  dispatcher?: Dispatcher | undefined;
  timeoutMs: number;
  /** Responses larger than this are refused, never buffered. */
  maxResponseBytes: number;
  /** Headers sent with every request (authorization); `signal` is the request's. */
  headers(signal: AbortSignal): Record<string, string> | Promise<Record<string, string>>;
  now(): number;
  /**
   * How long a 429 asks us to wait, from the vendor's headers. Default: `Retry-After`, else 1 s.
   * Headers are lower-cased.
   */
  rateLimitDelayMs?(headers: Readonly<Record<string, string>>, nowMs: number): number | undefined;
}

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /**
   * A path under the base URL, or an absolute URL (a `Link` header's `next`), which must have the
   * base URL's origin: credentials are never sent anywhere else.
   */
  path: string;
  query?: Record<string, string | readonly string[] | undefined>;
  json?: unknown;
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** Skip the client's default headers (a token request carries its own credentials). */
  anonymous?: boolean;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  text: string;
}

export interface HttpClient {
  send(req: HttpRequest): Promise<HttpResponse>;
  /** `send`, then the body parsed as JSON (REJECTED when it is not JSON). */
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

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date). */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
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
