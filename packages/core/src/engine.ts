/**
 * createEngine(): the one entry point every way of using Runwarden goes through.
 */
import { randomUUID } from "node:crypto";
import { type Logger, pino } from "pino";
import { type AnalyzerStage, createAnalyzer } from "./analyzer/index.js";
import { createAnalysisPool } from "./analyzer/pool.js";
import { type AuditLog, createAuditLog } from "./audit.js";
import { type ConnectionsApi, createConnectionResolver, createConnectionsApi } from "./connections.js";
import {
  type ConnectorConfigsApi,
  connectorConfigTopic,
  createConnectorConfigsApi,
} from "./connector-configs.js";
import { type CredentialsApi, createCredentialsApi } from "./credentials.js";
import { approvalStatuses, sessionStatuses, type Ticket, ticketStatuses } from "./domain.js";
import { rwError } from "./errors.js";
import { createEventBus, type EngineEvents } from "./events.js";
import { type ApprovalsApi, createExecutor, type ExecutionsApi } from "./executor/index.js";
import { Redactor } from "./executor/redaction.js";
import type { EngineContext } from "./internal/context.js";
import {
  createNotificationService,
  type NotificationOptions,
  type NotificationService,
} from "./notify/index.js";
import type { ConnectorDefinition, ConnectorRegistration, TicketingConnector } from "./plugin.js";
import { type Clock, defaultPolicy, type Policy, systemClock } from "./policy.js";
import { type ConnectorRegistry, createConnectorRegistry } from "./registry.js";
import { createRunbooksApi, type RunbooksApi } from "./runbooks.js";
import type { Storage } from "./storage.js";
import { createMemoryStorage } from "./storage-memory.js";
import { createTicketSync, type TicketSync, type TicketSyncOptions } from "./sync/index.js";
import {
  createMonitoringPoller,
  type MonitoringPoller,
  type MonitoringPollOptions,
  type MonitoringSourceStatus,
} from "./sync/monitoring.js";
import { realTimers } from "./sync/worker.js";
import type { IntakeQueue, IntakeQueueOptionsInput } from "./tickets/intake-queue.js";
import { createTicketsApi, type TicketsApi } from "./tickets.js";
import { createVault, type VaultOptions } from "./vault.js";
import { createWebhookSourcesApi, type WebhookSourcesApi } from "./webhook-sources.js";

/** Options of {@link createEngine}; every field has a default. */
export interface EngineOptions {
  /** Where everything is kept. Default: the in-memory store (lost on exit). */
  storage?: Storage;
  /** Connectors to register: a declaration, or `{ connector, config }`. The local connector is built in. */
  connectors?: readonly (ConnectorDefinition | ConnectorRegistration)[];
  /** A pino logger; the default is silent. */
  logger?: Logger;
  /** The credential vault's key. Default: `RUNWARDEN_MASTER_KEY` from the environment. */
  vault?: VaultOptions;
  /** The engine's clock (a fake one in tests). Default: the system clock. */
  clock?: Clock;
  /** Thresholds and the approval rule, merged over {@link defaultPolicy}. */
  policy?: Partial<Policy>;
  /** Analyzer stages added after the built-in ones, or a function replacing the list. */
  analyzer?: { stages?: AnalyzerStage[] | ((builtIn: AnalyzerStage[]) => AnalyzerStage[]) };
  /**
   * Where a CSV import analyzes its rows. `workers`: analysis worker threads (started on the
   * first import, ended by `close()`); an import then parses, folds and writes on the main thread
   * while a worker analyzes its next batch. `0` analyzes in-process. Default {@link defaultAnalysisWorkers}.
   * With host analyzer stages (anything beyond `builtInStages`) imports always analyze in-process.
   * A worker matches against a snapshot of the runbooks taken when each batch is sent, and each
   * analysis's `analyzedAt` is that time.
   */
  analysis?: { workers?: number };
  /** Unique per engine instance sharing a store; default a random id. */
  instanceId?: string;
  /**
   * Two-way sync with a registered ticketing connector (by name): outbox out, change polling in.
   * Without `ticketing`, the engine follows configuration: it syncs with the only configured
   * ticketing connector, and once none is synced, with the first one configured later through
   * the config API (`PUT /connectors/ticketing/{name}/config`), without a restart.
   */
  sync?: TicketSyncOptions & { ticketing?: string };
  /**
   * Notifications: engine events routed by rules to registered notifiers (kind `notifier`),
   * delivered through the outbox. See docs/notifications.md.
   */
  notifications?: NotificationOptions;
  /**
   * The host's own secrets (its vault key, admin token, webhook secrets, database password):
   * redacted as `***` from every session's step output, `step:output` events, step and session
   * errors and health-check messages, in the forms core derives from any secret (URL-encoded,
   * base64, hex, …), exactly like the vault secrets a session is handed. Config fields of
   * registered connectors marked `secret()` are added automatically. Empty strings are ignored.
   *
   * Redaction does not stop a step that encodes a secret on purpose; run local steps as a user
   * that cannot read the host's files or environment (see the local connector option `runAs`).
   *
   * @example
   * ```ts
   * createEngine({ redact: [process.env.ADMIN_TOKEN!, webhookSecret] });
   * ```
   */
  redact?: Iterable<string>;
  /**
   * Monitoring sources to poll, by registered monitoring connector name: `pull` on a schedule,
   * and `acknowledge` / `resolve` as sessions start and tickets resolve (`{ prometheus: {} }`
   * takes every default; `{ enabled: false }` keeps acknowledge and resolve but stops pulling).
   */
  monitoring?: Readonly<Record<string, MonitoringPollOptions>>;
  /**
   * The durable, bounded intake queue for webhooks (see docs/configuration.md § Intake queue):
   * `{ enabled: true }` acknowledges a delivery once it is durable and stores its tickets behind
   * it, refusing past `maxEntries` / `maxBytes` (503) or a source's `sourceShare` (429).
   */
  intake?: IntakeQueueOptionsInput;
}

