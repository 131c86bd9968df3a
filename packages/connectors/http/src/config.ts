import { type CredentialOf, type ResolvedConnection, secret } from "@runwarden/core";
import { Dispatcher } from "undici";
import { z } from "zod";

/** The connector's configuration: timeouts, limits, retries, keep-alive pools. */
export const httpConfigSchema = z.strictObject({
  /** A request's timeout when the step sets none (headers and body). Default 30 s. */
  timeoutMs: z.number().int().positive().default(30_000),
  /** TCP and TLS connect. Default 10 s. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** Response bodies are kept up to this many bytes; the rest is dropped. Default 1 MiB. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Same-host redirects followed at most. Default 5. */
  maxRedirects: z.number().int().min(0).max(20).default(5),
  retries: z
    .strictObject({
      /** Retries of a 429 or 503 answer. Default 2. */
      max: z.number().int().min(0).max(10).default(2),
      /** Without Retry-After: baseDelayMs × 2^attempt. Default 500 ms. */
      baseDelayMs: z.number().int().min(0).default(500),
      /** A Retry-After longer than this is not waited for: the answer is returned. Default 30 s. */
      maxDelayMs: z.number().int().min(0).default(30_000),
    })
    .prefault({}),
  /** Keep-alive sockets per origin. Default 8. */
  connectionsPerOrigin: z.number().int().min(1).max(256).default(8),
  /** Idle keep-alive sockets close after this long. Default 30 s. */
  keepAliveTimeoutMs: z.number().int().positive().default(30_000),
  userAgent: z.string().min(1).default("runwarden-connector-http/0.1.0"),
  /**
   * An undici dispatcher to send every request through instead of the connector's own pools:
   * a MockAgent in unit tests, or a proxy agent. The egress policy is still checked first.
   */
  dispatcher: z.custom<Dispatcher>((value) => value instanceof Dispatcher, "an undici Dispatcher").optional(),
});

/** The parsed configuration. */
export type HttpConfig = z.output<typeof httpConfigSchema>;

/** Per-connection options (the connection's `options`, snake_case as the REST API takes them). */
export const httpConnectionOptionsSchema = z.object({
  /** Where relative request targets resolve; default `<scheme>://<target_host>[:<target_port>]`. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Scheme for the default base URL. Default https. */
  scheme: z.enum(["https", "http"]).default("https"),
  /** Other hosts steps may call (exact names or `*.example.com`). Credentials are not sent to them. */
  allowed_hosts: z.array(z.string().min(1)).default([]),
  /** Allow link-local and cloud metadata addresses (169.254.0.0/16, fd00:ec2::254, …). Default false. */
  allow_link_local: z.boolean().default(false),
  /** Header that carries the credential's `api_key`. Default `X-API-Key`. */
  api_key_header: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/)
    .default("X-API-Key"),
  /** Verify TLS certificates. Default true. */
  tls_verify: z.boolean().default(true),
  /** Headers sent with every request of this connection (no secrets: use the credential). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Path the health check GETs. Default `/`. */
  health_path: z.string().startsWith("/").default("/"),
});

export type HttpConnectionOptions = z.output<typeof httpConnectionOptionsSchema>;

const token = () => secret(z.string().min(1)).describe("Sent as `Authorization: Bearer …`");
const apiKey = () =>
  secret(z.string().min(1)).describe("Sent in the connection's api_key_header (default X-API-Key)");
const password = () => secret(z.string().min(1)).describe("Sent with the username as Basic auth");

/**
 * The credential types the HTTP connector accepts. `bearer`, `basic` and `api_key` hold one
 * scheme each; `api` (the 0.1 type) any of them: a token wins over username and password, and an
 * API key is sent beside either.
 */
export const httpCredentialTypes = {
  api: z
    .object({
      token: token().optional(),
      api_key: apiKey().optional(),
      username: z.string().min(1).optional().describe("With password: Basic auth"),
      password: password().optional(),
    })
    .describe("An API token, API key and/or username and password"),
  bearer: z.object({ token: token() }).describe("A bearer token"),
  basic: z.object({ username: z.string().min(1), password: password() }).describe("HTTP Basic auth"),
  api_key: z.object({ api_key: apiKey() }).describe("An API key sent in a header"),
};

/** A connection as the HTTP connector receives it, its credential typed. */
export type HttpConnection = ResolvedConnection<CredentialOf<typeof httpCredentialTypes>>;
