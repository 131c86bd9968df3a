/**
 * The session runner: drives sessions through prechecks → main → postchecks (→ rollback),
 * persisting every transition before acting on it, stopping at approvals, and recovering sessions
 * left by a crashed or stopped engine through leases.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Runbook } from "@runwarden/runbook-parser";
import { type AuditLog, type AuditRecordInput, auditDoc } from "../audit.js";
import {
  type Approval,
  type ExecutionSession,
  finalSessionStatuses,
  type Phase,
  type RunbookRecord,
  type SessionStatus,
  type StepProcess,
  type StepProcessCheck,
  type StepRecord,
  type StepStatus,
  type Ticket,
  type TicketStatus,
} from "../domain.js";
import { type ErrorCode, isRunwardenError, type RunwardenError, rwError } from "../errors.js";
import type { ConnectionResolver } from "../internal/connection-resolver.js";
import type { EngineContext } from "../internal/context.js";
import type { ExecResult } from "../plugin.js";
import type { ConnectorRegistry } from "../registry.js";
import type { BatchResult, BatchWrite, Changes } from "../storage.js";
import { CircuitBreaker, KeyedSemaphore, Semaphore } from "./concurrency.js";
import { CappedText, defaultOutputCap } from "./output.js";
import { flattenRunbook, type PlannedStep, type PreparedStep, prepareStep } from "./plan.js";
import { reapProcessGroup } from "./process-group.js";
import { Redactor } from "./redaction.js";

/** The part of the tickets API the executor uses. */
export interface TicketsPort {
  get(id: number): Promise<Ticket>;
  setStatus(id: number, status: TicketStatus, reason: string | null): Promise<unknown>;
}

/** The part of the runbooks API the executor uses. */
export interface RunbooksPort {
  get(id: number): Promise<RunbookRecord>;
  plan(record: Pick<RunbookRecord, "hash" | "markdown">): Runbook;
}

export interface ExecutorDeps {
  runbooks: RunbooksPort;
  /** Opens connections with their credentials (built by engine.ts, shared with nobody else). */
  resolver: ConnectionResolver;
  registry: Pick<ConnectorRegistry, "infrastructureFor" | "languagesFor">;
  audit: Pick<AuditLog, "record">;
  tickets: TicketsPort;
}

/** Why a running step's signal was aborted. */
interface StopReason {
  kind: "cancel" | "close" | "lease";
}

/** A session being driven in this process, with what it needs in memory. */
interface Live {
  session: ExecutionSession;
  steps: StepRecord[];
  ticket: Ticket;
  runbook: Runbook;
  planned: PlannedStep[];
  redactor: Redactor;
  signal: AbortSignal;
  /** Changes held back to be stored with the next commit (see `defer`), and what follows them. */
  pending: Pending;
  /** The session's status and phase as last announced (session:updated). */
  announced: { status: SessionStatus; phase: Phase };
}

/** What start() already loaded for a session it created. */
type Hint = Omit<Live, "signal" | "pending" | "announced">;

/** A change of a driven session's records, stored by `commit`. */
type Intent =
  | { kind: "step"; id: number; changes: Changes<"steps"> }
  | { kind: "session"; changes: Changes<"sessions"> }
  | { kind: "audit"; input: AuditRecordInput }
  | { kind: "ticket"; status: TicketStatus; reason: string };

interface Pending {
  intents: Intent[];
  /** Run once the intents are stored (events). */
  after: (() => void)[];
}

/** Thrown inside a drive when someone else changed the session (cancelled it): stop quietly. */
class Superseded extends Error {}

const finalStepStatuses: ReadonlySet<StepStatus> = new Set([
  "succeeded",
  "failed",
  "timed_out",
  "skipped",
  "rejected",
  "cancelled",
]);
const isFinalSession = (status: SessionStatus) =>
  (finalSessionStatuses as readonly string[]).includes(status);
/** Claim passes run this often at most (more often with a short lease: a third of it). */
const claimIntervalMs = 5_000;
const cancelTopic = "runwarden.session.cancel";
/** Published when a session is left unleased for any instance with room to claim. */
const readyTopic = "runwarden.session.ready";
/** A remote connector that ignores its timeout is stopped this long after it. */
const engineTimeoutGraceMs = 5_000;

export class Runner {
  readonly log;
  readonly resolver: ConnectionResolver;
  readonly breaker: CircuitBreaker;
  private readonly slots: Semaphore;
  private readonly perConnection: KeyedSemaphore;
  private readonly driving = new Map<number, Promise<void>>();
  private readonly controllers = new Map<number, AbortController>();
  private readonly redactors = new Map<number, Redactor>();
  /** Sessions just created in this process: drive them without reading them back. */
  private readonly hints = new Map<number, Hint>();
  private readonly plans = new Map<number, { record: RunbookRecord; runbook: Runbook }>();
  /** Until when (ms) the store holds our lease of each session driven here, as last written. */
  private readonly leaseUntil = new Map<number, number>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private unsubscribeReady: (() => void) | undefined;
  /** Shared store: claimable sessions may be waiting for room here (claim when a drive ends). */
  private backlog = false;
  private claimRunning = false;
  private claimQueued = false;
  private closing = false;
  /** Earliest expiry of a pending approval (ms by ctx.clock); the sweeper skips work before it. */
  nextExpiry = Number.POSITIVE_INFINITY;

  constructor(
    readonly ctx: EngineContext,
    readonly deps: ExecutorDeps,
  ) {
    this.log = ctx.logger.child({ component: "executor" });
    this.resolver = deps.resolver;
    this.slots = new Semaphore(Math.max(1, ctx.policy.maxConcurrentSessions));
    this.perConnection = new KeyedSemaphore(Math.max(1, ctx.policy.maxConcurrentPerConnection));
    this.breaker = new CircuitBreaker(
      ctx.policy.circuitBreakerThreshold,
      ctx.policy.circuitBreakerCooldownMs,
      ctx.clock,
    );
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────────

  /** Resumes sessions left by an earlier process, then claims and sweeps in the background. */
  async start(): Promise<void> {
    if (this.timers.length > 0) return;
    this.unsubscribe = this.ctx.storage.signals.subscribe(cancelTopic, (payload) => {
      this.controllers.get(Number(payload))?.abort({ kind: "cancel" } satisfies StopReason);
    });
    if (this.ctx.storage.shared) {
      this.unsubscribeReady = this.ctx.storage.signals.subscribe(readyTopic, () => {
        this.backlog = true;
        this.requestClaim();
      });
    }
    // A store no other instance shares has no live owner but us: take over every lease now
    // instead of waiting for the dead process's leases to run out.
    await this.claimPass(this.ctx.storage.shared ? undefined : "9999-01-01T00:00:00.000Z");
    const pending = await this.ctx.storage.approvals.find({ where: { status: "pending" } });
    for (const approval of pending)
      this.nextExpiry = Math.min(this.nextExpiry, Date.parse(approval.expiresAt));
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        if (!this.closing) task().catch((err) => this.log.warn({ err }, "background task failed"));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.min(claimIntervalMs, this.leaseTtlMs / 3), () => this.claimPass());
    every(this.leaseTtlMs / 3, () => this.renewLeases());
    every(1_000, () => this.expireDue());
  }

  /** Stops background work, lets running steps finish for `closeGraceMs`, then interrupts them. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unsubscribe?.();
    this.unsubscribeReady?.();
    const running = [...this.driving.values()];
    if (running.length > 0) {
      const grace = new AbortController();
      await Promise.race([
        Promise.allSettled(running),
        sleep(this.ctx.policy.closeGraceMs, undefined, { signal: grace.signal, ref: false }).catch(() => {}),
      ]);
      grace.abort();
    }
    for (const controller of this.controllers.values())
      controller.abort({ kind: "close" } satisfies StopReason);
    await Promise.allSettled([...this.driving.values()]);
  }

  /** Claims sessions with no live owner (pending or running) and drives them. */
  async claimPass(now?: string): Promise<number> {
    if (this.closing) return 0;
    // On a shared store an instance claims only what it has room for: the rest stays claimable
    // by instances with free slots instead of queueing here under our lease.
    const shared = this.ctx.storage.shared && now === undefined;
    let total = 0;
    for (;;) {
      const room = this.capacity - this.driving.size;
      if (shared && room <= 0) {
        this.backlog = true;
        return total;
      }
      const limit = shared ? room : Math.max(16, this.ctx.policy.maxConcurrentSessions * 2);
      const at = Date.now();
      const claimed = await this.ctx.storage.claimSessions({
        owner: this.ctx.instanceId,
        ttlMs: this.leaseTtlMs,
        now: now ?? new Date(at).toISOString(),
        statuses: ["pending", "running"],
        limit,
      });
      for (const session of claimed) {
        if (now !== undefined)
          await this.ctx.storage.renewLease(
            session.id,
            this.ctx.instanceId,
            this.leaseTtlMs,
            new Date(at).toISOString(),
          );
        this.leaseUntil.set(session.id, at + this.leaseTtlMs);
        if (!this.driving.has(session.id)) this.log.info({ sessionId: session.id }, "session claimed");
        void this.drive(session.id);
      }
      total += claimed.length;
      if (claimed.length < limit) {
        if (shared) this.backlog = false;
        return total;
      }
    }
  }

  /** Sessions driven here at most on a shared store: running ones plus as many queued. */
  private get capacity(): number {
    return 2 * Math.max(1, this.ctx.policy.maxConcurrentSessions);
  }

  /** Runs a claim pass soon, one at a time (a request during a pass runs another after it). */
  private requestClaim(): void {
    if (this.closing) return;
    if (this.claimRunning) {
      this.claimQueued = true;
      return;
    }
    this.claimRunning = true;
    this.claimPass()
      .catch((err) => this.log.warn({ err }, "claim failed"))
      .finally(() => {
        this.claimRunning = false;
        if (this.claimQueued) {
          this.claimQueued = false;
          this.requestClaim();
        }
      });
  }

  /** A session stored without a lease (no room here): whichever instance has room claims it. */
  async offer(sessionId: number): Promise<void> {
    this.backlog = true;
    await this.ctx.storage.signals
      .publish(readyTopic, String(sessionId))
      .catch((err) => this.log.warn({ err }, "ready signal not sent"));
  }

  private get leaseTtlMs(): number {
    return Math.max(300, this.ctx.policy.leaseTtlMs);
  }

  /** Renews the lease of every session driven here (queued, running a step, or between steps). */
  private async renewLeases(): Promise<void> {
    const at = Date.now();
    const now = new Date(at).toISOString();
    for (const id of [...this.driving.keys()]) {
      if (await this.ctx.storage.renewLease(id, this.ctx.instanceId, this.leaseTtlMs, now)) {
        this.leaseUntil.set(id, at + this.leaseTtlMs);
      } else {
        this.leaseLost(id);
      }
    }
  }

  /** Another instance may own the session now: stop driving it here (a running step is killed). */
  private leaseLost(sessionId: number): void {
    this.leaseUntil.delete(sessionId);
    const controller = this.controllers.get(sessionId);
    if (!controller || controller.signal.aborted) return;
    this.log.warn({ sessionId }, "session lease lost");
    controller.abort({ kind: "lease" } satisfies StopReason);
  }

  /**
   * True when the store still holds our lease of the session: known from the last renewal while it
   * is fresh (no query), otherwise renewed now. A step never starts on a lease that may have run
   * out (the store was unreachable, the process stalled): another instance may own the session.
   */
  private async holdsLease(live: Live): Promise<boolean> {
    if (!this.ctx.storage.shared) return true;
    const id = live.session.id;
    const until = this.leaseUntil.get(id);
    const at = Date.now();
    if (until !== undefined && at < until - this.leaseTtlMs / 3) return true;
    let held = false;
    try {
      held = await this.ctx.storage.renewLease(
        id,
        this.ctx.instanceId,
        this.leaseTtlMs,
        new Date(at).toISOString(),
      );
    } catch (err) {
      this.log.warn(
        { sessionId: id, err: { message: errorText(err, live.redactor) } },
        "lease renewal failed",
      );
    }
    if (held) {
      this.leaseUntil.set(id, at + this.leaseTtlMs);
      return true;
    }
    this.leaseLost(id);
    return false;
  }

  /**
   * Lease for a session created here (it is inserted holding it), or null on a shared store when
   * this instance has no room: the session is then `offer`ed to the others.
   */
  newLease(): { owner: string; expiresAt: string } | null {
    if (this.ctx.storage.shared && this.driving.size >= this.capacity) return null;
    return {
      owner: this.ctx.instanceId,
      expiresAt: new Date(Date.now() + this.leaseTtlMs).toISOString(),
    };
  }

  /** Remembers what start() already loaded, so the first drive reads nothing back. */
  hint(live: Hint): void {
    this.hints.set(live.session.id, live);
    this.redactors.set(live.session.id, live.redactor);
  }

  /** Drives a session this instance holds the lease of. One drive per session at a time. */
  drive(sessionId: number): Promise<void> {
    const existing = this.driving.get(sessionId);
    if (existing) return existing;
    const controller = new AbortController();
    this.controllers.set(sessionId, controller);
    let finished = false;
    let paused = false;
    const run = this.runSession(sessionId, controller.signal)
      .then((status) => {
        finished = status !== undefined && isFinalSession(status);
        paused = status === "awaiting_approval";
      })
      .catch((err) => {
        if (!(err instanceof Superseded) && !controller.signal.aborted) {
          this.log.error(
            { sessionId, err: { message: errorText(err, this.redactorOf(sessionId)) } },
            "session drive failed",
          );
        }
      })
      .finally(async () => {
        this.driving.delete(sessionId);
        this.controllers.delete(sessionId);
        this.hints.delete(sessionId);
        this.leaseUntil.delete(sessionId);
        // Room freed here: take on a session that waits for one.
        if (this.backlog && this.ctx.storage.shared) this.requestClaim();
        // A finished session is never claimed again: its lease needs no write.
        if (finished) return;
        try {
          await this.ctx.storage.releaseLease(sessionId, this.ctx.instanceId);
        } catch (err) {
          this.log.warn({ sessionId, err }, "lease release failed");
          return;
        }
        // An approval decided on another instance while this drive was pausing found the lease
        // still held here, so that instance could not claim the session: claim it now.
        if (paused && this.ctx.storage.shared)
          await this.claimPass().catch((err) => this.log.warn({ err }, "claim failed"));
      });
    this.driving.set(sessionId, run);
    return run;
  }

