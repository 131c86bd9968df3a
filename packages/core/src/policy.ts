/** Who may do what, and the engine's tunable thresholds: supplied by the host. */

export const roles = ["viewer", "operator", "approver", "admin"] as const;
/**
 * A role an actor may hold: `viewer`, `operator`, `approver` or `admin` (approving needs
 * `approver` or `admin` by default).
 */
export type Role = (typeof roles)[number];

/** Someone (or something) acting on the engine. `id` is recorded in the audit log. */
export interface Actor {
  /** Who it is: recorded in the audit log and on the records the actor creates or decides. */
  id: string;
  /** What the actor may do. */
  roles: readonly Role[];
}

/** The engine itself, when it acts on its own (auto-execution, expiry). */
export const engineActor: Actor = { id: "engine", roles: ["operator"] };

/**
 * The four-eyes rule: the actors who may not approve this approval, because the step is
 * high_risk and they started or caused its session (the starter, then the causer; none for a
 * step of lower risk). `approvals.approve` refuses them with RW_ERR_APPROVAL_SAME_ACTOR.
 */
export function excludedApprovers(approval: {
  risk: string;
  startedBy: string;
  causedBy?: string | null | undefined;
}): string[] {
  if (approval.risk !== "high_risk") return [];
  const out = [approval.startedBy];
  if (approval.causedBy && approval.causedBy !== approval.startedBy) out.push(approval.causedBy);
  return out;
}

/**
 * The engine's access rule and tunable thresholds. Pass a partial one as `EngineOptions.policy`;
 * {@link defaultPolicy} fills the rest.
 */
export interface Policy {
  /** A candidate at or above this score may auto-execute (if its runbook allows it). Default 0.5. */
  autoExecuteThreshold: number;
  /** Below this score a candidate is not even suggested. Default 0.15. */
  suggestThreshold: number;
  /** A repeat of an open ticket within this window is folded into it. Default 1 hour. */
  dedupeWindowMs: number;
  /** An approval not decided within this time expires. Default 1 hour. */
  approvalTtlMs: number;
  /** Approvals needed for a step; default 1. */
  requiredApprovals(step: { severity: string; requiresApproval: boolean }): number;
  /** May this actor decide this approval? Default: holds the approver (or admin) role. */
  canApprove(actor: Actor): boolean;
  /**
   * Raw hosts a ticket's `metaData.connection_config` may point at (for a runbook whose
   * `ticket_connections` allows the host's connector type). Default: none.
   */
  allowedRawHosts: readonly string[];
  /** Sessions running at once in this engine. Default 8. */
  maxConcurrentSessions: number;
  /** Steps running at once on one connection. Default 4. */
  maxConcurrentPerConnection: number;
  /** Auto-execution of a runbook pauses after this many consecutive failures. Default 3. */
  circuitBreakerThreshold: number;
  /** …for this long. Default 10 minutes. */
  circuitBreakerCooldownMs: number;
  /** First wait between a step's attempts (`retries`); doubles each retry, capped at 1 minute. Default 1 s. */
  retryBackoffMs: number;
  /** Timeout of a step whose runbook sets none. Default 15 minutes. */
  defaultStepTimeoutMs: number;
  /** How long engine.close() lets running steps finish before it interrupts them. Default 10 s. */
  closeGraceMs: number;
  /**
   * How long a session's lease lasts unless renewed (it is renewed every third of this while the
   * session is driven). A session whose lease ran out is taken over by another instance sharing
   * the store, so this is also how long the work of a dead instance waits. Default 30 s.
   */
  leaseTtlMs: number;
  /**
   * `engine.start()` starts the sessions of auto-executed tickets whose process died between
   * storing the ticket and starting its session; a ticket stored less than this long ago is left
   * alone until then (another instance may be starting it right now). Default 30 s.
   */
  autoExecuteResumeGraceMs: number;
}

/** The defaults of every {@link Policy} field (each field's comment states its default). */
export const defaultPolicy: Policy = {
  autoExecuteThreshold: 0.5,
  suggestThreshold: 0.15,
  dedupeWindowMs: 60 * 60 * 1000,
  approvalTtlMs: 60 * 60 * 1000,
  requiredApprovals: () => 1,
  canApprove: (actor) => actor.roles.includes("approver") || actor.roles.includes("admin"),
  allowedRawHosts: [],
  maxConcurrentSessions: 8,
  maxConcurrentPerConnection: 4,
  circuitBreakerThreshold: 3,
  circuitBreakerCooldownMs: 10 * 60 * 1000,
  retryBackoffMs: 1_000,
  defaultStepTimeoutMs: 15 * 60 * 1000,
  closeGraceMs: 10_000,
  leaseTtlMs: 30_000,
  autoExecuteResumeGraceMs: 30_000,
};

/** A clock the tests can drive. */
export interface Clock {
  /** The current time in milliseconds since the epoch. */
  now(): number;
}

/** The real clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };
