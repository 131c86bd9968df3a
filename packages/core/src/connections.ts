/**
 * Infrastructure connections: a named target (host, port, service) of a connection type, with an
 * optional credential, in an environment. `test()` runs the serving connector's health check and
 * stores the result. Every change is audited.
 */
import { z } from "zod";
import type { AuditLog } from "./audit.js";
import { type ActorOptions, resolveCredential } from "./credentials.js";
import type { ConnectionHealth, ConnectionRecord } from "./domain.js";
import { isRunwardenError, rwError } from "./errors.js";
import { Redactor } from "./executor/redaction.js";
import { callSignal, endCallSignal } from "./internal/call-signal.js";
import type { ConnectionResolver, RawTarget, Resolution } from "./internal/connection-resolver.js";
import type { EngineContext } from "./internal/context.js";
import type { ResolvedConnection } from "./plugin.js";
import type { ConnectorRegistry } from "./registry.js";
import { notFound } from "./storage-kit.js";
import type { Vault } from "./vault.js";

/** The built-in connection every step falls back to: the engine's own host. */
export const localConnectionName = "local";

/**
 * `engine.connections`: the stored connections steps run on, each with an optional credential and a
 * health check.
 */
export interface ConnectionsApi {
  /** Stores a connection. Its credential, when given, must exist and be of the same environment. */
  create(input: ConnectionInput, options?: ActorOptions): Promise<ConnectionRecord>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND when there is no such connection. */
  get(id: number): Promise<ConnectionRecord>;
  /** The connection of that name, or undefined. */
  getByName(name: string): Promise<ConnectionRecord | undefined>;
  /** The stored connections, optionally only of one environment or connection type. */
  list(filter?: { environment?: string; connectionType?: string }): Promise<ConnectionRecord[]>;
  /**
   * Changes a connection (same checks as `create`). Throws RW_ERR_STORAGE_NOT_FOUND, or
   * RW_ERR_INPUT_INVALID for a bad field.
   */
  update(id: number, changes: Partial<ConnectionInput>, options?: ActorOptions): Promise<ConnectionRecord>;
  /** Deletes a connection. Throws RW_ERR_STORAGE_NOT_FOUND. */
  delete(id: number, options?: ActorOptions): Promise<void>;
  /**
   * Runs the serving connector's health check (at most `timeoutMs`, default 10 s), stores the
   * result on the connection and returns it. A failure is a result, not a throw.
   */
  test(id: number, options?: ActorOptions & { timeoutMs?: number }): Promise<ConnectionHealth>;
}

const name = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/,
    "letters, digits, `_`, `.`, `:` and `-`, starting with a letter or digit",
  )
  .refine((n) => n !== localConnectionName, `"${localConnectionName}" is the built-in local connection`);
const host = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, "must be a host name or an IP address");

/**
 * A connection as the API takes it (the connector guide's body, camelCased): the one schema of
 * it, which the HTTP adapter also serves and documents. Fields left out take their defaults when
 * the connection is created (no credential, no target, no environment, no options).
 */
export const ConnectionInput = z.object({
  name,
  connectionType: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9-]*$/, "must be a connection type such as ssh, database, api"),
  credentialId: z.number().int().positive().nullable().optional(),
  targetHost: host.nullable().optional(),
  targetPort: z.number().int().min(1).max(65_535).nullable().optional(),
  targetService: z.string().trim().min(1).max(64).nullable().optional(),
  environment: z.string().trim().max(64).optional(),
  /** Connector-specific options (host key fingerprint, egress allowlist, …); never secrets. */
  options: z.record(z.string(), z.unknown()).optional(),
});
/** A connection as a caller writes it (defaults optional); see the schema. */
export type ConnectionInput = z.input<typeof ConnectionInput>;

/** The input with every default filled in: what is stored. */
const InputSchema = ConnectionInput.transform((input) => ({
  name: input.name,
  connectionType: input.connectionType,
  credentialId: input.credentialId ?? null,
  targetHost: input.targetHost ?? null,
  targetPort: input.targetPort ?? null,
  targetService: input.targetService ?? null,
  environment: input.environment ?? "",
  options: input.options ?? {},
}));

