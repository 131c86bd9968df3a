/**
 * The approval-gated executor: execution sessions (start, dry run, cancel, resume after a crash)
 * and approvals (approve, reject, expire), over the engine's store.
 */
import type { Runbook } from "@runwarden/runbook-parser";
import type {
  Approval,
  ApprovalStatus,
  ExecutionSession,
  Phase,
  SessionStatus,
  StepRecord,
  Ticket,
} from "../domain.js";
import { finalSessionStatuses } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { type Actor, engineActor, excludedApprovers } from "../policy.js";
import type { Page } from "../runbooks.js";
import { ApprovalRequests } from "./approval-requests.js";
import type { BreakerState } from "./concurrency.js";
import { CircuitBreaker } from "./concurrency.js";
import { Interrupts } from "./interrupt.js";
import { type ExecutorDeps, errorText } from "./live.js";
import { Outcomes } from "./outcome.js";
import { declaredConnection, flattenRunbook, ignoredTicketConnection, type PreparedStep } from "./plan.js";
import { Redactor } from "./redaction.js";
import { Runner } from "./runner.js";
import { SessionWriter } from "./session-writer.js";
import { SessionStopper } from "./stop.js";

export type { BreakerState } from "./concurrency.js";
export type { ExecutorDeps, RunbooksPort, TicketsPort } from "./live.js";
export { type LocalConnectorConfig, localConnector } from "./local.js";
export { redactedMarker } from "./redaction.js";
export { shellQuote } from "./templates.js";

