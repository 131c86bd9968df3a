/**
 * What every part of the session runner shares: the ports it uses, the in-memory shape of a
 * session being driven (`Live`), the record changes it commits (`Intent`), and small helpers
 * (final statuses, error text with secrets redacted). No behaviour lives here.
 */
import type { Runbook } from "@runwarden/runbook-parser";
import type { AuditLog, AuditRecordInput } from "../audit.js";
import {
  type ExecutionSession,
  finalSessionStatuses,
  type Phase,
  type RunbookRecord,
  type SessionStatus,
  type StepRecord,
  type StepStatus,
  type Ticket,
  type TicketStatus,
} from "../domain.js";
import { type ErrorCode, isRunwardenError, type RunwardenError } from "../errors.js";
import type { ConnectionResolver } from "../internal/connection-resolver.js";
import type { ConnectorRegistry } from "../registry.js";
import type { Changes, Storage } from "../storage.js";
import type { PlannedStep, PreparedStep } from "./plan.js";
import type { Redactor } from "./redaction.js";

/** The part of the tickets API the executor uses. */
export interface TicketsPort {
  get(id: number): Promise<Ticket>;
  setStatus(id: number, status: TicketStatus, reason: string | null): Promise<unknown>;
}

/** The part of the runbooks API the executor uses. */
export interface RunbooksPort {
  get(id: number): Promise<RunbookRecord>;
  plan(record: Pick<RunbookRecord, "hash" | "markdown">): Runbook;
}

export interface ExecutorDeps {
  runbooks: RunbooksPort;
  /** Opens connections with their credentials (built by engine.ts, shared with nobody else). */
  resolver: ConnectionResolver;
  registry: Pick<ConnectorRegistry, "infrastructureFor" | "languagesFor">;
  audit: Pick<AuditLog, "record">;
  tickets: TicketsPort;
}

/** Why a running step's signal was aborted. */
export interface StopReason {
  kind: "cancel" | "close" | "lease";
}

/** A session being driven in this process, with what it needs in memory. */
export interface Live {
  session: ExecutionSession;
  steps: StepRecord[];
  ticket: Ticket;
  runbook: Runbook;
  planned: PlannedStep[];
  redactor: Redactor;
  signal: AbortSignal;
  /** Changes held back to be stored with the next commit (see `defer`), and what follows them. */
  pending: Pending;
  /** The session's status and phase as last announced (session:updated). */
  announced: { status: SessionStatus; phase: Phase };
}

/** What start() already loaded for a session it created. */
export type Hint = Omit<Live, "signal" | "pending" | "announced">;

/** A change of a driven session's records, stored by `commit`. */
export type Intent =
  | { kind: "step"; id: number; changes: Changes<"steps"> }
  | { kind: "session"; changes: Changes<"sessions"> }
  | { kind: "audit"; input: AuditRecordInput }
  | { kind: "ticket"; status: TicketStatus; reason: string };

export interface Pending {
  intents: Intent[];
  /** Run once the intents are stored (events). */
  after: (() => void)[];
}

/** Thrown inside a drive when someone else changed the session (cancelled it): stop quietly. */
export class Superseded extends Error {}

export const finalStepStatuses: ReadonlySet<StepStatus> = new Set([
  "succeeded",
  "failed",
  "timed_out",
  "skipped",
  "rejected",
  "cancelled",
]);
export const isFinalSession = (status: SessionStatus) =>
  (finalSessionStatuses as readonly string[]).includes(status);
/** How a session not driven here is stopped: its status, why, step statuses, the ticket's. */
export interface StopRequest {
  status: SessionStatus;
  error: string;
  stepStatus?: Record<number, StepStatus>;
  ticket?: [TicketStatus, string];
  keepApproval?: number;
}

/** Stops a session that is not driven here (see stop.ts); passed to the parts that stop one. */
export type StopSession = (sessionId: number, stop: StopRequest) => Promise<ExecutionSession>;

/** A session's steps in runbook order. */
export async function loadSteps(storage: Storage, sessionId: number): Promise<StepRecord[]> {
  const steps = await storage.steps.find({ where: { sessionId }, order: "asc" });
  return steps.sort((a, b) => a.index - b.index);
}

export function phaseLabel(phase: Phase): string {
  return phase === "prechecks"
    ? "precheck"
    : phase === "postchecks"
      ? "postcheck"
      : phase === "rollback"
        ? "rollback step"
        : "step";
}

export function secretsOf(prepared: PreparedStep): string[] {
  return Object.values(prepared.resolution.resolved.credential?.secrets ?? {});
}

/** `CODE: message` of an error, with every secret of the session redacted. */
export function errorText(err: unknown, redactor: Redactor): string {
  const text = isRunwardenError(err)
    ? `${(err as RunwardenError).code}: ${err.message}`
    : err instanceof Error
      ? err.message
      : String(err);
  const redacted = redactor.redact(text);
  return redacted.length > 2_000 ? `${redacted.slice(0, 2_000)}…` : redacted;
}

/** The error's stable code, when it is a Runwarden error. */
export function codeOf(err: unknown): ErrorCode | undefined {
  return isRunwardenError(err) ? err.code : undefined;
}
