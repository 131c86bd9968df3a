/**
 * The domain's shapes. Each is a zod schema and its type is `z.infer` of it: one source of truth
 * per shape, shared by the stores, the engine and the HTTP adapter (which maps snake_case JSON at
 * its boundary).
 *
 * Over 600 lines because every field carries the TSDoc the API reference is generated from; the
 * shapes refer to one another (a ticket's analysis, a session's steps, an approval's binding), and
 * every package imports them from this one place.
 */
import { z } from "zod";

// ── Tickets ────────────────────────────────────────────────────────────────────────────────────

/** The ticket severities, most severe first (the order {@link normalizeSeverity} maps onto). */
export const ticketSeverities = ["critical", "high", "medium", "low", "info"] as const;
/** Zod schema of a ticket's severity, one of {@link ticketSeverities}. */
export const TicketSeverity = z.enum(ticketSeverities);
/** A ticket's severity: `critical`, `high`, `medium`, `low` or `info`. */
export type TicketSeverity = z.infer<typeof TicketSeverity>;

/** Every status a ticket can be in, in the order of its life. */
export const ticketStatuses = [
  "new",
  "analyzed",
  "executing",
  "resolved",
  "failed",
  "needs_human",
  "closed",
] as const;
/** Zod schema of a ticket's status, one of {@link ticketStatuses}. */
export const TicketStatus = z.enum(ticketStatuses);
/**
 * Where a ticket stands: `new` → `analyzed` → `executing` → `resolved` or `failed`; `needs_human`
 * when no runbook may run on its own; `closed` by a person or the source.
 */
export type TicketStatus = z.infer<typeof TicketStatus>;

/** Statuses in which a ticket is still open: a repeat alert is folded into it. */
export const openTicketStatuses: readonly TicketStatus[] = ["new", "analyzed", "executing", "needs_human"];

/**
 * Statuses a repeat within the dedupe window is folded into: the open ones, and `resolved`. An
 * alert that fires again right after it was remediated is a flap: it reopens that ticket as
 * `needs_human` and never starts the remediation again on its own (an alert storm cannot run a
 * runbook once per repeat).
 */
export const foldableTicketStatuses: readonly TicketStatus[] = [...openTicketStatuses, "resolved"];

/** The reason a flapping ticket carries when a repeat reopens it. */
export const flapReason =
  "fired again within the dedupe window after it was resolved: reopened for a person, not re-run automatically";

/**
 * How deep a JSON value from outside (a ticket's `metaData`, a request body) may nest. Real
 * documents stay far below it; past it, recursive code (zod, `JSON.stringify`, a store's copy)
 * would overflow the stack.
 */
export const maxJsonDepth = 64;

/**
 * True when `value` nests objects or arrays deeper than `limit` levels (a cycle counts as
 * endless). Walks with an explicit stack, never recursion, so any depth is safe to check.
 */
export function exceedsJsonDepth(value: unknown, limit = maxJsonDepth): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  // The deepest level each object was reached at: a shared object is walked again only deeper.
  const reached = new Map<object, number>();
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > limit) return true;
    if ((reached.get(current) ?? 0) >= depth) continue;
    reached.set(current, depth);
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

const JsonRecord = z.record(z.string(), z.unknown()).refine((value) => !exceedsJsonDepth(value), {
  message: `nested deeper than ${maxJsonDepth} levels`,
  abort: true,
});

/**
 * What a source hands to the engine: a CSV row, a webhook's alert, an SDK call. Checked with zod;
 * every refused field is reported at once.
 */
