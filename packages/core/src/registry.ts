/**
 * The connector registry: validates each connector when it is registered (config, `sdk` range,
 * duplicate names), creates its instance with a ConnectorContext, and answers lookups. It freezes
 * when the engine starts; a later registration throws with the way to fix it.
 *
 * Over 500 lines: registration checks, instance creation and the lookups all read the one
 * registry state that freezes at start, and are kept together so nothing reaches it after.
 */
import type { Logger } from "pino";
import semver from "semver";
import { z } from "zod";
import { type CredentialTypeRegistry, createCredentialTypeRegistry } from "./credential-types.js";
import { rwError } from "./errors.js";
import { builtInConnectors } from "./internal/built-in-connectors.js";
import { callSignal, endCallSignal, timedOut } from "./internal/call-signal.js";
import type { EngineContext } from "./internal/context.js";
import {
  type ConnectorContext,
  type ConnectorDefinition,
  type ConnectorKind,
  type ConnectorRegistration,
  capabilitiesOf,
  type HealthResult,
  type InfrastructureConnector,
  type InstanceOf,
  isSecretSchema,
  type MonitoringConnector,
  type NotConfigured,
  type NotifierConnector,
  type TicketingConnector,
} from "./plugin.js";
import { coreVersion } from "./version.js";

/** What `GET /connectors/monitoring|ticketing|infrastructure` lists for one connector. */
export interface ConnectorInfo {
  /** The connector's kind. */
  kind: ConnectorKind;
  /** The connector's name, unique per kind. */
  name: string;
  /** The connector's own version. */
  version: string;
  /** Its one-line description, or null. */
  description: string | null;
  /** The capabilities it declares (see {@link connectorCapabilities}). */
  capabilities: readonly string[];
  /** Infrastructure connectors: the connection types they serve. */
  connectionTypes: readonly string[];
  /** The last health check; null when the connector has none (or health was not asked for). */
  health: (HealthResult & { checkedAt: string }) | null;
  /** `not_configured`: registered without its configuration, so listed but not created. */
  status: "ready" | "not_configured";
  /** What a not-configured connector needs (variables or config fields); empty when ready. */
  needs: readonly string[];
  /** How to configure a not-configured connector; null when ready. */
  hint: string | null;
  /**
   * Where the configuration in effect comes from: `host` (passed to `createEngine`; the example
   * server's environment variables), `store` (set through `configure`, e.g. `PUT
   * /connectors/{kind}/{name}/config`), `none` (not configured, or a connector that needs none).
   */
  configSource: ConfigSource;
  /** What configured it, when the host said (`RUNWARDEN_PROMETHEUS_TOKEN`), or who stored it. */
  configuredBy: string | null;
  /** Webhooks received and the last failure (monitoring connectors). */
  activity: ConnectorActivity;
}

/** Where a connector's configuration in effect comes from. */
export type ConfigSource = "host" | "store" | "none";

/** What a connector has received lately, for status indicators. In memory, per engine instance. */
export interface ConnectorActivity {
  /** When the last webhook was accepted (verified and parsed). */
  lastWebhookAt: string | null;
  /** How many webhooks were accepted since the engine started. */
  webhooks: number;
  /** When the last webhook or call failed, and why (never a secret). */
  lastErrorAt: string | null;
  /** The last failure's message (never a secret); null when none. */
  lastError: string | null;
}

/** Options of the registry's `list`. */
export interface ListConnectorsOptions {
  /** Run (or reuse a recent) health check of each connector that has one. Default true. */
  health?: boolean;
}

