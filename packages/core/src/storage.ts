/**
 * The `Storage` port: everything the engine persists goes through it, so the in-memory, SQLite
 * and PostgreSQL stores are interchangeable. It is asynchronous (a networked store must fit),
 * every operation is atomic, every state change carries an optimistic version check, and work is
 * claimed with leases so that several engine instances can share one store.
 */
import type {
  ApiToken,
  Approval,
  AuditEvent,
  ConnectionRecord,
  ConnectorConfigRecord,
  CredentialRecord,
  ExecutionSession,
  RunbookRecord,
  SessionStatus,
  StepRecord,
  Ticket,
  WebhookSourceRecord,
} from "./domain.js";

/** A durable message for a ticketing system, delivered in order per ticket, at least once. */
export interface OutboxItem {
  /** Assigned by the store on insert. */
  id: number;
  /** Optimistic concurrency: bumped by every write. */
  version: number;
  /** The ticketing connector it is for. */
  target: string;
  /** The Runwarden ticket it is about; items of one ticket are delivered in order. */
  ticketId: number;
  /** A key that makes delivery idempotent on the remote side. */
  idempotencyKey: string;
  /** What the item does on the remote side (a comment, a status change, …), as the sync names it. */
  kind: string;
  /** What the delivery needs, plain data without secrets. */
  payload: Record<string, unknown>;
  /** `pending` until `delivered`; `dead` after a non-retryable error or the last attempt. */
  status: "pending" | "delivered" | "dead";
  /** Delivery attempts made so far. */
  attempts: number;
  /** When the next attempt is due (ISO 8601). */
  nextAttemptAt: string;
  /** The last delivery error, without secrets; null before any failure. */
  lastError: string | null;
  /** When it was queued (ISO 8601). */
  createdAt: string;
}

/** What each collection holds. */
export interface StoredTypes {
  /** Tickets ({@link Ticket}). */
  tickets: Ticket;
  /** Runbook versions ({@link RunbookRecord}). */
  runbooks: RunbookRecord;
  /** Execution sessions ({@link ExecutionSession}). */
  sessions: ExecutionSession;
  /** Steps of sessions ({@link StepRecord}). */
  steps: StepRecord;
  /** Approval requests ({@link Approval}). */
  approvals: Approval;
  /** Credentials, secrets sealed ({@link CredentialRecord}). */
  credentials: CredentialRecord;
  /** Connections ({@link ConnectionRecord}). */
  connections: ConnectionRecord;
  /** The audit log ({@link AuditEvent}), append-only. */
  audit: AuditEvent;
  /** The ticket sync's outbox ({@link OutboxItem}). */
  outbox: OutboxItem;
  /** HTTP API tokens, hashed ({@link ApiToken}). */
  tokens: ApiToken;
  /** Named webhook sources ({@link WebhookSourceRecord}). */
  webhookSources: WebhookSourceRecord;
  /** Connector configurations stored through the API ({@link ConnectorConfigRecord}). */
  connectorConfigs: ConnectorConfigRecord;
}
/** The name of a collection of the {@link Storage} port (`tickets`, `sessions`, …). */
export type CollectionName = keyof StoredTypes;

/**
 * The fields each collection can be filtered on (SQL stores index them). `id` always can.
 * Unique: see `uniqueKeys`.
 */
export const indexedFields = {
  tickets: ["status", "fingerprint", "source", "externalId", "service", "environment", "severity"],
  runbooks: ["key", "status", "hash", "revision"],
  sessions: ["ticketId", "status", "runbookId", "fingerprint"],
  steps: ["sessionId", "status"],
  approvals: ["status", "sessionId", "stepId", "ticketId"],
  credentials: ["name", "environment"],
  connections: ["name", "environment", "credentialId"],
  audit: ["objectType", "objectId", "actor", "action"],
  outbox: ["status", "ticketId", "target", "idempotencyKey"],
  tokens: ["tokenHash", "actor"],
  webhookSources: ["name"],
  connectorConfigs: ["kind", "name"],
} as const satisfies { [K in CollectionName]: readonly (keyof StoredTypes[K])[] };

/** A field collection `C` can be filtered on in a {@link Where} (see {@link indexedFields}). */
export type IndexedField<C extends CollectionName> = (typeof indexedFields)[C][number];

/**
 * Unique keys, enforced by every store (a violation is `RW_ERR_STORAGE_CONFLICT`). Besides these,
 * sessions carry one partial unique key so that two engine instances sharing a store can never
 * start the same remediation twice: at most one live session (status not in
 * `finalSessionStatuses`, `dryRun` false, `fingerprint` not empty) per (fingerprint, runbookKey).
 */