/** The monitoring pollers of the sources named in `createEngine({ monitoring })`. */
export interface MonitoringApi {
  /** The poller of one source, when it is configured. */
  poller(source: string): MonitoringPoller | undefined;
  /** Every configured source's poller state, by source name. */
  status(): Promise<MonitoringSourceStatus[]>;
}

/**
 * The engine: every way of using Runwarden (HTTP adapter, scripts, an embedding service) goes
 * through it. Made by {@link createEngine}.
 */
export interface Engine {
  /** Bring tickets in (one, many, CSV, webhooks) and read them. */
  readonly tickets: TicketsApi;
  /** The webhook intake queue (`options.intake`); disabled unless enabled there. */
  readonly intake: IntakeQueue;
  /** Named webhook sources with a JSONata mapping (`POST /tickets/webhook/{name}`). */
  readonly webhookSources: WebhookSourcesApi;
  /** Store, approve and retire runbook versions; match tickets to them. */
  readonly runbooks: RunbooksApi;
  /** Start, follow and cancel execution sessions. */
  readonly executions: ExecutionsApi;
  /** Decide the approvals steps wait for. */
  readonly approvals: ApprovalsApi;
  /** The credential vault: sealed credentials, masked in every response. */
  readonly credentials: CredentialsApi;
  /** The connections steps run on. */
  readonly connections: ConnectionsApi;
  /** The append-only audit log. */
  readonly audit: AuditLog;
  /** The registered connectors (frozen by `start()`). */
  readonly connectors: ConnectorRegistry;
  /**
   * Connector configuration kept in the store (`GET/PUT /connectors/{kind}/{name}/config`):
   * validated, secrets sealed, the connector recreated live. The host's own config wins.
   */
  readonly connectorConfigs: ConnectorConfigsApi;
  /** The typed event bus: every state change of the flow is an event (see {@link EngineEventMap}). */
  readonly events: EngineEvents;
  /** The store the engine persists to. */
  readonly storage: Storage;
  /** This instance's id, used as the owner of session leases in a shared store. */
  readonly instanceId: string;
  /**
   * The ticket sync service, when `sync` was configured (and, without `sync.ticketing`, once a
   * ticketing connector is configured).
   */
  readonly sync: TicketSync | undefined;
  /** The notification service, when `notifications` was configured. */
  readonly notifications: NotificationService | undefined;
  /** The monitoring pollers (none unless `monitoring` was configured). */
  readonly monitoring: MonitoringApi;
  /**
   * How many tickets, execution sessions or approvals are in each status, one count per status
   * present (a status with none is absent). For gauges such as the HTTP adapter's `/metrics`.
   */
  countByStatus(collection: StatusCounted): Promise<Record<string, number>>;
  /**
   * Whether the store answers a read now, and which store it is (`memory`, `sqlite`, …). A store
   * that cannot be reached is `{ ok: false, error }`, never a throw.
   */
  checkStorage(): Promise<{ kind: string; ok: true } | { kind: string; ok: false; error: unknown }>;
  /**
   * Freezes the connector registry, resumes sessions left by a previous process and starts the
   * background work (claiming sessions, expiring approvals). Idempotent.
   */
  start(): Promise<void>;
  /** Stops background work, waits for running steps to settle, closes connectors and the store. */
  close(): Promise<void>;
}

