/**
 * The domain's shapes. Each is a zod schema and its type is `z.infer` of it: one source of truth
 * per shape, shared by the stores, the engine and the HTTP adapter (which maps snake_case JSON at
 * its boundary).
 */
import { z } from "zod";

// ── Tickets ────────────────────────────────────────────────────────────────────────────────────

export const ticketSeverities = ["critical", "high", "medium", "low", "info"] as const;
export const TicketSeverity = z.enum(ticketSeverities);
export type TicketSeverity = z.infer<typeof TicketSeverity>;

export const ticketStatuses = [
  "new",
  "analyzed",
  "executing",
  "resolved",
  "failed",
  "needs_human",
  "closed",
] as const;
export const TicketStatus = z.enum(ticketStatuses);
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
  title: z.string().trim().min(1, "title is required").max(500),
  description: z.string().max(20_000).default(""),
  severity: TicketSeverity.default("medium"),
  environment: z.string().trim().max(64).default(""),
  service: z.string().trim().max(128).default(""),
  source: z.string().trim().min(1).max(64).default("manual"),
  /** The id the source tool gives the alert or ticket. */
  externalId: z.string().max(256).optional(),
  /** A fingerprint the source computed (e.g. Alertmanager's); otherwise the engine derives one. */
  fingerprint: z.string().max(256).optional(),
  /** True when the source says the problem is over (a resolved alert, a recovered monitor). */
  resolved: z.boolean().optional(),
  metaData: JsonRecord.default({}),
  receivedAt: z.iso.datetime({ offset: true }).optional(),
});
/** The input as a caller writes it (defaults optional). */
export type TicketInput = z.input<typeof TicketInput>;
/** The input after validation (defaults applied). */
export type ValidTicketInput = z.output<typeof TicketInput>;

export const Entities = z.object({
  hosts: z.array(z.string()),
  ips: z.array(z.string()),
  services: z.array(z.string()),
  errorCodes: z.array(z.string()),
  urls: z.array(z.string()),
});
export type Entities = z.infer<typeof Entities>;

export const RunbookCandidate = z.object({
  runbookId: z.number().int(),
  runbookKey: z.string(),
  runbookVersion: z.number().int(),
  title: z.string(),
  status: z.enum(["draft", "approved", "retired"]),
  score: z.number().min(0).max(1),
  reasons: z.array(z.string()),
});
export type RunbookCandidate = z.infer<typeof RunbookCandidate>;

export const Decision = z.object({
  action: z.enum(["auto_execute", "suggest", "none"]),
  runbookId: z.number().int().optional(),
  reason: z.string(),
});
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
  category: z.string(),
  entities: Entities,
  candidates: z.array(RunbookCandidate),
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
  analyzedAt: z.string(),
  /**
   * The decision is auto_execute and whoever stored the ticket asked for it to be carried out:
   * a restart starts the session if the process died before it did.
   */
  autoExecuteRequested: z.boolean().optional(),
});
export type Analysis = z.infer<typeof Analysis>;

export const Ticket = z.object({
  id: z.number().int(),
  /** Optimistic concurrency: bumped by every write. */
  version: z.number().int(),
  title: z.string(),
  description: z.string(),
  severity: TicketSeverity,
  environment: z.string(),
  service: z.string(),
  source: z.string(),
  externalId: z.string().nullable(),
  fingerprint: z.string(),
  status: TicketStatus,
  occurrences: z.number().int(),
  metaData: JsonRecord,
  receivedAt: z.string(),
  lastSeenAt: z.string(),
  updatedAt: z.string(),
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
export type Ticket = z.infer<typeof Ticket>;

// ── Runbooks ───────────────────────────────────────────────────────────────────────────────────

export const runbookStatuses = ["draft", "approved", "retired"] as const;
export const RunbookStatus = z.enum(runbookStatuses);
export type RunbookStatus = z.infer<typeof RunbookStatus>;

/** A stored runbook version. `plan` is the parsed runbook (see @runwarden/runbook-parser). */
export const RunbookRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  /** Stable name across versions: front matter `id`, or a slug of the title. */
  key: z.string(),
  /** Runbook version within its key: 1, 2, … */
  revision: z.number().int(),
  title: z.string(),
  status: RunbookStatus,
  markdown: z.string(),
  /** sha256 of the Markdown: the parsed plan is cached under it. */
  hash: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string().nullable(),
  approvedBy: z.string().nullable(),
});
export type RunbookRecord = z.infer<typeof RunbookRecord>;

// ── Executions ─────────────────────────────────────────────────────────────────────────────────

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
export const SessionStatus = z.enum(sessionStatuses);
export type SessionStatus = z.infer<typeof SessionStatus>;
/** Statuses after which nothing more happens to a session. */
export const finalSessionStatuses: readonly SessionStatus[] = [
  "succeeded",
  "failed",
  "rolled_back",
  "rejected",
  "cancelled",
];

export const phases = ["prechecks", "main", "postchecks", "rollback"] as const;
export const Phase = z.enum(phases);
export type Phase = z.infer<typeof Phase>;

export const Lease = z.object({ owner: z.string(), expiresAt: z.string() });
export type Lease = z.infer<typeof Lease>;

export const ExecutionSession = z.object({
  id: z.number().int(),
  version: z.number().int(),
  ticketId: z.number().int(),
  runbookId: z.number().int(),
  runbookKey: z.string(),
  runbookRevision: z.number().int(),
  status: SessionStatus,
  phase: Phase,
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
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  /** Which engine instance is driving it, until when. */
  lease: Lease.nullable(),
  /**
   * What people following the session should know about how it was planned, e.g. that the
   * ticket's `meta_data.connection_config` was ignored because the runbook does not opt in.
   */
  warnings: z.array(z.string()).optional(),
});
export type ExecutionSession = z.infer<typeof ExecutionSession>;

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
export const StepStatus = z.enum(stepStatuses);
export type StepStatus = z.infer<typeof StepStatus>;

/**
 * The process group a local step runs in, journaled while it runs so that an engine restarted
 * after a crash can find it: its id, and what tells it is ours (the host, the boot, and the group
 * leader's start time in clock ticks since boot, so a recycled id is never mistaken for it).
 */
export const StepProcess = z.object({
  pgid: z.number().int().positive(),
  host: z.string(),
  /** The kernel's boot id (`/proc/sys/kernel/random/boot_id`); null where there is none. */
  bootId: z.string().nullable(),
  /** Field 22 of `/proc/<pgid>/stat`; null when it could not be read. */
  startTicks: z.number().int().nullable(),
});
export type StepProcess = z.infer<typeof StepProcess>;

/** What a restarted engine found of an interrupted step's process group. */
export const processCheckOutcomes = ["killed at restart", "had exited", "unknown"] as const;
export const StepProcessCheck = z.object({
  outcome: z.enum(processCheckOutcomes),
  /** Why, in a sentence (which host, which group). */
  reason: z.string(),
  at: z.string(),
});
export type StepProcessCheck = z.infer<typeof StepProcessCheck>;

export const StepRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  sessionId: z.number().int(),
  /** Order within the session, over all phases. */
  index: z.number().int(),
  phase: Phase,
  name: z.string(),
  /** The command as written in the runbook (a template). */
  command: z.string(),
  /** The command as it runs, values substituted; null until rendered. Never contains secrets. */
  rendered: z.string().nullable(),
  language: z.string(),
  connection: z.string(),
  requiresApproval: z.boolean(),
  severity: z.enum(["safe", "low_risk", "medium_risk", "high_risk"]),
  idempotent: z.boolean(),
  status: StepStatus,
  attempts: z.number().int(),
  exitCode: z.number().int().nullable(),
  /** Captured output, redacted and capped (head and tail kept). */
  stdout: z.string(),
  stderr: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  /** The process group of the running attempt, when its connector reports one (local). */
  process: StepProcess.nullable().optional(),
  /** Set when a restart found the step running: what became of its process group. */
  processCheck: StepProcessCheck.nullable().optional(),
});
export type StepRecord = z.infer<typeof StepRecord>;

