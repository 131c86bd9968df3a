// @runwarden/core: public API. This file only re-exports; anything under src/internal/ stays private.

// The runbook format, as the parser defines it (the HTTP adapter documents it from these schemas).
export {
  type Diagnostic,
  DiagnosticSchema,
  parseRunbook,
  type Runbook,
  type RunbookMetadata,
  RunbookSchema,
  type Step,
  StepSchema,
} from "@runwarden/runbook-parser";
export type { Logger } from "pino";
export {
  type AnalysisData,
  type AnalysisOutcome,
  type AnalysisState,
  type AnalysisSubject,
  type Analyzer,
  type AnalyzerStage,
  builtInStages,
  type Category,
  categories,
  categorize,
  computeFingerprint,
  defineAnalyzerStage,
  extractEntities,
  normalizeEnvironment,
  normalizeSeverity,
  type StageContext,
} from "./analyzer/index.js";
export type { AuditListOptions, AuditLog, AuditPage, AuditRecordInput } from "./audit.js";
export { ConnectionInput, type ConnectionsApi, localConnectionName } from "./connections.js";
export {
  type ConnectorConfigSchema,
  type ConnectorConfigsApi,
  type ConnectorConfigView,
  connectorConfigTopic,
  describeConnectorConfig,
} from "./connector-configs.js";
export {
  builtInCredentialTypes,
  type CredentialSchema,
  type CredentialTypeField,
  type CredentialTypeInfo,
  credentialFields,
  databaseCredential,
  genericCredential,
  genericCredentialType,
  genericPublicFields,
} from "./credential-types.js";
export {
  type ActorOptions,
  type CredentialChanges,
  type CredentialInput,
  type CredentialsApi,
  type CredentialView,
  maskedSecret,
} from "./credentials.js";
export * from "./domain.js";
// The engine and its parts.
export {
  createEngine,
  defaultAnalysisWorkers,
  type Engine,
  type EngineOptions,
  type MonitoringApi,
  type StatusCounted,
} from "./engine.js";
// The contracts: errors, domain shapes, the storage port, events, the plugin API, policy.
export * from "./errors.js";
export * from "./events.js";
export type {
  ApprovalsApi,
  BreakerState,
  DecisionOptions,
  ExecutionDetail,
  ExecutionsApi,
  ListApprovalsQuery,
  ListExecutionsQuery,
  PlanEntry,
  StartOptions,
  TimelineEntry,
} from "./executor/index.js";
export { redactedMarker, shellQuote } from "./executor/index.js";
export { type LocalConnectorConfig, localConnector } from "./executor/local.js";
export {
  createNotificationService,
  type NotificationDeps,
  type NotificationOptions,
  NotificationRule,
  type NotificationService,
  notificationEvents,
  notifyTarget,
  routeOf,
  ruleMatches,
  sendTestNotification,
} from "./notify/index.js";
export * from "./plugin.js";
export * from "./policy.js";
export {
  type ConfigSource,
  type ConnectorActivity,
  type ConnectorInfo,
  type ConnectorRegistry,
  genericWebhookSource,
  type ListConnectorsOptions,
  secretPaths,
} from "./registry.js";
export {
  type AuditRecorder,
  type CreatedRunbook,
  type CreateRunbookOptions,
  type LifecycleOptions,
  type LintedRunbook,
  type ListRunbooksQuery,
  type MatchOptions,
  type MatchQuery,
  type Page,
  type RunbookMatch,
  type RunbooksApi,
  slugify,
} from "./runbooks.js";
export * from "./storage.js";
// Helpers for store authors (the memory, SQLite and PostgreSQL stores share them).
export {
  type Condition,
  checkQuery,
  checkSignal,
  checkWhere,
  createLocalSignals,
  decodeLease,
  documentNotFound,
  encodeLease,
  type IngestPlan,
  intakeGone,
  intakeOverflow,
  isFoldableTicketStatus,
  isOpenTicketStatus,
  type LiveSessionFields,
  liveSessionKey,
  maxSignalPayloadBytes,
  planIngest,
  utf8Bytes,
} from "./storage-kit.js";
export { createMemoryStorage, type MemoryStorageOptions } from "./storage-memory.js";
export {
  backoffMs,
  createTicketSync,
  type OutboxPayload,
  outboxKey,
  type PollResult,
  refKey,
  refUrlKey,
  type SyncClock,
  type TicketSync,
  type TicketSyncDeps,
  type TicketSyncOptions,
} from "./sync/index.js";
export {
  createMonitoringPoller,
  type MonitoringPoller,
  type MonitoringPollerDeps,
  type MonitoringPollOptions,
  type MonitoringPollResult,
  MonitoringSourceStatus,
  monitoringStateKey,
  monitoringTarget,
} from "./sync/monitoring.js";
export { TicketConnectionConfig } from "./tickets/connection-config.js";
export {
  type IntakeQueue,
  type IntakeQueueDepth,
  IntakeQueueOptions,
  type IntakeQueueOptionsInput,
  type IntakeReceipt,
} from "./tickets/intake-queue.js";
export {
  entitiesFromLabels,
  hostLabelKeys,
  hostOfAddress,
  isExporterJob,
  type LabelSeverity,
  type Labels,
  labelsOfMetaData,
  serviceFromLabels,
  serviceLabelKeys,
  severityFromLabels,
  severityLabelKeys,
  tagsToLabels,
  toLabels,
} from "./tickets/labels.js";
export {
  type AnalysisTraceResult,
  type CsvBacktestOptions,
  type CsvBacktestResult,
  type CsvBacktestRow,
  type CsvBacktestStep,
  type CsvImportOptions,
  type CsvImportResult,
  type CsvRowError,
  type CsvRowOutcome,
  type CsvRowOutcomeKind,
  type CsvSource,
  GenericWebhookTicket,
  type ImportProgress,
  type IngestManyOptions,
  type IngestResult,
  type IngestTicketOptions,
  type ListTicketsQuery,
  type TicketsApi,
  type WebhookIngestOptions,
  type WebhookResult,
} from "./tickets.js";
export { defaultVaultKeyEnv, isSecretFieldName, type VaultOptions } from "./vault.js";
export { coreVersion } from "./version.js";
export {
  type MappingResult,
  WebhookMappingSpec,
  type WebhookSourceActorOptions,
  WebhookSourceChanges,
  WebhookSourceInput,
  type WebhookSourcesApi,
  type WebhookSourceView,
  type WebhookSourceWithToken,
} from "./webhook-sources.js";