export const uniqueKeys = {
  credentials: [["name"]],
  connections: [["name"]],
  runbooks: [["key", "revision"]],
  tokens: [["tokenHash"]],
  outbox: [["idempotencyKey"]],
  webhookSources: [["name"]],
  connectorConfigs: [["kind", "name"]],
} as const satisfies { [K in CollectionName]?: readonly (readonly (keyof StoredTypes[K])[])[] };

/** A document before the store gives it an `id` and `version`. */
export type NewDoc<T> = Omit<T, "id" | "version">;

/**
 * What `update` may change: any field but `id`, `version` and a session's `lease` (leases change
 * only through claimSessions, renewLease and releaseLease, so an update never steals or drops one;
 * a `lease` key passed anyway is ignored).
 */
export type Changes<C extends CollectionName> = Partial<Omit<NewDoc<StoredTypes[C]>, "lease">>;

/** Equality on a field, or membership in a list. */
export type Where<C extends CollectionName> = {
  [K in (IndexedField<C> | "id") & keyof StoredTypes[C]]?:
    | StoredTypes[C][K]
    | { in: readonly StoredTypes[C][K][] };
};

/** What {@link Collection.find} returns: a filter, an order and a keyset page. */
export interface Query<C extends CollectionName> {
  /** Only documents matching every field given (see {@link Where}); absent: all. */
  where?: Where<C>;
  /** Ordered by id; `desc` lists newest first. */
  order?: "asc" | "desc";
  /** Keyset pagination: only ids after (asc) or before (desc) this one. */
  cursor?: number;
  /** At most this many documents; absent: all. */
  limit?: number;
}

/**
 * One collection of the {@link Storage} port: documents with an `id` and a `version` for optimistic
 * concurrency.
 */
export interface Collection<C extends CollectionName> {
  /** Inserts one document; `version` starts at 1. */
  insert(doc: NewDoc<StoredTypes[C]>): Promise<StoredTypes[C]>;
  /** Inserts many documents in one transaction (all or none), ids in input order. */
  insertMany(docs: readonly NewDoc<StoredTypes[C]>[]): Promise<StoredTypes[C][]>;
  /** The document with this id, or undefined. */
  get(id: number): Promise<StoredTypes[C] | undefined>;
  /**
   * Applies `changes` if the stored version is `expectedVersion`, and bumps the version.
   * Throws `RW_ERR_STORAGE_CONFLICT` when the version differs (someone else wrote first) or a
   * unique field is taken, `RW_ERR_STORAGE_NOT_FOUND` when there is no such document.
   */
  update(id: number, expectedVersion: number, changes: Changes<C>): Promise<StoredTypes[C]>;
  /** Deletes it (with a version check when given); false when it did not exist. */
  delete(id: number, expectedVersion?: number): Promise<boolean>;
  /** The documents matching `query`, ordered by id. */
  find(query?: Query<C>): Promise<StoredTypes[C][]>;
  /** How many documents match `where` (all when absent). */
  count(where?: Where<C>): Promise<number>;
}

/**
 * One write of `Storage.batch`: an insert, or an update with its version check, into one
 * collection. Each behaves exactly as the collection's own `insert` / `update` would.
 */
export type BatchWrite = {
  [C in CollectionName]:
    | { collection: C; insert: NewDoc<StoredTypes[C]> }
    | { collection: C; update: { id: number; expectedVersion: number; changes: Changes<C> } };
}[CollectionName];

/** The stored document of each write of a batch, in input order. */
export type BatchResult = StoredTypes[CollectionName];

/** Options of {@link Storage.ingestTickets}. */
export interface IngestOptions {
  /**
   * A repeat of a ticket in `foldableTicketStatuses` (open, or resolved) whose `lastSeenAt` is at
   * most this long before `now` is folded into it: occurrences + 1, `lastSeenAt` and `updatedAt`
   * set to `now`. A resolved ticket that is repeated this way is flapping: it is reopened as
   * `needs_human` with `flapReason`, and nothing runs on its own.
   */
  dedupeWindowMs: number;
  /** ISO timestamp of the ingestion. */
  now: string;
  /**
   * Intake-queue entries (`Storage.enqueueIntake`) this batch is made of: they are removed in the
   * same transaction that stores the tickets, so an entry is either still queued or stored, never
   * both and never neither (a SIGKILL in between cannot lose or double it). When one of them is
   * no longer queued (another instance stored it), the call throws `RW_ERR_STORAGE_CONFLICT`
   * with `details.reason: "intake"` and stores nothing.
   */
  consumeIntake?: readonly number[];
}

/** What {@link Storage.ingestTickets} did with one input. */
export interface IngestOutcome {
  /** The ticket as stored when the batch committed (inputs folded together share its final state). */
  ticket: Ticket;
  /** True when the input was folded into an existing open ticket (occurrences + 1). */
  deduplicated: boolean;
}

