/**
 * The connector plugin API. A connector is one object made by `defineConnector({...})`: no base
 * class. The engine validates it when it is registered, owns retries, timeouts, redaction and
 * auditing, and hands `create` a context object (never `this`).
 *
 * Over 500 lines on purpose: this is the one file a connector author reads to learn the contract
 * (kinds, capabilities, credentials, the instance interfaces of all four kinds); split, the
 * contract would be spread over files that only make sense together. Nothing here runs.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { ConnectionRecord, StepProcess, Ticket, TicketInput } from "./domain.js";

/**
 * The four kinds of connector: `monitoring` brings alerts in, `ticketing` syncs tickets with a
 * ticketing tool, `infrastructure` runs steps, `notifier` delivers notifications.
 */
export type ConnectorKind = "monitoring" | "ticketing" | "infrastructure" | "notifier";

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
  note: {
    kinds: ["monitoring"],
    summary: "`note(ticket, text, { idempotencyKey, sessionId })` adds a work note to the alert once",
  },
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
  notify: {
    kinds: ["notifier"],
    summary: "`send(notification, { idempotencyKey, signal })` delivers one notification to its channel",
  },
  "health-check": {
    kinds: ["monitoring", "ticketing", "infrastructure", "notifier"],
    summary: "`healthCheck` answers promptly with `{ ok, latencyMs, reason }`",
  },
  describe: {
    kinds: ["monitoring", "ticketing", "infrastructure", "notifier"],
    summary:
      "`describe(…)` says in one line, without secrets, what a request (infrastructure) or a write (ticketing, monitoring) will do",
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

/**
 * True for a schema marked with `secret()`, also after `.describe()` or `.meta()` (which return a
 * copy whose parent is the marked schema).
 */
export function isSecretSchema(schema: z.ZodType): boolean {
  for (let node: z.ZodType | undefined = schema, depth = 0; node && depth < 32; depth++) {
    if (secretRegistry.has(node)) return true;
    node = (node._zod as { parent?: z.ZodType }).parent;
  }
  return false;
}

/**
 * The credential types a connector accepts: type name → zod object schema whose secret fields are
 * marked with `secret()` (`{ basic: z.object({ username: z.string(), password: secret(z.string()) }) }`).
 * Reuse core's `databaseCredential` for `database`, and `genericCredential` to accept `generic`.
 */
export type CredentialTypeMap = Record<string, z.ZodType<Record<string, unknown>>>;

/**
 * A credential as the vault hands it to a connector call, for that call only: `value` is the
 * credential parsed with its type's schema, secret fields decrypted.
 */
export interface ResolvedCredential<
  T extends string = string,
  V extends Record<string, unknown> = Record<string, unknown>,
> {
  /**
   * The connection's id; null for a connection that is not stored (a runbook's raw host from
   * `metaData.connection_config`).
   */
  id: number;
  /** The credential's name. */
  name: string;
  /** Narrow on it to read a typed `value` (`if (credential.credentialType === "ssh") …`). */
  credentialType: T;
  /** The environment the credential belongs to. */
  environment: string;
  /** The validated fields of the credential, secrets included. */
  value: V;
  /**
   * The values of the fields its type marks secret, by name. The engine redacts them from output;
   * a connector reads `value`.
   */
  secrets: Readonly<Record<string, string>>;
}

/**
 * The credential a connector declaring `C` receives: one `ResolvedCredential` per declared type,
 * discriminated by `credentialType`. A connector that declares none receives any credential, untyped.
 */
export type CredentialOf<C extends CredentialTypeMap> = 0 extends 1 & C
  ? ResolvedCredential
  : [keyof C] extends [never]
    ? ResolvedCredential
    : { [N in keyof C & string]: ResolvedCredential<N, z.output<C[N]>> }[keyof C & string];

/** A connection with its credential resolved: what an infrastructure connector opens. */
export interface ResolvedConnection<Credential = ResolvedCredential>
  extends Pick<
    ConnectionRecord,
    "name" | "connectionType" | "targetHost" | "targetPort" | "targetService" | "environment" | "options"
  > {
  /** The stored connection's id; null for one that is not stored (a raw host allowed by the policy). */
  id: number | null;
  /**
   * The connection's credential as the vault resolved it for this call; null when the connection
   * has none.
   */
  credential: Credential | null;
}

/** What every connector's `create` receives. */
export interface ConnectorContext {
  /** A child of the engine's logger, bound to `{ connector }`. Log only through it. */
  logger: Logger;
  /**
   * The engine's lifetime: aborted when the engine closes. Only for background work the
   * connector owns (a pool's idle reaper, a token refresh loop). A call's I/O takes the call's
   * own signal (`options.signal`, `request.signal`), which already includes engine shutdown and
   * the call's timeout: never combine the two.
   */
  signal: AbortSignal;
  /** The engine's clock (a fake one in tests): use it rather than `new Date()`. */
  now(): Date;
}

/**
 * What every connector call's options carry: the one signal of the call, built by core. It is
 * aborted when the engine closes, when the call's caller stops (a session cancelled) and when the
 * call's timeout runs out. Pass it to every I/O call as it is.
 */
export interface CallOptions {
  /**
   * The call's one signal: pass it to every I/O call (undici's `signal`, a query's cancel, closing
   * an ssh channel).
   */
  signal: AbortSignal;
}

/** The result of a connector's health check. */
export interface HealthResult {
  /** True when the target answered as expected. */
  ok: boolean;
  /** How long the check took, in milliseconds. */
  latencyMs: number;
  /** Why it failed, without secrets: "DNS", "refused", "auth", "host key", "timeout", … */
  reason?: string;
  /** A short message for people, without secrets. */
  message?: string;
}

// ── monitoring ─────────────────────────────────────────────────────────────────────────────────

/** A webhook request as the HTTP layer received it, for a monitoring connector. */
export interface WebhookRequest {
  /** The request headers, lower-cased names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body (or undefined when it was not JSON). */
  body: unknown;
  /** The body exactly as received, for signature checks. */
  rawBody: string;
}

/** What a monitoring connector made of a webhook request. */
export interface ParsedWebhook {
  /** The tickets the request carries, one per alert (a resolved alert sets `resolved: true`). */
  tickets: TicketInput[];
  /** Things that were mapped with a guess (an unknown severity, say). */
  warnings: string[];
}

/**
 * A monitoring connector: brings alerts in as tickets, by webhook (`parseWebhook`) or by polling
 * (`pull`), and writes back to the alert (`acknowledge`, `resolve`, `note`). Every method is
 * optional; declare the matching capability.
 */
export interface MonitoringConnector {
  /** False refuses the request with 401. Absent means the source needs no verification. */
  verifyWebhook?(request: WebhookRequest): boolean | Promise<boolean>;
  /** Throws RW_ERR_INPUT_INVALID with a reason for a malformed payload. */
  parseWebhook?(request: WebhookRequest): ParsedWebhook | Promise<ParsedWebhook>;
  /**
   * Polls the tool: yields the alerts raised since `since` (ISO 8601; absent on the first poll) as
   * ticket inputs.
   */
  pull?(options: { since?: string } & CallOptions): AsyncIterable<TicketInput>;
  /**
   * Called by the engine's monitoring poller, through its outbox, when a session starts for the
   * ticket (and `resolve` when the ticket resolves, after an acknowledge). Each may be called again
   * after a crash: make them idempotent (`options.idempotencyKey` is the same on every retry of one
   * call). `options.signal` ends the call (engine shutdown and the delivery timeout included).
   */
  acknowledge?(ticket: Ticket, options: MonitoringCallOptions): Promise<void>;
  /**
   * Marks the alert resolved in the tool once the ticket resolves (after an `acknowledge`);
   * idempotent like `acknowledge`.
   */
  resolve?(ticket: Ticket, options: MonitoringCallOptions): Promise<void>;
  /**
   * Optional (capability `note`): a work note on the alert in the monitoring tool (a Zabbix
   * acknowledge message, a SolarWinds note, an OpManager note). Core's poller sends one, through
   * its outbox (once, in ticket order, retried), when an approval is requested or decided and when
   * the session ends, for tickets of this source. Make it idempotent on `options.idempotencyKey`.
   */
  note?(ticket: Ticket, text: string, options: MonitoringCallOptions): Promise<void>;
  /**
   * Optional: one line for the audit log saying what an `acknowledge`, `resolve` or `note` will do
   * (`create a downtime on monitor 42 for scope host:web-1`), never a secret. Core records it with
   * the delivered write.
   */
  describe?(write: MonitoringWrite): string;
  /** `options.signal` ends the check (engine shutdown and the check's timeout included). */
  healthCheck?(options: CallOptions): Promise<HealthResult>;
  /** Releases what the instance holds (pools, timers) when the engine closes. */
  close?(): Promise<void>;
}

/** A monitoring write, as `describe` receives it. */
export interface MonitoringWrite {
  /** Which write it is. */
  operation: "acknowledge" | "resolve" | "note";
  /** The ticket the write is about. */
  ticket: Ticket;
  /** The note's text (`note` only). */
  text?: string;
}

/** Options of a monitoring write (`acknowledge`, `resolve`, `note`). */
export interface MonitoringCallOptions extends CallOptions {
  /** The same on every retry of one call. An opaque string: do not parse it. */
  idempotencyKey?: string;
  /** The Runwarden session the write is about, when there is one (name it in the message). */
  sessionId?: number;
}

// ── ticketing ──────────────────────────────────────────────────────────────────────────────────

/** A ticket in a ticketing tool, as `create` returns it and the other writes name it. */
export interface RemoteTicketRef {
  /** The tool's id of the ticket (a ServiceNow sys_id, a Zendesk ticket id). */
  externalId: string;
  /** A link to the ticket in the tool, for people. */
  url?: string;
}

/** A change on the ticketing tool's side, as `pullChanges` reports it. */
export interface RemoteChange {
  /** The tool's id of the ticket that changed. */
  externalId: string;
  /** A new remote ticket to bring in, or a change to one we know. */
  kind: "created" | "updated" | "closed";
  /**
   * The ticket's fields as Runwarden reads them (for `created`, and for `updated` when they
   * changed).
   */
  ticket?: TicketInput;
  /** When the change happened on the tool's side (ISO 8601). */
  updatedAt: string;
}

/** A change `update` applies to a remote ticket. */
export interface RemoteTicketChange {
  /** The tool's status to set (in the tool's own vocabulary). */
  status?: string;
  /** Tool-specific fields to set, by the tool's field name. */
  fields?: Record<string, unknown>;
}

/** A ticketing write, as `describe` receives it. */
export type TicketingWrite =
  | { operation: "create"; ticket: Ticket }
  | { operation: "update"; ref: RemoteTicketRef; change: RemoteTicketChange }
  | { operation: "comment"; ref: RemoteTicketRef; text: string };

/**
 * Every `options.signal` below ends the call: core builds it from engine shutdown, the caller's
 * stop and the call's timeout.
 */
export interface TicketingConnector {
  /**
   * Opens a ticket in the tool for a Runwarden ticket; a retry with the same `idempotencyKey` must
   * not open a second one.
   */
  create(ticket: Ticket, options: { idempotencyKey: string } & CallOptions): Promise<RemoteTicketRef>;
  /** Changes a remote ticket's status or fields; idempotent on `idempotencyKey`. */
  update(
    ref: RemoteTicketRef,
    change: RemoteTicketChange,
    options: { idempotencyKey: string } & CallOptions,
  ): Promise<void>;
  /** Adds a comment or work note to a remote ticket; idempotent on `idempotencyKey`. */
  comment(
    ref: RemoteTicketRef,
    text: string,
    options: { idempotencyKey: string } & CallOptions,
  ): Promise<void>;
  /**
   * Optional (capability `pull-changes`): the changes on the tool's side since `cursor` (absent on
   * the first call), and the cursor to pass next time.
   */
  pullChanges?(
    options: { cursor?: string } & CallOptions,
  ): Promise<{ changes: RemoteChange[]; cursor: string }>;
  /**
   * Optional: one line for the audit log saying what a write will do (`comment on incident
   * INC0010001`), never a secret and never the ticket's text. Core records it with the delivered write.
   */
  describe?(write: TicketingWrite): string;
  /** Checks the tool answers with the configured credentials; `options.signal` ends the check. */
  healthCheck?(options: CallOptions): Promise<HealthResult>;
  /** Releases what the instance holds (pools, timers) when the engine closes. */
  close?(): Promise<void>;
}

// ── infrastructure ─────────────────────────────────────────────────────────────────────────────

/** One step to run on an opened connection, as the engine hands it to `exec`. */
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
  /**
   * The call's one signal: aborted when the session stops (a cancel, engine shutdown after its
   * grace) and when the engine's hard timeout (`timeoutMs` plus a grace) runs out.
   */
  signal: AbortSignal;
  /** End the work after this long and answer `timedOut: true` (capability `timeout`). */
  timeoutMs?: number;
  /**
   * Streams output while the step runs (for live views); the final `stdout`/`stderr` are still
   * returned whole.
   */
  onOutput?(stream: "stdout" | "stderr", chunk: string): void;
  /**
   * Registers a value derived from a secret during this call (an access token obtained with the
   * credential, a signed header) for redaction from the session's output, events and errors. Call
   * it before the value can reach output. Absent outside a session (a connector calls it with `?.`).
   */
  redact?(value: string): void;
  /**
   * Called by a connector that starts a process group on the engine's host (the local one) once
   * it exists: the engine journals it, to reap it after a crash.
   */
  onProcess?(process: StepProcess): void;
}

