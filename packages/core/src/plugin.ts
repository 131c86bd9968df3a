/**
 * The connector plugin API. A connector is one object made by `defineConnector({...})`: no base
 * class. The engine validates it when it is registered, owns retries, timeouts, redaction and
 * auditing, and hands `create` a context object (never `this`).
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { ConnectionRecord, Ticket, TicketInput } from "./domain.js";

export type ConnectorKind = "monitoring" | "ticketing" | "infrastructure";

/**
 * Every capability a connector may declare: the kinds it applies to and what it promises. This is
 * the one list: `defineConnector` types `capabilities` from it, the registry refuses a name that
 * is not listed for the connector's kind, the contract suite (`@runwarden/connector-testkit`)
 * checks each declared capability it can and reports the others as skipped, and the connector
 * guide is written from it.
 */
export const connectorCapabilities = {
  webhook: {
    kinds: ["monitoring"],
    summary:
      "`parseWebhook` turns the tool's webhook into tickets, refusing a malformed body with an input code",
  },
  "verify-webhook": {
    kinds: ["monitoring"],
    summary: "`verifyWebhook` authenticates each webhook request (a signature or a shared secret)",
  },
  pull: { kinds: ["monitoring"], summary: "`pull({ since, signal })` fetches open alerts" },
  acknowledge: { kinds: ["monitoring"], summary: "`acknowledge(ticket)` marks the alert as being handled" },
  resolve: { kinds: ["monitoring"], summary: "`resolve(ticket)` marks the alert as resolved" },
  create: {
    kinds: ["ticketing"],
    summary: "`create(ticket, { idempotencyKey })` opens a remote ticket once",
  },
  update: {
    kinds: ["ticketing"],
    summary: "`update(ref, change, { idempotencyKey })` changes status or fields",
  },
  comment: { kinds: ["ticketing"], summary: "`comment(ref, text, { idempotencyKey })` adds a note once" },
  "pull-changes": {
    kinds: ["ticketing"],
    summary: "`pullChanges({ cursor })` returns remote changes after a cursor, never repeating one",
  },
  "health-check": {
    kinds: ["monitoring", "ticketing", "infrastructure"],
    summary: "`healthCheck` answers promptly with `{ ok, latencyMs, reason }`",
  },
  describe: {
    kinds: ["infrastructure"],
    summary: "`describe(request, connection)` says in one line, without secrets, what a request will do",
  },
  exec: { kinds: ["infrastructure"], summary: "runs a step's command on the connection" },
  "run-command": { kinds: ["infrastructure"], summary: "runs a shell command on a remote host" },
  "run-query": { kinds: ["infrastructure"], summary: "runs a SQL statement with bound values" },
  "http-request": { kinds: ["infrastructure"], summary: "sends an HTTP request described by the step" },
  shell: { kinds: ["infrastructure"], summary: "runs shell steps through `sh -c`" },
  timeout: { kinds: ["infrastructure"], summary: "ends a request after `timeoutMs` with `timedOut: true`" },
  "stream-output": {
    kinds: ["infrastructure"],
    summary: "calls `onOutput` with the output as it arrives; the chunks add up to the result",
  },
  "cancel-query": {
    kinds: ["infrastructure"],
    summary: "cancels a running statement on the server when aborted",
  },
  "read-only-transaction": {
    kinds: ["infrastructure"],
    summary: "runs `readOnly` requests in a read-only transaction",
  },
  "connection-pool": { kinds: ["infrastructure"], summary: "reuses connections per target until `close()`" },
  "jump-host": { kinds: ["infrastructure"], summary: "reaches a target through a bastion" },
  "egress-policy": { kinds: ["infrastructure"], summary: "refuses destinations outside a configured policy" },
  "retry-after": { kinds: ["infrastructure"], summary: "honours `Retry-After` on 429 and 503" },
} as const satisfies Record<string, { kinds: readonly ConnectorKind[]; summary: string }>;