/** Options of {@link Storage.claimSessions}. */
export interface ClaimOptions {
  /** Who claims: one id per engine instance. */
  owner: string;
  /** How long the claimed leases last, in milliseconds. */
  ttlMs: number;
  /** The current time (ISO 8601): a lease expired before it is claimable. */
  now: string;
  /** Sessions in these statuses whose lease is absent or expired are claimable. */
  statuses: readonly SessionStatus[];
  /** At most this many sessions are claimed. */
  limit: number;
}

/**
 * Cross-instance signals (LISTEN/NOTIFY on PostgreSQL, in-process elsewhere). They are wake-up
 * hints, not a queue: a signal can be lost (a reconnect, a full buffer), so whoever listens also
 * polls the store. A publish made after a subscribe on the same store reaches that listener.
 * Topics are short `[a-z0-9_.:-]` names; payloads are small strings (PostgreSQL caps them near 8 KB).
 */
export interface Signals {
  /**
   * Sends `payload` to every subscriber of `topic` (on every instance sharing the store); best
   * effort.
   */
  publish(topic: string, payload: string): Promise<void>;
  /** Returns an unsubscribe function. A listener may run before or after `publish` resolves. */
  subscribe(topic: string, listener: (payload: string) => void): () => void;
}

/**
 * A raw intake delivery waiting to be parsed and stored: a webhook's body and headers, or a chunk
 * of a durable CSV import (whole rows with their row numbers).
 */
export interface IntakeEntry {
  /** Increasing: entries are processed in id order (so in order per source). */
  id: number;
  /** The webhook source it came to; for a CSV import `csv:<import id>`. */
  source: string;
  /**
   * What `payload` holds: `webhook` (JSON of headers, raw body and actor) or `csv` (JSON of a
   * chunk of a CSV import's rows, or of its summary: row counts and bad rows).
   */
  kind: "webhook" | "csv";
  /** The raw delivery, as text (never a credential header: those are left out before). */
  payload: string;
  /** `payload`'s size in UTF-8 bytes (what the byte bound counts). */
  bytes: number;
  /** ISO timestamp of the enqueue. */
  receivedAt: string;
}

/** How full the intake queue may get (see `Storage.enqueueIntake`). */
export interface IntakeBounds {
  /** Entries the whole queue holds at most. */
  maxEntries: number;
  /** Payload bytes the whole queue holds at most. */
  maxBytes: number;
  /** Entries one source holds at most (its share of `maxEntries`). */
  maxSourceEntries: number;
  /** Payload bytes one source holds at most (its share of `maxBytes`). */
  maxSourceBytes: number;
}

/** What is queued: in all, and for the source an enqueue was for. */
export interface IntakeDepth {
  /** Entries queued, all sources together. */
  entries: number;
  /** Payload bytes queued, all sources together. */
  bytes: number;
  /** Entries queued for the source the enqueue was for. */
  sourceEntries: number;
  /** Payload bytes queued for that source. */
  sourceBytes: number;
}

/** `enqueueIntake`'s answer: the entry stored, or which bound refused it (nothing stored). */
export type IntakeEnqueueResult =
  | { accepted: true; entry: IntakeEntry; depth: IntakeDepth }
  | { accepted: false; full: "queue" | "source"; depth: IntakeDepth };

/** Who holds a named lease and until when. */
export interface LeaseHolder {
  /** The instance holding it. */
  owner: string;
  /** When the lease runs out unless renewed (ISO 8601). */
  expiresAt: string;
}

/**
 * Named leases for background work that must run on one engine instance at a time (the monitoring
 * poller of a source): with a shared store, two owners never hold one name at once. Kept beside
 * the named values under the key `lease:<name>`.
 */
export interface NamedLeases {
  /**
   * Takes `name` for `owner` until `now + ttlMs` when it is free, expired, or already held by
   * `owner` (which renews it). True when `owner` holds it afterwards.
   */
  acquire(name: string, owner: string, ttlMs: number, now: string): Promise<boolean>;
  /** Gives `name` up if `owner` holds it. */
  release(name: string, owner: string): Promise<void>;
  /** The current holder (possibly expired), or undefined when nobody took it or it was released. */
  get(name: string): Promise<LeaseHolder | undefined>;
}

/** The named value a lease is kept under. */
export const leaseKey = (name: string) => `lease:${name}`;

/**
 * The storage port: everything the engine persists, behind one interface that the memory, SQLite
 * and PostgreSQL stores implement. Every write checks versions; transactions are the store's.
 */
export interface Storage {
  /** "memory", "sqlite", "postgres", … */
  readonly kind: string;
  /** True when several engine instances may share this store. */
  readonly shared: boolean;

