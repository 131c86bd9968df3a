/**
 * Stops a session that is not driven here (rejected, expired, cancelled, aborted): its remaining
 * steps are skipped, its pending approvals voided, its status and ticket updated.
 */

import type { ExecutionSession } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { notFound } from "../storage-kit.js";
import type { ApprovalRequests } from "./approval-requests.js";
import { finalStepStatuses, isFinalSession, loadSteps, type StopRequest } from "./live.js";
import type { Outcomes } from "./outcome.js";

export class SessionStopper {
  private readonly requests: ApprovalRequests;
  private readonly outcomes: Outcomes;
  private readonly isDriving: (sessionId: number) => boolean;

  constructor(
    readonly ctx: EngineContext,
    parts: {
      requests: ApprovalRequests;
      outcomes: Outcomes;
      /** True while this process drives the session (its running step ends with the drive). */
      isDriving: (sessionId: number) => boolean;
    },
  ) {
    this.requests = parts.requests;
    this.outcomes = parts.outcomes;
    this.isDriving = parts.isDriving;
  }

  /**
   * Stops a session that is not being driven here (rejected, expired, cancelled, aborted):
   * remaining steps are skipped, pending approvals voided, the ticket updated.
   */
  async stopSession(sessionId: number, stop: StopRequest): Promise<ExecutionSession> {
    const steps = await loadSteps(this.ctx.storage, sessionId);
    const local = this.isDriving(sessionId);
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
      if (approval.id !== stop.keepApproval)
        await this.requests.voidApproval(approval, `the session ${stop.status}`);
    }
    let session: ExecutionSession | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.ctx.storage.sessions.get(sessionId);
      if (!current) throw notFound("session", sessionId);
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
    await this.outcomes.afterFinish(session);
    if (stop.ticket) await this.outcomes.setTicket(session.ticketId, stop.ticket[0], stop.ticket[1]);
    return session;
  }
}