/** The engine's connectors, validated and created. `createEngine()` builds it. */
export interface ConnectorRegistry {
  /**
   * Validates and creates a connector. Throws RW_ERR_PLUGIN_INVALID (bad declaration or config,
   * with `details.issues`), RW_ERR_PLUGIN_VERSION_MISMATCH, RW_ERR_PLUGIN_DUPLICATE, or
   * RW_ERR_PLUGIN_FROZEN once the engine has started.
   */
  register(registration: ConnectorDefinition | ConnectorRegistration): Promise<void>;
  /** Refuses further registrations (engine.start() calls it). */
  freeze(): void;
  /** True once `freeze()` was called: `register` then throws RW_ERR_PLUGIN_FROZEN. */
  readonly frozen: boolean;
  /** True when a connector of this kind is registered and configured under this name. */
  has(kind: ConnectorKind, name: string): boolean;
  /**
   * What the connector of this kind and name lacks when it was registered without its
   * configuration (`{ connector, notConfigured }`); undefined when it is configured or unknown.
   */
  notConfigured(kind: ConnectorKind, name: string): NotConfigured | undefined;
  /**
   * The monitoring connector (also the webhook source) of that name; RW_ERR_PLUGIN_NOT_CONFIGURED
   * when it is registered without its configuration, RW_ERR_PLUGIN_NOT_FOUND otherwise.
   */
  monitoring(name: string): MonitoringConnector;
  /** The ticketing connector of that name; RW_ERR_PLUGIN_NOT_CONFIGURED or RW_ERR_PLUGIN_NOT_FOUND otherwise. */
  ticketing(name: string): TicketingConnector;
  /** The notifier of that name; RW_ERR_PLUGIN_NOT_CONFIGURED or RW_ERR_PLUGIN_NOT_FOUND otherwise. */
  notifier(name: string): NotifierConnector;
  /**
   * The infrastructure connector serving a connection type. A `database` connection is dispatched
   * on its target service (`database:postgresql`, `database:mysql`, `database:mariadb`).
   * Throws RW_ERR_PLUGIN_NOT_FOUND when none serves it.
   */
  infrastructureFor(connectionType: string, targetService?: string | null): InfrastructureConnector;
  /**
   * The step languages the connector serving a connection type runs (its `languages`), or
   * undefined when it declares none or no connector serves the type.
   */
  languagesFor(connectionType: string, targetService?: string | null): readonly string[] | undefined;
  /**
   * The credential types accepted by the infrastructure connector serving a connection type:
   * `types` null when it declares none (it takes any credential); undefined when no connector
   * serves the type.
   */
  credentialTypesFor(
    connectionType: string,
    targetService?: string | null,
  ): { connector: string; types: readonly string[] | null } | undefined;
  /** Every credential type: core's built-ins and those the registered connectors declare. */
  readonly credentialTypes: CredentialTypeRegistry;
  /** The registered connectors of one kind, configured or not, sorted by name. */
  list(kind: ConnectorKind, options?: ListConnectorsOptions): Promise<ConnectorInfo[]>;
  /**
   * pino redact paths for every config field marked with `secret()`, for the host's logger
   * (pino fixes redaction when a logger is created). Connector loggers already redact them.
   */
  readonly redactPaths: readonly string[];
  /** Closes every connector instance (errors are logged, not thrown). */
  close(): Promise<void>;
  /** The declaration of a registered connector (configured or not), or undefined. */
  definition(kind: ConnectorKind, name: string): ConnectorDefinition | undefined;
  /** Where the configuration in effect comes from, and what set it. */
  configSource(kind: ConnectorKind, name: string): { source: ConfigSource; configuredBy: string | null };
  /**
   * (Re)creates a registered connector with `config`, also after the engine started: the new
   * instance serves every later lookup and the old one is closed. A not-configured connector
   * becomes configured. Throws RW_ERR_PLUGIN_NOT_FOUND (unknown), RW_ERR_PLUGIN_INVALID (the
   * config does not fit its schema, with `details.issues`, or `create` failed) and leaves the
   * connector as it was on any failure. The engine's connector configuration API calls it; a host
   * that passed the config itself keeps its own (see `configSource`).
   */
  configure(
    kind: ConnectorKind,
    name: string,
    config: unknown,
    options?: { source?: ConfigSource; configuredBy?: string | null },
  ): Promise<void>;
  /** Called when `configure` replaced an instance (the engine restarts the source's poller). */
  onConfigured(listener: (kind: ConnectorKind, name: string) => void): void;
  /** Records a webhook accepted by, or a failure of, a connector (for `activity`). */
  recordActivity(
    kind: ConnectorKind,
    name: string,
    outcome: { ok: true } | { ok: false; error: string },
  ): void;
}