export const TicketInput = z.object({
  /** One line saying what is wrong (required, at most 500 characters). */
  title: z.string().trim().min(1, "title is required").max(500),
  /** The details, as the source wrote them. Default empty. */
  description: z.string().max(20_000).default(""),
  /** The severity; sources map theirs onto this scale. Default `medium`. */
  severity: TicketSeverity.default("medium"),
  /** The environment (`production`, `staging`, …); normalized by the analyzer. Default empty. */
  environment: z.string().trim().max(64).default(""),
  /** The service the alert is about. Default empty. */
  service: z.string().trim().max(128).default(""),
  /** Where the ticket comes from (`alertmanager`, `csv`, …). Default `manual`. */
  source: z.string().trim().min(1).max(64).default("manual"),
  /** The id the source tool gives the alert or ticket. */
  externalId: z.string().max(256).optional(),
  /** A fingerprint the source computed (e.g. Alertmanager's); otherwise the engine derives one. */
  fingerprint: z.string().max(256).optional(),
  /** True when the source says the problem is over (a resolved alert, a recovered monitor). */
  resolved: z.boolean().optional(),
  /** The source's extra fields, as JSON (labels, a `connection_config`, …). Default `{}`. */
  metaData: JsonRecord.default({}),
  /** When the source saw the problem (ISO 8601 with offset). Default: when the engine received it. */
  receivedAt: z.iso.datetime({ offset: true }).optional(),
});
/** The input as a caller writes it (defaults optional). */
export type TicketInput = z.input<typeof TicketInput>;
/** The input after validation (defaults applied). */
export type ValidTicketInput = z.output<typeof TicketInput>;

/** Zod schema of what the analyzer extracts from a ticket's text (see {@link extractEntities}). */
export const Entities = z.object({
  /** Host names found in the text. */
  hosts: z.array(z.string()),
  /** IPv4 and IPv6 addresses found in the text. */
  ips: z.array(z.string()),
  /** Service names found in the text. */
  services: z.array(z.string()),
  /** Error codes found in the text (`ORA-00060`, `HTTP 503`, …). */
  errorCodes: z.array(z.string()),
  /** URLs found in the text. */
  urls: z.array(z.string()),
});
/**
 * The hosts, IP addresses, services, error codes and URLs found in a ticket's title and
 * description; runbook matching scores on them.
 */
export type Entities = z.infer<typeof Entities>;

/** Zod schema of one runbook the analyzer considered for a ticket. */
export const RunbookCandidate = z.object({
  /** The runbook version's id. */
  runbookId: z.number().int(),
  /** The runbook's key (stable across versions). */
  runbookKey: z.string(),
  /** The runbook's revision. */
  runbookVersion: z.number().int(),
  /** The runbook's title. */
  title: z.string(),
  /** The runbook version's status when it was considered. */
  status: z.enum(["draft", "approved", "retired"]),
  /** How well it matches, from 0 to 1. */
  score: z.number().min(0).max(1),
  /** Why it scored what it did, one reason a line, for people. */
  reasons: z.array(z.string()),
});
/**
 * A runbook the analyzer considered for a ticket: which version, its match `score` (0 to 1) and the
 * `reasons` it scored, for people.
 */
export type RunbookCandidate = z.infer<typeof RunbookCandidate>;

/** Zod schema of the analyzer's verdict on a ticket. */
export const Decision = z.object({
  /** What the engine does: runs the runbook, suggests it, or nothing. */
  action: z.enum(["auto_execute", "suggest", "none"]),
  /** The runbook version to run or suggest; absent for `none`. */
  runbookId: z.number().int().optional(),
  /** Why, in a sentence. */
  reason: z.string(),
});
/**
 * What the engine will do about a ticket: `auto_execute` the runbook `runbookId`, `suggest` it to a
 * person, or `none`; `reason` says why.
 */
export type Decision = z.infer<typeof Decision>;

/** One analyzer stage's entry in an analysis trace: its name and what it did. */
export const AnalysisTraceEntry = z.object({ stage: z.string(), notes: z.array(z.string()) });
export type AnalysisTraceEntry = z.infer<typeof AnalysisTraceEntry>;

/**
 * What analysis found for a ticket. A stored ticket keeps what the dashboard and the API show
 * (category, entities, the ranked candidates with their reasons, the decision); the stage-by-stage
 * trace is recomputed when asked for (`tickets.analysisTrace`).
 */
