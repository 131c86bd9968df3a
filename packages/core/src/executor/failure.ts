/**
 * What a failed step means for its session: continue (the runbook says so), fail it (a precheck,
 * a rollback step, or nothing to undo), or switch it to rollback, skipping the compensations of
 * steps that never succeeded in the failed phase.
 */
import type { Logger } from "pino";
import type { Phase, StepRecord } from "../domain.js";
import { finalStepStatuses, isFinalSession, type Live, phaseLabel } from "./live.js";
import type { Outcomes } from "./outcome.js";
import type { PlannedStep } from "./plan.js";
import type { SessionWriter } from "./session-writer.js";

export class Failures {
  private readonly log: Logger;
  private readonly writer: SessionWriter;
  private readonly outcomes: Outcomes;

  constructor(parts: { log: Logger; writer: SessionWriter; outcomes: Outcomes }) {
    this.log = parts.log;
    this.writer = parts.writer;
    this.outcomes = parts.outcomes;
  }

  /** What happens after a step failed: continue, fail the session, or roll back. True: stop. */
  async afterFailure(live: Live, step: StepRecord, planned: PlannedStep): Promise<boolean> {
    const current = this.writer.stepById(live, step.id);
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
      await this.outcomes.finish(live, "failed", `rollback ${reason}`);
      return true;
    }
    const { uncompensated, toRun } = this.rollbackOf(live, current.phase);
    if (current.phase === "prechecks" || toRun === 0) {
      await this.outcomes.finish(
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
    await this.writer.saveSession(live, { phase: "rollback", error: reason });
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
}