interface Entry {
  definition: ConnectorDefinition;
  instance: InstanceOf[ConnectorKind];
  connectionTypes: readonly string[];
  /** The credential types it accepts; null when it declares none. */
  credentialTypes: readonly string[] | null;
  health: ConnectorInfo["health"];
  healthAt: number;
  source: ConfigSource;
  configuredBy: string | null;
}

const kinds = [
  "monitoring",
  "ticketing",
  "infrastructure",
  "notifier",
] as const satisfies readonly ConnectorKind[];

/** kebab-case: lower-case letters and digits in words joined by single hyphens. */
const kebabCase = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** The built-in webhook source: a monitoring connector may not take its name. */
export const genericWebhookSource = "generic";

/** Target services a `database` connection is dispatched on, with their spellings. */
const databaseServiceAliases: Readonly<Record<string, string>> = {
  postgresql: "postgresql",
  postgres: "postgresql",
  pg: "postgresql",
  mysql: "mysql",
  mariadb: "mariadb",
};

const DeclarationSchema = z
  .object({
    kind: z.enum(kinds),
    name: z.string().regex(kebabCase, "must be kebab-case (e.g. `my-tool`)"),
    version: z.string().refine((v) => semver.valid(v) !== null, "must be a semver version such as 1.2.3"),
    sdk: z.string().refine((r) => semver.validRange(r) !== null, "must be a semver range such as ^0.1.0"),
    description: z.string().optional(),
    configSchema: z.custom<z.ZodType>((s) => s instanceof z.ZodType, "must be a zod schema"),
    capabilities: z.array(z.string().min(1)),
    connectionTypes: z
      .array(z.string().regex(/^[a-z][a-z0-9-]*(?::[a-z0-9-]+)?$/))
      .min(1)
      .optional(),
    languages: z
      .array(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9_+.-]*$/, "must be a language in its normal spelling (sh, sql, http)"),
      )
      .min(1)
      .optional(),
    create: z.custom<(...args: unknown[]) => unknown>((f) => typeof f === "function", "must be a function"),
  })
  .superRefine((declaration, issues) => {
    const known: readonly string[] = capabilitiesOf(declaration.kind);
    for (const [index, capability] of declaration.capabilities.entries()) {
      if (known.includes(capability)) continue;
      issues.addIssue({
        code: "custom",
        path: ["capabilities", index],
        message: `"${capability.slice(0, 40)}" is not a ${declaration.kind} capability; known: ${known.join(", ")}`,
      });
    }
  });

const NotConfiguredSchema = z.object({
  needs: z.array(z.string().min(1).max(200)).min(1, "name at least one variable or field"),
  hint: z.string().min(1).max(1_000),
});

/** The type a connection is dispatched on: `database` goes by its target service. */
function dispatchType(connectionType: string, targetService: string | null | undefined): string {
  return connectionType === "database" && targetService
    ? `database:${databaseServiceAliases[targetService.toLowerCase()] ?? targetService.toLowerCase()}`
    : connectionType;
}

/** How long a health result is reused by `list()`. */
const healthTtlMs = 30_000;
const healthTimeoutMs = 5_000;

/**
 * Creates the registry with the built-in connectors and the host's, validating each.
 * Registration stops at the first invalid connector (its error says which one).
 */
