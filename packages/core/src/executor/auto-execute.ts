/**
 * Auto-execution: the session analysis decided for a ticket starts unless the runbook is not
 * approved or its circuit breaker is open; a ticket its source resolved has its waiting sessions
 * cancelled; and at start, auto-executions a dead process left undone are started (each ticket
 * claimed with a version-checked write first).
 */
import type { Logger } from "pino";
import type { Ticket } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { engineActor } from "../policy.js";
import type { CircuitBreaker } from "./concurrency.js";
import type { CancelSession } from "./executions.js";
import type { Outcomes } from "./outcome.js";
import type { Runner } from "./runner.js";
import type { ExecutionDetail, StartOptions } from "./types.js";

/** How many of the newest analyzed tickets `start()` looks at for an auto-execution left undone. */
const resumeScanLimit = 5_000;

/** Creates the auto-execution links engine.ts hands to intake and sync, and its resume pass. */
export function createAutoExecution(
  ctx: EngineContext,
  parts: {
    log: Logger;
    runner: Runner;
    outcomes: Outcomes;
    breaker: CircuitBreaker;
    start: (ticketId: number, runbookId: number, options?: StartOptions) => Promise<ExecutionDetail>;
    cancelSession: CancelSession;
  },
): {
  autoExecute(ticket: Ticket): Promise<void>;
  ticketResolved(ticket: Ticket, reason: string): Promise<void>;
  /** Undoes a `close` before the executor starts again. */
  reopen(): void;
  /** Starts what a dead process left undone (and later passes for tickets still in their grace). */
  resume(): Promise<void>;
  close(): void;
} {
  const { log, runner, outcomes, breaker, start, cancelSession } = parts;
  const storage = ctx.storage;

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
    autoExecute,
    ticketResolved,
    reopen: () => {
      closing = false;
    },
    resume: () => resumeAutoExecutions(),
    close: () => {
      closing = true;
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
    },
  };
}
