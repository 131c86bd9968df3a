/**
 * Well-behaved in-memory connectors of each kind, and a way to break exactly one thing about each:
 * the testkit's own tests check that every contract rule passes on the good one and fails on the
 * broken one.
 */
import {
  type ConnectorCapability,
  type ConnectorContext,
  type ConnectorDefinition,
  defineConnector,
  type HealthResult,
  type InfrastructureConnector,
  type MonitoringConnector,
  type ResolvedConnection,
  rwError,
  secret,
  type TicketingConnector,
} from "@runwarden/core";
import { z } from "zod";

export const SECRET = "memory-secret-0451";

const aborted = () => rwError("RW_ERR_CONNECTOR_TIMEOUT", "the call was aborted");

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted());
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(aborted());
    });
  });
}

export function connection(overrides: Partial<ResolvedConnection> = {}): ResolvedConnection {
  return {
    id: 1,
    name: "mem",
    connectionType: "memory",
    targetHost: "memory",
    targetPort: null,
    targetService: null,
    environment: "test",
    options: {},
    credential: {
      id: 1,
      name: "c",
      credentialType: "memory",
      environment: "test",
      value: { password: "live-secret-xyz" },
      secrets: { password: "live-secret-xyz" },
    },
    ...overrides,
  };
}

/** An infrastructure connector answering on host "memory"; `sleep` runs until aborted or timed out. */
export function memoryShell(
  breakIt: (
    instance: InfrastructureConnector,
    ctx: ConnectorContext,
  ) => Partial<InfrastructureConnector> = () => ({}),
  capabilities: readonly ConnectorCapability<"infrastructure">[] = [
    "run-command",
    "health-check",
    "describe",
    "stream-output",
    "timeout",
  ],
): ConnectorDefinition<"infrastructure"> {
  return defineConnector({
    kind: "infrastructure",
    name: "memory-shell",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.strictObject({ greeting: z.string().default("hi") }),
    capabilities,
    connectionTypes: ["memory"],
    create(config, ctx) {
      const good: InfrastructureConnector = {
        async open(target, { signal }) {
          if (signal.aborted) throw aborted();
          if (target.targetHost !== "memory") {
            ctx.logger.warn({ host: target.targetHost }, "memory open refused");
            throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", `nothing answers on ${target.targetHost}`);
          }
          if (target.credential?.secrets.password === "wrong")
            throw rwError("RW_ERR_CONNECTOR_AUTH", "the credential was refused");
          return {
            async exec(request) {
              if (request.signal.aborted) throw aborted();
              if (request.command.startsWith("sleep")) {
                const limit = request.timeoutMs ? AbortSignal.timeout(request.timeoutMs) : undefined;
                try {
                  await sleep(10_000, limit ? AbortSignal.any([request.signal, limit]) : request.signal);
                } catch (error) {
                  if (limit?.aborted && !request.signal.aborted)
                    return { exitCode: null, stdout: "", stderr: "", timedOut: true };
                  throw error;
                }
              }
              const stdout = `${config.greeting} ${request.command}\n`;
              request.onOutput?.("stdout", stdout);
              return { exitCode: 0, stdout, stderr: "" };
            },
            async release() {},
          };
        },
        async healthCheck(target, { signal }) {
          if (signal.aborted || target.targetHost !== "memory")
            return { ok: false, latencyMs: 0, reason: "refused" };
          return { ok: true, latencyMs: 0 };
        },
        describe: (request, target) => `memory ${target.name}: ${request.command}`,
      };
      return { ...good, ...breakIt(good, ctx) };
    },
  });
}

/**
 * A monitoring connector whose API is down (every call fails UNREACHABLE) and whose webhook takes
 * `{ alerts: [{ id, title }] }` with a bearer token.
 */