export const approvalStatuses = ["pending", "approved", "rejected", "expired", "void"] as const;
export const ApprovalStatus = z.enum(approvalStatuses);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const ApprovalDecision = z.object({
  actor: z.string(),
  decision: z.enum(["approve", "reject"]),
  comment: z.string(),
  at: z.string(),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const Approval = z.object({
  id: z.number().int(),
  version: z.number().int(),
  sessionId: z.number().int(),
  stepId: z.number().int(),
  ticketId: z.number().int(),
  status: ApprovalStatus,
  /** sha256 over exactly the rendered command, target connection and credential. */
  bindingHash: z.string(),
  stepName: z.string(),
  /** The step's title for people (its runbook text's first sentence, or its name); absent on approvals made before 0.2. */
  stepTitle: z.string().nullable().optional(),
  renderedCommand: z.string(),
  target: z.string(),
  risk: z.enum(["safe", "low_risk", "medium_risk", "high_risk"]),
  ticketTitle: z.string(),
  /** The session's runbook and the ticket's environment, for grouping and filtering; absent before 0.2. */
  runbookKey: z.string().optional(),
  environment: z.string().optional(),
  /** The session's starter ("engine" for auto-execution). */
  startedBy: z.string(),
  /** The session's causer (see `ExecutionSession.causedBy`). */
  causedBy: z.string().nullable().optional(),
  requiredApprovals: z.number().int().min(1),
  decisions: z.array(ApprovalDecision),
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
});
export type Approval = z.infer<typeof Approval>;

// ── Credentials and connections ────────────────────────────────────────────────────────────────

/** A stored credential. Secret fields exist only as ciphertext; the API lists them masked. */
export const CredentialRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  name: z.string(),
  credentialType: z.string(),
  environment: z.string(),
  /** Non-secret fields (username, host, port, database_name, …). */
  fields: JsonRecord,
  /** Names of the secret fields held in `ciphertext`. */
  secretFields: z.array(z.string()),
  /** AES-256-GCM envelope of the secret fields: `keyId:iv:tag:data`, base64 parts. */
  ciphertext: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type CredentialRecord = z.infer<typeof CredentialRecord>;

export const ConnectionHealth = z.object({
  status: z.enum(["unknown", "healthy", "unhealthy"]),
  checkedAt: z.string().nullable(),
  latencyMs: z.number().nullable(),
  error: z.string().nullable(),
});
export type ConnectionHealth = z.infer<typeof ConnectionHealth>;

export const ConnectionRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  name: z.string(),
  connectionType: z.string(),
  credentialId: z.number().int().nullable(),
  targetHost: z.string().nullable(),
  targetPort: z.number().int().nullable(),
  targetService: z.string().nullable(),
  environment: z.string(),
  /** Connector-specific options (host key fingerprint, egress allowlist, …); no secrets. */
  options: JsonRecord,
  health: ConnectionHealth,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ConnectionRecord = z.infer<typeof ConnectionRecord>;

// ── Audit ──────────────────────────────────────────────────────────────────────────────────────

export const AuditEvent = z.object({
  id: z.number().int(),
  version: z.number().int(),
  at: z.string(),
  actor: z.string(),
  /** `noun.verb`, e.g. `approval.approved`, `credential.created`. */
  action: z.string(),
  objectType: z.string(),
  objectId: z.string(),
  /** Where the actor acted from (IP, "engine", "cli"). */
  origin: z.string().nullable(),
  details: JsonRecord,
});
export type AuditEvent = z.infer<typeof AuditEvent>;

// ── API tokens (used by the HTTP adapter) ──────────────────────────────────────────────────────

export const ApiToken = z.object({
  id: z.number().int(),
  version: z.number().int(),
  /** Who acts with this token: recorded in the audit log. */
  actor: z.string(),
  roles: z.array(z.enum(["viewer", "operator", "approver", "admin"])),
  /** sha256 of the token; the token itself is shown once, at creation. */
  tokenHash: z.string(),
  /** The first characters of the token, to tell tokens apart in a list. */
  prefix: z.string(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;

// ── Webhook sources (the generic webhook with a mapping) ──────────────────────────────────────

/**
 * A named webhook source created through the API: `POST /tickets/webhook/{name}` maps any JSON
 * body to tickets with JSONata expressions. Its token is stored as a sha256 hash only.
 */
export const WebhookSourceRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  /** kebab-case; the `{source}` of `POST /tickets/webhook/{source}` and the tickets' `source`. */
  name: z.string(),
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
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string().nullable(),
  lastReceivedAt: z.string().nullable(),
});
export type WebhookSourceRecord = z.infer<typeof WebhookSourceRecord>;

// ── Connector configuration stored through the API ─────────────────────────────────────────────

/**
 * A connector's configuration as `PUT /connectors/{kind}/{name}/config` stores it: the fields its
 * schema does not mark secret in clear, the secret ones sealed by the vault (keyed by their
 * dotted path, `webhookAuth.token`). One per (kind, name).
 */
export const ConnectorConfigRecord = z.object({
  id: z.number().int(),
  version: z.number().int(),
  kind: z.enum(["monitoring", "ticketing", "infrastructure", "notifier"]),
  name: z.string(),
  /** The configuration without its secret fields. */
  config: JsonRecord,
  /** Dotted paths of the sealed fields (`webhookAuth.token`, `hosts.0.key`), sorted. */
  secretPaths: z.array(z.string()),
  /** The vault envelope of the secret fields, by dotted path. */
  ciphertext: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Who stored it last. */
  updatedBy: z.string(),
});
export type ConnectorConfigRecord = z.infer<typeof ConnectorConfigRecord>;
