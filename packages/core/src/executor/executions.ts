/**
 * Following and steering sessions (`engine.executions`): read one with its timeline, list them,
 * cancel one, choose retry, skip or abort for an interrupted step, wait until one settles, and
 * read or reset a runbook's circuit breaker. `start` comes from start.ts.
 */
import type { Logger } from "pino";
import type { ExecutionSession } from "../domain.js";
import { rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { Actor } from "../policy.js";
import { clampLimit, notFound, pageOf } from "../storage-kit.js";
import type { CircuitBreaker } from "./concurrency.js";
import { type ExecutorDeps, isFinalSession } from "./live.js";
import type { Outcomes } from "./outcome.js";
import type { Runner } from "./runner.js";
import type { SessionStopper } from "./stop.js";
import { timelineOf } from "./timeline.js";
import type { ExecutionDetail, ExecutionsApi, StartOptions } from "./types.js";

/** What cancelling a session takes; `flagTicket`: its ticket becomes `needs_human`. */
export type CancelSession = (
  id: number,
  options: { actor: Actor; reason?: string; origin?: string },
  flagTicket: boolean,
) => Promise<ExecutionSession>;

/** Creates the executions API and the cancel that auto-execute.ts uses too. */
export function createExecutionsApi(
  ctx: EngineContext,
  parts: {
    deps: ExecutorDeps;
    log: Logger;
    runner: Runner;
    outcomes: Outcomes;
    stopper: SessionStopper;
    breaker: CircuitBreaker;
    start: (ticketId: number, runbookId: number, options?: StartOptions) => Promise<ExecutionDetail>;
  },
): { executions: ExecutionsApi; cancelSession: CancelSession } {
  const { deps, log, runner, outcomes, stopper, breaker, start } = parts;
  const storage = ctx.storage;

  const loadSession = async (id: number) => {
    const session = await storage.sessions.get(id);
    if (!session) throw notFound("session", id);
    return session;
  };

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
    if (isFinalSession(session.status)) {
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
      return pageOf(items, limit);
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
              isFinalSession(session.status) ||
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
    pausedAutoExecutions: () => breaker.open(),

    async resetBreaker(runbookKey, options) {
      breaker.reset(runbookKey);
      await deps.audit.record({
        actor: options.actor.id,
        action: "runbook.auto_execution_resumed",
        objectType: "runbook",
        objectId: runbookKey,
        origin: options.origin ?? null,
      });
      ctx.events.emit("runbook:auto-execution-resumed", { key: runbookKey, actor: options.actor.id });
    },
  };

  return { executions, cancelSession };
}