export const Analysis = z.object({
  /** The ticket's category (one of `categories`, or a host stage's own). */
  category: z.string(),
  /** What was found in the ticket's text. */
  entities: Entities,
  /** The runbooks considered, best first. */
  candidates: z.array(RunbookCandidate),
  /** What the engine decided to do. */
  decision: Decision,
  /**
   * One entry per analyzer stage, in order: what it did. Present on what the analyzer returns and
   * on tickets stored before traces were recomputed on demand; not stored on new tickets.
   */
  trace: z.array(AnalysisTraceEntry).optional(),
  /**
   * What the normalize stage changed in the input as it came in (its trace notes), when it
   * changed anything: the one part of the trace the stored, normalized ticket cannot give back.
   */
  normalized: z.array(z.string()).optional(),
  /** When the analysis ran (ISO 8601). */
  analyzedAt: z.string(),
  /**
   * The decision is auto_execute and whoever stored the ticket asked for it to be carried out:
   * a restart starts the session if the process died before it did.
   */
  autoExecuteRequested: z.boolean().optional(),
});
/**
 * The analyzer's result, stored on the ticket: its category, the entities found, the candidate
 * runbooks best first, the decision and a per-stage trace.
 */
export type Analysis = z.infer<typeof Analysis>;

/** Zod schema of a stored ticket. */
export const Ticket = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** One line saying what is wrong. */
  title: z.string(),
  /** The details, as the source wrote them. */
  description: z.string(),
  /** The normalized severity. */
  severity: TicketSeverity,
  /** The normalized environment. */
  environment: z.string(),
  /** The service the ticket is about. */
  service: z.string(),
  /** Where it came from (`alertmanager`, `csv`, a webhook source's name, …). */
  source: z.string(),
  /** The source's id of the alert or ticket; null when it gave none. */
  externalId: z.string().nullable(),
  /** What repeats of the same problem share: repeats within the dedupe window fold into this ticket. */
  fingerprint: z.string(),
  /** Where the ticket stands (see {@link TicketStatus}). */
  status: TicketStatus,
  /** How many times the problem was reported (1, plus each folded repeat). */
  occurrences: z.number().int(),
  /** The source's extra fields, as JSON. */
  metaData: JsonRecord,
  /** When the source saw the problem first (ISO 8601). */
  receivedAt: z.string(),
  /** When a repeat was last folded in (ISO 8601). */
  lastSeenAt: z.string(),
  /** When the ticket last changed (ISO 8601). */
  updatedAt: z.string(),
  /** The analyzer's result; null before analysis. */
  analysis: Analysis.nullable(),
  /** Why the ticket is where it is (a rejection's reason, a failure), for people. */
  statusReason: z.string().nullable(),
  /**
   * The actor whose request brought the ticket in: the CSV uploader's or the SDK caller's actor,
   * a webhook's token actor or `webhook:<source>` for a source verified by its own secret. Null or
   * absent when the caller named none. A session auto-executed for the ticket is caused by them.
   */
  submittedBy: z.string().nullable().optional(),
});
/**
 * A stored ticket: the normalized input plus its status, occurrence count, analysis and timestamps
 * (ISO 8601). Repeats of the same `fingerprint` fold into one open ticket.
 */
export type Ticket = z.infer<typeof Ticket>;

// ── Runbooks ───────────────────────────────────────────────────────────────────────────────────

/** Every status a runbook version can be in. */
export const runbookStatuses = ["draft", "approved", "retired"] as const;
/** Zod schema of a runbook version's status, one of {@link runbookStatuses}. */
export const RunbookStatus = z.enum(runbookStatuses);
/**
 * A runbook version's status: `draft` (suggested, never auto-executed),
 * `approved`, or `retired` (never matched).
 */
export type RunbookStatus = z.infer<typeof RunbookStatus>;