/** What `open` and `healthCheck` receive besides the connection. */
export interface OpenOptions extends CallOptions {
  /**
   * Registers a value the connector derives from the connection's secrets (an `Authorization:
   * Basic …` or `Bearer …` header value, a DSN with the password in it) for redaction from the
   * session's output, events and errors, in every form core derives from a secret (URL-encoded,
   * base64, hex, …). The raw secrets of `connection.credential` are registered already. Absent
   * outside a session (a connector calls it with `?.`).
   */
  redact?(value: string): void;
}

/** What running a step produced. */
export interface ExecResult {
  /** The exit code; null when the process was ended by a signal or the transport has none. */
  exitCode: number | null;
  /** The signal that ended a process (`"SIGTERM"`), when one did. (Called `signal` before 0.2.) */
  exitSignal?: string | null;
  /** Everything written to standard output (the engine redacts and caps it). */
  stdout: string;
  /** Everything written to standard error (the engine redacts and caps it). */
  stderr: string;
  /** True when the work was ended because `timeoutMs` ran out. */
  timedOut?: boolean;
  /** SQL results (capped) and affected row count. */
  rows?: Record<string, unknown>[];
  /** Rows affected by a SQL statement. */
  rowCount?: number;
}

/** An open connection to a target, from an infrastructure connector's `open`. */
export interface ConnectionHandle {
  /**
   * Runs one step on the target. Throws a connector error (`RW_ERR_CONNECTOR_*`) when the transport
   * fails; a command that ran and failed is a result with a non-zero `exitCode`, not a throw.
   */
  exec(request: ExecRequest): Promise<ExecResult>;
  /** Returns the connection to its pool (or closes it). */
  release(): Promise<void>;
}

