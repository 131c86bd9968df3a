/**
 * People's decisions on approvals (`engine.approvals`): approve (checked against roles, the
 * four-eyes rule and the exact command it was bound to; enough approvals resume the session) and
 * reject (the session stops, the ticket needs a person), plus listing and reading them.
 */
import type { Logger } from "pino";
import type { Approval } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { excludedApprovers } from "../policy.js";
import { clampLimit, notFound, pageOf } from "../storage-kit.js";
import type { ApprovalRequests } from "./approval-requests.js";
import { type ExecutorDeps, errorText, isFinalSession } from "./live.js";
import { flattenRunbook, type PreparedStep } from "./plan.js";
import type { Runner } from "./runner.js";
import type { SessionStopper } from "./stop.js";
import type { ApprovalsApi, DecisionOptions } from "./types.js";

/** The approvals API, and the start-up pass that applies decisions a crash left unapplied. */
export interface ApprovalsParts {
  approvals: ApprovalsApi;
  /**
   * Applies every decision recorded on an approval whose session still waits for it: a process
   * that died between storing the decision and resuming (or stopping) the session left it
   * `awaiting_approval` with nothing pending, which nobody would ever decide again. Approved:
   * the session resumes; rejected or expired: it stops as the decision would have stopped it.
   * Returns how many sessions it moved.
   */
  applyDecided(): Promise<number>;
}

/** Creates the approvals API. */
export function createApprovalsApi(
  ctx: EngineContext,
  parts: {
    deps: ExecutorDeps;
    log: Logger;
    runner: Runner;
    requests: ApprovalRequests;
    stopper: SessionStopper;
  },
): ApprovalsParts {
  const { deps, log, runner, requests, stopper } = parts;
  const storage = ctx.storage;

  const loadSession = async (id: number) => {
    const session = await storage.sessions.get(id);
    if (!session) throw notFound("session", id);
    return session;
  };
  const loadApproval = async (id: number) => {
    const approval = await storage.approvals.get(id);
    if (!approval) throw notFound("approval", id);
    return approval;
  };

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
      if (!step || isFinalSession(session.status)) return;
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
      return pageOf(items, limit);
    },
    get: loadApproval,
    approve: (id, options) => decide(id, "approve", options),
    reject: (id, options) => decide(id, "reject", options),
    expireDue: () => requests.expireDue(),
  };

  async function applyDecided(): Promise<number> {
    let moved = 0;
    const waiting = await storage.sessions.find({ where: { status: "awaiting_approval" }, order: "asc" });
    for (const session of waiting) {
      const steps = await runner.loadSteps(session.id);
      const step = steps.find((s) => s.status === "awaiting_approval");
      if (!step) continue;
      // The newest approval of the step is the one it waits for; a pending one still waits.
      const [latest] = await storage.approvals.find({ where: { stepId: step.id }, order: "desc", limit: 1 });
      if (!latest || latest.status === "pending" || latest.status === "void") continue;
      try {
        if (latest.status === "approved") {
          await markApprovedAndResume(latest);
        } else {
          const decider = latest.decisions.find((d) => d.decision === "reject");
          const reason =
            latest.status === "expired"
              ? `the approval of step "${latest.stepName}" expired undecided at ${latest.expiresAt}`
              : `step "${latest.stepName}" rejected by ${decider?.actor ?? "someone"}${decider?.comment ? `: ${decider.comment}` : ""}`;
          await stopper.stopSession(session.id, {
            status: "rejected",
            error: reason,
            stepStatus: { [step.id]: "rejected" },
            ticket: ["needs_human", reason],
            keepApproval: latest.id,
          });
        }
        moved++;
        log.warn(
          { sessionId: session.id, approvalId: latest.id, status: latest.status },
          "approval decided before a crash applied to its session",
        );
      } catch (err) {
        log.warn({ sessionId: session.id, approvalId: latest.id, err }, "decided approval not applied");
      }
    }
    return moved;
  }

  return { approvals, applyDecided };
}
