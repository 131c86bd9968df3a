import { z } from "zod";
import { isExecutableLanguage, normalizeLanguage } from "./internal/languages.js";
import { classifyHeading } from "./sections.js";

/**
 * The zod schemas are the single source of truth for the parsed runbook: every exported type is
 * inferred from them. They describe the *parsed* plan (camelCase, milliseconds); the Markdown
 * spelling (snake_case annotations, `30s` durations) lives in annotations.ts and front-matter.ts.
 */

/** The risk levels a step may declare with its `severity` annotation, least risky first. */
export const stepSeverities = ["safe", "low_risk", "medium_risk", "high_risk"] as const;
/** What a failed step does to the session (its `on_failure` annotation). */
export const failureActions = ["abort", "continue", "rollback"] as const;
/** The statuses a runbook's front matter may declare. */
export const runbookStatuses = ["draft", "approved", "retired"] as const;
/** Ticket severities a runbook can match (the scale core normalizes every tool's severity to). */
export const ticketSeverities = ["critical", "high", "medium", "low", "info"] as const;
/** The phases of a runbook, in the order they run (`rollback` only after a failure). */
export const phaseNames = ["prechecks", "main", "postchecks", "rollback"] as const;

/** The severity of a step with no `severity` annotation: never assume a command is harmless. */
export const defaultStepSeverity = "low_risk" satisfies (typeof stepSeverities)[number];

/** Node's timers cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
export const maxTimeoutMs = 2_147_483_647;

/** A JavaScript regular expression source that compiles. */
export const RegexSourceSchema = z
  .string()
  .refine(isValidRegex, { error: "is not a valid regular expression" });

/** Zod schema of a step's risk, one of {@link stepSeverities}. */
export const StepSeveritySchema = z.enum(stepSeverities);
/** Zod schema of a step's `on_failure`, one of {@link failureActions}. */
export const FailureActionSchema = z.enum(failureActions);
/** Zod schema of a runbook's status, one of {@link runbookStatuses}. */
export const RunbookStatusSchema = z.enum(runbookStatuses);
/** Zod schema of a ticket severity a runbook can match, one of {@link ticketSeverities}. */
export const TicketSeveritySchema = z.enum(ticketSeverities);
/** Zod schema of a phase name, one of {@link phaseNames}. */
export const PhaseNameSchema = z.enum(phaseNames);

/** Zod schema of a position in the Markdown source. */
export const PositionSchema = z.object({
  /** 1-based line in the Markdown, after a leading BOM is dropped. */
  line: z.number().int().min(1),
  /** 1-based column, counted in UTF-16 code units (a tab counts as one). */
  column: z.number().int().min(1),
});

/** Zod schema of a step's `expect` annotation: the exit code and output that count as success. */
export const ExpectSchema = z.object({
  /** The exit code that counts as success. */
  exitCode: z.number().int().min(0).max(255).optional(),
  /** A regular expression the step's output must match. */
  output: RegexSourceSchema.optional(),
});

const singleLine = (s: string) => !/[\r\n]/.test(s);
const trimmed = (s: string) => s === s.trim();

/**
 * How a step is undone: a command in the step's language, run on the step's connection with its
 * approval requirement and severity, when the session rolls back after the step succeeded.
 */
export const CompensationSchema = z.object({
  command: z.string().min(1).refine(trimmed, { error: "must not start or end with whitespace" }),
  /** Template references in the command, in order, once each (as `Step.variables`). */
  variables: z.array(z.string()),
});

