/**
 * The session runner: drives a session through prechecks → main → postchecks (→ rollback), one
 * step at a time, persisting every transition (session-writer.ts) before acting on it, stopping at
 * approvals (approval-requests.ts) and ending it (outcome.ts). It owns the drives of this process
 * and their lifecycle; leases.ts decides which sessions it drives, attempt.ts runs each step and
 * failure.ts decides what a failed step means.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Runbook } from "@runwarden/runbook-parser";
import type { Logger } from "pino";
import type { ExecutionSession, RunbookRecord, SessionStatus, StepRecord } from "../domain.js";
import { rwError } from "../errors.js";
import type { ConnectionResolver } from "../internal/connection-resolver.js";
import type { EngineContext } from "../internal/context.js";
import type { Changes } from "../storage.js";
import type { ApprovalRequests } from "./approval-requests.js";
import { Attempts } from "./attempt.js";
import { KeyedSemaphore, Semaphore } from "./concurrency.js";
import { Failures } from "./failure.js";
import type { Interrupts } from "./interrupt.js";
import { Leases } from "./leases.js";
import {
  type ExecutorDeps,
  errorText,
  finalStepStatuses,
  type Hint,
  isFinalSession,
  type Live,
  loadSteps,
  type StopReason,
  Superseded,
  secretsOf,
} from "./live.js";
import type { Outcomes } from "./outcome.js";
import { flattenRunbook, type PreparedStep, prepareStep } from "./plan.js";
import { Redactor } from "./redaction.js";
import type { SessionWriter } from "./session-writer.js";

/** Claim passes run this often at most (more often with a short lease: a third of it). */
const claimIntervalMs = 5_000;
const cancelTopic = "runwarden.session.cancel";

/** The parts the runner drives sessions with, built by createExecutor. */
export interface RunnerParts {
  log: Logger;
  writer: SessionWriter;
  outcomes: Outcomes;
  requests: ApprovalRequests;
  interrupts: Interrupts;
}

export class Runner {
  readonly log: Logger;
  readonly resolver: ConnectionResolver;
  private readonly writer: SessionWriter;
  private readonly outcomes: Outcomes;
  private readonly requests: ApprovalRequests;
  private readonly interrupts: Interrupts;
  private readonly attempts: Attempts;
  private readonly failures: Failures;
  readonly leases: Leases;
  private readonly slots: Semaphore;
  private readonly perConnection: KeyedSemaphore;
  private readonly driving = new Map<number, Promise<void>>();
  private readonly controllers = new Map<number, AbortController>();
  private readonly redactors = new Map<number, Redactor>();
  /** Sessions just created in this process: drive them without reading them back. */
  private readonly hints = new Map<number, Hint>();
  private readonly plans = new Map<number, { record: RunbookRecord; runbook: Runbook }>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private unsubscribeReady: (() => void) | undefined;
  private closing = false;

  constructor(
    readonly ctx: EngineContext,
    readonly deps: ExecutorDeps,
    parts: RunnerParts,
  ) {
    this.log = parts.log;
    this.resolver = deps.resolver;
    this.writer = parts.writer;
    this.outcomes = parts.outcomes;
    this.requests = parts.requests;
    this.interrupts = parts.interrupts;
    this.slots = new Semaphore(Math.max(1, ctx.policy.maxConcurrentSessions));
    this.perConnection = new KeyedSemaphore(Math.max(1, ctx.policy.maxConcurrentPerConnection));
    this.attempts = new Attempts(ctx, {
      log: this.log,
      deps,
      writer: this.writer,
      interrupts: this.interrupts,
      perConnection: this.perConnection,
      isClosing: () => this.closing,
    });
    this.failures = new Failures({ log: this.log, writer: this.writer, outcomes: this.outcomes });
    this.leases = new Leases(ctx, {
      log: this.log,
      driving: this.driving,
      controllers: this.controllers,
      drive: (sessionId) => this.drive(sessionId),
      isClosing: () => this.closing,
    });
  }

