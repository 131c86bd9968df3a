/**
 * The engine's side of approvals: asking for one (stored, then announced once the step waits for
 * it), voiding one whose command changed, and expiring those whose time ran out (the session
 * stops, the ticket needs a person). People's decisions are in decisions.ts.
 */

import type { Logger } from "pino";
import type { Approval, ExecutionSession, StepRecord, Ticket } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { ExecutorDeps, Live, StopSession } from "./live.js";
import type { PreparedStep } from "./plan.js";
import type { SessionWriter } from "./session-writer.js";

export class ApprovalRequests {
  readonly log: Logger;
  readonly deps: Pick<ExecutorDeps, "audit">;
  private readonly writer: SessionWriter;
  private readonly stopSession: StopSession;
  /** Earliest expiry of a pending approval (ms by ctx.clock); the sweeper skips work before it. */
  nextExpiry = Number.POSITIVE_INFINITY;

  constructor(
    readonly ctx: EngineContext,
    parts: {
      log: Logger;
      deps: Pick<ExecutorDeps, "audit">;
      writer: SessionWriter;
      /** Ends the session of an expired approval (stop.ts). */
      stopSession: StopSession;
    },
  ) {
    this.log = parts.log;
    this.deps = parts.deps;
    this.writer = parts.writer;
    this.stopSession = parts.stopSession;
  }

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
      stepTitle: prepared.title,
      renderedCommand: prepared.rendered.command,
      target,
      risk: step.severity,
      ticketTitle: ticket.title,
      runbookKey: session.runbookKey,
      environment: ticket.environment,
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

  async pauseForApproval(live: Live, step: StepRecord, approval: Approval, announce = true): Promise<void> {
    if (step.status !== "awaiting_approval" || step.rendered !== approval.renderedCommand) {
      await this.writer.saveStep(live, step, {
        status: "awaiting_approval",
        rendered: approval.renderedCommand,
      });
    }
    await this.writer.saveSession(live, { status: "awaiting_approval" });
    if (announce) await this.announceApproval(approval);
  }

  /**
   * Closes a pending approval as the engine (`void` or `expired`), and announces it. False when
   * someone decided it first (a version conflict): then nothing changes.
   */
  private async closeAsEngine(approval: Approval, status: "void" | "expired"): Promise<boolean> {
    try {
      await this.ctx.storage.approvals.update(approval.id, approval.version, {
        status,
        decidedAt: this.ctx.nowIso(),
      });
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") return false;
      throw err;
    }
    this.ctx.events.emit("approval:decided", {
      approvalId: approval.id,
      sessionId: approval.sessionId,
      status,
      actor: "engine",
    });
    return true;
  }

  async voidApproval(approval: Approval, why: string): Promise<boolean> {
    if (!(await this.closeAsEngine(approval, "void"))) return false;
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
    if (!(await this.closeAsEngine(approval, "expired"))) return false;
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
}
