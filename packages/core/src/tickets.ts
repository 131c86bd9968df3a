/**
 * Ticket intake: SDK calls, CSV imports and webhooks become validated, analyzed, stored tickets.
 * A repeat of an open ticket (same fingerprint, within the dedupe window) is folded into it and
 * never starts a second execution.
 *
 * This file assembles the tickets API from its parts in ./tickets/: intake.ts (validation,
 * analysis, storing, `ingest`/`ingestMany`), csv-import.ts, monitoring.ts (webhooks and pulled
 * alerts, the generic webhook mapping), queries.ts (get, list, status), analysis-trace.ts (the
 * trace recomputed on demand); the contract is in types.ts.
 */
import type { Analyzer } from "./analyzer/index.js";
import type { AnalysisPool } from "./analyzer/pool.js";
import type { Ticket } from "./domain.js";
import { isRunwardenError } from "./errors.js";
import type { PreviewPlan } from "./executor/start.js";
import type { EngineContext } from "./internal/context.js";
import { csvTemplate } from "./internal/csv.js";
import type { ConnectorRegistry } from "./registry.js";
import type { AuditRecorder } from "./runbooks.js";
import { createAnalysisTrace } from "./tickets/analysis-trace.js";
import { createCsvBacktest } from "./tickets/backtest.js";
import { createConnectionConfigSetter } from "./tickets/connection-config.js";
import { type CsvImport, createCsvImport } from "./tickets/csv-import.js";
import { createIntake } from "./tickets/intake.js";
import { createIntakeQueue, type IntakeQueue, type IntakeQueueOptionsInput } from "./tickets/intake-queue.js";
import { createMonitoringIntake } from "./tickets/monitoring.js";
import { createTicketQueries } from "./tickets/queries.js";
import type { TicketsApi } from "./tickets/types.js";
import type { WebhookSourcesApi } from "./webhook-sources.js";

export { GenericWebhookTicket } from "./tickets/monitoring.js";
export type * from "./tickets/types.js";

/** Creates the tickets API. */
export function createTicketsApi(
  ctx: EngineContext,
  deps: {
    analyzer: Analyzer;
    registry: ConnectorRegistry;
    /** Records changes made through the API (a ticket's connection_config). */
    audit: AuditRecorder;
    /** Starts the auto-execution analysis decided (the executor's; absent: nothing starts). */
    autoExecute?: (ticket: Ticket) => Promise<void>;
    /** A source says the ticket's problem is over: cancel what waits on it (the executor's). */
    ticketResolved?: (ticket: Ticket, reason: string) => Promise<void>;
    /** The plan a session would have for a ticket, nothing stored (the executor's; for backtests). */
    preview?: PreviewPlan;
    /** Named webhook sources with a mapping (the engine's). */
    webhookSources?: Pick<WebhookSourcesApi, "receive">;
    /** The intake queue's options (the engine's `intake`). */
    intakeQueue?: IntakeQueueOptionsInput;
    /** Analysis worker threads (the engine's `analysis.workers`): CSV imports analyze there. */
    analysisPool?: AnalysisPool | undefined;
  },
): TicketsApi & { readonly queue: IntakeQueue } {
  const intake = createIntake(ctx, deps);
  const queries = createTicketQueries(ctx);
  const monitoring = createMonitoringIntake(ctx, { ...deps, intake, queries });
  let csvImport: CsvImport | undefined;
  const queue = createIntakeQueue(ctx, {
    monitoring,
    registry: deps.registry,
    options: deps.intakeQueue,
    resumeCsvImports: (stopping) => csvImport?.resume(stopping) ?? Promise.resolve(),
  });
  // With the queue on, a CSV import is durable too: made durable in chunks, resumed at start.
  csvImport = createCsvImport(ctx, {
    analyzer: deps.analyzer,
    intake,
    durable: queue.enabled,
    pool: deps.analysisPool,
  });
  return {
    queue,
    ingest: intake.ingest,
    ingestMany: intake.ingestMany,
    importCsv: csvImport,
    backtestCsv: createCsvBacktest(ctx, { analyzer: deps.analyzer, intake, preview: deps.preview }),
    csvTemplate,
    async ingestWebhook(source, request, options) {
      // Bookkeeping for the Connectors tab: the last webhook received, the last one refused.
      try {
        const result = await monitoring.ingestWebhook(source, request, options);
        deps.registry.recordActivity("monitoring", source, { ok: true });
        return result;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_PLUGIN_NOT_FOUND") {
          deps.registry.recordActivity("monitoring", source, {
            ok: false,
            error: `${isRunwardenError(err) ? `${err.code}: ` : ""}${ctx.redactor.redact((err as Error).message ?? String(err))}`,
          });
        }
        throw err;
      }
    },
    ingestAlerts: monitoring.ingestAlerts,
    get: queries.get,
    analysisTrace: createAnalysisTrace({ analyzer: deps.analyzer, queries }),
    getMany: queries.getMany,
    list: queries.list,
    setStatus: queries.setStatus,
    setConnectionConfig: createConnectionConfigSetter(ctx, { queries, audit: deps.audit }),
  };
}