/** A capability name a connector of kind `K` may declare (all of them when `K` is not narrowed). */
export type ConnectorCapability<K extends ConnectorKind = ConnectorKind> = {
  [C in keyof typeof connectorCapabilities]: K extends (typeof connectorCapabilities)[C]["kinds"][number]
    ? C
    : never;
}[keyof typeof connectorCapabilities];

/** The capability names a connector of `kind` may declare, in the list's order. */
export function capabilitiesOf<K extends ConnectorKind>(kind: K): ConnectorCapability<K>[] {
  return (Object.keys(connectorCapabilities) as (keyof typeof connectorCapabilities)[]).filter((name) =>
    (connectorCapabilities[name].kinds as readonly ConnectorKind[]).includes(kind),
  ) as ConnectorCapability<K>[];
}

/** Marks config fields as secret: core redacts them from logs and errors. */
export const secretRegistry = z.registry<{ secret: true }>();

/** `secret(z.string())`: a config field that holds a secret. */
export function secret<T extends z.ZodType>(schema: T): T {
  secretRegistry.add(schema, { secret: true });
  return schema;
}

/** A credential as the vault hands it to a connector call: secrets decrypted, for that call only. */
export interface ResolvedCredential {
  id: number;
  name: string;
  credentialType: string;
  environment: string;
  fields: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** A connection with its credential resolved: what an infrastructure connector opens. */
export interface ResolvedConnection
  extends Pick<
    ConnectionRecord,
    "name" | "connectionType" | "targetHost" | "targetPort" | "targetService" | "environment" | "options"
  > {
  id: number | null;
  credential: ResolvedCredential | null;
}

/** What every connector's `create` receives. */
export interface ConnectorContext {
  /** A child of the engine's logger, bound to `{ connector }`. Log only through it. */
  logger: Logger;
  /** Aborted when the engine closes. Pass it (or a per-call signal) to every I/O call. */
  signal: AbortSignal;
  dryRun: boolean;
  now(): Date;
}

export interface HealthResult {
  ok: boolean;
  latencyMs: number;
  /** Why it failed, without secrets: "DNS", "refused", "auth", "host key", "timeout", … */
  reason?: string;
  message?: string;
}

// ── monitoring ─────────────────────────────────────────────────────────────────────────────────

export interface WebhookRequest {
  headers: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body (or undefined when it was not JSON). */
  body: unknown;
  /** The body exactly as received, for signature checks. */
  rawBody: string;
}

export interface ParsedWebhook {
  tickets: TicketInput[];
  /** Things that were mapped with a guess (an unknown severity, say). */
  warnings: string[];
}

export interface MonitoringConnector {
  /** False refuses the request with 401. Absent means the source needs no verification. */
  verifyWebhook?(request: WebhookRequest): boolean | Promise<boolean>;
  /** Throws RW_ERR_INPUT_INVALID with a reason for a malformed payload. */
  parseWebhook?(request: WebhookRequest): ParsedWebhook | Promise<ParsedWebhook>;
  pull?(options: { since?: string; signal: AbortSignal }): AsyncIterable<TicketInput>;
  /** `options.signal` (optional, additive) cancels the call; the connector also honours ctx.signal. */
  acknowledge?(ticket: Ticket, options?: { signal?: AbortSignal }): Promise<void>;
  resolve?(ticket: Ticket, options?: { signal?: AbortSignal }): Promise<void>;
  healthCheck?(): Promise<HealthResult>;
  close?(): Promise<void>;
}

// ── ticketing ──────────────────────────────────────────────────────────────────────────────────

export interface RemoteTicketRef {
  externalId: string;
  url?: string;
}

export interface RemoteChange {
  externalId: string;
  /** A new remote ticket to bring in, or a change to one we know. */
  kind: "created" | "updated" | "closed";
  ticket?: TicketInput;
  updatedAt: string;
}

export interface TicketingConnector {
  create(ticket: Ticket, options: { idempotencyKey: string; signal: AbortSignal }): Promise<RemoteTicketRef>;
  update(
    ref: RemoteTicketRef,
    change: { status?: string; fields?: Record<string, unknown> },
    options: { idempotencyKey: string; signal: AbortSignal },
  ): Promise<void>;
  comment(
    ref: RemoteTicketRef,
    text: string,
    options: { idempotencyKey: string; signal: AbortSignal },
  ): Promise<void>;
  pullChanges?(options: {
    cursor?: string;
    signal: AbortSignal;
  }): Promise<{ changes: RemoteChange[]; cursor: string }>;
  healthCheck?(): Promise<HealthResult>;
  close?(): Promise<void>;
}

// ── infrastructure ─────────────────────────────────────────────────────────────────────────────

export interface ExecRequest {
  /** The rendered command, as an approver saw it. Shell steps run it with `sh -c`. */
  command: string;
  /** sh, sql, http, powershell, … (from the runbook). */
  language: string;
  /**
   * For SQL: the statement split at each template value, values to bind in order. A connector
   * joins `parts` with its own placeholder syntax (`$1` for pg, `?` for mysql2); it never
   * splices a value into the text.
   */
  sql?: { parts: string[]; values: unknown[] };
  /** Prechecks and postchecks run read-only where the transport can enforce it. */
  readOnly: boolean;
  signal: AbortSignal;
  timeoutMs?: number;
  onOutput?(stream: "stdout" | "stderr", chunk: string): void;
}

export interface ExecResult {
  exitCode: number | null;
  /** The signal that ended a process, when one did. */
  signal?: string | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
  /** SQL results (capped) and affected row count. */
  rows?: Record<string, unknown>[];
  rowCount?: number;
}

export interface ConnectionHandle {
  exec(request: ExecRequest): Promise<ExecResult>;
  /** Returns the connection to its pool (or closes it). */
  release(): Promise<void>;
}

export interface InfrastructureConnector {
  open(connection: ResolvedConnection, options: { signal: AbortSignal }): Promise<ConnectionHandle>;
  healthCheck(connection: ResolvedConnection, options: { signal: AbortSignal }): Promise<HealthResult>;
  /**
   * Optional: one line for an approver or an audit record saying what `request` will do on
   * `connection` (`POST https://api.example.com/v1/restart (bearer token)`), never a secret.
   */
  describe?(
    request: Pick<ExecRequest, "command" | "language" | "sql" | "readOnly">,
    connection: ResolvedConnection,
  ): string;
  /** Closes pools. */
  close?(): Promise<void>;
}

export interface InstanceOf {
  monitoring: MonitoringConnector;
  ticketing: TicketingConnector;
  infrastructure: InfrastructureConnector;
}

export interface ConnectorDefinition<
  K extends ConnectorKind = ConnectorKind,
  S extends z.ZodType = z.ZodType,
> {
  kind: K;
  /** kebab-case; unique per kind. For monitoring connectors, the webhook source name. */
  name: string;
  version: string;
  /** The @runwarden/core semver range this connector is built for. */
  sdk: string;
  description?: string;
  configSchema: S;
  /** What it can do, from `connectorCapabilities` (the registry refuses other names). */
  capabilities: readonly ConnectorCapability<K>[];
  /**
   * Infrastructure only: the connection types it serves — `ssh`, `api`, or `database:<service>`
   * for a `database` connection dispatched on its `target_service`.
   */
  connectionTypes?: readonly string[];
  create(config: z.output<S>, ctx: ConnectorContext): InstanceOf[K] | Promise<InstanceOf[K]>;
}

/** Declares a connector. Returns the declaration, typed; the engine validates it on registration. */
export function defineConnector<K extends ConnectorKind, S extends z.ZodType>(
  definition: ConnectorDefinition<K, S>,
): ConnectorDefinition<K, S> {
  return Object.freeze(definition);
}

/** A connector and the config to create it with, as passed to `createEngine({ connectors })`. */
export interface ConnectorRegistration {
  connector: ConnectorDefinition<ConnectorKind, z.ZodType>;
  config?: unknown;
}
