/**
 * What a session's end means: its final commit (`finish`: skipped steps, status, audit event,
 * ticket status), the audit event and ticket status of a session ended elsewhere (`afterFinish`),
 * the started session's first commit (`recordStart`), and the circuit breaker's count.
 */

import type { Runbook } from "@runwarden/runbook-parser";
import type { Logger } from "pino";
import { type AuditRecordInput, auditDoc } from "../audit.js";
import type { ExecutionSession, SessionStatus, Ticket, TicketStatus } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { CircuitBreaker } from "./concurrency.js";
import { type ExecutorDeps, finalStepStatuses, type Intent, type Live } from "./live.js";
import type { SessionWriter } from "./session-writer.js";

export class Outcomes {
  readonly log: Logger;
  readonly deps: Pick<ExecutorDeps, "audit" | "tickets">;
  readonly breaker: CircuitBreaker;
  private readonly writer: SessionWriter;

  constructor(
    readonly ctx: EngineContext,
    parts: {
      log: Logger;
      deps: Pick<ExecutorDeps, "audit" | "tickets">;
      breaker: CircuitBreaker;
      writer: SessionWriter;
    },
  ) {
    this.log = parts.log;
    this.deps = parts.deps;
    this.breaker = parts.breaker;
    this.writer = parts.writer;
  }

  /**
   * Ends a session this process drives: the last step's result, the skipped steps, the session's
   * status, its audit event and its ticket's status are stored in one commit, then announced.
   */
  async finish(live: Live, status: SessionStatus, error: string | null): Promise<void> {
    const intents: Intent[] = [];
    for (const step of live.steps) {
      if (!finalStepStatuses.has(step.status))
        intents.push({ kind: "step", id: step.id, changes: { status: "skipped" } });
    }
    intents.push({ kind: "session", changes: { status, error, finishedAt: this.ctx.nowIso() } });
    const outcome = this.outcomeOf({ ...live.session, status, error }, live.runbook);
    intents.push({ kind: "audit", input: outcome.audit });
    if (outcome.ticket)
      intents.push({ kind: "ticket", status: outcome.ticket[0], reason: outcome.ticket[1] });
    await this.writer.commit(live, intents, () => {
      this.emitFinished(live.session);
      if (outcome.ticket) this.emitTicket(live.session.ticketId, outcome.ticket[0], outcome.ticket[1]);
    });
    await this.judged(live.session);
  }

  /**
   * Stores a started session's audit event and its ticket's new status in one commit (re-reading
   * the ticket when a repeat alert changed it meanwhile); returns the ticket as stored.
   */
  async recordStart(
    ticket: Ticket,
    audit: AuditRecordInput,
    status: TicketStatus,
    reason: string,
  ): Promise<Ticket> {
    let current = ticket;
    for (let attempt = 0; ; attempt++) {
      const now = this.ctx.nowIso();
      try {
        const [, stored] = await this.ctx.storage.batch([
          { collection: "audit", insert: auditDoc(audit, now) },
          {
            collection: "tickets",
            update: {
              id: current.id,
              expectedVersion: current.version,
              changes: { status, statusReason: reason, updatedAt: now },
            },
          },
        ]);
        this.emitTicket(current.id, status, reason);
        return stored as Ticket;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 5) throw err;
        current = await this.deps.tickets.get(ticket.id);
      }
    }
  }

  /** Events, audit, breaker and ticket status once a session reached a final status. */
  async afterFinish(session: ExecutionSession, runbook?: Runbook): Promise<void> {
    this.emitFinished(session);
    const outcome = this.outcomeOf(session, runbook);
    await this.deps.audit.record(outcome.audit);
    if (outcome.ticket) await this.setTicket(session.ticketId, outcome.ticket[0], outcome.ticket[1]);
    await this.judged(session);
  }

  /** What a final status means for the audit log and the ticket. */
  private outcomeOf(
    session: ExecutionSession,
    runbook: Runbook | undefined,
  ): { audit: AuditRecordInput; ticket?: [TicketStatus, string] } {
    const { status, error } = session;
    const audit: AuditRecordInput = {
      actor: "engine",
      action: "session.finished",
      objectType: "session",
      objectId: session.id,
      origin: "engine",
      details: { status, error, ticketId: session.ticketId, runbook: session.runbookKey },
    };
    if (session.dryRun) return { audit };
    if (status === "succeeded")
      return { audit, ticket: ["resolved", `runbook "${runbook?.title ?? session.runbookKey}" succeeded`] };
    if (status === "failed" || status === "rolled_back") {
      const reason =
        status === "rolled_back"
          ? `${error ?? "a step failed"}; rolled back`
          : (error ?? "the runbook failed");
      return { audit, ticket: ["failed", reason] };
    }
    return { audit };
  }

  private emitFinished(session: ExecutionSession): void {
    this.ctx.events.emit("session:finished", {
      sessionId: session.id,
      ticketId: session.ticketId,
      status: session.status,
      error: session.error,
    });
  }

  private emitTicket(ticketId: number, status: TicketStatus, reason: string | null): void {
    this.ctx.events.emit("ticket:updated", { ticketId, status, reason });
    this.log.info({ ticketId, status }, "ticket status changed");
  }

  /** The circuit breaker's count of the runbook's outcomes, once a session is over. */
  private async judged(session: ExecutionSession): Promise<void> {
    if (!session.dryRun) {
      if (session.status === "succeeded") this.breaker.success(session.runbookKey);
      else if (
        (session.status === "failed" || session.status === "rolled_back") &&
        this.breaker.failure(session.runbookKey)
      )
        await this.announceBreaker(session.runbookKey);
    }
    this.log.info({ sessionId: session.id, status: session.status }, "session finished");
  }

  private async announceBreaker(runbookKey: string): Promise<void> {
    const state = this.breaker.state(runbookKey);
    this.log.warn(
      { runbook: runbookKey, failures: state.failures, until: state.until },
      "auto-execution paused",
    );
    this.ctx.events.emit("runbook:auto-execution-paused", {
      key: runbookKey,
      failures: state.failures,
      until: state.until,
    });
    await this.deps.audit.record({
      actor: "engine",
      action: "runbook.auto_execution_paused",
      objectType: "runbook",
      objectId: runbookKey,
      origin: "engine",
      details: { failures: state.failures, until: state.until },
    });
  }

  async setTicket(ticketId: number, status: TicketStatus, reason: string | null): Promise<void> {
    try {
      await this.deps.tickets.setStatus(ticketId, status, reason);
      this.ctx.events.emit("ticket:updated", { ticketId, status, reason });
    } catch (err) {
      this.log.warn(
        { ticketId, status, err: { message: (err as Error).message } },
        "ticket status not updated",
      );
    }
  }
}
