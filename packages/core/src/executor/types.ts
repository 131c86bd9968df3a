/**
 * The executor's public shapes: what `engine.executions` and `engine.approvals` take and return
 * (start options, plans, session details, timelines, listing queries) and the `Executor` that
 * createExecutor builds. Types only.
 */

import type {
  Approval,
  ApprovalStatus,
  ExecutionSession,
  Phase,
  SessionStatus,
  StepRecord,
  Ticket,
} from "../domain.js";
import type { Actor } from "../policy.js";
import type { Page } from "../runbooks.js";
import type { BreakerState } from "./concurrency.js";
import type { PreparedStep } from "./plan.js";
import type { PreviewPlan } from "./start.js";

/** Options of {@link ExecutionsApi.start}. */
export interface StartOptions {
  /** Who starts it (recorded as `startedBy` and in the audit log). Default: the engine. */
  actor?: Actor;
  /**
   * Who caused it (recorded as `causedBy`): for an auto-execution, the ticket's submitter.
   * Default: the starter. A high_risk step needs an approver who is neither.
   */
  causedBy?: string | null;
  /** Render and resolve everything, run nothing, return the plan. */
  dryRun?: boolean;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/** One step of a plan: what would run where, and who must approve it. */
export interface PlanEntry {
  /** Order within the session, over all phases. */
  index: number;
  /** The phase the step belongs to. */
  phase: Phase;
  /** The step's name, from the runbook. */
  name: string;
  /** The command as the runbook writes it. */
  command: string;
  /** The command as it would run; null when it cannot be rendered (see `error`). */
  rendered: string | null;
  /** The step's language (`sh`, `sql`, `http`, …). */
  language: string;
  /** The connection it would run on, as resolved; null when it could not be resolved (see `error`). */
  connection: {
    name: string;
    connectionType: string;
    targetHost: string | null;
    targetPort: number | null;
    targetService: string | null;
    environment: string;
    credentialId: number | null;
    /** Where the connection came from: the step, the runbook, the ticket, or the default. */
    source: PreparedStep["connectionSource"];
  } | null;
  /** True when the step waits for approval before it runs. */
  requiresApproval: boolean;
  /** How many distinct approvals it needs (the policy's `requiredApprovals`). */
  approvalsRequired: number;
  /** The step's risk, from the runbook. */
  severity: StepRecord["severity"];
  /** Its timeout, in milliseconds (the runbook's, or the policy's default). */
  timeoutMs: number;
  /** How many times a failed attempt is tried again, with backoff. */
  retries: number;
  /** What a failure does to the session: stop it, go on, or roll back. */
  onFailure: "abort" | "continue" | "rollback";
  /** True when the runbook says the step is safe to run again. */
  idempotent: boolean;
  /** Why the step could not be prepared (`CODE: message`), or null. */
  error: string | null;
  /**
   * For a compensation (a rollback step made from a step's `compensate` annotation): the step it
   * undoes. It runs only when the session rolls back after that step succeeded.
   */
  compensates?: { index: number; name: string };
}

/** One line of a session's timeline, for people following it. */
export interface TimelineEntry {
  /** When it happened (ISO 8601). */
  at: string;
  /** `session.created`, `step.started`, `approval.approved`, `session.cancelled`, … */
  kind: string;
  /** What happened, in a sentence (already redacted). */
  message: string;
  /** Who did it, when a person or the engine acted. */
  actor?: string;
  /** The step it is about, when there is one. */
  stepId?: number;
  /** The approval it is about, when there is one. */
  approvalId?: number;
}

/** A session with everything a person needs to follow it. */
export interface ExecutionDetail {
  /** The session. */
  session: ExecutionSession;
  /** Its steps, in order. */
  steps: StepRecord[];
  /** Its approval requests, oldest first. */
  approvals: Approval[];
  /** What happened, in order. */
  timeline: TimelineEntry[];
  /** Returned by `start()`: what the session will do (for a dry run, what it would do). */
  plan?: PlanEntry[];
}

/** Filters of {@link ExecutionsApi.list}. */
export interface ListExecutionsQuery {
  /** Only sessions for this ticket. */
  ticketId?: number;
  /** Only sessions in this status. */
  status?: SessionStatus;
  /** Default 50, at most 500. */
  limit?: number;
  /** Keyset pagination: the `nextCursor` of the previous page. */
  cursor?: number;
}

/** `engine.executions`: start, follow, cancel and list execution sessions. */
export interface ExecutionsApi {
  /**
   * Starts a session of the runbook for the ticket (bound to that runbook version) and returns at
   * once; the steps run in the background. With `dryRun`, runs nothing and returns the plan.
   * Throws RW_ERR_EXEC_STATE when a session of the same runbook is already live for the
   * ticket's fingerprint (details.sessionId), RW_ERR_RUNBOOK_LIFECYCLE for a retired runbook.
   */
  start(ticketId: number, runbookId: number, options?: StartOptions): Promise<ExecutionDetail>;
  /** Session, steps, approvals and timeline. Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<ExecutionDetail>;
  /** Newest first. */
  list(query?: ListExecutionsQuery): Promise<Page<ExecutionSession>>;
  /** Stops a live session: a running step is killed, pending approvals are voided. */
  cancel(id: number, options: { actor: Actor; reason?: string; origin?: string }): Promise<ExecutionSession>;
  /** A person's choice for an interrupted step: run it again, skip it, or abort the session. */
  resolveInterrupted(
    sessionId: number,
    stepId: number,
    choice: "retry" | "skip" | "abort",
    options: { actor: Actor; origin?: string },
  ): Promise<ExecutionSession>;
  /**
   * Resolves when the session stops moving on its own: finished, awaiting approval or
   * interrupted. Rejects with RW_ERR_EXEC_TIMEOUT after `timeoutMs` (default 60 s).
   */
  settled(id: number, options?: { timeoutMs?: number }): Promise<ExecutionSession>;
  /** The circuit breaker of a runbook key (auto-execution pauses while it is open). */
  breaker(runbookKey: string): BreakerState;
  /** The runbooks whose auto-execution is paused now by their breaker (this process's view). */
  pausedAutoExecutions(): (BreakerState & { runbookKey: string })[];
  /** Closes a runbook's breaker by hand (audited). */
  resetBreaker(runbookKey: string, options: { actor: Actor; origin?: string }): Promise<void>;
}

/** Filters of {@link ApprovalsApi.list}. */
export interface ListApprovalsQuery {
  /** Only approvals in this status (e.g. `pending`, the inbox). */
  status?: ApprovalStatus;
  /** Only approvals of this session. */
  sessionId?: number;
  /** Only approvals of this ticket's sessions. */
  ticketId?: number;
  /** Default 50, at most 500. */
  limit?: number;
  /** Keyset pagination: the `nextCursor` of the previous page. */
  cursor?: number;
}

/** Who decides an approval, and why. */
export interface DecisionOptions {
  /** The deciding actor; must be allowed by `policy.canApprove`. */
  actor: Actor;
  /** A note kept with the decision (a rejection's reason is shown on the ticket). */
  comment?: string;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/** `engine.approvals`: list and decide the requests for approval of steps. */
export interface ApprovalsApi {
  /** Newest first. */
  list(query?: ListApprovalsQuery): Promise<Page<Approval>>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND. */
  get(id: number): Promise<Approval>;
  /**
   * Approves. Throws RW_ERR_APPROVAL_FORBIDDEN (no approver role), RW_ERR_APPROVAL_SAME_ACTOR
   * (a high_risk step and the actor started or caused the session: `excludedApprovers`), RW_ERR_APPROVAL_CONFLICT (decided
   * already, or concurrently), RW_ERR_APPROVAL_EXPIRED, RW_ERR_APPROVAL_VOID (what would run
   * changed; `details.replacedBy` is the new approval). When enough approvals are in, the step runs.
   */
  approve(id: number, options: DecisionOptions): Promise<Approval>;
  /** Rejects: the session stops and the ticket needs a human, with the reason on it. */
  reject(id: number, options: DecisionOptions): Promise<Approval>;
  /** Expires approvals whose time ran out (by the engine's clock); the sweeper calls it. */
  expireDue(): Promise<number>;
}

export interface Executor {
  executions: ExecutionsApi;
  approvals: ApprovalsApi;
  /** Resumes sessions of earlier processes; starts claiming and expiring in the background. */
  start(): Promise<void>;
  /** Stops background work; lets running steps finish (policy.closeGraceMs), then interrupts them. */
  close(): Promise<void>;
  /** Starts the auto-execution analysis decided for a ticket (engine.ts hands it to intake). */
  autoExecute(ticket: Ticket): Promise<void>;
  /** Cancels the waiting sessions of a ticket its source resolved (handed to intake and sync). */
  ticketResolved(ticket: Ticket, reason: string): Promise<void>;
  /** The plan a session would have for a ticket, nothing stored or run (a CSV backtest). */
  preview: PreviewPlan;
}