/**
 * An infrastructure connector: opens connections to targets and runs runbook steps on them.
 * `Credential` is the credential type it declared (see {@link CredentialOf}).
 */
export interface InfrastructureConnector<Credential = ResolvedCredential> {
  /**
   * Opens (or takes from a pool) a connection to the target; throws `RW_ERR_CONNECTOR_UNREACHABLE`,
   * `_AUTH` or `_TIMEOUT` when it cannot.
   */
  open(connection: ResolvedConnection<Credential>, options: OpenOptions): Promise<ConnectionHandle>;
  /** `options.redact` works as for `open`: what it registers is scrubbed from the result's message. */
  healthCheck(connection: ResolvedConnection<Credential>, options: OpenOptions): Promise<HealthResult>;
  /**
   * Optional: one line for an approver or an audit record saying what `request` will do on
   * `connection` (`POST https://api.example.com/v1/restart (bearer token)`), never a secret.
   */
  describe?(
    request: Pick<ExecRequest, "command" | "language" | "sql" | "readOnly">,
    connection: ResolvedConnection<Credential>,
  ): string;
  /** Closes pools. */
  close?(): Promise<void>;
}

/** The instance interface of each connector kind: what `create` returns. */
export interface InstanceOf {
  /** What a `monitoring` connector's `create` returns. */
  monitoring: MonitoringConnector;
  /** What a `ticketing` connector's `create` returns. */
  ticketing: TicketingConnector;
  /** What an `infrastructure` connector's `create` returns. */
  infrastructure: InfrastructureConnector;
  /** What a `notifier` connector's `create` returns. */
  notifier: NotifierConnector;
}