/** A stored runbook version. `plan` is the parsed runbook (see @runwarden/runbook-parser). */
export const RunbookRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** Stable name across versions: front matter `id`, or a slug of the title. */
  key: z.string(),
  /** Runbook version within its key: 1, 2, … */
  revision: z.number().int(),
  /** The runbook's title (its first heading). */
  title: z.string(),
  /** The version's status. */
  status: RunbookStatus,
  /** The runbook's Markdown, as uploaded. */
  markdown: z.string(),
  /** sha256 of the Markdown: the parsed plan is cached under it. */
  hash: z.string(),
  /** When it was stored (ISO 8601). */
  createdAt: z.string(),
  /** When it last changed (ISO 8601). */
  updatedAt: z.string(),
  /** Who uploaded it; null when unknown. */
  createdBy: z.string().nullable(),
  /** Who approved it; null while not approved. */
  approvedBy: z.string().nullable(),
});
/**
 * A stored runbook version: its Markdown, the parsed plan's cache key and who created and approved
 * it.
 */
export type RunbookRecord = z.infer<typeof RunbookRecord>;

// ── Executions ─────────────────────────────────────────────────────────────────────────────────

/** Every status an execution session can be in. */
export const sessionStatuses = [
  "pending",
  "running",
  "awaiting_approval",
  "interrupted",
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "cancelled",
] as const;
/** Zod schema of a session's status, one of {@link sessionStatuses}. */
export const SessionStatus = z.enum(sessionStatuses);
/** An execution session's status; the ones in {@link finalSessionStatuses} are final. */
export type SessionStatus = z.infer<typeof SessionStatus>;
/** Statuses after which nothing more happens to a session. */
export const finalSessionStatuses: readonly SessionStatus[] = [
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "cancelled",
];

/** The phases of a runbook, in the order a session runs them (`rollback` only after a failure). */
export const phases = ["prechecks", "main", "postchecks", "rollback"] as const;
/** Zod schema of a runbook phase, one of {@link phases}. */
export const Phase = z.enum(phases);
/** A runbook phase: `prechecks`, `main`, `postchecks` or `rollback`. */
export type Phase = z.infer<typeof Phase>;

/** Zod schema of an engine instance's claim on a session. */
export const Lease = z.object({ owner: z.string(), expiresAt: z.string() });
/**
 * Which engine instance (`owner`) drives a session, and until when (`expiresAt`, ISO 8601); another
 * instance takes the session over once it has expired.
 */
export type Lease = z.infer<typeof Lease>;

/** Zod schema of a stored execution session. */
export const ExecutionSession = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** The ticket it remediates. */
  ticketId: z.number().int(),
  /** The runbook version it runs (bound at start: later edits do not change it). */
  runbookId: z.number().int(),
  /** The runbook's key. */
  runbookKey: z.string(),
  /** The runbook's revision. */
  runbookRevision: z.number().int(),
  /** Where the session stands. */
  status: SessionStatus,
  /** The phase it is in. */
  phase: Phase,
  /** True for a dry run: rendered and planned, nothing run. */
  dryRun: z.boolean(),
  /** The actor who started it ("engine" for auto-execution). */
  startedBy: z.string(),
  /**
   * The actor whose action caused it: the starter when a person starts it, the ticket's
   * `submittedBy` when the engine auto-executes it (null when that is unknown). A high_risk
   * step needs an approver who is neither the starter nor the causer.
   */
  causedBy: z.string().nullable().optional(),
  /** The ticket fingerprint: at most one live session per fingerprint and runbook. */
  fingerprint: z.string(),
  /** When it was created (ISO 8601). */
  createdAt: z.string(),
  /** When it last changed (ISO 8601). */
  updatedAt: z.string(),
  /** When it ended (ISO 8601); null while live. */
  finishedAt: z.string().nullable(),
  /** Why it failed, without secrets; null otherwise. */
  error: z.string().nullable(),
  /** Which engine instance is driving it, until when. */
  lease: Lease.nullable(),
  /**
   * What people following the session should know about how it was planned, e.g. that the
   * ticket's `meta_data.connection_config` was ignored because the runbook does not opt in.
   */
  warnings: z.array(z.string()).optional(),
});
/**
 * One run of one runbook version for one ticket: its status, the phase it is in, whether it is a
 * dry run, who started and caused it, and the lease of the engine driving it.
 */
