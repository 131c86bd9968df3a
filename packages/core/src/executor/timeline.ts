/**
 * A session's readable history: its records (steps, approvals) and its audit events merged into
 * one list ordered by time, for `executions.get()`.
 */
import type { Approval, ExecutionSession, StepRecord } from "../domain.js";
import type { TimelineEntry } from "./types.js";

/** A readable history of the session, from its records and its audit events. */
export function timelineOf(
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
