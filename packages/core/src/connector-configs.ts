/**
 * Connector configuration kept in the store (`GET/PUT /connectors/{kind}/{name}/config`): checked
 * with the connector's `configSchema`, the fields it marks `secret()` (nested ones too) sealed by
 * the vault and masked on every read, and the connector (re)created live on every change. The
 * host's own configuration (`createEngine({ connectors: [{ connector, config }] })`, the example
 * server's environment variables) wins: a connector configured that way refuses a stored one.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import type { AuditLog } from "./audit.js";
import { type ActorOptions, maskedSecret } from "./credentials.js";
import type { ConnectorConfigRecord, TicketInput } from "./domain.js";
import { isRunwardenError, rwError } from "./errors.js";
import { configJsonSchema, webhookSecretTargets } from "./internal/config-schema.js";
import type { EngineContext } from "./internal/context.js";
import type { ConnectorKind } from "./plugin.js";
import { type ConfigSource, type ConnectorRegistry, secretPaths } from "./registry.js";
import type { IngestResult, WebhookResult } from "./tickets/types.js";
import type { Vault } from "./vault.js";

/** A connector's configuration as every API shows it: secret fields masked. */
export interface ConnectorConfigView {
  /** The connector's kind. */
  kind: ConnectorKind;
  /** The connector's name. */
  name: string;
  /**
   * The configuration in effect: `host` (passed to createEngine; the example server's
   * environment variables, which win), `store` (set through this API) or `none`.
   */
  source: ConfigSource;
  /** What configured it: the host's label (`RUNWARDEN_PROMETHEUS_TOKEN`) or who stored it. */
  configuredBy: string | null;
  /** True when a configuration is stored (even when the host's wins over it). */
  stored: boolean;
  /** The stored configuration, secret fields as `********`; null when none is stored. */
  config: Record<string, unknown> | null;
  /** Dotted paths of the stored secret fields (`webhookAuth.token`). */
  secretPaths: string[];
  /** When it was last stored; null when none is stored. */
  updatedAt: string | null;
  /** Who stored it last; null when none is stored. */
  updatedBy: string | null;
}

/** The JSON Schema of a connector's configuration, for building a form. */
export interface ConnectorConfigSchema {
  /** JSON Schema (draft 2020-12); a secret field carries `"x-secret": true` and `writeOnly`. */
  jsonSchema: Record<string, unknown>;
  /** Dotted paths of every field marked `secret()` (`*` for any array index or record key). */
  secretPaths: string[];
  /** Top-level fields the schema requires. */
  required: string[];
  /** Where a generated webhook secret goes (`webhookAuth.token`), or null when it has none. */
  webhookSecretPath: string | null;
}

/**
 * `engine.connectorConfigs`: read and store the configuration of registered connectors (secrets
 * sealed by the vault), generate webhook secrets and send test alerts.
 */
export interface ConnectorConfigsApi {
  /** The stored configuration of a registered connector (masked), and which source is in effect. */
  get(kind: ConnectorKind, name: string): Promise<ConnectorConfigView>;
  /**
   * Checks `config` with the connector's schema, seals its secret fields and stores it, then
   * recreates the connector with it (a not-configured one becomes configured). A secret field
   * sent as `********` keeps the stored value. Throws RW_ERR_PLUGIN_NOT_FOUND,
   * RW_ERR_CONFIG_HOST_OWNED (409: the host configured it), RW_ERR_INPUT_INVALID (with
   * `details.fields`, never a value) and RW_ERR_PLUGIN_INVALID when the connector fails to start.
   */
  put(
    kind: ConnectorKind,
    name: string,
    config: Record<string, unknown>,
    options?: ActorOptions,
  ): Promise<ConnectorConfigView>;
  /**
   * Generates a webhook secret (32 random bytes, base64url), stores it in the connector's webhook
   * secret field (keeping the rest of the stored configuration; choosing the auth variant that has
   * such a field when none is chosen) and recreates the connector. The secret is in the result
   * only: it is never shown again.
   */
  generateWebhookSecret(
    kind: ConnectorKind,
    name: string,
    options?: ActorOptions,
  ): Promise<{ view: ConnectorConfigView; secret: string; path: string }>;
  /** The connector's configuration schema as JSON Schema, with its secret and required fields. */
  schema(kind: ConnectorKind, name: string): ConnectorConfigSchema;
  /**
   * Applies every stored configuration to the connectors the host did not configure (createEngine
   * calls it once). One that no longer fits its schema is skipped with a warning.
   */
  applyStored(): Promise<void>;
  /** Re-applies one stored configuration (another engine instance changed it). */
  reload(kind: ConnectorKind, name: string): Promise<void>;
  /**
   * Sends the monitoring connector's documented sample webhook (`sampleWebhook`) through its own
   * `parseWebhook` and stores its tickets (analyzed, `metaData.test_alert: true`, never
   * auto-executed), so the ticket appears as a real alert's would.
   * RW_ERR_PLUGIN_NOT_CONFIGURED when it is not configured, RW_ERR_PLUGIN_NOT_FOUND when it
   * declares no sample or no parser.
   */
  sendTestAlert(name: string, options?: ActorOptions): Promise<WebhookResult>;
}