export type ExecutionSession = z.infer<typeof ExecutionSession>;

/** Every status a step can be in. */
export const stepStatuses = [
  "pending",
  "awaiting_approval",
  "approved",
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "skipped",
  "interrupted",
  "rejected",
  "cancelled",
] as const;
/** Zod schema of a step's status, one of {@link stepStatuses}. */
export const StepStatus = z.enum(stepStatuses);
/**
 * A step's status: from `pending` through `awaiting_approval`/`approved` and `running` to
 * `succeeded`, `failed`, `timed_out`, `skipped`, `interrupted`, `rejected` or `cancelled`.
 */
export type StepStatus = z.infer<typeof StepStatus>;

/**
 * The process group a local step runs in, journaled while it runs so that an engine restarted
 * after a crash can find it: its id, and what tells it is ours (the host, the boot, and the group
 * leader's start time in clock ticks since boot, so a recycled id is never mistaken for it).
 */
export const StepProcess = z.object({
  /** The process group id. */
  pgid: z.number().int().positive(),
  /** The host it runs on. */
  host: z.string(),
  /** The kernel's boot id (`/proc/sys/kernel/random/boot_id`); null where there is none. */
  bootId: z.string().nullable(),
  /** Field 22 of `/proc/<pgid>/stat`; null when it could not be read. */
  startTicks: z.number().int().nullable(),
});
/**
 * The process group a local step runs in, journaled so a restarted engine can find it (see the
 * schema).
 */
export type StepProcess = z.infer<typeof StepProcess>;

/** What a restarted engine found of an interrupted step's process group. */
export const processCheckOutcomes = ["killed at restart", "had exited", "unknown"] as const;
/** Zod schema of what a restarted engine found of an interrupted step's process. */
export const StepProcessCheck = z.object({
  /** Killed, found exited, or could not tell. */
  outcome: z.enum(processCheckOutcomes),
  /** Why, in a sentence (which host, which group). */
  reason: z.string(),
  /** When the check ran (ISO 8601). */
  at: z.string(),
});
/**
 * What a restarted engine found of an interrupted step's process group: killed it, found it had
 * exited, or could not tell; and why.
 */
export type StepProcessCheck = z.infer<typeof StepProcessCheck>;

/** Zod schema of a stored step. */
export const StepRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** The session it belongs to. */
  sessionId: z.number().int(),
  /** Order within the session, over all phases. */
  index: z.number().int(),
  /** The phase it belongs to. */
  phase: Phase,
  /** Its name, unique within the runbook. */
  name: z.string(),
  /** The command as written in the runbook (a template). */
  command: z.string(),
  /** The command as it runs, values substituted; null until rendered. Never contains secrets. */
  rendered: z.string().nullable(),
  /** Its language (`sh`, `sql`, `http`, …). */
  language: z.string(),
  /** The name of the connection it runs on. */
  connection: z.string(),
  /** True when it waits for approval before it runs. */
  requiresApproval: z.boolean(),
  /** Its risk, from the runbook. */
  severity: z.enum(["safe", "low_risk", "medium_risk", "high_risk"]),
  /** True when it is safe to run again. */
  idempotent: z.boolean(),
  /** Where it stands. */
  status: StepStatus,
  /** Attempts made so far. */
  attempts: z.number().int(),
  /** The exit code of the last attempt; null before one ends (or when there is none). */
  exitCode: z.number().int().nullable(),
  /** Captured output, redacted and capped (head and tail kept). */
  stdout: z.string(),
  /** Captured standard error, redacted and capped (head and tail kept). */
  stderr: z.string(),
  /** When the latest attempt started (ISO 8601); null before the first. */
  startedAt: z.string().nullable(),
  /** When it ended (ISO 8601); null while not ended. */
  finishedAt: z.string().nullable(),
  /** Why it failed, without secrets; null otherwise. */
  error: z.string().nullable(),
  /** The process group of the running attempt, when its connector reports one (local). */
  process: StepProcess.nullable().optional(),
  /** Set when a restart found the step running: what became of its process group. */
  processCheck: StepProcessCheck.nullable().optional(),
});
/**
 * One step of a session as it runs: the command as written and as rendered, its risk, approval
 * requirement, status, attempts, exit code and captured (redacted, capped) output.
 */