const unknownHealth: ConnectionHealth = { status: "unknown", checkedAt: null, latencyMs: null, error: null };

/** Creates the connections API. */
export function createConnectionsApi(
  ctx: EngineContext,
  deps: { registry: ConnectorRegistry; audit: AuditLog; resolver: ConnectionResolver },
): ConnectionsApi {
  const { registry, audit, resolver } = deps;
  const log = ctx.logger.child({ component: "connections" });
  const store = ctx.storage.connections;

  const load = async (id: number) => {
    const record = await store.get(id);
    if (!record) throw notFound("connection", id);
    return record;
  };
  const actorOf = (options?: ActorOptions) =>
    options?.actor === undefined
      ? "system"
      : typeof options.actor === "string"
        ? options.actor
        : options.actor.id;

  const parse = (input: unknown) => {
    const parsed = InputSchema.safeParse(input);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
      throw rwError(
        "RW_ERR_INPUT_INVALID",
        `the connection is invalid: ${fields.map((f) => f.field).join(", ")}`,
        {
          details: { fields },
        },
      );
    }
    return parsed.data;
  };
  const checkCredential = async (
    credentialId: number | null,
    environment: string,
    target: { connectionType: string; targetService: string | null },
  ) => {
    if (credentialId === null) return;
    const credential = await ctx.storage.credentials.get(credentialId);
    if (!credential) {
      throw rwError("RW_ERR_INPUT_INVALID", `credential ${credentialId} does not exist`, {
        details: { fields: [{ field: "credentialId", message: "no such credential" }] },
      });
    }
    if (credential.environment !== environment) {
      throw rwError(
        "RW_ERR_INPUT_INVALID",
        `credential "${credential.name}" belongs to ${envLabel(credential.environment)}, the connection to ${envLabel(environment)}: an empty environment is one of its own (no environment), not any environment`,
        {
          details: {
            fields: [{ field: "credentialId", message: "must be a credential of the same environment" }],
          },
        },
      );
    }
    const accepts = registry.credentialTypesFor(target.connectionType, target.targetService);
    if (accepts?.types && !accepts.types.includes(credential.credentialType)) {
      throw rwError(
        "RW_ERR_INPUT_INVALID",
        `credential "${credential.name}" is of type "${credential.credentialType}"; connector ${accepts.connector} accepts ${accepts.types.join(", ")}`,
        {
          details: {
            fields: [
              {
                field: "credentialId",
                message: `must be a credential of type ${accepts.types.join(" or ")}`,
              },
            ],
          },
        },
      );
    }
  };
  /**
   * A connection type some registered infrastructure connector serves (`database` with the
   * target service of a registered database connector); otherwise RW_ERR_INPUT_INVALID listing
   * the known types, so a typo is refused when written rather than found at the first run.
   */
  const checkType = async (target: { connectionType: string; targetService: string | null }) => {
    if (registry.credentialTypesFor(target.connectionType, target.targetService) !== undefined) return;
    const infrastructure = await registry.list("infrastructure", { health: false });
    const knownTypes = [...new Set(infrastructure.flatMap((c) => c.connectionTypes))].sort();
    const known = knownTypes.join(", ") || "none";
    const service = target.targetService === null ? "" : ` with target service "${target.targetService}"`;
    throw rwError(
      "RW_ERR_INPUT_INVALID",
      `no registered connector serves connection type "${target.connectionType}"${service}; known types: ${known} (database:<service> is connection type database with that target service)`,
      {
        details: {
          fields: [
            { field: "connectionType", message: `must be a type a registered connector serves: ${known}` },
          ],
          knownTypes,
        },
      },
    );
  };
  const recordChange = (
    record: ConnectionRecord,
    change: "created" | "updated" | "deleted",
    options?: ActorOptions,
  ) => {
    ctx.events.emit("connection:changed", { connectionId: record.id, change });
    return audit.record({
      actor: actorOf(options),
      action: `connection.${change}`,
      objectType: "connection",
      objectId: record.id,
      origin: options?.origin ?? null,
      details: {
        name: record.name,
        connectionType: record.connectionType,
        targetHost: record.targetHost,
        targetPort: record.targetPort,
        targetService: record.targetService,
        credentialId: record.credentialId,
        environment: record.environment,
      },
    });
  };

  const api: ConnectionsApi = {
    async create(input, options) {
      const data = parse(input);
      await checkType(data);
      await checkCredential(data.credentialId, data.environment, data);
      const now = ctx.nowIso();
      const record = await uniqueName(() =>
        store.insert({ ...data, health: unknownHealth, createdAt: now, updatedAt: now }),
      );
      await recordChange(record, "created", options);
      log.info(
        { connectionId: record.id, name: record.name, connectionType: record.connectionType },
        "connection created",
      );
      return record;
    },

    get: load,

    async getByName(connectionName) {
      const [record] = await store.find({ where: { name: connectionName }, limit: 1 });
      return record;
    },

    async list(filter = {}) {
      const records = await store.find({
        where: filter.environment !== undefined ? { environment: filter.environment } : {},
        order: "asc",
      });
      return records.filter(
        (r) => filter.connectionType === undefined || r.connectionType === filter.connectionType,
      );
    },

    async update(id, changes, options) {
      const current = await load(id);
      const { id: _i, version: _v, health: _h, createdAt: _c, updatedAt: _u, ...rest } = current;
      const data = parse({ ...rest, ...changes });
      await checkType(data);
      await checkCredential(data.credentialId, data.environment, data);
      const targetChanged =
        data.connectionType !== current.connectionType ||
        data.targetHost !== current.targetHost ||
        data.targetPort !== current.targetPort ||
        data.targetService !== current.targetService ||
        data.credentialId !== current.credentialId;
      const record = await uniqueName(() =>
        store.update(id, current.version, {
          ...data,
          ...(targetChanged ? { health: unknownHealth } : {}),
          updatedAt: ctx.nowIso(),
        }),
      );
      await recordChange(record, "updated", options);
      return record;
    },

    async delete(id, options) {
      const current = await load(id);
      await store.delete(id, current.version);
      await recordChange(current, "deleted", options);
    },

    async test(id, options = {}) {
      const current = await load(id);
      const timeoutMs = options.timeoutMs ?? 10_000;
      const started = performance.now();
      const signal = callSignal(ctx.signal, timeoutMs);
      let onAbort: (() => void) | undefined;
      // The credential's secrets, what the connector derives from them, and the engine's own.
      const redactor = new Redactor(ctx.redactor);
      const redact = (value: string) => redactor.add([value]);
      let health: ConnectionHealth;
      try {
        const { resolved } = await resolver.fromRecord(current);
        redactor.add(Object.values(resolved.credential?.secrets ?? {}));
        const connector = registry.infrastructureFor(current.connectionType, current.targetService);
        const result = await Promise.race([
          connector.healthCheck(resolved, { signal, redact }),
          // A connector that does not honour its signal still gets an answer on time.
          new Promise<never>((_, reject) => {
            onAbort = () => reject(new Error(`no answer within ${timeoutMs} ms`));
            if (signal.aborted) onAbort();
            else signal.addEventListener("abort", onAbort, { once: true });
          }),
        ]);
        health = {
          status: result.ok ? "healthy" : "unhealthy",
          checkedAt: ctx.nowIso(),
          latencyMs: Math.round(result.latencyMs),
          error: result.ok
            ? null
            : clip(
                redactor.redact([result.reason, result.message].filter(Boolean).join(": ") || "unhealthy"),
              ),
        };
      } catch (err) {
        const message = isRunwardenError(err)
          ? `${err.code}: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err);
        health = {
          status: "unhealthy",
          checkedAt: ctx.nowIso(),
          latencyMs: Math.round(performance.now() - started),
          error: clip(redactor.redact(message)),
        };
      } finally {
        if (onAbort) signal.removeEventListener("abort", onAbort);
        endCallSignal(signal);
      }
      await writeHealth(id, health);
      ctx.events.emit("connection:checked", {
        connectionId: id,
        status: health.status,
        latencyMs: health.latencyMs,
      });
      if (health.status !== "healthy")
        log.warn({ connectionId: id, error: health.error }, "connection unhealthy");
      await audit.record({
        actor: actorOf(options),
        action: "connection.tested",
        objectType: "connection",
        objectId: id,
        origin: options.origin ?? null,
        details: { status: health.status, latencyMs: health.latencyMs, error: health.error },
      });
      return health;
    },
  };

  /** Health is written even when someone changed the connection meanwhile (re-read and retry). */
  async function writeHealth(id: number, health: ConnectionHealth) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await store.get(id);
      if (!current) return;
      try {
        await store.update(id, current.version, { health });
        return;
      } catch (err) {
        if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT") throw err;
      }
    }
  }

  return api;
}

/**
 * The one object that opens credentials for a connector call. engine.ts builds it and passes it
 * to the connections API (health checks) and the executor; it is never reachable from either's
 * public surface.
 */
export function createConnectionResolver(
  ctx: EngineContext,
  deps: { vault: Vault; registry: ConnectorRegistry },
): ConnectionResolver {
  const { vault, registry } = deps;
  const store = ctx.storage.connections;
  const resolution = async (
    record: ConnectionRecord | null,
    target: Omit<ResolvedConnection, "credential">,
    credentialId: number | null,
  ): Promise<Resolution> => {
    const accepts = registry.credentialTypesFor(target.connectionType, target.targetService);
    const opened =
      credentialId === null
        ? null
        : await resolveCredential(ctx, vault, credentialId, {
            types: registry.credentialTypes,
            accepted: accepts?.types ?? null,
            ...(accepts ? { connector: accepts.connector } : {}),
          });
    return {
      record,
      resolved: { ...target, credential: opened?.credential ?? null },
      binding: {
        connection: target.name,
        connectionType: target.connectionType,
        targetHost: target.targetHost,
        targetPort: target.targetPort,
        targetService: target.targetService,
        credentialId,
        credentialUpdatedAt: opened?.record.updatedAt ?? null,
      },
    };
  };
  const fromRecord = (record: ConnectionRecord) =>
    resolution(
      record,
      {
        id: record.id,
        name: record.name,
        connectionType: record.connectionType,
        targetHost: record.targetHost,
        targetPort: record.targetPort,
        targetService: record.targetService,
        environment: record.environment,
        options: record.options,
      },
      record.credentialId,
    );

  return {
    fromRecord,
    async byName(connectionName) {
      if (connectionName === localConnectionName) return localResolution();
      const [record] = await store.find({ where: { name: connectionName }, limit: 1 });
      return record ? fromRecord(record) : undefined;
    },
    async byId(id) {
      const record = await store.get(id);
      return record ? fromRecord(record) : undefined;
    },
    raw(target: RawTarget) {
      return resolution(
        null,
        {
          id: null,
          name: `${target.connectionType}://${target.host}${target.port ? `:${target.port}` : ""}`,
          connectionType: target.connectionType,
          targetHost: target.host,
          targetPort: target.port,
          targetService: target.targetService,
          environment: target.environment,
          options: target.options,
        },
        target.credentialId,
      );
    },
    async credentialEnvironment(id) {
      return (await ctx.storage.credentials.get(id))?.environment;
    },
  };
}

/** An environment as people read it: `environment "prod"`, or `no environment` for "". */
function envLabel(environment: string): string {
  return environment === "" ? "no environment" : `environment "${environment}"`;
}

/** The built-in local connection. */
export function localResolution(): Resolution {
  return {
    record: null,
    resolved: {
      id: null,
      name: localConnectionName,
      connectionType: "local",
      targetHost: null,
      targetPort: null,
      targetService: null,
      environment: "",
      options: {},
      credential: null,
    },
    binding: {
      connection: localConnectionName,
      connectionType: "local",
      targetHost: null,
      targetPort: null,
      targetService: null,
      credentialId: null,
      credentialUpdatedAt: null,
    },
  };
}

function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

async function uniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT" && err.details?.reason === "unique") {
      throw rwError("RW_ERR_STORAGE_CONFLICT", "a connection with this name already exists", {
        details: { entity: "connection", field: "name" },
        retryable: false,
        cause: err,
      });
    }
    throw err;
  }
}