  /** Resumes sessions left by an earlier process, then claims and sweeps in the background. */
  async start(): Promise<void> {
    if (this.timers.length > 0) return;
    this.unsubscribe = this.ctx.storage.signals.subscribe(cancelTopic, (payload) => {
      this.controllers.get(Number(payload))?.abort({ kind: "cancel" } satisfies StopReason);
    });
    if (this.ctx.storage.shared) {
      this.unsubscribeReady = this.leases.listen();
    }
    // A store no other instance shares has no live owner but us: take over every lease now
    // instead of waiting for the dead process's leases to run out.
    await this.leases.claimPass(this.ctx.storage.shared ? undefined : "9999-01-01T00:00:00.000Z");
    // A session paused for approval by a process killed before it let go of the lease would not
    // be claimable after its approval until that lease ran out: drop such leases too.
    if (!this.ctx.storage.shared) await this.leases.releasePaused();
    const pending = await this.ctx.storage.approvals.find({ where: { status: "pending" } });
    for (const approval of pending)
      this.requests.nextExpiry = Math.min(this.requests.nextExpiry, Date.parse(approval.expiresAt));
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        if (!this.closing) task().catch((err) => this.log.warn({ err }, "background task failed"));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.min(claimIntervalMs, this.leases.leaseTtlMs / 3), () => this.leases.claimPass());
    every(this.leases.leaseTtlMs / 3, () => this.leases.renewLeases());
    every(1_000, () => this.requests.expireDue());
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
        this.leases.ended(sessionId);
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
          await this.leases.claimPass().catch((err) => this.log.warn({ err }, "claim failed"));
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
    return loadSteps(this.ctx.storage, sessionId);
  }

  private async load(sessionId: number, signal: AbortSignal): Promise<Live | undefined> {
    const hint = this.hints.get(sessionId);
    if (hint) {
      this.hints.delete(sessionId);
      this.leases.noteLease(hint.session);
      return { ...hint, signal, ...this.fresh(hint.session) };
    }
    const session = await this.ctx.storage.sessions.get(sessionId);
    if (!session) return undefined;
    this.leases.noteLease(session);
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
        await this.writer.saveSession(live, { status: "running" });
      }
      try {
        await this.loop(live);
      } finally {
        // The loop may stop (closing, a lost lease) right after a step whose result it held back.
        if (live.pending.intents.length > 0) await this.writer.commit(live, []);
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
        await this.outcomes.finish(
          live,
          inRollback ? "rolled_back" : "succeeded",
          inRollback ? live.session.error : null,
        );
        return;
      }
      if (!inRollback && step.phase !== live.session.phase)
        this.writer.deferSession(live, { phase: step.phase });
      const planned = live.planned[step.index];
      if (!planned) {
        await this.outcomes.finish(
          live,
          "failed",
          `the runbook has no step ${step.index}: it changed under the session`,
        );
        return;
      }
      // Never start (or judge) a step on a lease that may have passed to another instance.
      if (!(await this.leases.holdsLease(live))) return;
      let outcome: "succeeded" | "failed" | "paused";
      switch (step.status) {
        case "running":
        case "interrupted": {
          // Left mid-flight by a process that died or stopped: its process group may live on.
          const processCheck = this.interrupts.reapLeftover(live, step);
          if (!step.idempotent) {
            await this.interrupts.interrupt(live, step, undefined, processCheck);
            return;
          }
          this.log.info(
            { sessionId: live.session.id, stepId: step.id },
            "retrying idempotent step after interruption",
          );
          const checked = await this.writer.saveStep(live, step, { processCheck });
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
        const stop = await this.failures.afterFailure(live, step, planned);
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
      await this.writer.saveStep(live, step, {
        status: "failed",
        error: errorText(err, live.redactor),
        finishedAt: this.ctx.nowIso(),
      });
      this.writer.emitStepFinished(live, this.writer.stepById(live, step.id), 0);
      return "failed";
    }
    live.redactor.add(secretsOf(prepared));
    if (step.requiresApproval) {
      if (live.pending.intents.length > 0) await this.writer.commit(live, []);
      const approvals = await this.ctx.storage.approvals.find({ where: { stepId: step.id }, order: "desc" });
      const granted = approvals.find((a) => a.status === "approved");
      const waiting = approvals.find((a) => a.status === "pending");
      if (waiting && waiting.bindingHash === prepared.bindingHash) {
        await this.requests.pauseForApproval(live, step, waiting, false);
        return "paused";
      }
      if (waiting)
        await this.requests.voidApproval(waiting, "the rendered command, target or credential changed");
      if (step.status !== "approved" || !granted || granted.bindingHash !== prepared.bindingHash) {
        if (granted && granted.bindingHash !== prepared.bindingHash) {
          await this.requests.voidApproval(
            granted,
            "the rendered command, target or credential changed after approval",
          );
        }
        const approval = await this.requests.createApproval(live.session, step, prepared, live.ticket);
        await this.requests.pauseForApproval(live, step, approval);
        return "paused";
      }
    }
    return this.attempts.execute(live, step, prepared);
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
    void winding.then(() => this.leases.claimPass()).catch((err) => this.log.warn({ err }, "claim failed"));
    return updated;
  }
}