export type StepRecord = z.infer<typeof StepRecord>;

/** Every status an approval can be in. */
export const approvalStatuses = ["pending", "approved", "rejected", "expired", "void"] as const;
/** Zod schema of an approval's status, one of {@link approvalStatuses}. */
export const ApprovalStatus = z.enum(approvalStatuses);
/**
 * An approval's status: `pending` until decided; `expired` past its deadline; `void` when what it
 * approved changed or the session ended.
 */
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** Zod schema of one person's decision on an approval. */
export const ApprovalDecision = z.object({
  /** The deciding actor's id. */
  actor: z.string(),
  /** What they decided. */
  decision: z.enum(["approve", "reject"]),
  /** Their comment (empty when none). */
  comment: z.string(),
  /** When (ISO 8601). */
  at: z.string(),
});
/** One approver's decision on an approval: who, `approve` or `reject`, their comment and when. */
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/** Zod schema of a stored approval request. */
export const Approval = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** The session whose step waits. */
  sessionId: z.number().int(),
  /** The step waiting for it. */
  stepId: z.number().int(),
  /** The session's ticket. */
  ticketId: z.number().int(),
  /** Where it stands. */
  status: ApprovalStatus,
  /** sha256 over exactly the rendered command, target connection and credential. */
  bindingHash: z.string(),
  /** The step's name. */
  stepName: z.string(),
  /** The step's title for people (its runbook text's first sentence, or its name); absent on approvals made before 0.2. */
  stepTitle: z.string().nullable().optional(),
  /** The command that will run if approved, as the approver sees it (never secrets). */
  renderedCommand: z.string(),
  /** Where it will run (the connection), as the approver sees it. */
  target: z.string(),
  /** The step's risk. */
  risk: z.enum(["safe", "low_risk", "medium_risk", "high_risk"]),
  /** The ticket's title, for context. */
  ticketTitle: z.string(),
  /** The session's runbook and the ticket's environment, for grouping and filtering; absent before 0.2. */
  runbookKey: z.string().optional(),
  /** The ticket's environment; absent before 0.2. */
  environment: z.string().optional(),
  /** The session's starter ("engine" for auto-execution). */
  startedBy: z.string(),
  /** The session's causer (see `ExecutionSession.causedBy`). */
  causedBy: z.string().nullable().optional(),
  /** How many distinct approvers must approve. */
  requiredApprovals: z.number().int().min(1),
  /** The decisions so far, in order. */
  decisions: z.array(ApprovalDecision),
  /** When it was requested (ISO 8601). */
  requestedAt: z.string(),
  /** When it expires if still pending (ISO 8601). */
  expiresAt: z.string(),
  /** When it was decided or closed (ISO 8601); null while pending. */
  decidedAt: z.string().nullable(),
});
/**
 * A request for people to approve one step before it runs, bound by `bindingHash` to exactly the
 * rendered command, target and credential; it passes with `requiredApprovals` distinct approvals.
 */
export type Approval = z.infer<typeof Approval>;

// ── Credentials and connections ────────────────────────────────────────────────────────────────