/**
 * What a notification is about: the engine events the notification service announces.
 *
 * @experimental
 */
export type NotificationEvent =
  | "approval.requested"
  | "approval.reminder"
  | "approval.expiring"
  | "approval.escalated"
  | "approval.expired"
  | "session.failed"
  | "ticket.needs_human"
  | "step.interrupted"
  | "runbook.auto_execution_paused"
  | "test";

/**
 * One notification as a notifier receives it: plain data (no secret), already routed to this
 * channel. `approval` is set for the `approval.*` events.
 *
 * @experimental
 */
export interface Notification {
  /** The event the notification announces. */
  event: NotificationEvent;
  /** One line a person reads first. */
  title: string;
  /** A few plain-text lines of detail. */
  text: string;
  /** How urgent it is, for channels that colour or route by it. */
  severity: "info" | "warning" | "critical";
  /** When the event happened (ISO 8601). */
  at: string;
  /** The ticket it is about, when there is one. */
  ticketId?: number;
  /** The session it is about, when there is one. */
  sessionId?: number;
  /** The runbook involved, when there is one. */
  runbookKey?: string;
  /** The ticket's environment, when known. */
  environment?: string;
  /** A link to the execution or approval on the dashboard, when the server knows its base URL. */
  url?: string;
  /**
   * The approval it is about (`approval.*` events): enough for a person to decide without opening
   * the dashboard.
   */
  approval?: {
    id: number;
    stepName: string;
    target: string;
    risk: string;
    renderedCommand: string;
    expiresAt: string;
    startedBy: string;
    bindingHash?: string;
  };
  /** Who or what the notification is for (an escalation's group), as the rule names it. */
  audience?: string;
}

/**
 * Where a delivered notification landed on the remote side, when the channel says.
 *
 * @experimental
 */
export interface NotificationReceipt {
  /** The channel's id of the message (Slack `channel:ts`), for later updates. */
  messageRef?: string;
}

/**
 * A notifier: delivers notifications to one channel (a webhook, Slack, e-mail, Teams). `send` is
 * called at least once per notification with the same `idempotencyKey`; a channel that can
 * deduplicate should pass it on.
 *
 * @experimental
 */
export interface NotifierConnector {
  /**
   * Delivers one notification. Throws a connector error (`RW_ERR_CONNECTOR_*`, retryable or not)
   * when the channel refuses it; the engine retries the retryable ones with the same
   * `idempotencyKey`.
   */
  send(
    notification: Notification,
    options: { idempotencyKey: string; signal: AbortSignal },
  ): Promise<NotificationReceipt | undefined>;
  /** Checks the channel is reachable with the configured credentials. */
  healthCheck?(options: CallOptions): Promise<HealthResult>;
  /** One line, without secrets, saying where a notification goes. */
  describe?(notification: Notification): string;
  /**
   * Chat notifiers with decision buttons: verifies a request from the channel (its signature, its
   * age) and reads the decision in it. Throws RW_ERR_AUTH_UNAUTHENTICATED when it is not signed
   * by the channel, RW_ERR_INPUT_* when it is not a decision. The engine decides (roles,
   * four-eyes, binding hash, one decision wins) and answers with `showDecision` or `refuse`.
   */
  parseInteraction?(request: {
    headers: Readonly<Record<string, string>>;
    rawBody: string;
  }): NotifierInteraction;
  /** Shows who decided on the message that asked (Slack `chat.update`). */
  showDecision?(interaction: NotifierInteraction, text: string, signal: AbortSignal): Promise<void>;
  /** Tells only the person who clicked why nothing happened (an ephemeral message). */
  refuse?(interaction: NotifierInteraction, text: string, signal: AbortSignal): Promise<void>;
  /**
   * Notifiers that send signed links to an approval (e-mail): checks a link token this notifier
   * made (its signature, its expiry) and says what it points at. Throws RW_ERR_INPUT_INVALID with
   * a message a person can read when the token is forged, malformed or expired. The server
   * makes it single-use and the person decides through the approval rules.
   */
  verifyLink?(token: string): NotifierLink;
  /** Releases what the instance holds (pools, timers) when the engine closes. */
  close?(): Promise<void>;
}