  /** Tickets. */
  readonly tickets: Collection<"tickets">;
  /** Runbook versions. */
  readonly runbooks: Collection<"runbooks">;
  /** Execution sessions. */
  readonly sessions: Collection<"sessions">;
  /** Steps of sessions. */
  readonly steps: Collection<"steps">;
  /** Approval requests. */
  readonly approvals: Collection<"approvals">;
  /** Credentials (secret fields sealed). */
  readonly credentials: Collection<"credentials">;
  /** Connections. */
  readonly connections: Collection<"connections">;
  /** Append-only: `update` and `delete` throw `RW_ERR_STORAGE_APPEND_ONLY`. */
  readonly audit: Collection<"audit">;
  /** The ticket sync's outbox. */
  readonly outbox: Collection<"outbox">;
  /** HTTP API tokens (hashes only). */
  readonly tokens: Collection<"tokens">;
  /** Named webhook sources with their mappings (the generic webhook with a mapping). */
  readonly webhookSources: Collection<"webhookSources">;
  /** Connector configurations stored through the API (`PUT /connectors/{kind}/{name}/config`). */
  readonly connectorConfigs: Collection<"connectorConfigs">;

  /**
   * Stores tickets in one transaction, folding each input whose fingerprint matches an open
   * ticket last seen within the window (or an earlier input of the same batch) into that ticket.
   * Outcomes are in input order.
   */
  ingestTickets(inputs: readonly NewDoc<Ticket>[], options: IngestOptions): Promise<IngestOutcome[]>;

  /**
   * Creates a session and its steps atomically; steps get the new session's id. Throws
   * `RW_ERR_STORAGE_CONFLICT` when a live session for the same (fingerprint, runbookKey) exists
   * (see `uniqueKeys`), and then creates nothing.
   */
  createSession(
    session: NewDoc<ExecutionSession>,
    steps: readonly Omit<NewDoc<StepRecord>, "sessionId">[],
  ): Promise<{ session: ExecutionSession; steps: StepRecord[] }>;

  /**
   * Applies writes in one transaction, in order, all or none: the executor persists a step's
   * result, the next step's start, the session's status, its audit event and its ticket's status
   * together, so a transition costs one commit. Each write has its collection's rules (version
   * checks, unique keys, append-only audit); the first to fail throws its error and nothing of the
   * batch is stored. Returns the stored documents in input order.
   */
  batch(writes: readonly BatchWrite[]): Promise<BatchResult[]>;

  /**
   * Claims up to `limit` sessions for `owner` (absent or expired lease, status in `statuses`),
   * oldest first; with a shared store, two owners never claim the same session. Leases do not
   * change a session's `version`.
   */
  claimSessions(options: ClaimOptions): Promise<ExecutionSession[]>;
  /** Extends the lease if `owner` still holds it unexpired; false when it was lost or ran out. */
  renewLease(sessionId: number, owner: string, ttlMs: number, now: string): Promise<boolean>;
  /** Gives up the session's lease if `owner` holds it (a session finished or paused). */
  releaseLease(sessionId: number, owner: string): Promise<void>;

  /**
   * Stores one raw intake delivery when it fits the bounds, checked in the same transaction: the
   * whole queue first (`full: "queue"`), then the source's share (`full: "source"`). Resolves
   * once the entry is committed (durable as any other write); a refused entry stores nothing.
   */
  enqueueIntake(entry: Omit<IntakeEntry, "id" | "bytes">, bounds: IntakeBounds): Promise<IntakeEnqueueResult>;
  /** Queued entries in id order, after `afterId` when given (at most `limit`). */
  pendingIntake(options: {
    afterId?: number;
    limit: number;
    /** Only entries of this kind (webhooks are not read past a CSV import's chunks). */
    kind?: IntakeEntry["kind"];
  }): Promise<IntakeEntry[]>;
  /** Removes entries (processed without a ticket write, or refused by parsing); unknown ids are ignored. */
  completeIntake(ids: readonly number[]): Promise<void>;
  /** Entries and payload bytes queued, in all and per source. */
  intakeDepth(): Promise<{
    entries: number;
    bytes: number;
    sources: Record<string, { entries: number; bytes: number }>;
  }>;

  /** Small named values: pull cursors, schema facts. */
  getValue(key: string): Promise<string | undefined>;
  /** Stores a small named value (overwrites). */
  setValue(key: string, value: string): Promise<void>;

  /** Named leases for background work that runs on one instance at a time. */
  readonly leases: NamedLeases;

  /** Cross-instance wake-up signals. */
  readonly signals: Signals;

  /** Closes the store's connections; the store is unusable afterwards. */
  close(): Promise<void>;
}