/**
 * A connector's `configSchema` as the API and the dashboard's form read it: JSON Schema (input
 * side; `secret()` fields flagged `"x-secret": true` and `writeOnly`; in-process-only options
 * left out), the secret paths, the required top-level fields and where a generated webhook
 * secret goes. Throws when zod cannot describe the schema (the connector testkit checks this).
 */
export function describeConnectorConfig(schema: z.ZodType): ConnectorConfigSchema {
  const target = webhookSecretTargets(schema)[0];
  const jsonSchema = configJsonSchema(schema);
  return {
    jsonSchema,
    secretPaths: secretPaths(schema),
    required: Array.isArray(jsonSchema.required) ? (jsonSchema.required as string[]) : [],
    webhookSecretPath: target ? target.path.join(".") : null,
  };
}

/** The signal topic another engine instance sharing the store listens on. */
export const connectorConfigTopic = "connector-config";

/** Creates the connector configuration API. */
export function createConnectorConfigsApi(
  ctx: EngineContext,
  deps: {
    registry: ConnectorRegistry;
    vault: Vault;
    audit: AuditLog;
    /** Intake's SDK path (`tickets.ingest`): a test alert never starts a runbook on its own. */
    ingest: (
      input: TicketInput,
      options: { autoExecute: false; submittedBy: string },
    ) => Promise<IngestResult>;
  },
): ConnectorConfigsApi {
  const { registry, vault, audit } = deps;
  const store = ctx.storage.connectorConfigs;
  const log = ctx.logger.child({ component: "connector-configs" });

  const definitionOf = (kind: ConnectorKind, name: string) => {
    const definition = registry.definition(kind, name);
    if (!definition) {
      throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `no ${kind} connector named "${name.slice(0, 80)}"`, {
        details: { kind, name: name.slice(0, 80) },
      });
    }
    return definition;
  };
  const load = async (kind: ConnectorKind, name: string) =>
    (await store.find({ where: { kind, name }, limit: 1 }))[0];
  const actorOf = (options?: ActorOptions) =>
    options?.actor === undefined
      ? "system"
      : typeof options.actor === "string"
        ? options.actor
        : options.actor.id;

  /** The stored configuration with its secrets opened. */
  const opened = (record: ConnectorConfigRecord): Record<string, unknown> => {
    const config = structuredClone(record.config);
    const secrets = record.secretPaths.length > 0 ? vault.open(record.ciphertext) : {};
    for (const [path, value] of Object.entries(secrets)) setAt(config, path.split("."), JSON.parse(value));
    return config;
  };

  const view = (kind: ConnectorKind, name: string, record: ConnectorConfigRecord | undefined) => {
    const { source, configuredBy } = registry.configSource(kind, name);
    let config: Record<string, unknown> | null = null;
    if (record) {
      config = structuredClone(record.config);
      for (const path of record.secretPaths) setAt(config, path.split("."), maskedSecret);
    }
    return {
      kind,
      name,
      source,
      configuredBy,
      stored: record !== undefined,
      config,
      secretPaths: record ? [...record.secretPaths] : [],
      updatedAt: record?.updatedAt ?? null,
      updatedBy: record?.updatedBy ?? null,
    } satisfies ConnectorConfigView;
  };

  const refuseHostOwned = (kind: ConnectorKind, name: string) => {
    const { source, configuredBy } = registry.configSource(kind, name);
    if (source !== "host") return;
    throw rwError(
      "RW_ERR_CONFIG_HOST_OWNED",
      `the ${kind} connector "${name}" is configured by the host${configuredBy ? ` (${configuredBy})` : ""}, which wins over a stored configuration: change it there and restart`,
      { details: { kind, name, configuredBy } },
    );
  };

  async function storeAndApply(
    kind: ConnectorKind,
    name: string,
    config: Record<string, unknown>,
    current: ConnectorConfigRecord | undefined,
    options: ActorOptions | undefined,
    action: string,
  ): Promise<ConnectorConfigRecord> {
    const definition = definitionOf(kind, name);
    const checked = definition.configSchema.safeParse(config);
    if (!checked.success) throw invalid(name, fieldIssues(checked.error));
    const { plain, secrets } = splitSecrets(config, secretPaths(definition.configSchema), name);
    // Created first: a config the connector refuses (its create() throws) is never stored.
    const actor = actorOf(options);
    await registry.configure(kind, name, config, { source: "store", configuredBy: actor });
    try {
      return await write(kind, name, plain, secrets, current, actor, options, action);
    } catch (err) {
      // Someone else stored first (another engine instance): run what the store holds, then say so.
      await api.reload(kind, name).catch(() => undefined);
      throw err;
    }
  }

  async function write(
    kind: ConnectorKind,
    name: string,
    plain: Record<string, unknown>,
    secrets: Record<string, string>,
    current: ConnectorConfigRecord | undefined,
    actor: string,
    options: ActorOptions | undefined,
    action: string,
  ): Promise<ConnectorConfigRecord> {
    const now = ctx.nowIso();
    const fields = {
      config: plain,
      secretPaths: Object.keys(secrets).sort(),
      ciphertext: Object.keys(secrets).length > 0 ? vault.seal(secrets) : "",
      updatedAt: now,
      updatedBy: actor,
    };
    const record = current
      ? await store.update(current.id, current.version, fields)
      : await store.insert({ kind, name, createdAt: now, ...fields });
    await audit.record({
      actor,
      action,
      objectType: "connector",
      objectId: `${kind}/${name}`,
      origin: options?.origin ?? null,
      details: { kind, name, secretPaths: fields.secretPaths },
    });
    await ctx.storage.signals
      .publish(connectorConfigTopic, JSON.stringify({ kind, name, from: ctx.instanceId }))
      .catch((err: unknown) =>
        log.warn({ err: { message: (err as Error).message } }, "could not signal the configuration change"),
      );
    return record;
  }

  /** One change at a time per connector in this process (a double-clicked Save). */
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(kind: ConnectorKind, name: string, work: () => Promise<T>): Promise<T> => {
    const key = `${kind}:${name}`;
    const run = (queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    queues.set(key, run);
    return run.finally(() => {
      if (queues.get(key) === run) queues.delete(key);
    });
  };

  const api: ConnectorConfigsApi = {
    async get(kind, name) {
      definitionOf(kind, name);
      return view(kind, name, await load(kind, name));
    },

    async put(kind, name, config, options) {
      definitionOf(kind, name);
      if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw invalid(name, [{ field: "(config)", message: "must be a JSON object" }]);
      }
      refuseHostOwned(kind, name);
      const current = await load(kind, name);
      const given = structuredClone(config);
      // A masked secret sent back (a form's untouched password field) keeps the stored value.
      const previous = current ? opened(current) : {};
      const problems: { field: string; message: string }[] = [];
      for (const path of expandPaths(given, secretPaths(definitionOf(kind, name).configSchema))) {
        if (getAt(given, path) !== maskedSecret) continue;
        const kept = getAt(previous, path);
        if (kept === undefined) problems.push({ field: path.join("."), message: "no stored secret to keep" });
        else setAt(given, path, kept);
      }
      if (problems.length > 0) throw invalid(name, problems);
      const record = await storeAndApply(kind, name, given, current, options, "connector.configured");
      log.info({ kind, name }, "connector configuration stored");
      return view(kind, name, record);
    },

    async generateWebhookSecret(kind, name, options) {
      const definition = definitionOf(kind, name);
      refuseHostOwned(kind, name);
      const targets = webhookSecretTargets(definition.configSchema);
      if (targets.length === 0) {
        throw invalid(name, [{ field: "(config)", message: "this connector has no webhook secret field" }]);
      }
      const current = await load(kind, name);
      const base = current ? opened(current) : {};
      const secret = randomBytes(32).toString("base64url");
      // The variant already chosen first (`webhookAuth.type: "bearer"` keeps bearer).
      const matches = (t: (typeof targets)[number]) =>
        t.conditions.every((c) => getAt(base, c.path) === c.value);
      const ordered = [...targets.filter(matches), ...targets.filter((t) => !matches(t))];
      let firstProblems: { field: string; message: string }[] | undefined;
      for (const target of ordered) {
        const candidate = structuredClone(base);
        for (const condition of target.conditions) {
          if (getAt(candidate, condition.path) === condition.value) continue;
          setAt(candidate, condition.path.slice(0, -1), { [condition.path.at(-1)!]: condition.value });
        }
        setAt(candidate, target.path, secret);
        const checked = definition.configSchema.safeParse(candidate);
        if (!checked.success) {
          firstProblems ??= fieldIssues(checked.error);
          continue;
        }
        const record = await storeAndApply(
          kind,
          name,
          candidate,
          current,
          options,
          "connector.webhook_secret_generated",
        );
        log.info({ kind, name, path: target.path.join(".") }, "webhook secret generated");
        return { view: view(kind, name, record), secret, path: target.path.join(".") };
      }
      throw invalid(name, firstProblems ?? [], "set the connector's other required fields first");
    },

    schema(kind, name) {
      return describeConnectorConfig(definitionOf(kind, name).configSchema);
    },

    async applyStored() {
      for (const record of await store.find({ order: "asc" })) await apply(record);
    },

    async reload(kind, name) {
      const record = await load(kind, name);
      if (record) await apply(record);
    },

    async sendTestAlert(name, options) {
      const definition = definitionOf("monitoring", name);
      const instance = registry.monitoring(name);
      if (!definition.sampleWebhook || !instance.parseWebhook) {
        throw rwError(
          "RW_ERR_PLUGIN_NOT_FOUND",
          `the monitoring connector "${name}" declares no sample webhook to send as a test alert`,
          { details: { kind: "monitoring", name } },
        );
      }
      const sample = definition.sampleWebhook();
      const headers = { "content-type": "application/json", ...(sample.headers ?? {}) };
      const parsed = await instance.parseWebhook({
        headers,
        body: sample.body,
        rawBody: JSON.stringify(sample.body),
      });
      // Stored like the source's alerts, marked as a test, and never auto-executed: a sample must
      // not run a runbook against the host it names.
      const tickets: IngestResult[] = [];
      for (const ticket of parsed.tickets) {
        tickets.push(
          await deps.ingest(
            { ...ticket, source: ticket.source ?? name, metaData: { ...ticket.metaData, test_alert: true } },
            { autoExecute: false, submittedBy: actorOf(options) },
          ),
        );
      }
      const result: WebhookResult = { tickets, resolved: [], warnings: [] };
      await audit.record({
        actor: actorOf(options),
        action: "connector.test_alert_sent",
        objectType: "connector",
        objectId: `monitoring/${name}`,
        origin: options?.origin ?? null,
        details: { tickets: result.tickets.map((t) => t.ticket.id) },
      });
      return { ...result, warnings: [...parsed.warnings, ...result.warnings] };
    },
  };

  const putNow = api.put;
  const generateNow = api.generateWebhookSecret;
  api.put = (kind, name, config, options) => serial(kind, name, () => putNow(kind, name, config, options));
  api.generateWebhookSecret = (kind, name, options) =>
    serial(kind, name, () => generateNow(kind, name, options));

  async function apply(record: ConnectorConfigRecord): Promise<void> {
    const { kind, name } = record;
    if (!registry.definition(kind, name)) {
      log.warn({ kind, name }, "a stored configuration names no registered connector: ignored");
      return;
    }
    if (registry.configSource(kind, name).source === "host") {
      log.info({ kind, name }, "the host configures this connector: its stored configuration is not used");
      return;
    }
    try {
      await registry.configure(kind, name, opened(record), {
        source: "store",
        configuredBy: record.updatedBy,
      });
    } catch (err) {
      log.warn(
        {
          kind,
          name,
          err: {
            code: isRunwardenError(err) ? err.code : undefined,
            details: isRunwardenError(err) ? err.details : undefined,
          },
        },
        "the stored configuration does not start the connector: left as it was",
      );
    }
  }

  return api;
}