export interface StartOptions {
  /** Who starts it (recorded as `startedBy` and in the audit log). Default: the engine. */
  actor?: Actor;
  /**
   * Who caused it (recorded as `causedBy`): for an auto-execution, the ticket's submitter.
   * Default: the starter. A high_risk step needs an approver who is neither.
   */
  causedBy?: string | null;
  /** Render and resolve everything, run nothing, return the plan. */
  dryRun?: boolean;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/** One step of a plan: what would run where, and who must approve it. */
export interface PlanEntry {
  index: number;
  phase: Phase;
  name: string;
  /** The command as the runbook writes it. */
  command: string;
  /** The command as it would run; null when it cannot be rendered (see `error`). */
  rendered: string | null;
  language: string;
  connection: {
    name: string;
    connectionType: string;
    targetHost: string | null;
    targetPort: number | null;
    targetService: string | null;
    environment: string;
    credentialId: number | null;
    /** Where the connection came from: the step, the runbook, the ticket, or the default. */
    source: PreparedStep["connectionSource"];
  } | null;
  requiresApproval: boolean;
  approvalsRequired: number;
  severity: StepRecord["severity"];
  timeoutMs: number;
  retries: number;
  onFailure: "abort" | "continue" | "rollback";
  idempotent: boolean;
  /** Why the step could not be prepared (`CODE: message`), or null. */
  error: string | null;
  /**
   * For a compensation (a rollback step made from a step's `compensate` annotation): the step it
   * undoes. It runs only when the session rolls back after that step succeeded.
   */
  compensates?: { index: number; name: string };
}

export interface TimelineEntry {
  at: string;
  /** `session.created`, `step.started`, `approval.approved`, `session.cancelled`, … */
  kind: string;
  message: string;
  actor?: string;
  stepId?: number;
  approvalId?: number;
}

/** A session with everything a person needs to follow it. */
export interface ExecutionDetail {
  session: ExecutionSession;
  steps: StepRecord[];
  approvals: Approval[];
  timeline: TimelineEntry[];
  /** Returned by `start()`: what the session will do (for a dry run, what it would do). */
  plan?: PlanEntry[];
}

export interface ListExecutionsQuery {
  ticketId?: number;
  status?: SessionStatus;
  /** Default 50, at most 500. */
  limit?: number;
  cursor?: number;
}

export interface ExecutionsApi {
  /**
   * Starts a session of the runbook for the ticket (bound to that runbook version) and returns at
   * once; the steps run in the background. With `dryRun`, runs nothing and returns the plan.
   * Throws RW_ERR_EXEC_STATE when a session of the same runbook is already live for the
   * ticket's fingerprint (details.sessionId), RW_ERR_RUNBOOK_LIFECYCLE for a retired runbook.
   */
  start(ticketId: number, runbookId: number, options?: StartOptions): Promise<ExecutionDetail>;
  /** Session, steps, approvals and timeline. Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<ExecutionDetail>;
  /** Newest first. */
  list(query?: ListExecutionsQuery): Promise<Page<ExecutionSession>>;
  /** Stops a live session: a running step is killed, pending approvals are voided. */
  cancel(id: number, options: { actor: Actor; reason?: string; origin?: string }): Promise<ExecutionSession>;
  /** A person's choice for an interrupted step: run it again, skip it, or abort the session. */
  resolveInterrupted(
    sessionId: number,
    stepId: number,
    choice: "retry" | "skip" | "abort",
    options: { actor: Actor; origin?: string },
  ): Promise<ExecutionSession>;
  /**
   * Resolves when the session stops moving on its own: finished, awaiting approval or
   * interrupted. Rejects with RW_ERR_EXEC_TIMEOUT after `timeoutMs` (default 60 s).
   */
  settled(id: number, options?: { timeoutMs?: number }): Promise<ExecutionSession>;
  /** The circuit breaker of a runbook key (auto-execution pauses while it is open). */
  breaker(runbookKey: string): BreakerState;
  /** Closes a runbook's breaker by hand (audited). */
  resetBreaker(runbookKey: string, options: { actor: Actor; origin?: string }): Promise<void>;
}

export interface ListApprovalsQuery {
  status?: ApprovalStatus;
  sessionId?: number;
  ticketId?: number;
  /** Default 50, at most 500. */
  limit?: number;
  cursor?: number;
}

export interface DecisionOptions {
  actor: Actor;
  comment?: string;
  origin?: string;
}

export interface ApprovalsApi {
  /** Newest first. */
  list(query?: ListApprovalsQuery): Promise<Page<Approval>>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<Approval>;
  /**
   * Approves. Throws RW_ERR_APPROVAL_FORBIDDEN (no approver role), RW_ERR_APPROVAL_SAME_ACTOR
   * (a high_risk step and the actor started or caused the session: `excludedApprovers`), RW_ERR_APPROVAL_CONFLICT (decided
   * already, or concurrently), RW_ERR_APPROVAL_EXPIRED, RW_ERR_APPROVAL_VOID (what would run
   * changed; `details.replacedBy` is the new approval). When enough approvals are in, the step runs.
   */
  approve(id: number, options: DecisionOptions): Promise<Approval>;
  /** Rejects: the session stops and the ticket needs a human, with the reason on it. */
  reject(id: number, options: DecisionOptions): Promise<Approval>;
  /** Expires approvals whose time ran out (by the engine's clock); the sweeper calls it. */
  expireDue(): Promise<number>;
}

export interface Executor {
  executions: ExecutionsApi;
  approvals: ApprovalsApi;
  /** Resumes sessions of earlier processes; starts claiming and expiring in the background. */
  start(): Promise<void>;
  /** Stops background work; lets running steps finish (policy.closeGraceMs), then interrupts them. */
  close(): Promise<void>;
  /** Starts the auto-execution analysis decided for a ticket (engine.ts hands it to intake). */
  autoExecute(ticket: Ticket): Promise<void>;
  /** Cancels the waiting sessions of a ticket its source resolved (handed to intake and sync). */
  ticketResolved(ticket: Ticket, reason: string): Promise<void>;
}

const isFinal = (status: SessionStatus) => (finalSessionStatuses as readonly string[]).includes(status);

/** Creates the executor; engine.ts links its `autoExecute` and `ticketResolved` to intake. */
export function createExecutor(ctx: EngineContext, deps: ExecutorDeps): Executor {
  const log = ctx.logger.child({ component: "executor" });
  const breaker = new CircuitBreaker(
    ctx.policy.circuitBreakerThreshold,
    ctx.policy.circuitBreakerCooldownMs,
    ctx.clock,
  );
  const writer = new SessionWriter(ctx, log);
  const outcomes = new Outcomes(ctx, { log, deps, breaker, writer });
  const requests: ApprovalRequests = new ApprovalRequests(ctx, {
    log,
    deps,
    writer,
    stopSession: (sessionId, stop) => stopper.stopSession(sessionId, stop),
  });
  const stopper: SessionStopper = new SessionStopper(ctx, {
    requests,
    outcomes,
    isDriving: (sessionId) => runner.isDrivingLocally(sessionId),
  });
  const interrupts = new Interrupts(ctx, { log, deps, writer, outcomes });
  const runner = new Runner(ctx, deps, { log, writer, outcomes, requests, interrupts });
  const { leases } = runner;
  const storage = ctx.storage;

  const loadSession = async (id: number) => {
    const session = await storage.sessions.get(id);
    if (!session)
      throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no session with id ${id}`, {
        details: { entity: "session", id },
      });
    return session;
  };
  const loadApproval = async (id: number) => {
    const approval = await storage.approvals.get(id);
    if (!approval)
      throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no approval with id ${id}`, {
        details: { entity: "approval", id },
      });
    return approval;
  };
  const page = <T extends { id: number }>(items: T[], limit: number): Page<T> => {
    const shown = items.slice(0, limit);
    return { items: shown, nextCursor: items.length > limit ? shown[shown.length - 1]!.id : null };
  };
  const clampLimit = (limit: number | undefined) => Math.min(Math.max(1, Math.trunc(limit ?? 50)), 500);