  /** Stops a step that runs in this process (and asks other instances to stop theirs). */
  async signalCancel(sessionId: number): Promise<void> {
    this.controllers.get(sessionId)?.abort({ kind: "cancel" } satisfies StopReason);
    await this.ctx.storage.signals.publish(cancelTopic, String(sessionId)).catch(() => {});
  }

  isDrivingLocally(sessionId: number): boolean {
    return this.driving.has(sessionId);
  }

  redactorOf(sessionId: number): Redactor {
    let redactor = this.redactors.get(sessionId);
    if (!redactor) {
      redactor = new Redactor(this.ctx.redactor);
      this.redactors.set(sessionId, redactor);
    }
    return redactor;
  }

  // ── loading ────────────────────────────────────────────────────────────────────────────────

  async runbookOf(runbookId: number): Promise<{ record: RunbookRecord; runbook: Runbook }> {
    const cached = this.plans.get(runbookId);
    if (cached) return cached;
    const record = await this.deps.runbooks.get(runbookId);
    const entry = { record, runbook: this.deps.runbooks.plan(record) };
    if (this.plans.size > 500) this.plans.clear();
    this.plans.set(runbookId, entry);
    return entry;
  }

  async loadSteps(sessionId: number): Promise<StepRecord[]> {
    const steps = await this.ctx.storage.steps.find({ where: { sessionId }, order: "asc" });
    return steps.sort((a, b) => a.index - b.index);
  }

  private async load(sessionId: number, signal: AbortSignal): Promise<Live | undefined> {
    const hint = this.hints.get(sessionId);
    if (hint) {
      this.hints.delete(sessionId);
      this.noteLease(hint.session);
      return { ...hint, signal, ...this.fresh(hint.session) };
    }
    const session = await this.ctx.storage.sessions.get(sessionId);
    if (!session) return undefined;
    this.noteLease(session);
    const [steps, ticket, { runbook }] = await Promise.all([
      this.loadSteps(sessionId),
      this.deps.tickets.get(session.ticketId),
      this.runbookOf(session.runbookId),
    ]);
    const planned = flattenRunbook(runbook);
    const live: Live = {
      session,
      steps,
      ticket,
      runbook,
      planned,
      redactor: this.redactorOf(sessionId),
      signal,
      ...this.fresh(session),
    };
    if (live.redactor.size === 0) {
      // Everything the vault hands this session is redacted, whichever step prints it.
      for (const step of planned) {
        try {
          const prepared = await this.prepare(live, step.index);
          live.redactor.add(secretsOf(prepared));
        } catch {
          // A step that cannot be prepared now fails visibly when it is reached.
        }
      }
    }
    return live;
  }

  private fresh(session: ExecutionSession): Pick<Live, "pending" | "announced"> {
    return {
      pending: { intents: [], after: [] },
      announced: { status: session.status, phase: session.phase },
    };
  }

  /** Remembers the expiry of our lease as the store returned it (claims record theirs first). */
  private noteLease(session: ExecutionSession): void {
    const { lease } = session;
    if (lease?.owner !== this.ctx.instanceId || this.leaseUntil.has(session.id)) return;
    const until = Date.parse(lease.expiresAt);
    if (!Number.isNaN(until)) this.leaseUntil.set(session.id, until);
  }

  prepare(live: Pick<Live, "runbook" | "ticket" | "planned">, index: number): Promise<PreparedStep> {
    const planned = live.planned[index];
    if (!planned)
      throw rwError("RW_ERR_EXEC_STATE", `the runbook has no step ${index}`, { details: { index } });
    return prepareStep({
      step: planned.step,
      runbook: live.runbook,
      ticket: live.ticket,
      vars: live.runbook.metadata.variables ?? {},
      policy: this.ctx.policy,
      resolver: this.resolver,
      languagesFor: ({ resolved }) =>
        this.deps.registry.languagesFor(resolved.connectionType, resolved.targetService),
    });
  }

  // ── the drive loop ─────────────────────────────────────────────────────────────────────────

  /** Drives until the session stops moving; returns its status then (undefined: not loaded). */
  private async runSession(sessionId: number, signal: AbortSignal): Promise<SessionStatus | undefined> {
    let release: (() => void) | undefined;
    try {
      release = await this.slots.acquire(signal);
    } catch {
      return undefined;
    }
    try {
      const live = await this.load(sessionId, signal);
      if (!live || isFinalSession(live.session.status)) return live?.session.status;
      if (live.session.status === "pending" || live.session.status === "awaiting_approval") {
        // awaiting_approval with nothing awaiting (a crash mid-transition) is re-evaluated below.
        await this.saveSession(live, { status: "running" });
      }
      try {
        await this.loop(live);
      } finally {
        // The loop may stop (closing, a lost lease) right after a step whose result it held back.
        if (live.pending.intents.length > 0) await this.commit(live, []);
      }
      return live.session.status;
    } finally {
      release();
      this.redactors.delete(sessionId);
    }
  }

  private async loop(live: Live): Promise<void> {
    for (;;) {
      if (this.closing || live.signal.aborted) return;
      if (isFinalSession(live.session.status) || live.session.status === "interrupted") return;
      const inRollback = live.session.phase === "rollback";
      const step = live.steps.find(
        (s) =>
          (inRollback ? s.phase === "rollback" : s.phase !== "rollback") && !finalStepStatuses.has(s.status),
      );
      if (!step) {
        await this.finish(
          live,
          inRollback ? "rolled_back" : "succeeded",
          inRollback ? live.session.error : null,
        );
        return;
      }
      if (!inRollback && step.phase !== live.session.phase) this.deferSession(live, { phase: step.phase });
      const planned = live.planned[step.index];
      if (!planned) {
        await this.finish(
          live,
          "failed",
          `the runbook has no step ${step.index}: it changed under the session`,
        );
        return;
      }
      // Never start (or judge) a step on a lease that may have passed to another instance.
      if (!(await this.holdsLease(live))) return;
      let outcome: "succeeded" | "failed" | "paused";
      switch (step.status) {
        case "running":
        case "interrupted": {
          // Left mid-flight by a process that died or stopped: its process group may live on.
          const processCheck = this.reapLeftover(live, step);
          if (!step.idempotent) {
            await this.interrupt(live, step, undefined, processCheck);
            return;
          }
          this.log.info(
            { sessionId: live.session.id, stepId: step.id },
            "retrying idempotent step after interruption",
          );
          const checked = await this.saveStep(live, step, { processCheck });
          outcome = await this.advance(live, {
            ...checked,
            status: step.requiresApproval ? "approved" : "pending",
          });
          break;
        }
        case "awaiting_approval":
          outcome = await this.advance(live, step);
          break;
        default:
          outcome = await this.advance(live, step);
      }
      if (outcome === "paused") return;
      if (outcome === "failed") {
        const stop = await this.afterFailure(live, step, planned);
        if (stop) return;
      }
    }
  }

