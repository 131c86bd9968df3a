/**
 * The notification service: engine events (approval requested, session failed, needs_human, step
 * interrupted, auto-execution paused) become notifications, routed by rules to notifier
 * channels and delivered through the durable outbox — one outbox target per channel
 * (`notify:<channel>`), in order per ticket (so per session), retried with backoff, never
 * duplicated after a crash (deterministic keys). Each delivery is recorded on the execution's
 * timeline. A periodic sweep sends reminders, escalations and "about to expire" notices.
 */
import type { Logger } from "pino";
import type { AuditLog } from "../audit.js";
import type { Approval } from "../domain.js";
import type { EngineEvents } from "../events.js";
import { callSignal, endCallSignal } from "../internal/call-signal.js";
import type { Notification, NotifierConnector } from "../plugin.js";
import type { OutboxItem, Storage } from "../storage.js";
import { createOutbox, type Outbox, outboxKey, type SyncClock } from "../sync/outbox.js";
import { createDeliveryWorker, type DeliveryWorker, realTimers } from "../sync/worker.js";
import { NotificationRule, routeOf } from "./rules.js";

export { NotificationRule, notificationEvents, routeOf, ruleMatches } from "./rules.js";

/** The outbox target of a channel. */
export const notifyTarget = (channel: string) => `notify:${channel}`;

/**
 * Tunables; every field has a default.
 *
 * @experimental
 */
export interface NotificationOptions {
  /** The routing rules: which events go to which notifiers. */
  rules: readonly NotificationRule[];
  /** Delivery attempts per notification before it is dead-lettered. Default 8. */
  maxAttempts?: number;
  /** First wait between attempts, in milliseconds; grows with each retry. Default 1 s. */
  baseDelayMs?: number;
  /** Longest wait between attempts, in milliseconds. Default 5 minutes. */
  maxDelayMs?: number;
  /** How long one `send` may take before it is aborted, in milliseconds. Default 30 s. */
  deliveryTimeoutMs?: number;
  /** How long a delivery worker's claim on an item lasts, in milliseconds. Default 60 s. */
  claimTtlMs?: number;
  /** Time between reminder/escalation/expiry sweeps. Default 30 s. */
  sweepIntervalMs?: number;
  /** Longest sleep of a channel's delivery worker. Default 5 s. */
  idleMs?: number;
  /**
   * The dashboard's base URL, for links in notifications: an approval links to
   * `<url>/#/approval-link?approval=<id>` (the page with the buttons, for a signed-in person), a
   * session to `<url>/#/executions/<id>`.
   */
  dashboardUrl?: string;
  /** True: `start()` only subscribes; the host (or a test) calls `flush()` and `sweep()`. */
  manual?: boolean;
}

/**
 * What a standalone notification service needs (the engine passes its own).
 *
 * @experimental
 */
export interface NotificationDeps {
  /** The store the outbox is kept in. */
  storage: Storage;
  /** The event bus to subscribe to. */
  events: EngineEvents;
  /** A pino logger. */
  logger: Logger;
  /** The notifier of a channel (engine: the registry's lookup). */
  notifier(channel: string): NotifierConnector;
  /** Where deliveries are recorded: on the session (the timeline), else on the runbook. */
  audit?: AuditLog;
  /** Aborted to stop the service's background work. */
  signal?: AbortSignal;
  /** The clock (a fake one in tests). */
  clock?: SyncClock;
  /** Random source for the retry jitter (a fixed one in tests). */
  random?: () => number;
}

/**
 * A running notification service.
 *
 * @experimental
 */
export interface NotificationService {
  /** Subscribes to the events and starts the delivery workers and sweeps (unless `manual`). */
  start(): Promise<void>;
  /** Stops the workers and sweeps; undelivered items stay in the outbox for the next start. */
  close(): Promise<void>;
  /** Delivers every due item of every channel; returns how many were delivered. */
  flush(): Promise<number>;
  /** Enqueues reminders, escalations and expiry notices that are due. */
  sweep(): Promise<number>;
  /** Resolves once every event received so far is in the outbox. */
  settled(): Promise<void>;
  /** Sends a test notification to one channel now (not through the outbox). */
  sendTest(channel: string): Promise<void>;
  /** The channels named by the rules. */
  readonly channels: readonly string[];
}