/**
 * What a verified approval link (an e-mail's signed link) points at.
 *
 * @experimental
 */
export interface NotifierLink {
  /** The approval the link opens. */
  approvalId: number;
  /** The binding hash the message showed: a link to a changed step is refused. */
  bindingHash: string;
  /** Who the link was sent to (an e-mail address). */
  recipient: string;
  /** When the link stops working (ISO 8601). */
  expiresAt: string;
  /** Unique per link: what the server records to make it single-use. */
  nonce: string;
}

/**
 * A verified decision a person made on a notification (a chat button).
 *
 * @experimental
 */
export interface NotifierInteraction {
  /** The approval the person decided. */
  approvalId: number;
  /** What they decided. */
  decision: "approve" | "reject";
  /** The binding hash the message showed: a decision on anything else is refused. */
  bindingHash: string;
  /** The person on the channel's side, unique per channel (Slack `T123:U456`). */
  externalUser: string;
  /** The message clicked (Slack `C123:1700000000.000100`). */
  messageRef?: string;
  /** Where to answer the person alone (Slack's `response_url`). */
  replyTo?: string;
}

/** What `create` returns for a kind; an infrastructure connector's `open` gets its typed credential. */
export type InstanceFor<K extends ConnectorKind, C extends CredentialTypeMap> = K extends "infrastructure"
  ? InfrastructureConnector<CredentialOf<C>>
  : InstanceOf[K];

/**
 * A connector declaration, as {@link defineConnector} returns it and the engine registers it. `K`
 * is its kind, `S` its config schema, `C` its credential types.
 */
export interface ConnectorDefinition<
  K extends ConnectorKind = ConnectorKind,
  S extends z.ZodType = z.ZodType,
  // `any` by default, so one type holds every declaration (the engine checks credential types at
  // registration); `defineConnector` infers the precise one.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  C extends CredentialTypeMap = any,
> {
  /** Which of the four kinds it is; decides the interface `create` returns. */
  kind: K;
  /** kebab-case; unique per kind. For monitoring connectors, the webhook source name. */
  name: string;
  /** The connector's own version (semver), shown in the registry. */
  version: string;
  /** The @runwarden/core semver range this connector is built for. */
  sdk: string;
  /** One line for people, shown in the Connectors tab. */
  description?: string;
  /**
   * The zod schema of its configuration; fields marked `secret()` are redacted from logs and sealed
   * when stored. The engine parses `config` with it before `create` (`RW_ERR_PLUGIN_INVALID` when
   * it does not parse, never quoting a value).
   */
  configSchema: S;
  /** What it can do, from `connectorCapabilities` (the registry refuses other names). */
  capabilities: readonly ConnectorCapability<K>[];
  /**
   * Infrastructure only: the connection types it serves — `ssh`, `api`, or `database:<service>`
   * for a `database` connection dispatched on its `target_service`.
   */
  connectionTypes?: readonly string[];
  /**
   * Infrastructure only: the step languages its connections run (`sql`, `http`, `sh`, …, in their
   * normal spelling). A step whose language defaulted (a list item) is rendered in the first one,
   * so on a SQL connection its template values are bound parameters, never shell-quoted text; a
   * step that declares a language not listed is refused before anything runs. Absent: steps are
   * passed in whatever language they declare (and a defaulted step is `sh`).
   */
  languages?: readonly string[];
  /**
   * The credential types a connection of this connector may use, each a zod object schema with its
   * secret fields marked `secret()`. The vault seals exactly those fields, the API masks them, the
   * dashboard builds its form from the schema, and `open`/`healthCheck` receive the credential
   * parsed with its type. A credential of another type is refused before the connector is called.
   * Absent: any credential, untyped (the 0.x behaviour; see the CHANGELOG's migration notes).
   */
  credentialTypes?: C;
  /**
   * Monitoring and ticketing: what to do on the vendor's side so it talks to Runwarden, in order,
   * as the Connectors tab shows it (Alertmanager `receivers:` YAML, a Datadog webhook template, a
   * Zabbix media type…). Pure: called with where this server receives the source's webhooks.
   * @experimental
   */
  vendorSetup?: (where: VendorSetupContext) => readonly VendorSetupStep[];
  /**
   * Monitoring: a documented sample of the tool's webhook request, for the Connectors tab's "Send a
   * test alert": core hands it to the configured instance's own `parseWebhook` (verification is the
   * API's role check instead) and ingests the tickets like a real webhook's. Pure.
   * @experimental
   */
  sampleWebhook?: () => { body: unknown; headers?: Readonly<Record<string, string>> };
  /**
   * Creates the live instance from the parsed config and the context; may be async. Return the
   * interface of `kind` (see {@link InstanceOf}).
   */
  create(config: z.output<S>, ctx: ConnectorContext): InstanceFor<K, C> | Promise<InstanceFor<K, C>>;
}