  /** Prepares a step and either asks for approval or runs it. */
  private async advance(live: Live, step: StepRecord): Promise<"succeeded" | "failed" | "paused"> {
    let prepared: PreparedStep;
    try {
      prepared = await this.prepare(live, step.index);
    } catch (err) {
      await this.saveStep(live, step, {
        status: "failed",
        error: errorText(err, live.redactor),
        finishedAt: this.ctx.nowIso(),
      });
      this.emitStepFinished(live, this.stepById(live, step.id), 0);
      return "failed";
    }
    live.redactor.add(secretsOf(prepared));
    if (step.requiresApproval) {
      if (live.pending.intents.length > 0) await this.commit(live, []);
      const approvals = await this.ctx.storage.approvals.find({ where: { stepId: step.id }, order: "desc" });
      const granted = approvals.find((a) => a.status === "approved");
      const waiting = approvals.find((a) => a.status === "pending");
      if (waiting && waiting.bindingHash === prepared.bindingHash) {
        await this.pauseForApproval(live, step, waiting, false);
        return "paused";
      }
      if (waiting) await this.voidApproval(waiting, "the rendered command, target or credential changed");
      if (step.status !== "approved" || !granted || granted.bindingHash !== prepared.bindingHash) {
        if (granted && granted.bindingHash !== prepared.bindingHash) {
          await this.voidApproval(
            granted,
            "the rendered command, target or credential changed after approval",
          );
        }
        const approval = await this.createApproval(live.session, step, prepared, live.ticket);
        await this.pauseForApproval(live, step, approval);
        return "paused";
      }
    }
    return this.execute(live, step, prepared);
  }

  /** What happens after a step failed: continue, fail the session, or roll back. True: stop. */
  private async afterFailure(live: Live, step: StepRecord, planned: PlannedStep): Promise<boolean> {
    const current = this.stepById(live, step.id);
    const what = `${phaseLabel(current.phase)} "${current.name}" ${current.status === "timed_out" ? "timed out" : "failed"}`;
    if (
      current.status === "cancelled" ||
      isFinalSession(live.session.status) ||
      live.session.status === "interrupted"
    ) {
      return true;
    }
    if (planned.step.onFailure === "continue") {
      this.log.warn(
        { sessionId: live.session.id, stepId: step.id },
        "step failed, continuing as the runbook says",
      );
      return false;
    }
    const reason = `${what}: ${current.error ?? "failed"}`;
    if (live.session.phase === "rollback") {
      await this.finish(live, "failed", `rollback ${reason}`);
      return true;
    }
    const { uncompensated, toRun } = this.rollbackOf(live, current.phase);
    if (current.phase === "prechecks" || toRun === 0) {
      await this.finish(
        live,
        "failed",
        current.phase === "prechecks" ? `${reason}; nothing was changed` : reason,
      );
      return true;
    }
    this.log.info({ sessionId: live.session.id, stepId: step.id }, "rolling back");
    // Skipped in the same commit as the switch to rollback: a resumed session never runs them.
    for (const compensation of uncompensated) {
      live.steps[live.steps.indexOf(compensation)] = { ...compensation, status: "skipped" };
      live.pending.intents.push({ kind: "step", id: compensation.id, changes: { status: "skipped" } });
    }
    await this.saveSession(live, { phase: "rollback", error: reason });
    return false;
  }

  /**
   * What rolling back after a failure in `failedPhase` runs: the compensations of that phase's
   * steps that succeeded (planned in reverse order ahead of the declared rollback steps) and the
   * declared rollback steps. Compensations of any other step are `uncompensated`: skipped.
   */
  private rollbackOf(live: Live, failedPhase: Phase): { uncompensated: StepRecord[]; toRun: number } {
    const uncompensated: StepRecord[] = [];
    let toRun = 0;
    for (const record of live.steps) {
      if (record.phase !== "rollback" || finalStepStatuses.has(record.status)) continue;
      const target = live.planned[record.index]?.compensates;
      if (target !== undefined) {
        const undone = live.steps.find((s) => s.index === target);
        if (undone?.phase !== failedPhase || undone.status !== "succeeded") {
          uncompensated.push(record);
          continue;
        }
      }
      toRun++;
    }
    return { uncompensated, toRun };
  }

  /** Runs a prepared step, with its retries, and records the outcome. */
  private async execute(
    live: Live,
    step: StepRecord,
    prepared: PreparedStep,
  ): Promise<"succeeded" | "failed" | "paused"> {
    const planned = live.planned[step.index]!;
    const timeoutMs =
      planned.step.timeoutMs ?? live.runbook.metadata.timeoutMs ?? this.ctx.policy.defaultStepTimeoutMs;
    let current = step;
    for (let attempt = step.attempts + 1; ; attempt++) {
      const startedAt = this.ctx.nowIso();
      current = await this.saveStep(live, current, {
        status: "running",
        attempts: attempt,
        rendered: prepared.rendered.command,
        connection: prepared.resolution.resolved.name,
        startedAt,
        finishedAt: null,
        exitCode: null,
        error: null,
        process: null,
      });
      this.ctx.events.emit("step:started", {
        sessionId: live.session.id,
        stepId: current.id,
        name: current.name,
        phase: current.phase,
        attempt,
      });
      const began = performance.now();
      const outcome = await this.runOnce(live, current, prepared, timeoutMs);
      const durationMs = Math.round(performance.now() - began);
      const finishedAt = this.ctx.nowIso();
      if (outcome.status === "stopped") {
        const reason = (live.signal.reason as StopReason | undefined)?.kind ?? "close";
        if (reason === "cancel") {
          current = await this.saveStep(live, current, {
            status: "cancelled",
            stdout: outcome.stdout,
            stderr: outcome.stderr,
            error: "cancelled while running",
            finishedAt,
          }).catch(() => current);
          this.emitStepFinished(live, current, durationMs);
        } else if (reason === "close") {
          await this.interrupt(live, current, { stdout: outcome.stdout, stderr: outcome.stderr });
        }
        // A lost lease: another instance owns the session now and will see the step as running.
        return "paused";
      }
      const retry =
        outcome.status !== "succeeded" &&
        attempt <= planned.step.retries &&
        !live.signal.aborted &&
        !this.closing;
      if (retry) {
        const waitMs = Math.min(this.ctx.policy.retryBackoffMs * 2 ** (attempt - 1), 60_000);
        current = await this.saveStep(live, current, {
          status: current.requiresApproval ? "approved" : "pending",
          exitCode: outcome.exitCode,
          stdout: outcome.stdout,
          stderr: outcome.stderr,
          error: `attempt ${attempt} ${outcome.status === "timed_out" ? "timed out" : "failed"}: ${outcome.error}; retrying in ${waitMs} ms`,
          finishedAt,
        });
        this.log.warn(
          { sessionId: live.session.id, stepId: current.id, attempt, waitMs },
          "step failed, retrying",
        );
        try {
          await sleep(waitMs, undefined, { signal: live.signal });
        } catch {
          return "paused";
        }
        if (this.closing) return "paused";
        continue;
      }
      // Stored with whatever the session does next (the next step's start, its end): before it.
      this.deferStep(
        live,
        current,
        {
          status: outcome.status,
          exitCode: outcome.exitCode,
          stdout: outcome.stdout,
          stderr: outcome.stderr,
          error: outcome.status === "succeeded" ? null : outcome.error,
          finishedAt,
        },
        durationMs,
      );
      return outcome.status === "succeeded" ? "succeeded" : "failed";
    }
  }