/** Splits a config into its plain part and its secret values (JSON-encoded), by dotted path. */
function splitSecrets(
  config: Record<string, unknown>,
  patterns: readonly string[],
  name: string,
): { plain: Record<string, unknown>; secrets: Record<string, string> } {
  const plain = structuredClone(config);
  const secrets: Record<string, string> = {};
  for (const path of expandPaths(config, patterns)) {
    const value = getAt(config, path);
    if (value === undefined) continue;
    if (path.some((part) => part.includes("."))) {
      throw invalid(name, [
        { field: path.join("."), message: "a key holding a secret may not contain a dot" },
      ]);
    }
    secrets[path.join(".")] = JSON.stringify(value);
    deleteAt(plain, path);
  }
  return { plain, secrets };
}

/** The concrete paths of a config matching dotted patterns (`*` matches any key or index). */
function expandPaths(config: unknown, patterns: readonly string[]): string[][] {
  const out: string[][] = [];
  const walk = (node: unknown, rest: readonly string[], path: string[]) => {
    if (rest.length === 0) {
      if (node !== undefined) out.push(path);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const [head, ...tail] = rest as [string, ...string[]];
    if (head === "*")
      for (const key of Object.keys(node)) walk((node as Record<string, unknown>)[key], tail, [...path, key]);
    else if (Object.hasOwn(node, head)) walk((node as Record<string, unknown>)[head], tail, [...path, head]);
  };
  for (const pattern of patterns) walk(config, pattern.split("."), []);
  return out;
}

function getAt(node: unknown, path: readonly string[]): unknown {
  let current = node;
  for (const part of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function setAt(node: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (path.length === 0) return;
  let current: Record<string, unknown> = node;
  for (const part of path.slice(0, -1)) {
    const next = current[part];
    if (typeof next !== "object" || next === null) current[part] = {};
    current = current[part] as Record<string, unknown>;
  }
  current[path.at(-1)!] = value;
}

function deleteAt(node: Record<string, unknown>, path: readonly string[]): void {
  const parent = getAt(node, path.slice(0, -1));
  if (typeof parent === "object" && parent !== null) {
    if (Array.isArray(parent)) parent[Number(path.at(-1))] = null;
    else delete (parent as Record<string, unknown>)[path.at(-1)!];
  }
}

/** zod issues as `{ field, message }`: a path and what was expected, never the value. */
function fieldIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "(config)",
    message: issue.code === "invalid_type" ? `must be a ${issue.expected}` : issue.message,
  }));
}

function invalid(name: string, fields: { field: string; message: string }[], why?: string) {
  const listed = fields.map((f) => `${f.field} (${f.message})`).join("; ");
  return rwError(
    "RW_ERR_INPUT_INVALID",
    `the configuration of connector "${name}" is invalid${why ? `: ${why}` : ""}${listed ? `: ${listed}` : ""}`,
    { details: { fields } },
  );
}
