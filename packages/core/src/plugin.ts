/**
 * The connector plugin API. A connector is one object made by `defineConnector({...})`: no base
 * class. The engine validates it when it is registered, owns retries, timeouts, redaction and
 * auditing, and hands `create` a context object (never `this`).
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { ConnectionRecord, Ticket, TicketInput } from "./domain.js";

export type ConnectorKind = "monitoring" | "ticketing" | "infrastructure";

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
  /**
   * Called by the engine's monitoring poller, through its outbox, when a session starts for the
   * ticket (and `resolve` when the ticket resolves, after an acknowledge). Each may be called again
   * after a crash: make them idempotent (`options.idempotencyKey` is the same on every retry of one
   * call). `options.signal` cancels the call; the connector also honours ctx.signal.
   */
  acknowledge?(ticket: Ticket, options?: { signal?: AbortSignal; idempotencyKey?: string }): Promise<void>;
  resolve?(ticket: Ticket, options?: { signal?: AbortSignal; idempotencyKey?: string }): Promise<void>;
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
  capabilities: readonly string[];
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
