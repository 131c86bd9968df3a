export {
  type AnnotationKey,
  annotationKeys,
  formatDuration,
  normalizeLanguage,
  parseDuration,
} from "./annotations.js";
export {
  createRunbookCache,
  hashRunbook,
  type RunbookCache,
  type RunbookCacheOptions,
} from "./cache.js";
export { isRunbookInvalidError, RunbookInvalidError } from "./errors.js";
export { formatRunbook } from "./format.js";
export { FrontMatterSchema } from "./front-matter.js";
export { type ParseOptions, type ParseResult, parseRunbook, parseRunbookOrThrow } from "./parse.js";
export { default, type RemarkRunbookOptions, remarkRunbook } from "./plugin.js";
export {
  type Compensation,
  CompensationSchema,
  type Diagnostic,
  DiagnosticSchema,
  type DiagnosticSeverity,
  defaultStepSeverity,
  type Expect,
  ExpectSchema,
  type FailureAction,
  FailureActionSchema,
  failureActions,
  MatchSchema,
  type Note,
  NoteSchema,
  type PhaseName,
  PhaseNameSchema,
  type Phases,
  PhasesSchema,
  type Position,
  PositionSchema,
  phaseNames,
  type Runbook,
  type RunbookMatch,
  type RunbookMetadata,
  RunbookMetadataSchema,
  RunbookSchema,
  type RunbookStatus,
  RunbookStatusSchema,
  runbookStatuses,
  type Step,
  StepSchema,
  type StepSeverity,
  StepSeveritySchema,
  stepSeverities,
  type TicketConnections,
  TicketConnectionsSchema,
  type TicketSeverity,
  TicketSeveritySchema,
  ticketSeverities,
} from "./schema.js";
export { classifyHeading } from "./sections.js";
export {
  analyzeShellTemplate,
  evaluatingCommands,
  type ShellContext,
  type ShellPlaceholder,
  type ShellTemplateAnalysis,
} from "./shell-context.js";
export {
  type TemplateProblem,
  type TemplateToken,
  templateVariables,
  tokenizeTemplate,
} from "./templates.js";
export {
  analyzeCmdTemplate,
  analyzePowerShellTemplate,
  powerShellSingleQuoted,
  type WindowsContext,
  type WindowsPlaceholder,
  type WindowsTemplateAnalysis,
} from "./windows-context.js";