/** Zod schema of one parsed step. Refuses a `high_risk` step that does not require approval. */
export const StepSchema = z
  .object({
    /** Unique within the runbook: the `name` annotation, or derived from the command. */
    name: z.string().min(1).refine(singleLine, { error: "must be one line" }).refine(trimmed),
    /** The command, trimmed; may hold `{{ … }}` templates. */
    command: z.string().min(1).refine(trimmed, { error: "must not start or end with whitespace" }),
    /** `sh` unless a fence or a `language` annotation says otherwise. */
    language: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_+.-]*$/)
      .refine((l) => isExecutableLanguage(l) && normalizeLanguage(l) === l, {
        error: "must be an executable language in its normal spelling (sh, sql, http, powershell, …)",
      }),
    /**
     * True when a fence's info string or a `language` annotation names the language; absent when
     * it defaulted to `sh` (a list item). A defaulted step on a connection that runs another
     * language (SQL, HTTP) is rendered in that connection's language.
     */
    languageDeclared: z.literal(true).optional(),
    /** True when the step waits for approval before it runs (always for `high_risk`). */
    requiresApproval: z.boolean(),
    /** The step's risk; {@link defaultStepSeverity} when not annotated. */
    severity: StepSeveritySchema,
    /** Timeout in milliseconds; absent: the runbook's, then the engine's default. */
    timeoutMs: z.number().int().min(1).max(maxTimeoutMs).optional(),
    /** How many times a failed attempt is tried again (0 to 100). */
    retries: z.number().int().min(0).max(100),
    /** Name of the infrastructure connection the step runs on (falls back to metadata.connection). */
    connection: z.string().min(1).refine(singleLine).refine(trimmed).optional(),
    /** What output and exit code count as success. */
    expect: ExpectSchema.optional(),
    /** What a failure does: `abort` the session, `continue`, or `rollback`. */
    onFailure: FailureActionSchema,
    /** True when the step is safe to run again. */
    idempotent: z.boolean(),
    /** The `compensate` annotation: what undoes this step when the session rolls back. */
    compensate: CompensationSchema.optional(),
    /** Markdown text that follows the step. */
    description: z.string().min(1).refine(trimmed).optional(),
    /** Template references in the command (`ticket.service` for `{{ ticket.service }}`), in order, once each. */
    variables: z.array(z.string()),
    /** Where the step starts in the Markdown. */
    position: PositionSchema,
  })
  .refine((s) => s.severity !== "high_risk" || s.requiresApproval, {
    error: "a high_risk step must require approval",
    path: ["requiresApproval"],
  });

/**
 * Zod schema of the front matter's `match` block: which tickets the runbook applies to. `services`,
 * `environments`, `severities` and `sources` filter; keywords and patterns add to the match score.
 */
export const MatchSchema = z.object({
  /** Services the ticket's `service` must be one of. */
  services: z.array(z.string()).optional(),
  /** Environments the ticket's `environment` must be one of. */
  environments: z.array(z.string()).optional(),
  /** Severities the ticket's severity must be one of. */
  severities: z.array(TicketSeveritySchema).optional(),
  /** Sources (`alertmanager`, `csv`, …) the ticket must come from. */
  sources: z.array(z.string()).optional(),
  /** Words that raise the match score when found in the ticket's text. */
  keywords: z.array(z.string()).optional(),
  /** A regular expression; a title that matches it raises the score. */
  titlePattern: RegexSourceSchema.optional(),
  /** A regular expression; a description that matches it raises the score. */
  descriptionPattern: RegexSourceSchema.optional(),
});

/** The front matter's `ticket_connections`: what a ticket may choose; at least one entry. */
export const TicketConnectionsSchema = z
  .object({
    /** Connection types (`ssh`, `winrm`, `database`, …), lower case. */
    types: z.array(z.string().min(1)).optional(),
    /** Names of registered infrastructure connections. */
    names: z.array(z.string().min(1)).optional(),
  })
  .refine((t) => (t.types?.length ?? 0) + (t.names?.length ?? 0) > 0, {
    error: "must name at least one connection type (types) or connection (names)",
  });

/** Zod schema of a runbook's metadata: its front matter, parsed. */
export const RunbookMetadataSchema = z.object({
  /** Stable name across versions; absent: a slug of the title. */
  id: z.string().min(1).optional(),
  /** The version the author gives it. */
  version: z.number().int().min(1).optional(),
  /** The status the author declares (the host decides whether to apply it). */
  status: RunbookStatusSchema.optional(),
  /** Which tickets it applies to. */
  match: MatchSchema.optional(),
  /** The default connection for steps that name none. */
  connection: z.string().min(1).optional(),
  /** The default timeout for steps that set none. */
  timeoutMs: z.number().int().min(1).max(maxTimeoutMs).optional(),
  /** Default values for `{{ vars.<name> }}` templates. */
  variables: z.record(z.string(), z.string()).optional(),
  /** Whether a matching ticket may run this runbook without a person starting it. */
  autoExecute: z.boolean().optional(),
  /**
   * The connections a ticket may choose (its `metaData.connection_config`) for steps that name
   * none, when the runbook has no default `connection`: any connection of one of `types`, or one
   * of `names`. Without it, a ticket's choice is ignored.
   */
  ticketConnections: TicketConnectionsSchema.optional(),
});

/** Zod schema of a section that is not a phase (a note for people, kept as written). */
export const NoteSchema = z.object({
  /** The section's heading (never a phase name). */
  heading: z
    .string()
    .min(1)
    .refine(singleLine)
    .refine(trimmed)
    .refine((h) => classifyHeading(h) === undefined, { error: "a note heading must not name a phase" }),
  /** The section's Markdown, as written. */
  text: z.string().refine(trimmed),
});

