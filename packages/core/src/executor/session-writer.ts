/**
 * Writes a driven session's records: every step and session change goes through `commit`, which
 * stores what was held back (`defer*`) with it in one batch, re-reads a session or ticket changed
 * concurrently, ends the drive (`Superseded`) when someone else stopped it, and only then
 * announces the change (session:updated, step:finished).
 */
import type { Logger } from "pino";
import { auditDoc } from "../audit.js";
import type { ExecutionSession, StepRecord, Ticket } from "../domain.js";
import { isRunwardenError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import type { BatchResult, BatchWrite, Changes } from "../storage.js";
import { errorText, type Intent, isFinalSession, type Live, Superseded } from "./live.js";

export class SessionWriter {
  constructor(
    readonly ctx: EngineContext,
    readonly log: Logger,
  ) {}

  stepById(live: Live, id: number): StepRecord {
    return live.steps.find((s) => s.id === id)!;
  }

  /** Writes a session change; a concurrent change that stopped the session ends the drive. */
  async saveSession(live: Live, changes: Changes<"sessions">): Promise<void> {
    await this.commit(live, [{ kind: "session", changes }]);
  }

  /** Writes a step change; if someone else changed the step (a cancel), the drive ends. */
  async saveStep(live: Live, step: StepRecord, changes: Changes<"steps">): Promise<StepRecord> {
    await this.commit(live, [{ kind: "step", id: step.id, changes }]);
    return this.stepById(live, step.id);
  }

  /** Holds a step's result back, to be stored (then announced) with the session's next commit. */
  deferStep(live: Live, step: StepRecord, changes: Changes<"steps">, durationMs: number): void {
    const known = this.stepById(live, step.id);
    // The drive reads its records from memory: they show the change now, at the stored version.
    live.steps[live.steps.indexOf(known)] = { ...known, ...changes, id: known.id, version: known.version };
    live.pending.intents.push({ kind: "step", id: step.id, changes });
    live.pending.after.push(() => this.emitStepFinished(live, this.stepById(live, step.id), durationMs));
  }

  /** Holds a session change back, to be stored with the session's next commit. */
  deferSession(live: Live, changes: Changes<"sessions">): void {
    live.session = { ...live.session, ...changes, id: live.session.id, version: live.session.version };
    live.pending.intents.push({ kind: "session", changes });
  }

  /**
   * Stores what was held back and `intents` in one transaction, then announces them. A session
   * changed concurrently is re-read (stopped: the drive ends); a step changed concurrently (a
   * cancel) ends the drive; a ticket changed concurrently (a repeat alert) is re-read. When the
   * drive ends so, the step results held back are still stored on their own: a finished step's
   * outcome is never lost to a cancel racing the next step's start (which is not stored).
   */
  async commit(live: Live, intents: readonly Intent[], after?: () => void): Promise<void> {
    const held = live.pending;
    live.pending = { intents: [], after: [] };
    try {
      await this.store(live, [...held.intents, ...intents]);
    } catch (err) {
      const results = held.intents.filter((intent) => intent.kind === "step");
      if (results.length > 0 && err instanceof Superseded) {
        try {
          await this.store(live, results);
          this.announce(live, held.after);
        } catch (again) {
          this.log.warn(
            { sessionId: live.session.id, err: { message: errorText(again, live.redactor) } },
            "step result not stored",
          );
        }
      }
      throw err;
    }
    this.announce(live, after ? [...held.after, after] : held.after);
  }

  private announce(live: Live, after: readonly (() => void)[]): void {
    const { session, announced } = live;
    if (session.status !== announced.status || session.phase !== announced.phase) {
      live.announced = { status: session.status, phase: session.phase };
      this.ctx.events.emit("session:updated", {
        sessionId: session.id,
        ticketId: session.ticketId,
        status: session.status,
        phase: session.phase,
      });
    }
    for (const callback of after) callback();
  }

  /** One batch of the intents (changes of one record merged), retried on a stale session or ticket. */
  async store(live: Live, intents: readonly Intent[]): Promise<void> {
    if (intents.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const { writes, targets } = this.writesOf(live, intents);
      let stored: BatchResult[];
      try {
        stored = await this.ctx.storage.batch(writes);
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 5) throw err;
        const entity = (err.details as { entity?: string } | undefined)?.entity;
        if (entity === "sessions") {
          const fresh = await this.ctx.storage.sessions.get(live.session.id);
          if (!fresh || isFinalSession(fresh.status)) throw new Superseded("session stopped elsewhere");
          live.session = fresh;
        } else if (entity === "tickets") {
          live.ticket = (await this.ctx.storage.tickets.get(live.ticket.id)) ?? live.ticket;
        } else {
          throw new Superseded("step changed elsewhere");
        }
        continue;
      }
      targets.forEach((target, i) => {
        const doc = stored[i];
        if (target === "session") live.session = doc as ExecutionSession;
        else if (target === "ticket") live.ticket = doc as Ticket;
        else if (typeof target === "number") {
          const at = live.steps.findIndex((s) => s.id === target);
          if (at !== -1) live.steps[at] = doc as StepRecord;
        }
      });
      return;
    }
  }

  /** The writes of `intents`: one update per record (changes merged, in order), audit inserts. */
  private writesOf(
    live: Live,
    intents: readonly Intent[],
  ): { writes: BatchWrite[]; targets: (number | "session" | "ticket" | "audit")[] } {
    const now = this.ctx.nowIso();
    const steps = new Map<number, Changes<"steps">>();
    let session: Changes<"sessions"> | undefined;
    let ticket: Changes<"tickets"> | undefined;
    const audits: BatchWrite[] = [];
    for (const intent of intents) {
      if (intent.kind === "step") steps.set(intent.id, { ...steps.get(intent.id), ...intent.changes });
      else if (intent.kind === "session") session = { ...session, ...intent.changes, updatedAt: now };
      else if (intent.kind === "ticket")
        ticket = { status: intent.status, statusReason: intent.reason, updatedAt: now };
      else audits.push({ collection: "audit", insert: auditDoc(intent.input, now) });
    }
    const writes: BatchWrite[] = [];
    const targets: (number | "session" | "ticket" | "audit")[] = [];
    for (const [id, changes] of steps) {
      writes.push({
        collection: "steps",
        update: { id, expectedVersion: this.stepById(live, id).version, changes },
      });
      targets.push(id);
    }
    if (session) {
      writes.push({
        collection: "sessions",
        update: { id: live.session.id, expectedVersion: live.session.version, changes: session },
      });
      targets.push("session");
    }
    if (ticket) {
      writes.push({
        collection: "tickets",
        update: { id: live.ticket.id, expectedVersion: live.ticket.version, changes: ticket },
      });
      targets.push("ticket");
    }
    for (const write of audits) {
      writes.push(write);
      targets.push("audit");
    }
    return { writes, targets };
  }

  emitStepFinished(live: Live, step: StepRecord, durationMs: number): void {
    this.ctx.events.emit("step:finished", {
      sessionId: live.session.id,
      stepId: step.id,
      name: step.name,
      status: step.status,
      exitCode: step.exitCode,
      durationMs,
    });
  }
}