  // ── start ────────────────────────────────────────────────────────────────────────────────────

  async function start(
    ticketId: number,
    runbookId: number,
    options: StartOptions = {},
  ): Promise<ExecutionDetail> {
    const actor = options.actor ?? engineActor;
    const dryRun = options.dryRun === true;
    const [ticket, { record, runbook }] = await Promise.all([
      deps.tickets.get(ticketId),
      runner.runbookOf(runbookId),
    ]);
    if (record.status === "retired") {
      throw rwError(
        "RW_ERR_RUNBOOK_LIFECYCLE",
        `runbook "${record.title}" (revision ${record.revision}) is retired`,
        {
          details: { runbookId, status: record.status },
        },
      );
    }
    const planned = flattenRunbook(runbook);
    const redactor = new Redactor(ctx.redactor);
    const plan = await planOf(ticket, runbook, planned, redactor);
    const firstError = plan.find((p) => p.error !== null);
    const now = ctx.nowIso();
    const firstPhase = planned[0]?.phase ?? "main";
    const failed = firstError !== undefined;
    const status: SessionStatus = dryRun ? (failed ? "failed" : "succeeded") : failed ? "failed" : "running";
    const error = firstError
      ? `${phaseName(firstError.phase)} "${firstError.name}": ${firstError.error}; nothing was run`
      : null;
    const ignored = ignoredTicketConnection(
      runbook,
      record.key,
      ticket,
      planned.map((p) => p.step),
    );
    if (ignored) log.warn({ ticketId, runbook: record.key }, "ticket connection_config ignored");
    let created: { session: ExecutionSession; steps: StepRecord[] };
    try {
      created = await storage.createSession(
        {
          ticketId,
          runbookId,
          runbookKey: record.key,
          runbookRevision: record.revision,
          status,
          phase: firstPhase,
          dryRun,
          startedBy: actor.id,
          causedBy: options.causedBy === undefined ? actor.id : options.causedBy,
          fingerprint: ticket.fingerprint,
          createdAt: now,
          updatedAt: now,
          finishedAt: dryRun || failed ? now : null,
          error,
          lease: dryRun || failed ? null : leases.newLease(),
          ...(ignored ? { warnings: [ignored] } : {}),
        },
        plan.map((entry) => ({
          index: entry.index,
          phase: entry.phase,
          name: entry.name,
          command: entry.command,
          rendered: entry.rendered,
          language: entry.language,
          connection:
            entry.connection?.name ?? declaredConnection(planned[entry.index]!.step, runbook, ticket),
          requiresApproval: entry.requiresApproval,
          severity: entry.severity,
          idempotent: entry.idempotent,
          status: dryRun ? "skipped" : entry === firstError ? "failed" : failed ? "skipped" : "pending",
          attempts: 0,
          exitCode: null,
          stdout: "",
          stderr: "",
          startedAt: null,
          finishedAt: dryRun || failed ? now : null,
          error: entry.error,
        })),
      );
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") {
        const [live] = await storage.sessions.find({
          where: {
            fingerprint: ticket.fingerprint,
            status: { in: ["pending", "running", "awaiting_approval", "interrupted"] },
          },
          order: "desc",
          limit: 10,
        });
        throw rwError(
          "RW_ERR_EXEC_STATE",
          `a session of runbook "${record.key}" is already live for this ticket's fingerprint`,
          { details: { ticketId, runbookKey: record.key, sessionId: live?.id ?? null }, cause: err },
        );
      }
      throw err;
    }
    const { session, steps } = created;
    ctx.events.emit("session:created", { sessionId: session.id, ticketId, runbookId, dryRun });
    const started = {
      actor: actor.id,
      action: dryRun ? "session.dry_run" : "session.started",
      objectType: "session",
      objectId: session.id,
      origin: options.origin ?? null,
      details: {
        ticketId,
        runbookId,
        runbook: record.key,
        revision: record.revision,
        dryRun,
        causedBy: session.causedBy ?? null,
      },
    };
    const drives = !dryRun && !failed;
    // A session that runs: its audit event and its ticket's "executing" are one commit.
    let current = ticket;
    if (drives)
      current = await outcomes.recordStart(
        ticket,
        started,
        "executing",
        `running runbook "${runbook.title}"`,
      );
    else await deps.audit.record(started);
    log.info({ sessionId: session.id, ticketId, runbookId, dryRun }, "session created");
    if (drives && session.lease === null) {
      // No room in this instance (shared store): another instance with room claims it.
      await leases.offer(session.id);
    } else if (drives) {
      runner.hint({ session, steps, ticket: current, runbook, planned, redactor });
      void runner.drive(session.id);
    } else if (!dryRun) {
      await outcomes.afterFinish(session, runbook);
    } else {
      ctx.events.emit("session:finished", {
        sessionId: session.id,
        ticketId,
        status: session.status,
        error: session.error,
      });
    }
    return { session, steps, approvals: [], timeline: timelineOf(session, steps, [], []), plan };
  }

  /** Renders and resolves every step; a failure is recorded on its entry, never thrown. */
  async function planOf(
    ticket: Ticket,
    runbook: Runbook,
    planned: ReturnType<typeof flattenRunbook>,
    redactor: Redactor,
  ): Promise<PlanEntry[]> {
    const entries: PlanEntry[] = [];
    for (const { index, phase, step, compensates } of planned) {
      const base = {
        index,
        phase,
        name: step.name,
        command: step.command,
        language: step.language,
        requiresApproval: step.requiresApproval,
        approvalsRequired: step.requiresApproval
          ? Math.max(1, Math.trunc(ctx.policy.requiredApprovals(step)))
          : 0,
        severity: step.severity,
        timeoutMs: step.timeoutMs ?? runbook.metadata.timeoutMs ?? ctx.policy.defaultStepTimeoutMs,
        retries: step.retries,
        onFailure: step.onFailure,
        idempotent: step.idempotent,
        ...(compensates !== undefined
          ? { compensates: { index: compensates, name: planned[compensates]!.step.name } }
          : {}),
      };
      try {
        const prepared = await runner.prepare({ runbook, ticket, planned }, index);
        redactor.add(Object.values(prepared.resolution.resolved.credential?.secrets ?? {}));
        const { resolved } = prepared.resolution;
        entries.push({
          ...base,
          language: prepared.language,
          rendered: prepared.rendered.command,
          connection: {
            name: resolved.name,
            connectionType: resolved.connectionType,
            targetHost: resolved.targetHost,
            targetPort: resolved.targetPort,
            targetService: resolved.targetService,
            environment: resolved.environment,
            credentialId: resolved.credential?.id ?? null,
            source: prepared.connectionSource,
          },
          error: null,
        });
      } catch (err) {
        entries.push({ ...base, rendered: null, connection: null, error: errorText(err, redactor) });
      }
    }
    return entries;
  }

  // ── decisions ────────────────────────────────────────────────────────────────────────────────

  async function decide(
    id: number,
    decision: "approve" | "reject",
    options: DecisionOptions,
  ): Promise<Approval> {
    const { actor } = options;
    const comment = options.comment ?? "";
    const approval = await loadApproval(id);
    if (approval.status === "expired") throw expiredError(approval);
    if (approval.status !== "pending") {
      throw rwError("RW_ERR_APPROVAL_CONFLICT", `approval ${id} is already ${approval.status}`, {
        details: { approvalId: id, status: approval.status, decisions: approval.decisions },
      });
    }
    if (ctx.clock.now() >= Date.parse(approval.expiresAt)) {
      await requests.expire(approval);
      throw expiredError(approval);
    }
    if (!ctx.policy.canApprove(actor)) {
      throw rwError("RW_ERR_APPROVAL_FORBIDDEN", `${actor.id} may not decide approvals`, {
        details: { approvalId: id, actor: actor.id },
      });
    }
    if (decision === "approve") {
      if (excludedApprovers(approval).includes(actor.id)) {
        const role =
          actor.id === approval.startedBy
            ? "started the session"
            : `caused the session (${approval.startedBy} started it for their ticket)`;
        throw rwError(
          "RW_ERR_APPROVAL_SAME_ACTOR",
          `step "${approval.stepName}" is high_risk: someone other than ${actor.id}, who ${role}, must approve it`,
          {
            details: {
              approvalId: id,
              actor: actor.id,
              startedBy: approval.startedBy,
              causedBy: approval.causedBy ?? null,
            },
          },
        );
      }
      if (approval.decisions.some((d) => d.actor === actor.id)) {
        throw rwError("RW_ERR_APPROVAL_CONFLICT", `${actor.id} has already approved approval ${id}`, {
          details: { approvalId: id, actor: actor.id },
        });
      }
      await checkBinding(approval);
    }
    const decisions = [...approval.decisions, { actor: actor.id, decision, comment, at: ctx.nowIso() }];
    const complete = decision === "reject" || decisions.length >= approval.requiredApprovals;
    let updated: Approval;
    try {
      updated = await storage.approvals.update(id, approval.version, {
        decisions,
        ...(complete
          ? {
              status: decision === "approve" ? ("approved" as const) : ("rejected" as const),
              decidedAt: ctx.nowIso(),
            }
          : {}),
      });
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") {
        const current = await storage.approvals.get(id);
        throw rwError("RW_ERR_APPROVAL_CONFLICT", `approval ${id} was decided concurrently by someone else`, {
          details: { approvalId: id, status: current?.status ?? null, decisions: current?.decisions ?? [] },
          cause: err,
        });
      }
      throw err;
    }
    await deps.audit.record({
      actor: actor.id,
      action:
        decision === "approve"
          ? complete
            ? "approval.approved"
            : "approval.approval_added"
          : "approval.rejected",
      objectType: "approval",
      objectId: id,
      origin: options.origin ?? null,
      details: {
        sessionId: approval.sessionId,
        stepId: approval.stepId,
        step: approval.stepName,
        risk: approval.risk,
        comment,
        approvals: decisions.filter((d) => d.decision === "approve").length,
        required: approval.requiredApprovals,
      },
    });
    log.info({ approvalId: id, sessionId: approval.sessionId, decision, complete }, "approval decided");
    if (!complete) return updated;
    ctx.events.emit("approval:decided", {
      approvalId: id,
      sessionId: approval.sessionId,
      status: updated.status,
      actor: actor.id,
    });
    if (decision === "approve") {
      await markApprovedAndResume(approval);
    } else {
      const reason = `rejected by ${actor.id}${comment ? `: ${comment}` : ""}`;
      await stopper.stopSession(approval.sessionId, {
        status: "rejected",
        error: `step "${approval.stepName}" ${reason}`,
        stepStatus: { [approval.stepId]: "rejected" },
        ticket: ["needs_human", `step "${approval.stepName}" ${reason}`],
        keepApproval: id,
      });
    }
    return updated;
  }

  /** Voids the approval (and asks for a new one) when what would run is not what was shown. */
  async function checkBinding(approval: Approval): Promise<void> {
    const session = await loadSession(approval.sessionId);
    const [ticket, { runbook }, steps] = await Promise.all([
      deps.tickets.get(session.ticketId),
      runner.runbookOf(session.runbookId),
      runner.loadSteps(session.id),
    ]);
    const step = steps.find((s) => s.id === approval.stepId);
    if (!step)
      throw rwError("RW_ERR_EXEC_STATE", "the approval's step no longer exists", {
        details: { approvalId: approval.id },
      });
    const planned = flattenRunbook(runbook);
    let prepared: PreparedStep | undefined;
    let problem: unknown;
    try {
      prepared = await runner.prepare({ runbook, ticket, planned }, step.index);
    } catch (err) {
      problem = err;
    }
    if (prepared && prepared.bindingHash === approval.bindingHash) return;
    const voided = await requests.voidApproval(
      approval,
      "the rendered command, target or credential changed",
    );
    if (!voided)
      throw rwError("RW_ERR_APPROVAL_CONFLICT", `approval ${approval.id} was decided concurrently`, {
        details: { approvalId: approval.id },
      });
    if (!prepared) {
      const reason = errorText(problem, runner.redactorOf(session.id));
      try {
        await storage.steps.update(step.id, step.version, {
          status: "failed",
          error: reason,
          finishedAt: ctx.nowIso(),
        });
      } catch {
        // Stopping the session below records the reason either way.
      }
      await stopper.stopSession(session.id, {
        status: "failed",
        error: `step "${step.name}" can no longer be rendered: ${reason}`,
        ticket: ["needs_human", `step "${step.name}" can no longer be rendered: ${reason}`],
      });
      throw rwError(
        "RW_ERR_APPROVAL_VOID",
        `approval ${approval.id} is void: the step can no longer be rendered (${reason})`,
        {
          details: { approvalId: approval.id, replacedBy: null },
        },
      );
    }
    const replacement = await requests.createApproval(session, step, prepared, ticket);
    try {
      await storage.steps.update(step.id, step.version, {
        rendered: prepared.rendered.command,
        status: "awaiting_approval",
      });
    } catch {
      // The new approval is what matters; the step shows the command again when it runs.
    }
    await requests.announceApproval(replacement);
    throw rwError(
      "RW_ERR_APPROVAL_VOID",
      `approval ${approval.id} is void: the rendered command, target or credential changed since it was requested; review approval ${replacement.id}`,
      { details: { approvalId: approval.id, replacedBy: replacement.id } },
    );
  }

  async function markApprovedAndResume(approval: Approval): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const step = await storage.steps.get(approval.stepId);
      const session = await loadSession(approval.sessionId);
      if (!step || isFinal(session.status)) return;
      try {
        if (step.status !== "approved")
          await storage.steps.update(step.id, step.version, { status: "approved" });
        await runner.resume(session, {});
        return;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
    throw rwError("RW_ERR_APPROVAL_CONFLICT", "the session kept changing while the approval was applied", {
      details: { approvalId: approval.id },
    });
  }

  function expiredError(approval: Approval) {
    return rwError("RW_ERR_APPROVAL_EXPIRED", `approval ${approval.id} expired at ${approval.expiresAt}`, {
      details: { approvalId: approval.id, expiresAt: approval.expiresAt },
    });
  }

  // ── the APIs ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Cancels a live session. `flagTicket`: its ticket becomes `needs_human` (a person stopped the
   * work); false when the source already resolved the ticket, which must stay resolved.
   */
  const cancelSession = async (
    id: number,
    options: { actor: Actor; reason?: string; origin?: string },
    flagTicket: boolean,
  ): Promise<ExecutionSession> => {
    const session = await loadSession(id);
    if (isFinal(session.status)) {
      throw rwError("RW_ERR_EXEC_STATE", `session ${id} is already ${session.status}`, {
        details: { sessionId: id, status: session.status },
      });
    }
    const reason = `cancelled by ${options.actor.id}${options.reason ? `: ${options.reason}` : ""}`;
    await deps.audit.record({
      actor: options.actor.id,
      action: "session.cancelled",
      objectType: "session",
      objectId: id,
      origin: options.origin ?? null,
      details: { reason: options.reason ?? null, status: session.status },
    });
    const stopped = await stopper.stopSession(id, {
      status: "cancelled",
      error: reason,
      ...(flagTicket ? { ticket: ["needs_human", reason] as const } : {}),
    });
    await runner.signalCancel(id);
    log.info({ sessionId: id, actor: options.actor.id }, "session cancelled");
    return stopped;
  };

  const executions: ExecutionsApi = {
    start,

    async get(id) {
      const session = await loadSession(id);
      const [steps, approvals, audit] = await Promise.all([
        runner.loadSteps(id),
        storage.approvals.find({ where: { sessionId: id }, order: "asc" }),
        storage.audit.find({
          where: { objectType: "session", objectId: String(id) },
          order: "asc",
          limit: 500,
        }),
      ]);
      return { session, steps, approvals, timeline: timelineOf(session, steps, approvals, audit) };
    },

    async list(query = {}) {
      const limit = clampLimit(query.limit);
      const items = await storage.sessions.find({
        where: {
          ...(query.ticketId !== undefined ? { ticketId: query.ticketId } : {}),
          ...(query.status !== undefined ? { status: query.status } : {}),
        },
        order: "desc",
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
        limit: limit + 1,
      });
      return page(items, limit);
    },

    cancel: (id, options) => cancelSession(id, options, true),

    async resolveInterrupted(sessionId, stepId, choice, options) {
      const session = await loadSession(sessionId);
      const step = (await runner.loadSteps(sessionId)).find((s) => s.id === stepId);
      if (step?.status !== "interrupted" || session.status !== "interrupted") {
        throw rwError("RW_ERR_EXEC_STATE", `step ${stepId} of session ${sessionId} is not interrupted`, {
          details: { sessionId, stepId, status: step?.status ?? null, sessionStatus: session.status },
        });
      }
      await deps.audit.record({
        actor: options.actor.id,
        action: choice === "retry" ? "step.retried" : choice === "skip" ? "step.skipped" : "step.aborted",
        objectType: "session",
        objectId: sessionId,
        origin: options.origin ?? null,
        details: { stepId, step: step.name },
      });
      if (choice === "abort") {
        await storage.steps.update(step.id, step.version, {
          status: "failed",
          error: `aborted by ${options.actor.id} after an interruption`,
        });
        return stopper.stopSession(sessionId, {
          status: "failed",
          error: `step "${step.name}" was interrupted and ${options.actor.id} aborted the session`,
          ticket: [
            "needs_human",
            `step "${step.name}" was interrupted; ${options.actor.id} aborted the session`,
          ],
        });
      }
      // A retried step that needed approval runs only if its approval still matches exactly.
      const status = choice === "skip" ? "skipped" : step.requiresApproval ? "approved" : "pending";
      await storage.steps.update(step.id, step.version, {
        status,
        error: choice === "skip" ? `skipped by ${options.actor.id} after an interruption` : null,
      });
      await outcomes.setTicket(
        session.ticketId,
        "executing",
        `${options.actor.id} chose to ${choice} step "${step.name}"`,
      );
      return runner.resume(session, { error: null });
    },

    settled(id, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      return new Promise<ExecutionSession>((resolve, reject) => {
        let done = false;
        const check = async () => {
          if (done) return;
          try {
            const session = await loadSession(id);
            const idle =
              isFinal(session.status) ||
              session.status === "awaiting_approval" ||
              session.status === "interrupted";
            if (idle && !runner.isDrivingLocally(id) && !done) {
              done = true;
              cleanup();
              resolve(session);
            }
          } catch (err) {
            done = true;
            cleanup();
            reject(err);
          }
        };
        const onEvent = (event: { sessionId: number }) => {
          if (event.sessionId === id) void check();
        };
        // Not unref'd: a caller awaiting settled() expects the process to stay up until it settles.
        const poll = setInterval(() => void check(), 50);
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          cleanup();
          reject(
            rwError("RW_ERR_EXEC_TIMEOUT", `session ${id} did not settle within ${timeoutMs} ms`, {
              details: { sessionId: id },
            }),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearInterval(poll);
          clearTimeout(timer);
          ctx.events.off("session:updated", onEvent);
          ctx.events.off("session:finished", onEvent);
        };
        ctx.events.on("session:updated", onEvent);
        ctx.events.on("session:finished", onEvent);
        void check();
      });
    },

    breaker: (runbookKey) => breaker.state(runbookKey),

    async resetBreaker(runbookKey, options) {
      breaker.reset(runbookKey);
      await deps.audit.record({
        actor: options.actor.id,
        action: "runbook.auto_execution_resumed",
        objectType: "runbook",
        objectId: runbookKey,
        origin: options.origin ?? null,
      });
    },
  };

  const approvals: ApprovalsApi = {
    async list(query = {}) {
      const limit = clampLimit(query.limit);
      const items = await storage.approvals.find({
        where: {
          ...(query.status !== undefined ? { status: query.status } : {}),
          ...(query.sessionId !== undefined ? { sessionId: query.sessionId } : {}),
          ...(query.ticketId !== undefined ? { ticketId: query.ticketId } : {}),
        },
        order: "desc",
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
        limit: limit + 1,
      });
      return page(items, limit);
    },
    get: loadApproval,
    approve: (id, options) => decide(id, "approve", options),
    reject: (id, options) => decide(id, "reject", options),
    expireDue: () => requests.expireDue(),
  };

  // ── hooks ────────────────────────────────────────────────────────────────────────────────────

  /** Starts the session analysis decided for a ticket (intake calls it through engine.ts). */
  const autoExecute = async (ticket: Ticket): Promise<void> => {
    const runbookId = ticket.analysis?.decision.runbookId;
    if (runbookId === undefined) return;
    const { record } = await runner.runbookOf(runbookId);
    if (record.status !== "approved") {
      log.warn({ ticketId: ticket.id, runbookId }, "auto-execution refused: runbook not approved");
      return;
    }
    const state = breaker.state(record.key);
    if (state.open) {
      const reason = `auto-execution of runbook "${record.title}" is paused after ${state.failures} consecutive failures, until ${state.until}`;
      log.warn({ ticketId: ticket.id, runbook: record.key }, "auto-execution paused by the circuit breaker");
      await outcomes.setTicket(ticket.id, "needs_human", reason);
      return;
    }
    try {
      await start(ticket.id, runbookId, {
        actor: engineActor,
        origin: "engine",
        causedBy: ticket.submittedBy ?? null,
      });
    } catch (err) {
      // Single-flight: a storm of duplicate alerts never runs the same runbook twice at once.
      if (isRunwardenError(err) && err.code === "RW_ERR_EXEC_STATE") {
        log.debug({ ticketId: ticket.id, runbookId }, "auto-execution skipped: a session is already live");
        return;
      }
      throw err;
    }
  };

  /** A source resolved the ticket: cancel its sessions that wait (intake and sync call it). */
  const ticketResolved = async (ticket: Ticket, reason: string): Promise<void> => {
    const waiting = await storage.sessions.find({
      where: { ticketId: ticket.id, status: { in: ["pending", "awaiting_approval", "interrupted"] } },
    });
    for (const session of waiting) {
      await cancelSession(
        session.id,
        { actor: engineActor, reason: `the source resolved the ticket: ${reason}` },
        false,
      );
    }
  };

  let closing = false;
  const resumeTimers = new Set<NodeJS.Timeout>();

  /**
   * Starts the auto-executions a dead process left undone: tickets still `analyzed` whose stored
   * analysis says auto_execute was requested, with no session. The newest `resumeScanLimit`
   * analyzed tickets are looked at; one stored within the grace period is left for the pass that
   * runs once the grace has passed. Each ticket is claimed with a version-checked write first, so
   * two instances never both start it.
   */
  async function resumeAutoExecutions(): Promise<void> {
    const graceMs = ctx.policy.autoExecuteResumeGraceMs;
    const settledBefore = ctx.clock.now() - graceMs;
    let cursor: number | undefined;
    let seen = 0;
    let youngest = Number.NEGATIVE_INFINITY;
    while (seen < resumeScanLimit && !closing) {
      const page = await storage.tickets.find({
        where: { status: "analyzed" },
        order: "desc",
        limit: 200,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      if (page.length === 0) break;
      for (const ticket of page) {
        seen++;
        cursor = ticket.id;
        const analysis = ticket.analysis;
        if (!analysis?.autoExecuteRequested || analysis.decision.action !== "auto_execute") continue;
        const storedAt = Date.parse(ticket.updatedAt);
        if (storedAt > settledBefore) {
          youngest = Math.max(youngest, storedAt);
          continue;
        }
        if ((await storage.sessions.count({ ticketId: ticket.id })) > 0) continue;
        let claimed: Ticket;
        try {
          claimed = await storage.tickets.update(ticket.id, ticket.version, { updatedAt: ctx.nowIso() });
        } catch (err) {
          if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") continue;
          throw err;
        }
        log.info({ ticketId: ticket.id }, "starting an auto-execution a stopped process left undone");
        try {
          await autoExecute(claimed);
        } catch (err) {
          log.error({ ticketId: ticket.id, err }, "auto-execution failed to start");
        }
      }
    }
    if (youngest > Number.NEGATIVE_INFINITY && !closing) {
      const timer = setTimeout(
        () => {
          resumeTimers.delete(timer);
          resumeAutoExecutions().catch((err) => log.warn({ err }, "resuming auto-executions failed"));
        },
        Math.max(0, youngest - settledBefore) + 1,
      );
      timer.unref();
      resumeTimers.add(timer);
    }
  }
  return {
    executions,
    approvals,
    autoExecute,
    ticketResolved,
    start: async () => {
      closing = false;
      await runner.start();
      await resumeAutoExecutions();
    },
    close: () => {
      closing = true;
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
      return runner.close();
    },
  };
}

/** How many of the newest analyzed tickets `start()` looks at for an auto-execution left undone. */
const resumeScanLimit = 5_000;

function phaseName(phase: Phase): string {
  return phase === "prechecks"
    ? "precheck"
    : phase === "postchecks"
      ? "postcheck"
      : phase === "rollback"
        ? "rollback step"
        : "step";
}

/** A readable history of the session, from its records and its audit events. */
function timelineOf(
  session: ExecutionSession,
  steps: readonly StepRecord[],
  approvals: readonly Approval[],
  audit: readonly { at: string; action: string; actor: string; details: Record<string, unknown> }[],
): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    {
      at: session.createdAt,
      kind: "session.created",
      message: `${session.dryRun ? "dry run" : "session"} of ${session.runbookKey} r${session.runbookRevision} started by ${session.startedBy}${session.causedBy && session.causedBy !== session.startedBy ? `, caused by ${session.causedBy}` : ""}`,
      actor: session.startedBy,
    },
  ];
  for (const warning of session.warnings ?? []) {
    entries.push({ at: session.createdAt, kind: "session.warning", message: warning });
  }
  for (const step of steps) {
    if (step.startedAt) {
      entries.push({
        at: step.startedAt,
        kind: "step.started",
        message: `${step.name} started (attempt ${step.attempts})`,
        stepId: step.id,
      });
    }
    if (step.finishedAt && step.status !== "skipped") {
      const detail = step.error
        ? `: ${step.error}`
        : step.exitCode !== null
          ? ` (exit ${step.exitCode})`
          : "";
      entries.push({
        at: step.finishedAt,
        kind: `step.${step.status}`,
        message: `${step.name} ${step.status}${detail}`,
        stepId: step.id,
      });
    }
  }
  for (const approval of approvals) {
    entries.push({
      at: approval.requestedAt,
      kind: "approval.requested",
      message: `approval requested for ${approval.stepName} (${approval.risk}) on ${approval.target}`,
      stepId: approval.stepId,
      approvalId: approval.id,
    });
    for (const decision of approval.decisions) {
      entries.push({
        at: decision.at,
        kind: decision.decision === "approve" ? "approval.approved" : "approval.rejected",
        message: `${decision.actor} ${decision.decision === "approve" ? "approved" : "rejected"} ${approval.stepName}${decision.comment ? `: ${decision.comment}` : ""}`,
        actor: decision.actor,
        stepId: approval.stepId,
        approvalId: approval.id,
      });
    }
    if ((approval.status === "expired" || approval.status === "void") && approval.decidedAt) {
      entries.push({
        at: approval.decidedAt,
        kind: `approval.${approval.status}`,
        message: `approval for ${approval.stepName} ${approval.status === "void" ? "voided" : "expired"}`,
        stepId: approval.stepId,
        approvalId: approval.id,
      });
    }
  }
  for (const event of audit) {
    if (
      event.action === "session.started" ||
      event.action === "session.finished" ||
      event.action === "session.dry_run"
    )
      continue;
    entries.push({
      at: event.at,
      kind: event.action,
      message: `${event.action} by ${event.actor}`,
      actor: event.actor,
    });
  }
  if (session.finishedAt) {
    entries.push({
      at: session.finishedAt,
      kind: `session.${session.status}`,
      message: `session ${session.status}${session.error ? `: ${session.error}` : ""}`,
    });
  }
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
