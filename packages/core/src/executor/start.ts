/**
 * Starting a session: the runbook's steps are rendered and resolved into a plan (a step that
 * cannot be prepared fails the session before anything runs), the session and its steps are
 * stored in one write (one live session per fingerprint), its start audited with the ticket's new
 * status, and the drive begins here or is offered to an instance with room. A dry run stops at
 * the plan.
 */
import type { Runbook } from "@runwarden/runbook-parser";
import type { Logger } from "pino";
import type { ExecutionSession, RunbookRecord, SessionStatus, StepRecord, Ticket } from "../domain.js";
import { isRunwardenError, rwError } from "../errors.js";
import type { EngineContext } from "../internal/context.js";
import { engineActor } from "../policy.js";
import type { Leases } from "./leases.js";
import { type ExecutorDeps, errorText, phaseLabel } from "./live.js";
import type { Outcomes } from "./outcome.js";
import { declaredConnection, flattenRunbook, ignoredTicketConnection } from "./plan.js";
import { Redactor } from "./redaction.js";
import type { Runner } from "./runner.js";
import { timelineOf } from "./timeline.js";
import type { ExecutionDetail, PlanEntry, StartOptions } from "./types.js";

/** Creates `start` over the runner's parts. */
export function createStart(
  ctx: EngineContext,
  parts: { deps: ExecutorDeps; log: Logger; runner: Runner; outcomes: Outcomes; leases: Leases },
): ((ticketId: number, runbookId: number, options?: StartOptions) => Promise<ExecutionDetail>) & {
  preview: PreviewPlan;
} {
  const { deps, log, runner, outcomes, leases } = parts;
  const storage = ctx.storage;

  async function start(
    ticketId: number,
    runbookId: number,
    options: StartOptions = {},
  ): Promise<ExecutionDetail> {
    const actor = options.actor ?? engineActor;
    const dryRun = options.dryRun === true;
    const [ticket, { record, runbook }] = await Promise.all([
      deps.tickets.get(ticketId),
      runner.runbookOf(runbookId),
    ]);
    if (record.status === "retired") {
      throw rwError(
        "RW_ERR_RUNBOOK_LIFECYCLE",
        `runbook "${record.title}" (revision ${record.revision}) is retired`,
        {
          details: { runbookId, status: record.status },
        },
      );
    }
    const planned = flattenRunbook(runbook);
    const redactor = new Redactor(ctx.redactor);
    const plan = await planOf(ticket, runbook, planned, redactor);
    const firstError = plan.find((p) => p.error !== null);
    const now = ctx.nowIso();
    const firstPhase = planned[0]?.phase ?? "main";
    const failed = firstError !== undefined;
    const status: SessionStatus = dryRun ? (failed ? "failed" : "succeeded") : failed ? "failed" : "running";
    const error = firstError
      ? `${phaseLabel(firstError.phase)} "${firstError.name}": ${firstError.error}; nothing was run`
      : null;
    const ignored = ignoredTicketConnection(
      runbook,
      record.key,
      ticket,
      planned.map((p) => p.step),
    );
    if (ignored) log.warn({ ticketId, runbook: record.key }, "ticket connection_config ignored");
    let created: { session: ExecutionSession; steps: StepRecord[] };
    try {
      created = await storage.createSession(
        {
          ticketId,
          runbookId,
          runbookKey: record.key,
          runbookRevision: record.revision,
          status,
          phase: firstPhase,
          dryRun,
          startedBy: actor.id,
          causedBy: options.causedBy === undefined ? actor.id : options.causedBy,
          fingerprint: ticket.fingerprint,
          createdAt: now,
          updatedAt: now,
          finishedAt: dryRun || failed ? now : null,
          error,
          lease: dryRun || failed ? null : leases.newLease(),
          ...(ignored ? { warnings: [ignored] } : {}),
        },
        plan.map((entry) => ({
          index: entry.index,
          phase: entry.phase,
          name: entry.name,
          command: entry.command,
          rendered: entry.rendered,
          language: entry.language,
          connection:
            entry.connection?.name ?? declaredConnection(planned[entry.index]!.step, runbook, ticket),
          requiresApproval: entry.requiresApproval,
          severity: entry.severity,
          idempotent: entry.idempotent,
          status: dryRun ? "skipped" : entry === firstError ? "failed" : failed ? "skipped" : "pending",
          attempts: 0,
          exitCode: null,
          stdout: "",
          stderr: "",
          startedAt: null,
          finishedAt: dryRun || failed ? now : null,
          error: entry.error,
        })),
      );
    } catch (err) {
      if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") {
        const [live] = await storage.sessions.find({
          where: {
            fingerprint: ticket.fingerprint,
            status: { in: ["pending", "running", "awaiting_approval", "interrupted"] },
          },
          order: "desc",
          limit: 10,
        });
        throw rwError(
          "RW_ERR_EXEC_STATE",
          `a session of runbook "${record.key}" is already live for this ticket's fingerprint`,
          { details: { ticketId, runbookKey: record.key, sessionId: live?.id ?? null }, cause: err },
        );
      }
      throw err;
    }
    const { session, steps } = created;
    ctx.events.emit("session:created", { sessionId: session.id, ticketId, runbookId, dryRun });
    const started = {
      actor: actor.id,
      action: dryRun ? "session.dry_run" : "session.started",
      objectType: "session",
      objectId: session.id,
      origin: options.origin ?? null,
      details: {
        ticketId,
        runbookId,
        runbook: record.key,
        revision: record.revision,
        dryRun,
        causedBy: session.causedBy ?? null,
      },
    };
    const drives = !dryRun && !failed;
    // A session that runs: its audit event and its ticket's "executing" are one commit.
    let current = ticket;
    if (drives)
      current = await outcomes.recordStart(
        ticket,
        started,
        "executing",
        `running runbook "${runbook.title}"`,
      );
    else await deps.audit.record(started);
    log.info({ sessionId: session.id, ticketId, runbookId, dryRun }, "session created");
    if (drives && session.lease === null) {
      // No room in this instance (shared store): another instance with room claims it.
      await leases.offer(session.id);
    } else if (drives) {
      runner.hint({ session, steps, ticket: current, runbook, planned, redactor });
      void runner.drive(session.id);
    } else if (!dryRun) {
      await outcomes.afterFinish(session, runbook);
    } else {
      ctx.events.emit("session:finished", {
        sessionId: session.id,
        ticketId,
        status: session.status,
        error: session.error,
      });
    }
    return { session, steps, approvals: [], timeline: timelineOf(session, steps, [], []), plan };
  }

  /** Renders and resolves every step; a failure is recorded on its entry, never thrown. */
  async function planOf(
    ticket: Ticket,
    runbook: Runbook,
    planned: ReturnType<typeof flattenRunbook>,
    redactor: Redactor,
  ): Promise<PlanEntry[]> {
    const entries: PlanEntry[] = [];
    for (const { index, phase, step, compensates } of planned) {
      const base = {
        index,
        phase,
        name: step.name,
        command: step.command,
        language: step.language,
        requiresApproval: step.requiresApproval,
        approvalsRequired: step.requiresApproval
          ? Math.max(1, Math.trunc(ctx.policy.requiredApprovals(step)))
          : 0,
        severity: step.severity,
        timeoutMs: step.timeoutMs ?? runbook.metadata.timeoutMs ?? ctx.policy.defaultStepTimeoutMs,
        retries: step.retries,
        onFailure: step.onFailure,
        idempotent: step.idempotent,
        ...(compensates !== undefined
          ? { compensates: { index: compensates, name: planned[compensates]!.step.name } }
          : {}),
      };
      try {
        const prepared = await runner.prepare({ runbook, ticket, planned }, index);
        redactor.add(Object.values(prepared.resolution.resolved.credential?.secrets ?? {}));
        const { resolved } = prepared.resolution;
        entries.push({
          ...base,
          language: prepared.language,
          rendered: prepared.rendered.command,
          connection: {
            name: resolved.name,
            connectionType: resolved.connectionType,
            targetHost: resolved.targetHost,
            targetPort: resolved.targetPort,
            targetService: resolved.targetService,
            environment: resolved.environment,
            credentialId: resolved.credential?.id ?? null,
            source: prepared.connectionSource,
          },
          error: null,
        });
      } catch (err) {
        entries.push({ ...base, rendered: null, connection: null, error: errorText(err, redactor) });
      }
    }
    return entries;
  }

  /** The plan a session of this runbook would have for this ticket: rendered, resolved, nothing stored or run. */
  async function preview(ticket: Ticket, runbookId: number) {
    const { record, runbook } = await runner.runbookOf(runbookId);
    const plan = await planOf(ticket, runbook, flattenRunbook(runbook), new Redactor(ctx.redactor));
    return {
      runbook: {
        id: record.id,
        key: record.key,
        title: record.title,
        revision: record.revision,
        status: record.status,
      },
      plan,
    };
  }

  return Object.assign(start, { preview });
}

/**
 * Renders and resolves a runbook's plan for a ticket as a session would, storing and running
 * nothing (a backtest). The ticket need not be stored. Throws RW_ERR_STORAGE_NOT_FOUND for an
 * unknown runbook.
 */
export type PreviewPlan = (
  ticket: Ticket,
  runbookId: number,
) => Promise<{
  runbook: { id: number; key: string; title: string; revision: number; status: RunbookRecord["status"] };
  plan: PlanEntry[];
}>;