export async function createConnectorRegistry(
  ctx: EngineContext,
  registrations: readonly (ConnectorDefinition | ConnectorRegistration)[],
): Promise<ConnectorRegistry> {
  const log = ctx.logger.child({ component: "registry" });
  const entries: Record<ConnectorKind, Map<string, Entry>> = {
    monitoring: new Map(),
    ticketing: new Map(),
    infrastructure: new Map(),
    notifier: new Map(),
  };
  /** connection type (`ssh`, `database:postgresql`) → infrastructure connector name */
  const byConnectionType = new Map<string, string>();
  /** Connectors registered without their configuration: listed, never created. */
  const pending: Record<ConnectorKind, Map<string, { definition: ConnectorDefinition } & NotConfigured>> = {
    monitoring: new Map(),
    ticketing: new Map(),
    infrastructure: new Map(),
    notifier: new Map(),
  };
  const redactPaths = new Set<string>();
  const credentialTypes = createCredentialTypeRegistry();
  let frozen = false;

  async function register(registration: ConnectorDefinition | ConnectorRegistration): Promise<void> {
    const { connector, config, notConfigured, configuredBy } =
      "connector" in registration
        ? registration
        : { connector: registration, config: undefined, notConfigured: undefined, configuredBy: undefined };
    const label = typeof connector?.name === "string" ? connector.name : "(unnamed)";
    if (frozen) {
      throw rwError(
        "RW_ERR_PLUGIN_FROZEN",
        `cannot register connector "${label}": the engine has started and its registry is frozen; pass every connector to createEngine({ connectors }) before calling engine.start()`,
        { details: { connector: label } },
      );
    }
    const declared = DeclarationSchema.safeParse(connector);
    if (!declared.success) {
      throw rwError("RW_ERR_PLUGIN_INVALID", `connector "${label}" has an invalid declaration`, {
        details: { connector: label, issues: issuesOf(declared.error) },
      });
    }
    const definition = connector;
    const { kind, name } = definition;
    if (!semver.satisfies(coreVersion, definition.sdk, { includePrerelease: true })) {
      throw rwError(
        "RW_ERR_PLUGIN_VERSION_MISMATCH",
        `connector "${name}" supports @runwarden/core ${definition.sdk}, but this is ${coreVersion}`,
        { details: { connector: name, sdk: definition.sdk, core: coreVersion } },
      );
    }
    if (entries[kind].has(name) || pending[kind].has(name)) {
      throw rwError("RW_ERR_PLUGIN_DUPLICATE", `a ${kind} connector named "${name}" is already registered`, {
        details: { connector: name, kind },
      });
    }
    if (kind === "monitoring" && name === genericWebhookSource) {
      throw rwError(
        "RW_ERR_PLUGIN_DUPLICATE",
        `"${genericWebhookSource}" is the built-in webhook source; give the monitoring connector another name`,
        { details: { connector: name, kind } },
      );
    }
    if (notConfigured !== undefined) {
      const checked = NotConfiguredSchema.safeParse(notConfigured);
      if (!checked.success) {
        throw rwError("RW_ERR_PLUGIN_INVALID", `connector "${name}" has an invalid notConfigured`, {
          details: { connector: name, issues: issuesOf(checked.error) },
        });
      }
      pending[kind].set(name, { definition, needs: [...checked.data.needs], hint: checked.data.hint });
      log.info({ connector: name, kind, needs: checked.data.needs }, "connector registered, not configured");
      return;
    }
    const connectionTypes = kind === "infrastructure" ? (definition.connectionTypes ?? [name]) : [];
    for (const type of connectionTypes) {
      const owner = byConnectionType.get(canonicalType(type));
      if (owner !== undefined) {
        throw rwError(
          "RW_ERR_PLUGIN_DUPLICATE",
          `connection type "${type}" is already served by infrastructure connector "${owner}"`,
          { details: { connector: name, kind, connectionType: type } },
        );
      }
    }

    const declaredTypes = (definition as { credentialTypes?: Readonly<Record<string, unknown>> })
      .credentialTypes;
    if (declaredTypes !== undefined && kind !== "infrastructure") {
      throw rwError("RW_ERR_PLUGIN_INVALID", `connector "${name}" has an invalid declaration`, {
        details: {
          connector: name,
          issues: [
            {
              path: "credentialTypes",
              message: `only infrastructure connectors take credentials; a ${kind} connector marks its secrets secret() in configSchema`,
            },
          ],
        },
      });
    }
    // Checked before the connector is created, added once it is.
    credentialTypes.check(name, declaredTypes);

    const instance = await instantiate(definition, config);
    credentialTypes.add(name, declaredTypes);
    entries[kind].set(name, {
      definition,
      instance,
      connectionTypes,
      credentialTypes: declaredTypes === undefined ? null : Object.keys(declaredTypes).sort(),
      health: null,
      healthAt: 0,
      // Infrastructure connectors mostly need no config of their own: one registered bare may be
      // configured through the API later; everything else the host registered is the host's.
      source:
        config === undefined && configuredBy === undefined && kind === "infrastructure" ? "none" : "host",
      configuredBy: configuredBy ?? null,
    });
    for (const type of connectionTypes) byConnectionType.set(canonicalType(type), name);
    log.debug({ connector: name, kind, version: definition.version }, "connector registered");
  }

  /**
   * Parses `config` with the connector's schema, registers its secrets for redaction and creates
   * the instance; throws RW_ERR_PLUGIN_INVALID (never with a config value in it).
   */
  async function instantiate(
    definition: ConnectorDefinition,
    config: unknown,
  ): Promise<InstanceOf[ConnectorKind]> {
    const { kind, name } = definition;
    const parsed = definition.configSchema.safeParse(config ?? {});
    if (!parsed.success) {
      throw rwError("RW_ERR_PLUGIN_INVALID", `connector "${name}" was given an invalid config`, {
        details: { connector: name, issues: issuesOf(parsed.error) },
      });
    }
    const secretFields = secretPaths(definition.configSchema);
    const secrets = secretValues(parsed.data, secretFields);
    // A connector's own secrets (a webhook token, an API key) are redacted from session output too.
    ctx.redactor.add(secrets);
    const paths = secretFields.flatMap((path) => [path, `*.${path}`, `config.${path}`]);
    for (const path of paths) redactPaths.add(path);

    const connectorContext: ConnectorContext = {
      logger: childLogger(ctx.logger, name, paths),
      signal: ctx.signal,
      now: () => new Date(ctx.clock.now()),
    };
    let instance: InstanceOf[ConnectorKind];
    try {
      instance = await definition.create(parsed.data, connectorContext);
    } catch (err) {
      throw rwError(
        "RW_ERR_PLUGIN_INVALID",
        `connector "${name}" failed to start: ${scrub(messageOf(err), secrets)}`,
        {
          details: { connector: name },
          cause: secrets.length > 0 ? undefined : err,
        },
      );
    }
    const missing = missingMethods(kind, instance);
    if (missing.length > 0) {
      throw rwError("RW_ERR_PLUGIN_INVALID", `connector "${name}" is missing ${missing.join(", ")}`, {
        details: {
          connector: name,
          issues: missing.map((m) => ({ path: m, message: "must be a function" })),
        },
      });
    }
    return instance;
  }

  const configuredListeners: ((kind: ConnectorKind, name: string) => void)[] = [];
  const activity = new Map<string, ConnectorActivity>();
  const activityOf = (kind: ConnectorKind, name: string): ConnectorActivity =>
    activity.get(`${kind}:${name}`) ?? {
      lastWebhookAt: null,
      webhooks: 0,
      lastErrorAt: null,
      lastError: null,
    };

  async function configure(
    kind: ConnectorKind,
    name: string,
    config: unknown,
    options: { source?: ConfigSource; configuredBy?: string | null } = {},
  ): Promise<void> {
    const current = entries[kind]?.get(name);
    const waiting = pending[kind]?.get(name);
    const definition = current?.definition ?? waiting?.definition;
    if (!definition) {
      const known = [...(entries[kind]?.keys() ?? []), ...(pending[kind]?.keys() ?? [])].sort();
      throw rwError(
        "RW_ERR_PLUGIN_NOT_FOUND",
        `no ${kind} connector named "${truncate(name)}"; registered: ${known.length > 0 ? known.join(", ") : "none"}`,
        { details: { kind, name: truncate(name), registered: known } },
      );
    }
    if (kind === "infrastructure" && !current) {
      throw rwError("RW_ERR_PLUGIN_INVALID", `infrastructure connector "${name}" cannot be configured live`, {
        details: { connector: name },
      });
    }
    const instance = await instantiate(definition, config);
    const connectionTypes = current?.connectionTypes ?? [];
    entries[kind].set(name, {
      definition,
      instance,
      connectionTypes,
      credentialTypes: current?.credentialTypes ?? null,
      health: null,
      healthAt: 0,
      source: options.source ?? "store",
      configuredBy: options.configuredBy ?? null,
    });
    pending[kind].delete(name);
    log.info({ connector: name, kind, source: options.source ?? "store" }, "connector configured");
    for (const listener of configuredListeners) {
      try {
        listener(kind, name);
      } catch (err) {
        log.warn({ connector: name, err: { message: messageOf(err) } }, "configured listener failed");
      }
    }
    if (current) {
      try {
        await current.instance.close?.();
      } catch (err) {
        log.warn({ connector: name, err: { message: messageOf(err) } }, "replaced connector failed to close");
      }
    }
  }

  function lookup<K extends ConnectorKind>(kind: K, name: string): InstanceOf[K] {
    const entry = entries[kind].get(name);
    const waiting = pending[kind].get(name);
    if (waiting) {
      throw rwError(
        "RW_ERR_PLUGIN_NOT_CONFIGURED",
        `the ${kind} connector "${name}" is not configured: ${waiting.hint}`,
        { details: { kind, name, needs: waiting.needs } },
      );
    }
    if (!entry) {
      const known = [...entries[kind].keys(), ...pending[kind].keys()].sort();
      throw rwError(
        "RW_ERR_PLUGIN_NOT_FOUND",
        `no ${kind} connector named "${truncate(name)}"; registered: ${known.length > 0 ? known.join(", ") : "none"}`,
        { details: { kind, name: truncate(name), registered: known } },
      );
    }
    return entry.instance as InstanceOf[K];
  }

  async function healthOf(entry: Entry): Promise<ConnectorInfo["health"]> {
    const instance = entry.instance as Partial<MonitoringConnector & TicketingConnector>;
    if (entry.definition.kind === "infrastructure" || typeof instance.healthCheck !== "function") return null;
    const now = ctx.clock.now();
    if (entry.health && now - entry.healthAt < healthTtlMs) return entry.health;
    const started = performance.now();
    const signal = callSignal(ctx.signal, healthTimeoutMs);
    let result: HealthResult;
    let onAbort: (() => void) | undefined;
    try {
      result = await Promise.race([
        instance.healthCheck({ signal }),
        // A connector that does not honour its signal still gets an answer on time.
        new Promise<HealthResult>((resolve) => {
          onAbort = () =>
            resolve({
              ok: false,
              latencyMs: Math.round(performance.now() - started),
              reason: timedOut(signal) ? "timeout" : "aborted",
              message: timedOut(signal) ? "no answer in 5 s" : "the engine is closing",
            });
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } catch (err) {
      result = {
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        reason: "error",
        message: messageOf(err),
      };
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
      endCallSignal(signal);
    }
    entry.health = { ...result, checkedAt: new Date(now).toISOString() };
    entry.healthAt = now;
    if (!result.ok)
      log.warn({ connector: entry.definition.name, reason: result.reason }, "connector unhealthy");
    return entry.health;
  }

  const registry: ConnectorRegistry = {
    register,
    freeze() {
      frozen = true;
    },
    get frozen() {
      return frozen;
    },
    has: (kind, name) => entries[kind]?.has(name) ?? false,
    notConfigured(kind, name) {
      const waiting = pending[kind]?.get(name);
      return waiting ? { needs: waiting.needs, hint: waiting.hint } : undefined;
    },
    monitoring: (name) => lookup("monitoring", name),
    ticketing: (name) => lookup("ticketing", name),
    notifier: (name) => lookup("notifier", name),
    languagesFor(connectionType, targetService) {
      const name = byConnectionType.get(canonicalType(dispatchType(connectionType, targetService)));
      return name === undefined ? undefined : entries.infrastructure.get(name)?.definition.languages;
    },
    infrastructureFor(connectionType, targetService) {
      const type = dispatchType(connectionType, targetService);
      const name = byConnectionType.get(canonicalType(type));
      if (name === undefined) {
        const known = [...byConnectionType.keys()].sort();
        throw rwError(
          "RW_ERR_PLUGIN_NOT_FOUND",
          `no infrastructure connector serves connection type "${truncate(type)}"; served: ${known.join(", ") || "none"}`,
          { details: { kind: "infrastructure", name: truncate(type), registered: known } },
        );
      }
      return lookup("infrastructure", name);
    },
    credentialTypesFor(connectionType, targetService) {
      const name = byConnectionType.get(canonicalType(dispatchType(connectionType, targetService)));
      const entry = name === undefined ? undefined : entries.infrastructure.get(name);
      return entry ? { connector: entry.definition.name, types: entry.credentialTypes } : undefined;
    },
    credentialTypes,
    async list(kind, options = {}) {
      const ready = await Promise.all(
        [...entries[kind].values()].map(
          async (entry): Promise<ConnectorInfo> => ({
            kind,
            name: entry.definition.name,
            version: entry.definition.version,
            description: entry.definition.description ?? null,
            capabilities: entry.definition.capabilities,
            connectionTypes: entry.connectionTypes,
            health: options.health === false ? entry.health : await healthOf(entry),
            status: "ready",
            needs: [],
            hint: null,
            configSource: entry.source,
            configuredBy: entry.configuredBy,
            activity: activityOf(kind, entry.definition.name),
          }),
        ),
      );
      const waiting = [...pending[kind].values()].map(
        ({ definition, needs, hint }): ConnectorInfo => ({
          kind,
          name: definition.name,
          version: definition.version,
          description: definition.description ?? null,
          capabilities: definition.capabilities,
          connectionTypes: [],
          health: null,
          status: "not_configured",
          needs,
          hint,
          configSource: "none",
          configuredBy: null,
          activity: activityOf(kind, definition.name),
        }),
      );
      return [...ready, ...waiting].sort((a, b) => a.name.localeCompare(b.name));
    },
    get redactPaths() {
      return [...redactPaths];
    },
    definition: (kind, name) => (entries[kind]?.get(name) ?? pending[kind]?.get(name))?.definition,
    configSource(kind, name) {
      const entry = entries[kind]?.get(name);
      return entry
        ? { source: entry.source, configuredBy: entry.configuredBy }
        : { source: "none", configuredBy: null };
    },
    configure,
    onConfigured(listener) {
      configuredListeners.push(listener);
    },
    recordActivity(kind, name, outcome) {
      if (!entries[kind]?.has(name) && !pending[kind]?.has(name)) return;
      const now = new Date(ctx.clock.now()).toISOString();
      const current = activityOf(kind, name);
      activity.set(
        `${kind}:${name}`,
        outcome.ok
          ? { ...current, lastWebhookAt: now, webhooks: current.webhooks + 1 }
          : { ...current, lastErrorAt: now, lastError: outcome.error.slice(0, 500) },
      );
    },
    async close() {
      for (const kind of kinds) {
        for (const entry of entries[kind].values()) {
          try {
            await entry.instance.close?.();
          } catch (err) {
            log.warn(
              { connector: entry.definition.name, err: { message: messageOf(err) } },
              "connector close failed",
            );
          }
        }
      }
    },
  };

  // A host registration of a built-in's kind and name replaces it (e.g. the local connector with
  // extra PATH directories).
  const declared = (r: ConnectorDefinition | ConnectorRegistration) => ("connector" in r ? r.connector : r);
  const hostNames = new Set(registrations.map((r) => keyOf(declared(r))));
  const builtIns = builtInConnectors.filter((b) => !hostNames.has(keyOf(b.connector)));
  for (const registration of [...builtIns, ...registrations]) await register(registration);
  return registry;
}

function keyOf(definition: { kind?: unknown; name?: unknown } | undefined): string {
  return `${String(definition?.kind)}:${String(definition?.name)}`;
}

function canonicalType(type: string): string {
  const [base, service] = type.toLowerCase().split(":", 2);
  if (base === "database" && service) return `database:${databaseServiceAliases[service] ?? service}`;
  return type.toLowerCase();
}

function missingMethods(kind: ConnectorKind, instance: unknown): string[] {
  if (typeof instance !== "object" || instance === null) return ["the object returned by create()"];
  const required: Record<ConnectorKind, readonly string[]> = {
    monitoring: [],
    ticketing: ["create", "update", "comment"],
    infrastructure: ["open", "healthCheck"],
    notifier: ["send"],
  };
  const record = instance as Record<string, unknown>;
  return required[kind].filter((method) => typeof record[method] !== "function");
}

/** zod issues as `{ path, message }`, never the input (which may hold a secret). */
function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}

/**
 * Dotted paths (`password`, `auth.token`, `hosts.*.key`) of every field marked with `secret()` in
 * a config schema, looking through optional/default/nullable wrappers, arrays, records and unions.
 */
export function secretPaths(schema: z.ZodType): string[] {
  const paths = new Set<string>();
  const seen = new Set<z.ZodType>();
  const walk = (node: z.ZodType, path: string[]): void => {
    if (isSecretSchema(node) && path.length > 0) {
      paths.add(path.join("."));
      return;
    }
    if (seen.has(node)) return;
    seen.add(node);
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case "object":
        for (const [key, child] of Object.entries(def.shape as Record<string, z.ZodType>))
          walk(child, [...path, key]);
        break;
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "nonoptional":
      case "readonly":
      case "catch":
        walk(def.innerType as z.ZodType, path);
        break;
      case "pipe":
        walk(def.in as z.ZodType, path);
        walk(def.out as z.ZodType, path);
        break;
      case "array":
        walk(def.element as z.ZodType, [...path, "*"]);
        break;
      case "record":
        walk(def.valueType as z.ZodType, [...path, "*"]);
        break;
      case "union":
        for (const option of def.options as z.ZodType[]) walk(option, path);
        break;
      case "intersection":
        walk(def.left as z.ZodType, path);
        walk(def.right as z.ZodType, path);
        break;
      case "lazy":
        walk((def.getter as () => z.ZodType)(), path);
        break;
      default:
        break;
    }
  };
  walk(schema, []);
  return [...paths];
}

/** The string values found at the secret paths of a parsed config. */
function secretValues(config: unknown, paths: readonly string[]): string[] {
  const values: string[] = [];
  const collect = (node: unknown, parts: readonly string[]): void => {
    if (node === undefined || node === null) return;
    if (parts.length === 0) {
      if (typeof node === "string" && node.length > 0) values.push(node);
      else if (typeof node === "object") for (const v of Object.values(node)) collect(v, []);
      return;
    }
    if (typeof node !== "object") return;
    const [head, ...rest] = parts as [string, ...string[]];
    if (head === "*") for (const value of Object.values(node)) collect(value, rest);
    else collect((node as Record<string, unknown>)[head], rest);
  };
  for (const path of paths) collect(config, path.split("."));
  return values;
}

function childLogger(root: Logger, connector: string, redact: readonly string[]): Logger {
  if (redact.length === 0) return root.child({ connector });
  return root.child({ connector }, { redact: { paths: [...redact], censor: "[redacted]" } });
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