const riskSeverity: Record<string, Notification["severity"]> = {
  high_risk: "critical",
  medium_risk: "warning",
  low_risk: "warning",
  safe: "info",
};

function clip(text: string, max: number): string {
  const flat = text.replace(/[\r\n]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Creates the notification service.
 *
 * @example
 * ```ts
 * const notify = createNotificationService({ storage, events, logger, notifier: (n) => registry.notifier(n) },
 *   { rules: [{ name: "prod", environments: ["prod"], channels: ["slack"] }] });
 * await notify.start();
 * ```
 */
export function createNotificationService(
  deps: NotificationDeps,
  options: NotificationOptions,
): NotificationService {
  const rules = options.rules.map((rule) => NotificationRule.parse(rule));
  const clock = deps.clock ?? realTimers;
  const logger = deps.logger.child({ component: "notify" });
  const abort = new AbortController();
  const lifetime = callSignal(abort.signal, undefined, deps.signal);
  const manual = options.manual === true;
  const iso = (ms: number) => new Date(ms).toISOString();
  const channels = [...new Set(rules.flatMap((rule) => [...rule.channels, ...(rule.escalateTo ?? [])]))];
  const outboxes = new Map<string, Outbox>();
  const workers = new Map<string, DeliveryWorker>();
  let chain: Promise<void> = Promise.resolve();
  let started = false;
  let sweepTimer: unknown;
  const offs: (() => void)[] = [];

  /**
   * Records a delivery on the timeline once per outbox item: a process killed after the send was
   * recorded but before the row was marked delivered sends it again (same delivery id, which the
   * receiving end drops), and that repeat finds the entry already there.
   */
  async function record(item: OutboxItem, channel: string, action: string, extra: Record<string, unknown>) {
    if (!deps.audit) return;
    const n = item.payload as unknown as Notification;
    const objectType = n.sessionId === undefined ? (n.runbookKey ? "runbook" : "notification") : "session";
    const objectId = n.sessionId ?? n.runbookKey ?? item.id;
    try {
      const earlier = await deps.storage.audit.find({
        where: { action, objectType, objectId: String(objectId) },
        order: "desc",
        limit: 1_000,
      });
      if (earlier.some((event) => event.details?.outboxItemId === item.id)) return;
      await deps.audit.record({
        actor: "engine",
        action,
        objectType,
        objectId,
        origin: "engine",
        details: { channel, event: n.event, outboxItemId: item.id, attempt: item.attempts, ...extra },
      });
    } catch (err) {
      logger.error({ err, itemId: item.id }, "notification not audited");
    }
  }

  for (const channel of channels) {
    const outbox = createOutbox(
      {
        storage: deps.storage,
        events: deps.events,
        logger: logger.child({ channel }),
        clock,
        random: deps.random ?? Math.random,
        signal: lifetime,
        async sendDetached(item, signal) {
          const notification = item.payload as unknown as Notification;
          const notifier = deps.notifier(channel);
          const receipt = await notifier.send(notification, { idempotencyKey: item.idempotencyKey, signal });
          if (receipt?.messageRef && notification.approval) {
            await deps.storage.setValue(
              `notify:${channel}:approval:${notification.approval.id}`,
              receipt.messageRef,
            );
          }
          await record(item, channel, "notification.sent", {
            ...(receipt?.messageRef ? { messageRef: receipt.messageRef } : {}),
          });
          return undefined;
        },
      },
      {
        target: notifyTarget(channel),
        maxAttempts: options.maxAttempts ?? 8,
        baseDelayMs: options.baseDelayMs ?? 1_000,
        maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
        claimTtlMs: options.claimTtlMs ?? 60_000,
        deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
        concurrency: 2,
        scope: "acted-on",
      },
    );
    outboxes.set(channel, outbox);
    workers.set(
      channel,
      createDeliveryWorker(outbox, { clock, logger, signal: abort.signal, idleMs: options.idleMs ?? 5_000 }),
    );
  }

  const kick = () => {
    if (!started || manual) return;
    for (const worker of workers.values()) worker.kick();
  };

  /** Enqueues `notification` on each channel; the key makes a replayed event a no-op. */
  async function enqueue(
    to: readonly string[],
    notification: Notification,
    ticketId: number,
    objectId: number,
    seq: number,
  ): Promise<void> {
    for (const channel of to) {
      const outbox = outboxes.get(channel);
      if (!outbox) continue;
      const key = outboxKey(notifyTarget(channel), ticketId, notification.event, objectId, seq);
      await outbox.enqueue(ticketId, notification.event, key, notification as never);
    }
  }

  function link(path: string): string | undefined {
    return options.dashboardUrl ? `${options.dashboardUrl.replace(/\/+$/, "")}${path}` : undefined;
  }

  async function approvalNotification(
    approval: Approval,
    event: Notification["event"],
    audience?: string,
  ): Promise<{ notification: Notification; severity: string | undefined }> {
    const ticket = await deps.storage.tickets.get(approval.ticketId);
    const url = link(`/#/approval-link?approval=${approval.id}`);
    const words: Record<string, string> = {
      "approval.requested": "Approval needed",
      "approval.reminder": "Reminder: approval still needed",
      "approval.escalated": "Escalated: approval still needed",
      "approval.expiring": "Approval about to expire",
      "approval.expired": "Approval expired",
    };
    const notification: Notification = {
      event,
      title: `${words[event] ?? event}: ${clip(approval.stepTitle ?? approval.stepName, 120)} on ${clip(approval.target, 80)}`,
      text: [
        `Ticket: ${clip(approval.ticketTitle, 200)}`,
        `Command: ${clip(approval.renderedCommand, 600)}`,
        `Risk: ${approval.risk}; expires ${approval.expiresAt}; started by ${approval.startedBy}`,
      ].join("\n"),
      severity: riskSeverity[approval.risk] ?? "warning",
      at: iso(clock.now()),
      ticketId: approval.ticketId,
      sessionId: approval.sessionId,
      ...(approval.runbookKey ? { runbookKey: approval.runbookKey } : {}),
      ...(approval.environment || ticket?.environment
        ? { environment: approval.environment || ticket?.environment }
        : {}),
      ...(url ? { url } : {}),
      ...(audience ? { audience } : {}),
      approval: {
        id: approval.id,
        stepName: approval.stepName,
        target: approval.target,
        risk: approval.risk,
        renderedCommand: approval.renderedCommand,
        expiresAt: approval.expiresAt,
        startedBy: approval.startedBy,
        bindingHash: approval.bindingHash,
      },
    };
    return { notification, severity: ticket?.severity };
  }

  async function routeAndEnqueue(
    notification: Notification,
    severity: string | undefined,
    ticketId: number,
    objectId: number,
    seq: number,
  ): Promise<void> {
    const to = routeOf(rules, {
      event: notification.event,
      environment: notification.environment,
      severity,
      runbookKey: notification.runbookKey,
      risk: notification.approval?.risk,
    });
    await enqueue(to, notification, ticketId, objectId, seq);
  }

  const handlers = {
    async "approval:requested"(event: { approvalId: number }) {
      const approval = await deps.storage.approvals.get(event.approvalId);
      if (!approval) return;
      const { notification, severity } = await approvalNotification(approval, "approval.requested");
      await routeAndEnqueue(notification, severity, approval.ticketId, approval.id, 0);
    },
    async "approval:decided"(event: { approvalId: number; status: string }) {
      if (event.status !== "expired") return;
      const approval = await deps.storage.approvals.get(event.approvalId);
      if (!approval) return;
      const { notification, severity } = await approvalNotification(approval, "approval.expired");
      // Said where it was announced: the rules' channels for the request, and escalations made.
      const facts = { environment: notification.environment, severity, runbookKey: notification.runbookKey };
      const announced = new Set(
        routeOf(rules, { ...facts, event: "approval.requested", risk: approval.risk }),
      );
      for (const rule of rules) {
        if (!rule.escalateTo) continue;
        const escalated = await deps.storage.outbox.count({
          idempotencyKey: outboxKey(
            notifyTarget(rule.escalateTo[0]!),
            approval.ticketId,
            "approval.escalated",
            approval.id,
            0,
          ),
        });
        if (escalated > 0) for (const c of rule.escalateTo) announced.add(c);
      }
      await enqueue([...announced], notification, approval.ticketId, approval.id, 0);
    },
    async "session:finished"(event: {
      sessionId: number;
      ticketId: number;
      status: string;
      error: string | null;
    }) {
      if (event.status !== "failed") return;
      const [session, ticket] = await Promise.all([
        deps.storage.sessions.get(event.sessionId),
        deps.storage.tickets.get(event.ticketId),
      ]);
      if (!session || session.dryRun) return;
      const url = link(`/#/executions/${session.id}`);
      const notification: Notification = {
        event: "session.failed",
        title: `Runbook ${clip(session.runbookKey, 120)} failed (session ${session.id})`,
        text: event.error ? clip(event.error, 600) : "The session failed.",
        severity: "critical",
        at: iso(clock.now()),
        ticketId: event.ticketId,
        sessionId: session.id,
        runbookKey: session.runbookKey,
        ...(ticket?.environment ? { environment: ticket.environment } : {}),
        ...(url ? { url } : {}),
      };
      await routeAndEnqueue(notification, ticket?.severity, event.ticketId, session.id, 0);
    },
    async "step:finished"(event: { sessionId: number; stepId: number; name: string; status: string }) {
      if (event.status !== "interrupted") return;
      const session = await deps.storage.sessions.get(event.sessionId);
      if (!session || session.dryRun) return;
      const [ticket, step] = await Promise.all([
        deps.storage.tickets.get(session.ticketId),
        deps.storage.steps.get(event.stepId),
      ]);
      const url = link(`/#/executions/${session.id}`);
      const notification: Notification = {
        event: "step.interrupted",
        title: `Step ${clip(event.name, 120)} was interrupted (session ${session.id})`,
        text: step?.error ? clip(step.error, 600) : "The step's process was interrupted.",
        severity: "warning",
        at: iso(clock.now()),
        ticketId: session.ticketId,
        sessionId: session.id,
        runbookKey: session.runbookKey,
        ...(ticket?.environment ? { environment: ticket.environment } : {}),
        ...(url ? { url } : {}),
      };
      await routeAndEnqueue(
        notification,
        ticket?.severity,
        session.ticketId,
        event.stepId,
        step?.attempts ?? 0,
      );
    },
    async "ticket:updated"(event: { ticketId: number; status: string; reason: string | null }) {
      if (event.status !== "needs_human") return;
      const ticket = await deps.storage.tickets.get(event.ticketId);
      if (!ticket) return;
      const notification: Notification = {
        event: "ticket.needs_human",
        title: `Ticket ${ticket.id} needs a person: ${clip(ticket.title, 120)}`,
        text: event.reason ? clip(event.reason, 600) : "Runwarden will not act on it on its own.",
        severity: "warning",
        at: iso(clock.now()),
        ticketId: ticket.id,
        ...(ticket.environment ? { environment: ticket.environment } : {}),
      };
      await routeAndEnqueue(notification, ticket.severity, ticket.id, ticket.id, ticket.version);
    },
    async "runbook:auto-execution-paused"(event: { key: string; failures: number; until: string | null }) {
      const notification: Notification = {
        event: "runbook.auto_execution_paused",
        title: `Auto-execution of ${clip(event.key, 120)} paused after ${event.failures} failures`,
        text: event.until ? `Paused until ${event.until}.` : "Paused until a person resumes it.",
        severity: "critical",
        at: iso(clock.now()),
        runbookKey: event.key,
      };
      // No ticket: ticketId 0 orders these among themselves; the key is the pause's moment.
      const seq = Date.parse(event.until ?? "") || clock.now();
      await routeAndEnqueue(notification, undefined, 0, 0, seq);
    },
  } as const;

  async function sweep(): Promise<number> {
    let enqueued = 0;
    const now = clock.now();
    const pending = await deps.storage.approvals.find({
      where: { status: "pending" },
      order: "asc",
      limit: 500,
    });
    for (const approval of pending) {
      const age = now - Date.parse(approval.requestedAt);
      const left = Date.parse(approval.expiresAt) - now;
      // A crash between storing the approval and handling its event lost no notification: the
      // request is enqueued here too, and its key makes it a no-op when it is already there.
      const { notification: base, severity } = await approvalNotification(approval, "approval.requested");
      const before = await deps.storage.outbox.count({ ticketId: approval.ticketId });
      await routeAndEnqueue(base, severity, approval.ticketId, approval.id, 0);
      enqueued += (await deps.storage.outbox.count({ ticketId: approval.ticketId })) - before;
      for (const rule of rules) {
        const facts = {
          event: "approval.requested" as const,
          environment: base.environment,
          severity,
          runbookKey: base.runbookKey,
          risk: approval.risk,
        };
        if (!routeOf([rule], facts).length) continue;
        const due: [Notification["event"], readonly string[], string | undefined][] = [];
        if (rule.remindAfterMinutes !== undefined && age >= rule.remindAfterMinutes * 60_000)
          due.push(["approval.reminder", rule.channels, undefined]);
        if (
          rule.escalateAfterMinutes !== undefined &&
          rule.escalateTo &&
          age >= rule.escalateAfterMinutes * 60_000
        )
          due.push(["approval.escalated", rule.escalateTo, rule.escalateAudience]);
        if (
          rule.expiringWithinMinutes !== undefined &&
          left > 0 &&
          left <= rule.expiringWithinMinutes * 60_000
        )
          due.push(["approval.expiring", rule.channels, undefined]);
        for (const [event, to, audience] of due) {
          const { notification } = await approvalNotification(approval, event, audience);
          for (const channel of to) {
            const outbox = outboxes.get(channel);
            const key = outboxKey(notifyTarget(channel), approval.ticketId, event, approval.id, 0);
            if (outbox && (await outbox.enqueue(approval.ticketId, event, key, notification as never)))
              enqueued++;
          }
        }
      }
    }
    if (enqueued > 0) kick();
    return enqueued;
  }

  function scheduleSweep(): void {
    if (!started || manual || abort.signal.aborted) return;
    sweepTimer = clock.setTimeout(() => {
      void sweep()
        .catch((err: unknown) => logger.warn({ err }, "notification sweep failed"))
        .finally(scheduleSweep);
    }, options.sweepIntervalMs ?? 30_000);
  }

  function onDead(event: { itemId: number; target: string; error: string }): void {
    if (!event.target.startsWith("notify:")) return;
    const channel = event.target.slice("notify:".length);
    chain = chain.then(async () => {
      const item = await deps.storage.outbox.get(event.itemId);
      if (item) await record(item, channel, "notification.failed", { error: event.error });
    });
  }

  return {
    channels,
    async start() {
      if (started) return;
      started = true;
      for (const [name, handler] of Object.entries(handlers)) {
        const listener = (event: unknown) => {
          chain = chain
            .then(() => (handler as (e: unknown) => Promise<void>)(event))
            .catch((err: unknown) => logger.error({ err, event: name }, "notification enqueue failed"))
            .then(kick);
        };
        deps.events.on(name as never, listener as never);
        offs.push(() => deps.events.off(name as never, listener as never));
      }
      deps.events.on("outbox:dead-lettered", onDead);
      offs.push(() => deps.events.off("outbox:dead-lettered", onDead));
      if (!deps.storage.shared) for (const outbox of outboxes.values()) await outbox.releaseClaims();
      if (!manual) await sweep().catch((err: unknown) => logger.warn({ err }, "notification sweep failed"));
      kick();
      scheduleSweep();
      logger.info({ channels, rules: rules.length }, "notification service started");
    },
    async close() {
      if (!started || abort.signal.aborted) return;
      abort.abort();
      for (const off of offs.splice(0)) off();
      clock.clearTimeout(sweepTimer);
      await Promise.allSettled([...[...workers.values()].map((w) => w.stop()), chain]);
    },
    async flush() {
      await chain;
      let delivered = 0;
      for (const outbox of outboxes.values()) delivered += await outbox.flush();
      return delivered;
    },
    sweep,
    settled: () => chain,
    async sendTest(channel) {
      const signal = callSignal(lifetime, options.deliveryTimeoutMs ?? 30_000);
      try {
        await sendTestNotification(deps.notifier(channel), channel, { now: clock.now(), signal });
      } finally {
        endCallSignal(signal);
      }
    },
  };
}

/**
 * Sends the "test" notification to one notifier now (not through the outbox), for the Connectors
 * tab's "Send a test notification". A failure is RW_ERR_CONNECTOR_* from the notifier, as it is.
 */
export async function sendTestNotification(
  notifier: NotifierConnector,
  channel: string,
  options: { now: number; signal: AbortSignal },
): Promise<void> {
  const at = new Date(options.now).toISOString();
  const notification: Notification = {
    event: "test",
    title: "Runwarden test notification",
    text: `Sent at ${at} to check the channel "${channel}".`,
    severity: "info",
    at,
  };
  await notifier.send(notification, {
    idempotencyKey: `${notifyTarget(channel)}:test:${at}`,
    signal: options.signal,
  });
}