/** Zod schema of a runbook's four phases, each a list of steps; `main` needs at least one. */
export const PhasesSchema = z.object({
  prechecks: z.array(StepSchema),
  main: z.array(StepSchema).min(1, { error: "a runbook needs at least one main step" }),
  postchecks: z.array(StepSchema),
  rollback: z.array(StepSchema),
});

/** Zod schema of a parsed runbook. Refuses two steps with the same name. */
export const RunbookSchema = z
  .object({
    /** The runbook's title (its first heading). */
    title: z.string().min(1).refine(singleLine).refine(trimmed),
    /** Its front matter. */
    metadata: RunbookMetadataSchema,
    /** Its steps, by phase. */
    phases: PhasesSchema,
    /** Sections that are not phases, in order. */
    notes: z.array(NoteSchema),
    /** Markdown between the title and the first section. */
    description: z.string().min(1).refine(trimmed).optional(),
  })
  .superRefine((runbook, ctx) => {
    const seen = new Set<string>();
    for (const phase of phaseNames) {
      runbook.phases[phase].forEach((step, index) => {
        if (seen.has(step.name)) {
          ctx.addIssue({
            code: "custom",
            message: `duplicate step name "${step.name}"`,
            path: ["phases", phase, index, "name"],
          });
        }
        seen.add(step.name);
      });
    }
  });

/** Zod schema of one problem found in a runbook. */
export const DiagnosticSchema = z.object({
  /** `error` makes the runbook invalid; `warning` does not (unless `warningsAsErrors`). */
  severity: z.enum(["error", "warning"]),
  /** Stable rule id such as `runbook/unknown-annotation`; docs/runbook-format.md lists them all. */
  ruleId: z.string(),
  /** What is wrong, in a sentence. */
  message: z.string(),
  /** 1-based line where the problem starts. */
  line: z.number().int().min(1),
  /** 1-based column where the problem starts. */
  column: z.number().int().min(1),
  /** 1-based line where the problem ends, when known. */
  endLine: z.number().int().min(1).optional(),
  /** 1-based column where the problem ends, when known. */
  endColumn: z.number().int().min(1).optional(),
});

/** A step's risk level: `safe`, `low_risk`, `medium_risk` or `high_risk`. */
export type StepSeverity = z.infer<typeof StepSeveritySchema>;
/** What a failed step does: `abort`, `continue` or `rollback`. */
export type FailureAction = z.infer<typeof FailureActionSchema>;
/** A runbook's status: `draft`, `approved` or `retired`. */
export type RunbookStatus = z.infer<typeof RunbookStatusSchema>;
/** A ticket severity: `critical`, `high`, `medium`, `low` or `info`. */
export type TicketSeverity = z.infer<typeof TicketSeveritySchema>;
/** A phase name: `prechecks`, `main`, `postchecks` or `rollback`. */
export type PhaseName = z.infer<typeof PhaseNameSchema>;
/** A position in the Markdown (1-based line and column). */
export type Position = z.infer<typeof PositionSchema>;
/** A step's success criteria (exit code, output pattern). */
export type Expect = z.infer<typeof ExpectSchema>;
/** How a step is undone when the session rolls back after it succeeded. */
export type Compensation = z.infer<typeof CompensationSchema>;
/** One parsed step: its command, language, risk, approval, timeout, retries and failure handling. */
export type Step = z.infer<typeof StepSchema>;
/** The front matter's `match` block. */
export type RunbookMatch = z.infer<typeof MatchSchema>;
/** A runbook's metadata, from its front matter. */
export type RunbookMetadata = z.infer<typeof RunbookMetadataSchema>;
/** The front matter's `ticket_connections`. */
export type TicketConnections = z.infer<typeof TicketConnectionsSchema>;
/** A section of the runbook that is not a phase. */
export type Note = z.infer<typeof NoteSchema>;
/** A runbook's steps by phase. */
export type Phases = z.infer<typeof PhasesSchema>;
/**
 * A parsed runbook: title, metadata, phases and notes; what {@link parseRunbook} returns when there
 * is no error.
 */
export type Runbook = z.infer<typeof RunbookSchema>;
/** One problem found in a runbook: severity, rule id, message and position. */
export type Diagnostic = z.infer<typeof DiagnosticSchema>;
/** `error` or `warning`. */
export type DiagnosticSeverity = Diagnostic["severity"];

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