/** Where the server receives a source's webhooks, for {@link ConnectorDefinition.vendorSetup}. */
export interface VendorSetupContext {
  /** The absolute webhook URL, e.g. `https://runwarden.example/api/v1/tickets/webhook/zabbix`. */
  webhookUrl: string;
  /** The server's public base URL, without a trailing slash. */
  baseUrl: string;
  /**
   * What to write where the webhook secret goes in a snippet: absent normally (write a
   * placeholder such as `<webhook token>`), the secret itself in the one response that shows a
   * freshly generated secret.
   */
  webhookSecret?: string;
}

/** One step of a vendor-side set-up: a sentence or two, and optionally a snippet to paste. */
export interface VendorSetupStep {
  /** One line naming the step (a sentence, no markup). */
  title: string;
  /** Plain text (no markup). */
  text?: string;
  /** `language` names the snippet's syntax (`yaml`, `json`, `javascript`, `text`). */
  snippet?: { language: string; content: string };
}

/**
 * Declares a connector. Returns the declaration, typed and frozen; the engine validates it on
 * registration (RW_ERR_PLUGIN_INVALID, RW_ERR_PLUGIN_VERSION_MISMATCH, RW_ERR_PLUGIN_DUPLICATE).
 *
 * @example
 * ```ts
 * export default defineConnector({
 *   kind: "monitoring",
 *   name: "grafana",
 *   version: "1.0.0",
 *   sdk: "^0.1.0",
 *   configSchema: z.object({ token: secret(z.string().min(16)) }),
 *   capabilities: ["webhook", "verify-webhook"],
 *   create: (config, ctx) => ({
 *     verifyWebhook: (req) => req.headers.authorization === `Bearer ${config.token}`,
 *     parseWebhook: (req) => ({ tickets: toTickets(req.body), warnings: [] }),
 *   }),
 * });
 * ```
 */
export function defineConnector<
  K extends ConnectorKind,
  S extends z.ZodType,
  // biome-ignore lint/complexity/noBannedTypes: no credential types declared
  const C extends CredentialTypeMap = {},
>(definition: ConnectorDefinition<K, S, C>): ConnectorDefinition<K, S, C> {
  return Object.freeze(definition);
}

/**
 * What a connector registered without its configuration still lacks: it is listed (with
 * `status: "not_configured"`), never created, and a call to it (its webhook) fails with
 * RW_ERR_PLUGIN_NOT_CONFIGURED carrying `hint`.
 */
export interface NotConfigured {
  /** The variables or config fields to set, e.g. `["RUNWARDEN_PROMETHEUS_TOKEN"]`. */
  needs: readonly string[];
  /** How to configure it, in one sentence a user can follow (no secret). */
  hint: string;
}

/** A connector and the config to create it with, as passed to `createEngine({ connectors })`. */
export interface ConnectorRegistration {
  /** The connector declaration to register. */
  connector: ConnectorDefinition<ConnectorKind, z.ZodType>;
  /** Its configuration, parsed with the connector's `configSchema` before `create`. */
  config?: unknown;
  /**
   * Set instead of `config` when the host has no configuration for the connector yet: it is
   * listed as not configured, with what it needs, but not created.
   */
  notConfigured?: NotConfigured;
  /**
   * With `config`: what it came from, shown by the API beside `config_source: "host"`
   * (`RUNWARDEN_PROMETHEUS_TOKEN`). Never a value.
   */
  configuredBy?: string;
}
