/**
 * A step stopped mid-flight (the engine closed, or a crashed engine left it running): the process
 * group its journal records is reaped before anything runs again (`reapLeftover`), an idempotent
 * step goes back to pending, any other is marked interrupted for a person to retry, skip or abort.
 */

import type { Logger } from "pino";
import type { StepProcessCheck, StepRecord } from "../domain.js";
import type { EngineContext } from "../internal/context.js";
import type { ExecutorDeps, Live } from "./live.js";
import type { Outcomes } from "./outcome.js";
import { reapProcessGroup } from "./process-group.js";
import type { SessionWriter } from "./session-writer.js";

export class Interrupts {
  readonly log: Logger;
  readonly deps: Pick<ExecutorDeps, "audit">;
  private readonly writer: SessionWriter;
  private readonly outcomes: Outcomes;

  constructor(
    readonly ctx: EngineContext,
    parts: { log: Logger; deps: Pick<ExecutorDeps, "audit">; writer: SessionWriter; outcomes: Outcomes },
  ) {
    this.log = parts.log;
    this.deps = parts.deps;
    this.writer = parts.writer;
    this.outcomes = parts.outcomes;
  }

  /** A step stopped mid-flight: a person chooses retry, skip or abort (idempotent ones retry). */
  async interrupt(
    live: Live,
    step: StepRecord,
    output?: { stdout: string; stderr: string },
    processCheck?: StepProcessCheck,
  ): Promise<void> {
    const known = this.writer.stepById(live, step.id);
    if (known.idempotent) {
      // Safe to run again: the next engine (or drive) retries it.
      await this.writer.saveStep(live, known, {
        status: known.requiresApproval ? "approved" : "pending",
        ...(output ?? {}),
      });
      return;
    }
    const found = processCheck ? ` (its process: ${processCheck.outcome})` : "";
    const reason = `step "${known.name}" was interrupted while running${found}; choose retry, skip or abort`;
    await this.writer.saveStep(live, known, {
      status: "interrupted",
      error: `the engine stopped while the step was running${processCheck ? `; ${processCheck.reason}` : ""}`,
      finishedAt: this.ctx.nowIso(),
      ...(output ?? {}),
      ...(processCheck ? { processCheck } : {}),
    });
    this.writer.emitStepFinished(live, this.writer.stepById(live, known.id), 0);
    await this.writer.saveSession(live, { status: "interrupted", error: reason });
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
    await this.outcomes.setTicket(live.session.ticketId, "needs_human", reason);
    this.log.warn({ sessionId: live.session.id, stepId: known.id }, "step interrupted");
  }

  /**
   * A step found running when this engine took the session over: the process group its journal
   * records (a local step's) is killed if it still runs, so a retry never runs beside it.
   */
  reapLeftover(live: Live, step: StepRecord): StepProcessCheck {
    const check = reapProcessGroup(step.process, this.ctx.nowIso());
    this.log.warn(
      { sessionId: live.session.id, stepId: step.id, pgid: step.process?.pgid, process: check.outcome },
      "process of an interrupted step checked",
    );
    return check;
  }
}