/**
 * Analysis worker threads an engine starts for CSV imports unless `analysis.workers` says
 * otherwise. Measured on a 100k-row import (2 cores): one worker takes ~43% of the main
 * thread's CPU off it (direct import; ~27% durable) for ~3–7% more CPU in all; a second worker
 * adds CPU and takes nothing more off the main thread.
 */
export const defaultAnalysisWorkers = 1;

/** The collections `engine.countByStatus` counts. */
export type StatusCounted = "tickets" | "sessions" | "approvals";

const statusesOf: Readonly<Record<StatusCounted, readonly string[]>> = {
  tickets: ticketStatuses,
  sessions: sessionStatuses,
  approvals: approvalStatuses,
};

/**
 * Creates an engine. Nothing runs in the background until `start()`. Throws
 * RW_ERR_CONFIG_INVALID for options that do not validate and RW_ERR_PLUGIN_INVALID,
 * RW_ERR_PLUGIN_VERSION_MISMATCH or RW_ERR_PLUGIN_DUPLICATE for a connector that cannot be
 * registered.
 *
 * @example
 * ```ts
 * const engine = await createEngine({
 *   storage: createSqliteStorage({ path: "runwarden.db" }),
 *   connectors: [{ connector: grafana, config: { auth: { type: "bearer", token } } }],
 *   logger: pino(),
 * });
 * await engine.start();
 * const { ticket } = await engine.tickets.ingest({ title: "nginx down on web-01", service: "nginx" });
 * ```
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const abort = new AbortController();
  const clock = options.clock ?? systemClock;
  const ctx: EngineContext = {
    storage: options.storage ?? createMemoryStorage(),
    events: createEventBus(),
    logger: options.logger ?? pino({ enabled: false }),
    clock,
    policy: { ...defaultPolicy, ...options.policy },
    instanceId: options.instanceId ?? randomUUID(),
    signal: abort.signal,
    nowIso: () => new Date(clock.now()).toISOString(),
    redactor: new Redactor(),
  };
  ctx.redactor.add(options.redact ?? []);
  const registry = await createConnectorRegistry(ctx, options.connectors ?? []);
  const vault = createVault(options.vault);
  const audit = createAuditLog(ctx);
  // Stored connector configurations first: a source named in `monitoring`, or the ticketing
  // connector of `sync`, may be configured only there. (`tickets` is only called later.)
  const connectorConfigs = createConnectorConfigsApi(ctx, {
    registry,
    vault,
    audit,
    ingest: (input, options) => tickets.ingest(input, options),
  });
  await connectorConfigs.applyStored();
  const runbooks = createRunbooksApi(ctx, {
    audit,
    connectionLanguages: async (name) => {
      const connection = await connections.getByName(name);
      return connection && registry.languagesFor(connection.connectionType, connection.targetService);
    },
  });
  const analyzer = createAnalyzer(ctx, { runbooks, stages: options.analyzer?.stages });
  const workers = options.analysis?.workers ?? defaultAnalysisWorkers;
  if (!Number.isInteger(workers) || workers < 0) {
    throw rwError("RW_ERR_CONFIG_INVALID", "analysis.workers must be a whole number, 0 or more", {
      details: { issues: [{ path: ["analysis", "workers"], message: "expected an integer >= 0" }] },
    });
  }
  const analysisPool =
    workers > 0
      ? createAnalysisPool({ workers, policy: ctx.policy, runbooks, logger: ctx.logger })
      : undefined;
  // Intake starts and cancels sessions through the executor, built below from intake's tickets:
  // the two links are arrow functions over `executor`, called only once the engine runs.
  const webhookSources = createWebhookSourcesApi(ctx, { registry, audit });
  const tickets = createTicketsApi(ctx, {
    analyzer,
    registry,
    webhookSources,
    audit,
    autoExecute: (ticket) => executor.autoExecute(ticket),
    ticketResolved: (ticket, reason) => executor.ticketResolved(ticket, reason),
    preview: (ticket, runbookId) => executor.preview(ticket, runbookId),
    intakeQueue: options.intake,
    analysisPool,
  });
  const credentials = createCredentialsApi(ctx, { vault, audit, types: registry.credentialTypes });
  // The only opener of credentials: handed to the connections API and the executor, nowhere else.
  const resolver = createConnectionResolver(ctx, { vault, registry });
  const connections = createConnectionsApi(ctx, { registry, audit, resolver });
  const executor = createExecutor(ctx, { runbooks, resolver, registry, audit, tickets });
  const syncWith = (ticketing: string): TicketSync =>
    createEngineSync(ctx, { ...options.sync, ticketing }, registry, tickets, audit, (ticket, reason) =>
      executor.ticketResolved(ticket, reason),
    );
  let sync: TicketSync | undefined;
  if (options.sync?.ticketing !== undefined) sync = syncWith(options.sync.ticketing);
  else if (options.sync) {
    const ready = (await registry.list("ticketing", { health: false })).filter((c) => c.status === "ready");
    if (ready.length === 1) sync = syncWith(ready[0]!.name);
    else if (ready.length > 1)
      ctx.logger.warn(
        { configured: ready.map((c) => c.name) },
        "several ticketing connectors are configured: name one in sync.ticketing",
      );
  }
  const notifications =
    options.notifications &&
    createNotificationService(
      {
        storage: ctx.storage,
        events: ctx.events,
        logger: ctx.logger,
        signal: ctx.signal,
        audit,
        clock: { ...realTimers, now: () => ctx.clock.now() },
        // Looked up per delivery: a notifier configured later through the API takes effect.
        notifier: (name) => registry.notifier(name),
      },
      options.notifications,
    );
  const monitoring = createEngineMonitoring(ctx, options.monitoring ?? {}, registry, tickets, audit);
  // A monitoring connector configured through the API gets a fresh poller on the new instance.
  let running = false;
  let syncStarting: Promise<void> = Promise.resolve();
  registry.onConfigured((kind, name) => {
    if (kind === "monitoring") void monitoring.replace(name, running);
    // Following configuration: the first ticketing connector configured gets the sync, live.
    if (
      kind === "ticketing" &&
      options.sync &&
      options.sync.ticketing === undefined &&
      !sync &&
      !ctx.signal.aborted
    ) {
      const fresh = syncWith(name);
      sync = fresh;
      ctx.logger.info({ ticketing: name }, "ticket sync enabled");
      if (running)
        syncStarting = fresh
          .start()
          .catch((err: unknown) =>
            ctx.logger.warn(
              { ticketing: name, err: { message: (err as Error).message } },
              "ticket sync failed to start",
            ),
          );
    }
  });
  for (const info of await registry.list("monitoring", { health: false })) {
    if (info.configSource === "store" && !monitoring.poller(info.name))
      await monitoring.replace(info.name, false);
  }
  let unsubscribe: (() => void) | undefined;

  let started = false;
  let closed = false;
  return {
    tickets,
    intake: tickets.queue,
    webhookSources,
    runbooks,
    executions: executor.executions,
    approvals: executor.approvals,
    credentials,
    connections,
    audit,
    connectors: registry,
    connectorConfigs,
    events: ctx.events,
    storage: ctx.storage,
    instanceId: ctx.instanceId,
    get sync() {
      return sync;
    },
    notifications,
    monitoring,
    async countByStatus(collection) {
      const store = ctx.storage[collection] as Storage["tickets"];
      const counts: Record<string, number> = {};
      await Promise.all(
        statusesOf[collection].map(async (status) => {
          const count = await store.count({ status } as never);
          if (count > 0) counts[status] = count;
        }),
      );
      return counts;
    },
    async checkStorage() {
      const kind = ctx.storage.kind;
      try {
        await ctx.storage.getValue("health");
        return { kind, ok: true };
      } catch (error) {
        return { kind, ok: false, error };
      }
    },
    async start() {
      if (started) return;
      started = true;
      registry.freeze();
      await executor.start();
      await sync?.start();
      await notifications?.start();
      await monitoring.settled();
      running = true;
      // A ticketing connector configured while the engine was starting: its sync starts now.
      await sync?.start();
      for (const poller of monitoring.pollers) await poller.start();
      // Webhook deliveries a previous process acknowledged but did not store: stored now, in order.
      if (tickets.queue.enabled) tickets.queue.start();
      // Another engine instance sharing the store changed a connector's configuration.
      unsubscribe = ctx.storage.signals.subscribe(connectorConfigTopic, (payload) => {
        try {
          const { kind, name, from } = JSON.parse(payload) as { kind: never; name: string; from: string };
          if (from !== ctx.instanceId) void connectorConfigs.reload(kind, name);
        } catch {
          // Not ours: ignored.
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      abort.abort();
      await tickets.queue.close();
      await syncStarting;
      await sync?.close();
      await notifications?.close();
      await monitoring.settled();
      await Promise.allSettled(monitoring.pollers.map((poller) => poller.close()));
      await executor.close();
      await analysisPool?.close();
      await registry.close();
      await ctx.storage.close();
    },
  };
}

function createEngineSync(
  ctx: EngineContext,
  { ticketing, ...options }: TicketSyncOptions & { ticketing: string },
  registry: ConnectorRegistry,
  tickets: TicketsApi,
  audit: AuditLog,
  cancelSessions: (ticket: Ticket, reason: string) => Promise<void>,
): TicketSync {
  return createTicketSync(
    {
      storage: ctx.storage,
      events: ctx.events,
      logger: ctx.logger,
      signal: ctx.signal,
      audit,
      redact: (text) => ctx.redactor.redact(text),
      connector: liveTicketing(registry, ticketing),
      target: ticketing,
      ingest: (input) => tickets.ingest(input),
      cancelSessions,
      setStatus: (id, status, reason) => tickets.setStatus(id, status, reason),
    },
    options,
  );
}

// ── monitoring pollers ─────────────────────────────────────────────────────────────────────────
// One poller per configured source: pull with a cursor under a lease, acknowledge and resolve
// through the outbox. Pulled alerts take the webhook's intake (tickets.ingestAlerts).

function createEngineMonitoring(
  ctx: EngineContext,
  sources: Readonly<Record<string, MonitoringPollOptions>>,
  registry: ConnectorRegistry,
  tickets: TicketsApi,
  audit: AuditLog,
): MonitoringApi & {
  pollers: MonitoringPoller[];
  /** Replaces (or adds) the poller of a source whose connector was (re)configured. */
  replace(source: string, start: boolean): Promise<void>;
  /** Waits for replacements in progress. */
  settled(): Promise<void>;
} {
  const create = (source: string) =>
    createMonitoringPoller(
      {
        storage: ctx.storage,
        events: ctx.events,
        logger: ctx.logger,
        signal: ctx.signal,
        audit,
        redact: (text) => ctx.redactor.redact(text),
        connector: registry.monitoring(source),
        source,
        owner: ctx.instanceId,
        ingest: (name, alerts) => tickets.ingestAlerts(name, alerts),
      },
      sources[source] ?? {},
    );
  const pollers = Object.keys(sources).map(create);
  let chain: Promise<void> = Promise.resolve();
  return {
    pollers,
    poller: (source) => pollers.find((poller) => poller.source === source),
    status: () => Promise.all(pollers.map((poller) => poller.status())),
    replace(source, start) {
      chain = chain
        .catch(() => undefined)
        .then(async () => {
          if (ctx.signal.aborted) return;
          const index = pollers.findIndex((poller) => poller.source === source);
          const old = index >= 0 ? pollers[index] : undefined;
          const fresh = create(source);
          if (old) pollers[index] = fresh;
          else pollers.push(fresh);
          await old
            ?.close()
            .catch((err: unknown) =>
              ctx.logger.warn(
                { source, err: { message: (err as Error).message } },
                "old poller failed to close",
              ),
            );
          if (start) await fresh.start();
        });
      return chain.catch((err: unknown) =>
        ctx.logger.warn({ source, err: { message: (err as Error).message } }, "poller replacement failed"),
      );
    },
    settled: () => chain.catch(() => undefined),
  };
}

/**
 * The ticketing connector of that name as the sync service holds it: every call goes to the
 * instance registered now, so a configuration changed through the API (a new instance, the old
 * one closed) takes effect without recreating the sync service.
 */
function liveTicketing(registry: ConnectorRegistry, name: string): TicketingConnector {
  const current = () => registry.ticketing(name);
  const first = current();
  return {
    create: (ticket, options) => current().create(ticket, options),
    update: (ref, change, options) => current().update(ref, change, options),
    comment: (ref, text, options) => current().comment(ref, text, options),
    ...(first.pullChanges
      ? {
          pullChanges: (options) => {
            const connector = current();
            return connector.pullChanges
              ? connector.pullChanges(options)
              : Promise.resolve({ changes: [], cursor: options.cursor ?? "" });
          },
        }
      : {}),
    ...(first.describe ? { describe: (write) => current().describe?.(write) ?? write.operation } : {}),
    ...(first.healthCheck
      ? {
          healthCheck: (options) =>
            current().healthCheck?.(options) ?? Promise.resolve({ ok: true, latencyMs: 0 }),
        }
      : {}),
  };
}