  /** One attempt: open the connection, exec, capture redacted output, judge the result. */
  private async runOnce(
    live: Live,
    step: StepRecord,
    prepared: PreparedStep,
    timeoutMs: number,
  ): Promise<{
    status: "succeeded" | "failed" | "timed_out" | "stopped";
    exitCode: number | null;
    stdout: string;
    stderr: string;
    error: string;
  }> {
    const planned = live.planned[step.index]!;
    const { resolved } = prepared.resolution;
    const capture = { stdout: new CappedText(defaultOutputCap), stderr: new CappedText(defaultOutputCap) };
    const streams = { stdout: live.redactor.stream(), stderr: live.redactor.stream() };
    // What a connector derives from the credential (a Basic header, a token) is redacted too.
    const redact = (value: string) => live.redactor.add([value]);
    const streamed = { stdout: false, stderr: false };
    const emitOutput = this.ctx.events.listenerCount("step:output") > 0;
    const onOutput = (stream: "stdout" | "stderr", chunk: string) => {
      streamed[stream] = true;
      const safe = streams[stream].push(chunk);
      if (safe.length === 0) return;
      capture[stream].append(safe);
      if (emitOutput)
        this.ctx.events.emit("step:output", {
          sessionId: live.session.id,
          stepId: step.id,
          stream,
          chunk: safe,
        });
    };
    const flush = () => {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = streams[stream].flush();
        if (rest.length === 0) continue;
        capture[stream].append(rest);
        if (emitOutput)
          this.ctx.events.emit("step:output", {
            sessionId: live.session.id,
            stepId: step.id,
            stream,
            chunk: rest,
          });
      }
    };
    const exec = new AbortController();
    const onStop = () => exec.abort(live.signal.reason);
    live.signal.addEventListener("abort", onStop, { once: true });
    let engineTimedOut = false;
    const timer = setTimeout(() => {
      engineTimedOut = true;
      exec.abort({ kind: "timeout" });
    }, timeoutMs + engineTimeoutGraceMs);
    let release: (() => void) | undefined;
    let result: ExecResult | undefined;
    let failure: unknown;
    // The process group is journaled as soon as it exists: a restart after a crash reaps it.
    let journaled: Promise<unknown> = Promise.resolve();
    const onProcess = (process: StepProcess) => {
      // Only this change: results held back for the session's next commit stay held back.
      journaled = this.store(live, [{ kind: "step", id: step.id, changes: { process } }]).catch(
        (err: unknown) =>
          this.log.warn(
            { sessionId: live.session.id, stepId: step.id, err: { message: errorText(err, live.redactor) } },
            "process group not journaled",
          ),
      );
    };
    try {
      release = await this.perConnection.acquire(`${resolved.connectionType}:${resolved.name}`, exec.signal);
      const connector = this.deps.registry.infrastructureFor(resolved.connectionType, resolved.targetService);
      const handle = await connector.open(resolved, { signal: exec.signal, redact });
      try {
        result = await handle.exec({
          command: prepared.rendered.command,
          language: prepared.language,
          ...(prepared.rendered.sql ? { sql: prepared.rendered.sql } : {}),
          readOnly: step.phase === "prechecks" || step.phase === "postchecks",
          signal: exec.signal,
          timeoutMs,
          onOutput,
          redact,
          onProcess,
        });
      } finally {
        await handle.release().catch(() => {});
      }
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(timer);
      live.signal.removeEventListener("abort", onStop);
      release?.();
      flush();
      // The step's next write must see the journal entry's version.
      await journaled;
    }
    const text = (stream: "stdout" | "stderr") => {
      if (streamed[stream] || !result) return capture[stream].toString();
      const capped = new CappedText(defaultOutputCap);
      capped.append(live.redactor.redact(result[stream]));
      return capped.toString();
    };
    const stdout = text("stdout");
    const stderr = text("stderr");
    const base = { exitCode: result?.exitCode ?? null, stdout, stderr };
    if (live.signal.aborted && !engineTimedOut) return { status: "stopped", ...base, error: "stopped" };
    if (engineTimedOut || result?.timedOut) {
      return {
        status: "timed_out",
        ...base,
        error: `RW_ERR_EXEC_TIMEOUT: the step ran past its timeout of ${timeoutMs} ms and was killed`,
      };
    }
    if (failure !== undefined || !result)
      return { status: "failed", ...base, error: errorText(failure, live.redactor) };
    const expected = planned.step.expect?.exitCode ?? 0;
    if (result.exitCode !== expected) {
      const how =
        result.exitCode === null
          ? `it was killed by ${result.signal ?? "a signal"}`
          : `exit code ${result.exitCode}`;
      return { status: "failed", ...base, error: `${how}, expected ${expected}` };
    }
    const pattern = planned.step.expect?.output;
    if (pattern !== undefined && !new RegExp(pattern).test(result.stdout)) {
      return { status: "failed", ...base, error: `the output did not match /${pattern}/` };
    }
    return { status: "succeeded", ...base, error: "" };
  }

  // ── approvals ──────────────────────────────────────────────────────────────────────────────

  async createApproval(
    session: ExecutionSession,
    step: StepRecord,
    prepared: PreparedStep,
    ticket: Ticket,
  ): Promise<Approval> {
    const now = this.ctx.clock.now();
    const expiresAt = now + this.ctx.policy.approvalTtlMs;
    const { resolved } = prepared.resolution;
    const target = resolved.targetHost
      ? `${resolved.name} (${resolved.connectionType} ${resolved.targetHost}${resolved.targetPort ? `:${resolved.targetPort}` : ""})`
      : `${resolved.name} (${resolved.connectionType})`;
    const approval = await this.ctx.storage.approvals.insert({
      sessionId: session.id,
      stepId: step.id,
      ticketId: session.ticketId,
      status: "pending",
      bindingHash: prepared.bindingHash,
      stepName: step.name,
      renderedCommand: prepared.rendered.command,
      target,
      risk: step.severity,
      ticketTitle: ticket.title,
      startedBy: session.startedBy,
      causedBy: session.causedBy ?? null,
      requiredApprovals: Math.max(1, Math.trunc(this.ctx.policy.requiredApprovals(step))),
      decisions: [],
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      decidedAt: null,
    });
    this.nextExpiry = Math.min(this.nextExpiry, expiresAt);
    return approval;
  }

  /** Announced once the step and session wait for it, so a decision never races the pause. */
  async announceApproval(approval: Approval): Promise<void> {
    await this.deps.audit.record({
      actor: "engine",
      action: "approval.requested",
      objectType: "approval",
      objectId: approval.id,
      origin: "engine",
      details: {
        sessionId: approval.sessionId,
        stepId: approval.stepId,
        step: approval.stepName,
        risk: approval.risk,
        target: approval.target,
      },
    });
    this.ctx.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: approval.sessionId,
      stepId: approval.stepId,
      ticketId: approval.ticketId,
      risk: approval.risk,
    });
    this.log.info({ sessionId: approval.sessionId, approvalId: approval.id }, "approval requested");
  }

  private async pauseForApproval(
    live: Live,
    step: StepRecord,
    approval: Approval,
    announce = true,
  ): Promise<void> {
    if (step.status !== "awaiting_approval" || step.rendered !== approval.renderedCommand) {
      await this.saveStep(live, step, { status: "awaiting_approval", rendered: approval.renderedCommand });
    }
    await this.saveSession(live, { status: "awaiting_approval" });
    if (announce) await this.announceApproval(approval);
  }

  async voidApproval(approval: Approval, why: string): Promise<boolean> {
    try {
      await this.ctx.storage.approvals.update(approval.id, approval.version, {
        status: "void",
        decidedAt: this.ctx.nowIso(),
      });
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") return false;
      throw err;
    }
    this.ctx.events.emit("approval:decided", {
      approvalId: approval.id,
      sessionId: approval.sessionId,
      status: "void",
      actor: "engine",
    });
    await this.deps.audit.record({
      actor: "engine",
      action: "approval.voided",
      objectType: "approval",
      objectId: approval.id,
      origin: "engine",
      details: { sessionId: approval.sessionId, stepId: approval.stepId, reason: why },
    });
    return true;
  }

  /** Expires every pending approval whose time ran out (by ctx.clock). Returns how many. */
  async expireDue(): Promise<number> {
    const now = this.ctx.clock.now();
    if (now < this.nextExpiry) return 0;
    const pending = await this.ctx.storage.approvals.find({ where: { status: "pending" } });
    let next = Number.POSITIVE_INFINITY;
    let expired = 0;
    for (const approval of pending) {
      const at = Date.parse(approval.expiresAt);
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      if (await this.expire(approval)) expired++;
    }
    this.nextExpiry = next;
    return expired;
  }

  /** Expires one approval: the step is rejected and the session stops; the ticket needs a human. */
  async expire(approval: Approval): Promise<boolean> {
    try {
      await this.ctx.storage.approvals.update(approval.id, approval.version, {
        status: "expired",
        decidedAt: this.ctx.nowIso(),
      });
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") return false;
      throw err;
    }
    this.ctx.events.emit("approval:decided", {
      approvalId: approval.id,
      sessionId: approval.sessionId,
      status: "expired",
      actor: "engine",
    });
    await this.deps.audit.record({
      actor: "engine",
      action: "approval.expired",
      objectType: "approval",
      objectId: approval.id,
      origin: "engine",
      details: { sessionId: approval.sessionId, stepId: approval.stepId, expiresAt: approval.expiresAt },
    });
    const reason = `the approval of step "${approval.stepName}" expired undecided at ${approval.expiresAt}`;
    await this.stopSession(approval.sessionId, {
      status: "rejected",
      error: reason,
      stepStatus: { [approval.stepId]: "rejected" },
      ticket: ["needs_human", reason],
    });
    this.log.info({ approvalId: approval.id, sessionId: approval.sessionId }, "approval expired");
    return true;
  }

  // ── transitions ────────────────────────────────────────────────────────────────────────────

  private stepById(live: Live, id: number): StepRecord {
    return live.steps.find((s) => s.id === id)!;
  }

  /** Writes a session change; a concurrent change that stopped the session ends the drive. */
  private async saveSession(live: Live, changes: Changes<"sessions">): Promise<void> {
    await this.commit(live, [{ kind: "session", changes }]);
  }

  /** Writes a step change; if someone else changed the step (a cancel), the drive ends. */
  private async saveStep(live: Live, step: StepRecord, changes: Changes<"steps">): Promise<StepRecord> {
    await this.commit(live, [{ kind: "step", id: step.id, changes }]);
    return this.stepById(live, step.id);
  }

  /** Holds a step's result back, to be stored (then announced) with the session's next commit. */
  private deferStep(live: Live, step: StepRecord, changes: Changes<"steps">, durationMs: number): void {
    const known = this.stepById(live, step.id);
    // The drive reads its records from memory: they show the change now, at the stored version.
    live.steps[live.steps.indexOf(known)] = { ...known, ...changes, id: known.id, version: known.version };
    live.pending.intents.push({ kind: "step", id: step.id, changes });
    live.pending.after.push(() => this.emitStepFinished(live, this.stepById(live, step.id), durationMs));
  }

  /** Holds a session change back, to be stored with the session's next commit. */
  private deferSession(live: Live, changes: Changes<"sessions">): void {
    live.session = { ...live.session, ...changes, id: live.session.id, version: live.session.version };
    live.pending.intents.push({ kind: "session", changes });
  }

  /**
   * Stores what was held back and `intents` in one transaction, then announces them. A session
   * changed concurrently is re-read (stopped: the drive ends); a step changed concurrently (a
   * cancel) ends the drive; a ticket changed concurrently (a repeat alert) is re-read. When the
   * drive ends so, the step results held back are still stored on their own: a finished step's
   * outcome is never lost to a cancel racing the next step's start (which is not stored).
   */
  private async commit(live: Live, intents: readonly Intent[], after?: () => void): Promise<void> {
    const held = live.pending;
    live.pending = { intents: [], after: [] };
    try {
      await this.store(live, [...held.intents, ...intents]);
    } catch (err) {
      const results = held.intents.filter((intent) => intent.kind === "step");
      if (results.length > 0 && err instanceof Superseded) {
        try {
          await this.store(live, results);
          this.announce(live, held.after);
        } catch (again) {
          this.log.warn(
            { sessionId: live.session.id, err: { message: errorText(again, live.redactor) } },
            "step result not stored",
          );
        }
      }
      throw err;
    }
    this.announce(live, after ? [...held.after, after] : held.after);
  }

  private announce(live: Live, after: readonly (() => void)[]): void {
    const { session, announced } = live;
    if (session.status !== announced.status || session.phase !== announced.phase) {
      live.announced = { status: session.status, phase: session.phase };
      this.ctx.events.emit("session:updated", {
        sessionId: session.id,
        ticketId: session.ticketId,
        status: session.status,
        phase: session.phase,
      });
    }
    for (const callback of after) callback();
  }

  /** One batch of the intents (changes of one record merged), retried on a stale session or ticket. */
  private async store(live: Live, intents: readonly Intent[]): Promise<void> {
    if (intents.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const { writes, targets } = this.writesOf(live, intents);
      let stored: BatchResult[];
      try {
        stored = await this.ctx.storage.batch(writes);
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 5) throw err;
        const entity = (err.details as { entity?: string } | undefined)?.entity;
        if (entity === "sessions") {
          const fresh = await this.ctx.storage.sessions.get(live.session.id);
          if (!fresh || isFinalSession(fresh.status)) throw new Superseded("session stopped elsewhere");
          live.session = fresh;
        } else if (entity === "tickets") {
          live.ticket = (await this.ctx.storage.tickets.get(live.ticket.id)) ?? live.ticket;
        } else {
          throw new Superseded("step changed elsewhere");
        }
        continue;
      }
      targets.forEach((target, i) => {
        const doc = stored[i];
        if (target === "session") live.session = doc as ExecutionSession;
        else if (target === "ticket") live.ticket = doc as Ticket;
        else if (typeof target === "number") {
          const at = live.steps.findIndex((s) => s.id === target);
          if (at !== -1) live.steps[at] = doc as StepRecord;
        }
      });
      return;
    }
  }

  /** The writes of `intents`: one update per record (changes merged, in order), audit inserts. */
  private writesOf(
    live: Live,
    intents: readonly Intent[],
  ): { writes: BatchWrite[]; targets: (number | "session" | "ticket" | "audit")[] } {
    const now = this.ctx.nowIso();
    const steps = new Map<number, Changes<"steps">>();
    let session: Changes<"sessions"> | undefined;
    let ticket: Changes<"tickets"> | undefined;
    const audits: BatchWrite[] = [];
    for (const intent of intents) {
      if (intent.kind === "step") steps.set(intent.id, { ...steps.get(intent.id), ...intent.changes });
      else if (intent.kind === "session") session = { ...session, ...intent.changes, updatedAt: now };
      else if (intent.kind === "ticket")
        ticket = { status: intent.status, statusReason: intent.reason, updatedAt: now };
      else audits.push({ collection: "audit", insert: auditDoc(intent.input, now) });
    }
    const writes: BatchWrite[] = [];
    const targets: (number | "session" | "ticket" | "audit")[] = [];
    for (const [id, changes] of steps) {
      writes.push({
        collection: "steps",
        update: { id, expectedVersion: this.stepById(live, id).version, changes },
      });
      targets.push(id);
    }
    if (session) {
      writes.push({
        collection: "sessions",
        update: { id: live.session.id, expectedVersion: live.session.version, changes: session },
      });
      targets.push("session");
    }
    if (ticket) {
      writes.push({
        collection: "tickets",
        update: { id: live.ticket.id, expectedVersion: live.ticket.version, changes: ticket },
      });
      targets.push("ticket");
    }
    for (const write of audits) {
      writes.push(write);
      targets.push("audit");
    }
    return { writes, targets };
  }

  private emitStepFinished(live: Live, step: StepRecord, durationMs: number): void {
    this.ctx.events.emit("step:finished", {
      sessionId: live.session.id,
      stepId: step.id,
      name: step.name,
      status: step.status,
      exitCode: step.exitCode,
      durationMs,
    });
  }

  /** A step stopped mid-flight: a person chooses retry, skip or abort (idempotent ones retry). */
  private async interrupt(
    live: Live,
    step: StepRecord,
    output?: { stdout: string; stderr: string },
    processCheck?: StepProcessCheck,
  ): Promise<void> {
    const known = this.stepById(live, step.id);
    if (known.idempotent) {
      // Safe to run again: the next engine (or drive) retries it.
      await this.saveStep(live, known, {
        status: known.requiresApproval ? "approved" : "pending",
        ...(output ?? {}),
      });
      return;
    }
    const found = processCheck ? ` (its process: ${processCheck.outcome})` : "";
    const reason = `step "${known.name}" was interrupted while running${found}; choose retry, skip or abort`;
    await this.saveStep(live, known, {
      status: "interrupted",
      error: `the engine stopped while the step was running${processCheck ? `; ${processCheck.reason}` : ""}`,
      finishedAt: this.ctx.nowIso(),
      ...(output ?? {}),
      ...(processCheck ? { processCheck } : {}),
    });
    this.emitStepFinished(live, this.stepById(live, known.id), 0);
    await this.saveSession(live, { status: "interrupted", error: reason });
    await this.deps.audit.record({
      actor: "engine",
      action: "step.interrupted",
      objectType: "session",
      objectId: live.session.id,
      origin: "engine",
      details: {
        stepId: known.id,
        step: known.name,
        ...(processCheck ? { process: processCheck.outcome } : {}),
      },
    });
    await this.setTicket(live.session.ticketId, "needs_human", reason);
    this.log.warn({ sessionId: live.session.id, stepId: known.id }, "step interrupted");
  }

  /**
   * A step found running when this engine took the session over: the process group its journal
   * records (a local step's) is killed if it still runs, so a retry never runs beside it.
   */
  private reapLeftover(live: Live, step: StepRecord): StepProcessCheck {
    const check = reapProcessGroup(step.process, this.ctx.nowIso());
    this.log.warn(
      { sessionId: live.session.id, stepId: step.id, pgid: step.process?.pgid, process: check.outcome },
      "process of an interrupted step checked",
    );
    return check;
  }

  /**
   * Ends a session this process drives: the last step's result, the skipped steps, the session's
   * status, its audit event and its ticket's status are stored in one commit, then announced.
   */
  private async finish(live: Live, status: SessionStatus, error: string | null): Promise<void> {
    const intents: Intent[] = [];
    for (const step of live.steps) {
      if (!finalStepStatuses.has(step.status))
        intents.push({ kind: "step", id: step.id, changes: { status: "skipped" } });
    }
    intents.push({ kind: "session", changes: { status, error, finishedAt: this.ctx.nowIso() } });
    const outcome = this.outcomeOf({ ...live.session, status, error }, live.runbook);
    intents.push({ kind: "audit", input: outcome.audit });
    if (outcome.ticket)
      intents.push({ kind: "ticket", status: outcome.ticket[0], reason: outcome.ticket[1] });
    await this.commit(live, intents, () => {
      this.emitFinished(live.session);
      if (outcome.ticket) this.emitTicket(live.session.ticketId, outcome.ticket[0], outcome.ticket[1]);
    });
    await this.judged(live.session);
  }

  /**
   * Stores a started session's audit event and its ticket's new status in one commit (re-reading
   * the ticket when a repeat alert changed it meanwhile); returns the ticket as stored.
   */
  async recordStart(
    ticket: Ticket,
    audit: AuditRecordInput,
    status: TicketStatus,
    reason: string,
  ): Promise<Ticket> {
    let current = ticket;
    for (let attempt = 0; ; attempt++) {
      const now = this.ctx.nowIso();
      try {
        const [, stored] = await this.ctx.storage.batch([
          { collection: "audit", insert: auditDoc(audit, now) },
          {
            collection: "tickets",
            update: {
              id: current.id,
              expectedVersion: current.version,
              changes: { status, statusReason: reason, updatedAt: now },
            },
          },
        ]);
        this.emitTicket(current.id, status, reason);
        return stored as Ticket;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 5) throw err;
        current = await this.deps.tickets.get(ticket.id);
      }
    }
  }

  /** Events, audit, breaker and ticket status once a session reached a final status. */
  async afterFinish(session: ExecutionSession, runbook?: Runbook): Promise<void> {
    this.emitFinished(session);
    const outcome = this.outcomeOf(session, runbook);
    await this.deps.audit.record(outcome.audit);
    if (outcome.ticket) await this.setTicket(session.ticketId, outcome.ticket[0], outcome.ticket[1]);
    await this.judged(session);
  }

  /** What a final status means for the audit log and the ticket. */
  private outcomeOf(
    session: ExecutionSession,
    runbook: Runbook | undefined,
  ): { audit: AuditRecordInput; ticket?: [TicketStatus, string] } {
    const { status, error } = session;
    const audit: AuditRecordInput = {
      actor: "engine",
      action: "session.finished",
      objectType: "session",
      objectId: session.id,
      origin: "engine",
      details: { status, error, ticketId: session.ticketId, runbook: session.runbookKey },
    };
    if (session.dryRun) return { audit };
    if (status === "succeeded")
      return { audit, ticket: ["resolved", `runbook "${runbook?.title ?? session.runbookKey}" succeeded`] };
    if (status === "failed" || status === "rolled_back") {
      const reason =
        status === "rolled_back"
          ? `${error ?? "a step failed"}; rolled back`
          : (error ?? "the runbook failed");
      return { audit, ticket: ["failed", reason] };
    }
    return { audit };
  }

  private emitFinished(session: ExecutionSession): void {
    this.ctx.events.emit("session:finished", {
      sessionId: session.id,
      ticketId: session.ticketId,
      status: session.status,
      error: session.error,
    });
  }

  private emitTicket(ticketId: number, status: TicketStatus, reason: string | null): void {
    this.ctx.events.emit("ticket:updated", { ticketId, status, reason });
    this.log.info({ ticketId, status }, "ticket status changed");
  }

  /** The circuit breaker's count of the runbook's outcomes, once a session is over. */
  private async judged(session: ExecutionSession): Promise<void> {
    if (!session.dryRun) {
      if (session.status === "succeeded") this.breaker.success(session.runbookKey);
      else if (
        (session.status === "failed" || session.status === "rolled_back") &&
        this.breaker.failure(session.runbookKey)
      )
        await this.announceBreaker(session.runbookKey);
    }
    this.log.info({ sessionId: session.id, status: session.status }, "session finished");
  }

  private async announceBreaker(runbookKey: string): Promise<void> {
    const state = this.breaker.state(runbookKey);
    this.log.warn(
      { runbook: runbookKey, failures: state.failures, until: state.until },
      "auto-execution paused",
    );
    await this.deps.audit.record({
      actor: "engine",
      action: "runbook.auto_execution_paused",
      objectType: "runbook",
      objectId: runbookKey,
      origin: "engine",
      details: { failures: state.failures, until: state.until },
    });
  }

  /**
   * Stops a session that is not being driven here (rejected, expired, cancelled, aborted):
   * remaining steps are skipped, pending approvals voided, the ticket updated.
   */
  async stopSession(
    sessionId: number,
    stop: {
      status: SessionStatus;
      error: string;
      stepStatus?: Record<number, StepStatus>;
      ticket?: [TicketStatus, string];
      keepApproval?: number;
    },
  ): Promise<ExecutionSession> {
    const steps = await this.loadSteps(sessionId);
    const local = this.driving.has(sessionId);
    for (const step of steps) {
      if (finalStepStatuses.has(step.status)) continue;
      // A step running here is ended by its own drive (the cancel signal kills it).
      if (step.status === "running" && local) continue;
      const status = stop.stepStatus?.[step.id] ?? (step.status === "running" ? "cancelled" : "skipped");
      try {
        await this.ctx.storage.steps.update(step.id, step.version, { status, finishedAt: this.ctx.nowIso() });
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
    const pending = await this.ctx.storage.approvals.find({ where: { sessionId, status: "pending" } });
    for (const approval of pending) {
      if (approval.id !== stop.keepApproval) await this.voidApproval(approval, `the session ${stop.status}`);
    }
    let session: ExecutionSession | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.ctx.storage.sessions.get(sessionId);
      if (!current)
        throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no session with id ${sessionId}`, {
          details: { entity: "session", id: sessionId },
        });
      if (isFinalSession(current.status)) return current;
      try {
        const now = this.ctx.nowIso();
        session = await this.ctx.storage.sessions.update(sessionId, current.version, {
          status: stop.status,
          error: stop.error,
          finishedAt: now,
          updatedAt: now,
        });
        break;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
    if (!session)
      throw rwError("RW_ERR_APPROVAL_CONFLICT", "the session kept changing while it was being stopped");
    this.ctx.events.emit("session:updated", {
      sessionId,
      ticketId: session.ticketId,
      status: session.status,
      phase: session.phase,
    });
    await this.afterFinish(session);
    if (stop.ticket) await this.setTicket(session.ticketId, stop.ticket[0], stop.ticket[1]);
    return session;
  }

  async setTicket(ticketId: number, status: TicketStatus, reason: string | null): Promise<void> {
    try {
      await this.deps.tickets.setStatus(ticketId, status, reason);
      this.ctx.events.emit("ticket:updated", { ticketId, status, reason });
    } catch (err) {
      this.log.warn(
        { ticketId, status, err: { message: (err as Error).message } },
        "ticket status not updated",
      );
    }
  }

  /** Marks a session to be driven again (after an approval or a person's choice) and drives it. */
  async resume(session: ExecutionSession, changes: Changes<"sessions">): Promise<ExecutionSession> {
    const updated = await this.ctx.storage.sessions.update(session.id, session.version, {
      ...changes,
      status: "running",
      updatedAt: this.ctx.nowIso(),
    });
    this.ctx.events.emit("session:updated", {
      sessionId: updated.id,
      ticketId: updated.ticketId,
      status: updated.status,
      phase: updated.phase,
    });
    // The session has no lease now: whichever instance claims it first drives it (usually us).
    // A drive of it still winding down here releases its lease first.
    const winding = this.driving.get(session.id) ?? Promise.resolve();
    void winding.then(() => this.claimPass()).catch((err) => this.log.warn({ err }, "claim failed"));
    return updated;
  }
}

function phaseLabel(phase: Phase): string {
  return phase === "prechecks"
    ? "precheck"
    : phase === "postchecks"
      ? "postcheck"
      : phase === "rollback"
        ? "rollback step"
        : "step";
}

function secretsOf(prepared: PreparedStep): string[] {
  return Object.values(prepared.resolution.resolved.credential?.secrets ?? {});
}

/** `CODE: message` of an error, with every secret of the session redacted. */
export function errorText(err: unknown, redactor: Redactor): string {
  const text = isRunwardenError(err)
    ? `${(err as RunwardenError).code}: ${err.message}`
    : err instanceof Error
      ? err.message
      : String(err);
  const redacted = redactor.redact(text);
  return redacted.length > 2_000 ? `${redacted.slice(0, 2_000)}…` : redacted;
}

export function codeOf(err: unknown): ErrorCode | undefined {
  return isRunwardenError(err) ? err.code : undefined;
}
