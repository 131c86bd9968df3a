/**
 * Builds the engine's parts this engineer's tests need (registry, runbooks, analyzer, tickets)
 * over a memory store, with a clock the test drives and an audit log that records in memory.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { createAnalyzer } from "../../src/analyzer/index.js";
import { type AnalysisPool, createAnalysisPool } from "../../src/analyzer/pool.js";
import type { AnalyzerStage } from "../../src/analyzer/stage.js";
import type { Ticket } from "../../src/domain.js";
import { createEventBus } from "../../src/events.js";
import { Redactor } from "../../src/executor/redaction.js";
import type { EngineContext } from "../../src/internal/context.js";
import type { ConnectorDefinition, ConnectorRegistration } from "../../src/plugin.js";
import { type Actor, defaultPolicy, type Policy } from "../../src/policy.js";
import { type ConnectorRegistry, createConnectorRegistry } from "../../src/registry.js";
import {
  type AuditRecorder,
  createRunbooksApi,
  type EngineRunbooks,
  type RunbooksApi,
} from "../../src/runbooks.js";
import type { Storage } from "../../src/storage.js";
import { createMemoryStorage } from "../../src/storage-memory.js";
import type { IntakeQueueOptionsInput } from "../../src/tickets/intake-queue.js";
import { createTicketsApi } from "../../src/tickets.js";

export const admin: Actor = { id: "alice", roles: ["admin"] };
export const operator: Actor = { id: "oscar", roles: ["operator"] };

export const runbooksDir = join(import.meta.dirname, "../../../../examples/runbooks");

export interface TestContext {
  ctx: EngineContext;
  clock: { now(): number; advance(ms: number): void };
  audit: AuditRecorder & { entries: Parameters<AuditRecorder["record"]>[0][] };
}

export function makeContext(options: { storage?: Storage; policy?: Partial<Policy> } = {}): TestContext {
  let now = Date.parse("2025-06-01T12:00:00.000Z");
  const clock = {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
  const entries: Parameters<AuditRecorder["record"]>[0][] = [];
  const ctx: EngineContext = {
    storage: options.storage ?? createMemoryStorage(),
    events: createEventBus(),
    logger: pino({ enabled: false }),
    clock,
    policy: { ...defaultPolicy, ...options.policy },
    instanceId: "test",
    signal: new AbortController().signal,
    nowIso: () => new Date(clock.now()).toISOString(),
    redactor: new Redactor(),
  };
  return {
    ctx,
    clock,
    audit: {
      entries,
      async record(entry) {
        entries.push(entry);
        return entry;
      },
    },
  };
}

export interface Intake extends TestContext {
  registry: ConnectorRegistry;
  runbooks: EngineRunbooks;
  tickets: ReturnType<typeof createTicketsApi>;
  /** The analysis pool, with `workers` (close it at the end of the test). */
  pool: AnalysisPool | undefined;
}

export async function makeIntake(
  options: {
    storage?: Storage;
    policy?: Partial<Policy>;
    connectors?: (ConnectorDefinition | ConnectorRegistration)[];
    stages?: AnalyzerStage[] | ((builtIn: AnalyzerStage[]) => AnalyzerStage[]);
    /** What intake calls to start an auto-execution (the executor's, in an engine). */
    autoExecute?: (ticket: Ticket) => Promise<void>;
    /** What intake calls when a source resolved a ticket (the executor's, in an engine). */
    ticketResolved?: (ticket: Ticket, reason: string) => Promise<void>;
    /** Analysis worker threads for CSV imports (none by default). */
    workers?: number;
    /** The intake queue's options (on: CSV imports are durable). */
    intakeQueue?: IntakeQueueOptionsInput;
  } = {},
): Promise<Intake> {
  const base = makeContext(options);
  const registry = await createConnectorRegistry(base.ctx, options.connectors ?? []);
  const runbooks = createRunbooksApi(base.ctx, { audit: base.audit });
  const analyzer = createAnalyzer(base.ctx, { runbooks, stages: options.stages });
  const pool = options.workers
    ? createAnalysisPool({
        workers: options.workers,
        policy: base.ctx.policy,
        runbooks,
        logger: base.ctx.logger,
      })
    : undefined;
  const tickets = createTicketsApi(base.ctx, {
    analyzer,
    registry,
    audit: base.audit,
    analysisPool: pool,
    ...(options.intakeQueue ? { intakeQueue: options.intakeQueue } : {}),
    ...(options.autoExecute ? { autoExecute: options.autoExecute } : {}),
    ...(options.ticketResolved ? { ticketResolved: options.ticketResolved } : {}),
  });
  return { ...base, registry, runbooks, tickets, pool };
}

/** Loads examples/runbooks/*.md, honouring each file's front matter status. */
export async function loadSampleRunbooks(runbooks: RunbooksApi): Promise<void> {
  for (const file of readdirSync(runbooksDir)
    .filter((f) => f.endsWith(".md") && f !== "README.md")
    .sort()) {
    await runbooks.create(readFileSync(join(runbooksDir, file), "utf8"), {
      actor: admin,
      useFrontMatterStatus: true,
    });
  }
}