export function memoryMonitor(
  breakIt: (instance: MonitoringConnector) => Partial<MonitoringConnector> = () => ({}),
  capabilities: readonly ConnectorCapability<"monitoring">[] = [
    "webhook",
    "verify-webhook",
    "pull",
    "acknowledge",
    "resolve",
    "health-check",
  ],
): ConnectorDefinition<"monitoring"> {
  return defineConnector({
    kind: "monitoring",
    name: "memory-monitor",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.strictObject({ token: secret(z.string().min(8)) }),
    capabilities,
    create(config) {
      const down = () => rwError("RW_ERR_CONNECTOR_UNREACHABLE", "the monitoring API is down");
      const call = async (signal?: AbortSignal): Promise<never[]> => {
        if (signal?.aborted) throw aborted();
        throw down();
      };
      const good: MonitoringConnector = {
        verifyWebhook: (request) => request.headers.authorization === `Bearer ${config.token}`,
        parseWebhook(request) {
          const body = request.body as { alerts?: unknown } | null;
          if (typeof body !== "object" || body === null || !Array.isArray(body.alerts))
            throw rwError("RW_ERR_INPUT_INVALID", "expected { alerts: [...] }");
          const tickets = body.alerts.map((alert: unknown) => {
            const a = alert as { id?: unknown; title?: unknown };
            if (typeof a?.id !== "string" || typeof a.title !== "string")
              throw rwError("RW_ERR_INPUT_INVALID", "each alert needs an id and a title");
            return { source: "memory-monitor", title: a.title, externalId: a.id, fingerprint: a.id };
          });
          if (tickets.length === 0) throw rwError("RW_ERR_INPUT_INVALID", "no alert");
          return { tickets, warnings: [] };
        },
        async *pull({ signal }) {
          yield* await call(signal);
        },
        acknowledge: async (_ticket, options) => void (await call(options?.signal)),
        resolve: async (_ticket, options) => void (await call(options?.signal)),
        async healthCheck(): Promise<HealthResult> {
          return { ok: false, latencyMs: 1, reason: "refused" };
        },
      };
      return { ...good, ...breakIt(good) };
    },
  });
}

/** A ticketing connector keeping its tickets in memory, idempotent by key. */
export function memoryDesk(
  breakIt: (instance: TicketingConnector, store: DeskStore) => Partial<TicketingConnector> = () => ({}),
  store: DeskStore = createDeskStore(),
  capabilities: readonly ConnectorCapability<"ticketing">[] = ["create", "update", "comment", "pull-changes"],
): ConnectorDefinition<"ticketing"> {
  return defineConnector({
    kind: "ticketing",
    name: "memory-desk",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.strictObject({ apiKey: secret(z.string().min(8)), down: z.boolean().default(false) }),
    capabilities,
    create(config) {
      const guard = (signal: AbortSignal) => {
        if (signal.aborted) throw aborted();
        if (config.down) throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", "the desk is down");
      };
      const good: TicketingConnector = {
        async create(_ticket, { idempotencyKey, signal }) {
          guard(signal);
          const known = store.byKey.get(idempotencyKey);
          if (known) return { externalId: known };
          const externalId = `T${store.tickets.length + 1}`;
          store.tickets.push(externalId);
          store.byKey.set(idempotencyKey, externalId);
          return { externalId };
        },
        async update(_ref, _change, { signal }) {
          guard(signal);
        },
        async comment(ref, text, { idempotencyKey, signal }) {
          guard(signal);
          if (store.noteKeys.has(idempotencyKey)) return;
          store.noteKeys.add(idempotencyKey);
          store.notes.push({ externalId: ref.externalId, text });
        },
        async pullChanges({ cursor, signal }) {
          guard(signal);
          const from = cursor ? Number(cursor) : 0;
          const changes = store.tickets.slice(from).map((externalId) => ({
            externalId,
            kind: "created" as const,
            updatedAt: "2026-01-01T00:00:00.000Z",
          }));
          return { changes, cursor: String(store.tickets.length) };
        },
      };
      return { ...good, ...breakIt(good, store) };
    },
  });
}

export interface DeskStore {
  tickets: string[];
  byKey: Map<string, string>;
  notes: { externalId: string; text: string }[];
  noteKeys: Set<string>;
}

export function createDeskStore(): DeskStore {
  return { tickets: [], byKey: new Map(), notes: [], noteKeys: new Set() };
}