/** A stored credential. Secret fields exist only as ciphertext; the API lists them masked. */
export const CredentialRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** Its unique name. */
  name: z.string(),
  /** Its type (`ssh`, `database`, `generic`, a connector's own). */
  credentialType: z.string(),
  /** The environment it may be used in. */
  environment: z.string(),
  /** Non-secret fields (username, host, port, database_name, …). */
  fields: JsonRecord,
  /** Names of the secret fields held in `ciphertext`. */
  secretFields: z.array(z.string()),
  /** AES-256-GCM envelope of the secret fields: `keyId:iv:tag:data`, base64 parts. */
  ciphertext: z.string(),
  /** When it was created (ISO 8601). */
  createdAt: z.string(),
  /** When it last changed (ISO 8601). */
  updatedAt: z.string(),
});
/** A stored credential: non-secret fields in clear, secret fields only as the vault's ciphertext. */
export type CredentialRecord = z.infer<typeof CredentialRecord>;

/** Zod schema of a connection's last health check. */
export const ConnectionHealth = z.object({
  /** `unknown` until first checked. */
  status: z.enum(["unknown", "healthy", "unhealthy"]),
  /** When it was last checked (ISO 8601); null before. */
  checkedAt: z.string().nullable(),
  /** How long the check took, in milliseconds; null before. */
  latencyMs: z.number().nullable(),
  /** Why the check failed, without secrets; null otherwise. */
  error: z.string().nullable(),
});
/**
 * The result of a connection's last health check: status, when, latency and the error (without
 * secrets) if it failed.
 */
export type ConnectionHealth = z.infer<typeof ConnectionHealth>;

/** Zod schema of a stored connection. */
export const ConnectionRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** The connection's name, as runbook steps name it in `connection`. */
  name: z.string(),
  /** The connection type (`ssh`, `database`, `api`, …): which connector serves it. */
  connectionType: z.string(),
  /** The credential it uses; null for none. */
  credentialId: z.number().int().nullable(),
  /** The host the connection reaches; null when the connector needs none. */
  targetHost: z.string().nullable(),
  /** The port; null for the connector's default. */
  targetPort: z.number().int().nullable(),
  /**
   * For a `database` connection, the database it runs (`postgres`, `mysql`, …), which picks the
   * connector; null otherwise.
   */
  targetService: z.string().nullable(),
  /**
   * The environment it belongs to (`production`, `staging`, …); a credential is only used in its
   * own environment.
   */
  environment: z.string(),
  /** Connector-specific options (host key fingerprint, egress allowlist, …); no secrets. */
  options: JsonRecord,
  /** The last health check. */
  health: ConnectionHealth,
  /** When it was created (ISO 8601). */
  createdAt: z.string(),
  /** When it last changed (ISO 8601). */
  updatedAt: z.string(),
});
/**
 * A stored connection: where a step runs (connector type, target, environment), with which
 * credential, and its last health check.
 */
export type ConnectionRecord = z.infer<typeof ConnectionRecord>;

// ── Audit ──────────────────────────────────────────────────────────────────────────────────────

/** Zod schema of an audit record. */
export const AuditEvent = z.object({
  /** Assigned by the store (in order of recording). */
  id: z.number().int(),
  /** Always 1: the log is append-only. */
  version: z.number().int(),
  /** When it happened (ISO 8601). */
  at: z.string(),
  /** Who did it: an actor id, or `engine`. */
  actor: z.string(),
  /** `noun.verb`, e.g. `approval.approved`, `credential.created`. */
  action: z.string(),
  /** The kind of object acted on (`ticket`, `session`, `credential`, …). */
  objectType: z.string(),
  /** The object's id. */
  objectId: z.string(),
  /** Where the actor acted from (IP, "engine", "cli"). */
  origin: z.string().nullable(),
  /** Context as JSON; fields named like secrets are masked. */
  details: JsonRecord,
});
/**
 * One audit record: who (`actor`) did what (`action`) to which object, when and from where, with
 * details that never hold secrets.
 */
export type AuditEvent = z.infer<typeof AuditEvent>;

// ── API tokens (used by the HTTP adapter) ──────────────────────────────────────────────────────

