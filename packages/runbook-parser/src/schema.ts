import { z } from "zod";
import { isExecutableLanguage, normalizeLanguage } from "./internal/languages.js";
import { classifyHeading } from "./sections.js";

/**
 * The zod schemas are the single source of truth for the parsed runbook: every exported type is
 * inferred from them. They describe the *parsed* plan (camelCase, milliseconds); the Markdown
 * spelling (snake_case annotations, `30s` durations) lives in annotations.ts and front-matter.ts.
 */

export const stepSeverities = ["safe", "low_risk", "medium_risk", "high_risk"] as const;
export const failureActions = ["abort", "continue", "rollback"] as const;
export const runbookStatuses = ["draft", "approved", "retired"] as const;
/** Ticket severities a runbook can match (the scale core normalizes every tool's severity to). */
export const ticketSeverities = ["critical", "high", "medium", "low", "info"] as const;
export const phaseNames = ["prechecks", "main", "postchecks", "rollback"] as const;

/** The severity of a step with no `severity` annotation: never assume a command is harmless. */
export const defaultStepSeverity = "low_risk" satisfies (typeof stepSeverities)[number];

/** Node's timers cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
export const maxTimeoutMs = 2_147_483_647;

/** A JavaScript regular expression source that compiles. */
export const RegexSourceSchema = z
  .string()
  .refine(isValidRegex, { error: "is not a valid regular expression" });

export const StepSeveritySchema = z.enum(stepSeverities);
export const FailureActionSchema = z.enum(failureActions);
export const RunbookStatusSchema = z.enum(runbookStatuses);
export const TicketSeveritySchema = z.enum(ticketSeverities);
export const PhaseNameSchema = z.enum(phaseNames);

export const PositionSchema = z.object({
  /** 1-based line in the Markdown, after a leading BOM is dropped. */
  line: z.number().int().min(1),
  /** 1-based column, counted in UTF-16 code units (a tab counts as one). */
  column: z.number().int().min(1),
});

export const ExpectSchema = z.object({
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

export const StepSchema = z
  .object({
    /** Unique within the runbook: the `name` annotation, or derived from the command. */
    name: z.string().min(1).refine(singleLine, { error: "must be one line" }).refine(trimmed),
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
    requiresApproval: z.boolean(),
    severity: StepSeveritySchema,
    timeoutMs: z.number().int().min(1).max(maxTimeoutMs).optional(),
    retries: z.number().int().min(0).max(100),
    /** Name of the infrastructure connection the step runs on (falls back to metadata.connection). */
    connection: z.string().min(1).refine(singleLine).refine(trimmed).optional(),
    expect: ExpectSchema.optional(),
    onFailure: FailureActionSchema,
    idempotent: z.boolean(),
    /** The `compensate` annotation: what undoes this step when the session rolls back. */
    compensate: CompensationSchema.optional(),
    /** Markdown text that follows the step. */
    description: z.string().min(1).refine(trimmed).optional(),
    /** Template references in the command (`ticket.service` for `{{ ticket.service }}`), in order, once each. */
    variables: z.array(z.string()),
    position: PositionSchema,
  })
  .refine((s) => s.severity !== "high_risk" || s.requiresApproval, {
    error: "a high_risk step must require approval",
    path: ["requiresApproval"],
  });

export const MatchSchema = z.object({
  services: z.array(z.string()).optional(),
  environments: z.array(z.string()).optional(),
  severities: z.array(TicketSeveritySchema).optional(),
  sources: z.array(z.string()).optional(),
  keywords: z.array(z.string()).optional(),
  titlePattern: RegexSourceSchema.optional(),
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

export const RunbookMetadataSchema = z.object({
  id: z.string().min(1).optional(),
  version: z.number().int().min(1).optional(),
  status: RunbookStatusSchema.optional(),
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

export const NoteSchema = z.object({
  heading: z
    .string()
    .min(1)
    .refine(singleLine)
    .refine(trimmed)
    .refine((h) => classifyHeading(h) === undefined, { error: "a note heading must not name a phase" }),
  /** The section's Markdown, as written. */
  text: z.string().refine(trimmed),
});

export const PhasesSchema = z.object({
  prechecks: z.array(StepSchema),
  main: z.array(StepSchema).min(1, { error: "a runbook needs at least one main step" }),
  postchecks: z.array(StepSchema),
  rollback: z.array(StepSchema),
});

export const RunbookSchema = z
  .object({
    title: z.string().min(1).refine(singleLine).refine(trimmed),
    metadata: RunbookMetadataSchema,
    phases: PhasesSchema,
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

export const DiagnosticSchema = z.object({
  severity: z.enum(["error", "warning"]),
  /** Stable rule id such as `runbook/unknown-annotation`; docs/runbook-format.md lists them all. */
  ruleId: z.string(),
  message: z.string(),
  line: z.number().int().min(1),
  column: z.number().int().min(1),
  endLine: z.number().int().min(1).optional(),
  endColumn: z.number().int().min(1).optional(),
});

export type StepSeverity = z.infer<typeof StepSeveritySchema>;
export type FailureAction = z.infer<typeof FailureActionSchema>;
export type RunbookStatus = z.infer<typeof RunbookStatusSchema>;
export type TicketSeverity = z.infer<typeof TicketSeveritySchema>;
export type PhaseName = z.infer<typeof PhaseNameSchema>;
export type Position = z.infer<typeof PositionSchema>;
export type Expect = z.infer<typeof ExpectSchema>;
export type Compensation = z.infer<typeof CompensationSchema>;
export type Step = z.infer<typeof StepSchema>;
export type RunbookMatch = z.infer<typeof MatchSchema>;
export type RunbookMetadata = z.infer<typeof RunbookMetadataSchema>;
export type TicketConnections = z.infer<typeof TicketConnectionsSchema>;
export type Note = z.infer<typeof NoteSchema>;
export type Phases = z.infer<typeof PhasesSchema>;
export type Runbook = z.infer<typeof RunbookSchema>;
export type Diagnostic = z.infer<typeof DiagnosticSchema>;
export type DiagnosticSeverity = Diagnostic["severity"];

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