/** Zod schema of a stored API token. */
export const ApiToken = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** Who acts with this token: recorded in the audit log. */
  actor: z.string(),
  /** What the token may do. */
  roles: z.array(z.enum(["viewer", "operator", "approver", "admin"])),
  /** sha256 of the token; the token itself is shown once, at creation. */
  tokenHash: z.string(),
  /** The first characters of the token, to tell tokens apart in a list. */
  prefix: z.string(),
  /** When it was created (ISO 8601). */
  createdAt: z.string(),
  /** Who created it; null for the bootstrap token. */
  createdBy: z.string().nullable(),
  /** When it was revoked (ISO 8601); null while live. */
  revokedAt: z.string().nullable(),
  /** When it was last used (ISO 8601, written at most once a minute); null before. */
  lastUsedAt: z.string().nullable(),
});
/**
 * An HTTP API token as stored: the actor it acts as, its roles, its hash and prefix (never the
 * token), and when it was created, revoked and last used.
 */
export type ApiToken = z.infer<typeof ApiToken>;

// ── Webhook sources (the generic webhook with a mapping) ──────────────────────────────────────

/**
 * A named webhook source created through the API: `POST /tickets/webhook/{name}` maps any JSON
 * body to tickets with JSONata expressions. Its token is stored as a sha256 hash only.
 *
 * @experimental
 */
export const WebhookSourceRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** kebab-case; the `{source}` of `POST /tickets/webhook/{source}` and the tickets' `source`. */
  name: z.string(),
  /** What the source is for, for people. */
  description: z.string(),
  /** JSONata: selects the alerts of a body (`alerts`); null: the body itself, an array element by element. */
  items: z.string().nullable(),
  /** JSONata: one alert → the ticket's fields (`{ "title": …, "severity": …, "labels": … }`). */
  mapping: z.string(),
  /** JSONata: one alert → its fingerprint (a string); null: the engine derives one. */
  fingerprint: z.string().nullable(),
  /** JSONata: one alert → true when it says the problem is over; null: never. */
  resolveWhen: z.string().nullable(),
  /** sha256 of the source's token; the token itself is shown once, when it is made. */
  tokenHash: z.string(),
  /** The token's first characters, to tell tokens apart. */
  tokenPrefix: z.string(),
  /** When it was created (ISO 8601). */
  createdAt: z.string(),
  /** When it last changed (ISO 8601). */
  updatedAt: z.string(),
  /** Who created it. */
  createdBy: z.string().nullable(),
  /** When it last accepted a request (ISO 8601); null before. */
  lastReceivedAt: z.string().nullable(),
});
/**
 * A named webhook source: its JSONata mapping from a body to tickets and its token's hash (see the
 * schema).
 */
export type WebhookSourceRecord = z.infer<typeof WebhookSourceRecord>;

// ── Connector configuration stored through the API ─────────────────────────────────────────────

/**
 * A connector's configuration as `PUT /connectors/{kind}/{name}/config` stores it: the fields its
 * schema does not mark secret in clear, the secret ones sealed by the vault (keyed by their
 * dotted path, `webhookAuth.token`). One per (kind, name).
 */
export const ConnectorConfigRecord = z.object({
  /** Assigned by the store. */
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  /** The connector's kind. */
  kind: z.enum(["monitoring", "ticketing", "infrastructure", "notifier"]),
  /** The connector's name. */
  name: z.string(),
  /** The configuration without its secret fields. */
  config: JsonRecord,
  /** Dotted paths of the sealed fields (`webhookAuth.token`, `hosts.0.key`), sorted. */
  secretPaths: z.array(z.string()),
  /** The vault envelope of the secret fields, by dotted path. */
  ciphertext: z.string(),
  /** When it was first stored (ISO 8601). */
  createdAt: z.string(),
  /** When it was last stored (ISO 8601). */
  updatedAt: z.string(),
  /** Who stored it last. */
  updatedBy: z.string(),
});
/**
 * A connector's configuration stored through the API, its secret fields sealed by the vault (see
 * the schema).
 */
export type ConnectorConfigRecord = z.infer<typeof ConnectorConfigRecord>;
