/**
 * What the example server sets up on start: the connectors that exist in this checkout and those
 * named by RUNWARDEN_CONNECTORS, the vault's key, the bootstrap admin token and the sample runbooks.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type ConnectorDefinition,
  type ConnectorRegistration,
  type Engine,
  isRunwardenError,
  type Logger,
  type NotConfigured,
  rwError,
  type Storage,
  type TicketSyncOptions,
} from "@runwarden/core";
import { generateToken, type TokenStore } from "@runwarden/http-adapter";
import {
  connectorConfigVariable,
  monitoringPollPrefix,
  monitoringPollVariable,
  type PollSettings,
  type ServerConfig,
  ticketSyncVariable,
} from "./config.js";

/** The first-party infrastructure connectors the example registers, by package. */
const infrastructurePackages = [
  "@runwarden/connector-ssh",
  "@runwarden/connector-postgres",
  "@runwarden/connector-mysql",
  "@runwarden/connector-http",
  "@runwarden/connector-kubernetes",
  "@runwarden/connector-winrm",
  "@runwarden/connector-aws",
  "@runwarden/connector-gcp",
  "@runwarden/connector-azure",
] as const;

function isConnector(value: unknown): value is ConnectorDefinition {
  const v = value as Partial<ConnectorDefinition> | undefined;
  return typeof v === "object" && v !== null && typeof v.kind === "string" && typeof v.create === "function";
}

/**
 * The first-party connectors that need configuration of their own (a webhook secret, an API URL
 * and keys): each is registered on every start, configured when its variable is set and listed as
 * not configured otherwise. `example` is the smallest configuration, shown in the hint.
 */
const configurablePackages = [
  {
    package: "@runwarden/connector-prometheus",
    name: "prometheus",
    example: '{"webhookAuth":{"type":"bearer","token":"<at least 16 characters>"}}',
  },
  {
    package: "@runwarden/connector-datadog",
    name: "datadog",
    example:
      '{"webhookAuth":{"type":"header","secret":"<at least 16 characters>"}} (add "apiKey" and "applicationKey" to pull monitors and events)',
  },
  {
    package: "@runwarden/connector-solarwinds",
    name: "solarwinds",
    example:
      '{"webhookAuth":{"type":"basic","username":"orion","password":"<at least 12 characters>"}} (add "url", "username" and "password", and "tls":{"ca":"<PEM>"} for a self-signed certificate, to pull, acknowledge and clear)',
  },
  {
    package: "@runwarden/connector-opmanager",
    name: "opmanager",
    example:
      '{"webhookAuth":{"type":"header","secret":"<at least 16 characters>"}} (add "url" and "apiKey" to pull, acknowledge and clear)',
  },
  {
    package: "@runwarden/connector-zabbix",
    name: "zabbix",
    example:
      '{"webhookAuth":{"type":"bearer","secret":"<at least 16 characters>"}} (add "url" and "auth" {"type":"token","token":"<API token>"} to pull, acknowledge and close problems)',
  },
  {
    package: "@runwarden/connector-servicenow",
    name: "servicenow",
    example:
      '{"instanceUrl":"https://<instance>.service-now.com","auth":{"type":"basic","username":"<user>","password":"<password>"}}',
  },
  {
    package: "@runwarden/connector-servicedesk-plus",
    name: "servicedesk-plus",
    example:
      '{"baseUrl":"https://sdp.example.com:8080","auth":{"type":"authtoken","authtoken":"<technician API key>"}} (Cloud: "auth":{"type":"oauth","clientId":"…","clientSecret":"…","refreshToken":"…"})',
  },
  {
    package: "@runwarden/connector-remedy",
    name: "remedy",
    example:
      '{"serverUrl":"https://remedy.example.com:8008","auth":{"username":"<AR user>","password":"<password>"},"customer":{"firstName":"<first>","lastName":"<last>"}}',
  },
  {
    package: "@runwarden/connector-zendesk",
    name: "zendesk",
    example:
      '{"subdomain":"<subdomain>","auth":{"type":"token","email":"<agent e-mail>","token":"<API token>"},"webhookSecret":"<webhook signing secret>"}',
    // The webhook receiver: a monitoring connector of the same name, configured by the same variable.
    companions: ["zendeskWebhook"],
  },
  {
    package: "@runwarden/connector-notify-webhook",
    name: "webhook",
    example:
      '{"url":"https://hooks.example.com/runwarden","secret":"<at least 16 characters>"} (route events to it with RUNWARDEN_NOTIFY_RULES)',
  },
  {
    package: "@runwarden/connector-notify-slack",
    name: "slack",
    example:
      '{"botToken":"xoxb-…","signingSecret":"<Slack app signing secret>","channel":"C0123ABCD"} (route events to it with RUNWARDEN_NOTIFY_RULES; Interactivity Request URL: <public URL>/api/v1/notifiers/slack/interactions)',
  },
  {
    package: "@runwarden/connector-notify-email",
    name: "email",
    example:
      '{"host":"smtp.example.com","port":587,"auth":{"user":"<user>","password":"<password>"},"from":"runwarden@example.com","to":["oncall@example.com"],"linkSecret":"<at least 32 random characters>"} (route events to it with RUNWARDEN_NOTIFY_RULES; links lead to RUNWARDEN_PUBLIC_URL)',
  },
  {
    package: "@runwarden/connector-notify-teams",
    name: "teams",
    example:
      '{"webhookUrl":"<the Teams Workflows HTTP POST URL>"} (route events to it with RUNWARDEN_NOTIFY_RULES)',
  },
] as const satisfies readonly {
  package: string;
  name: string;
  example: string;
  companions?: readonly string[];
}[];

/**
 * The `RUNWARDEN_CONNECTOR_CONFIG_<NAME>` variables that configure a first-party connector: set
 * without RUNWARDEN_CONNECTORS naming the connector, they are not unused.
 */
export const firstPartyConfigVariables: ReadonlySet<string> = new Set([
  ...configurablePackages.map((p) => connectorConfigVariable(p.name)),
  ...infrastructurePackages.map((p) => connectorConfigVariable(p.replace("@runwarden/connector-", ""))),
]);

/** The variable that configures Prometheus with just its webhook token. */
const prometheusTokenVariable = "RUNWARDEN_PROMETHEUS_TOKEN";

/**
 * What a first-party connector without configuration needs, for `{ notConfigured }`: the
 * top-level fields its schema requires, as `<VARIABLE>.<field>`, and how to set them (Prometheus
 * also takes RUNWARDEN_PROMETHEUS_TOKEN alone).
 */
function notConfiguredHint(connector: ConnectorDefinition, variable: string, example: string): NotConfigured {
  if (connector.name === "prometheus") {
    return {
      needs: [prometheusTokenVariable],
      hint: `configure it in the dashboard's Connectors tab (or PUT /api/v1/connectors/monitoring/prometheus/config, or POST …/config/webhook-secret to generate a token), or set ${prometheusTokenVariable} to a token of at least 16 characters (Alertmanager sends it as "Authorization: Bearer <token>") or ${variable} to its JSON configuration and restart the server`,
    };
  }
  const checked = connector.configSchema.safeParse({});
  const fields = checked.success
    ? []
    : [...new Set(checked.error.issues.map((issue) => String(issue.path[0] ?? "")))].filter((f) => f !== "");
  return {
    needs: fields.length > 0 ? fields.map((field) => `${variable}.${field}`) : [variable],
    hint: `configure it in the dashboard's Connectors tab (or PUT /api/v1/connectors/${connector.kind}/${connector.name}/config), or set ${variable} to its JSON configuration, e.g. ${example}, and restart the server`,
  };
}

/**
 * Loads each first-party connector package and returns its registration: the infrastructure
 * ones as they are; Prometheus, Datadog, Zabbix, SolarWinds, OpManager, ServiceNow, ServiceDesk Plus, Remedy and Zendesk configured by `RUNWARDEN_CONNECTOR_CONFIG_<NAME>`
 * (Prometheus also by RUNWARDEN_PROMETHEUS_TOKEN) and registered as not configured, with what they
 * need, when nothing configures them. A package that exports no connector is skipped, with a
 * warning. Throws RW_ERR_CONFIG_INVALID
 * when a configuration does not fit its connector.
 */
export async function firstPartyConnectors(
  log: Logger,
  options: {
    prometheusToken?: string | undefined;
    configs?: Readonly<Record<string, Record<string, unknown>>>;
  },
): Promise<ConnectorRegistration[]> {
  const registrations: ConnectorRegistration[] = [];
  for (const name of infrastructurePackages) {
    try {
      const mod = (await import(name)) as { default?: unknown };
      if (!isConnector(mod.default)) {
        log.warn({ package: name }, "connector package exports no connector: skipped");
        continue;
      }
      // Works unconfigured; RUNWARDEN_CONNECTOR_CONFIG_<NAME> overrides its defaults (GCP endpoints…).
      const variable = connectorConfigVariable(mod.default.name);
      const given = options.configs?.[variable];
      registrations.push(
        given === undefined
          ? { connector: mod.default, config: {} }
          : {
              connector: mod.default,
              config: checkedConfig(mod.default, variable, given),
              configuredBy: variable,
            },
      );
    } catch (err) {
      log.warn({ package: name, err }, "connector package failed to load: skipped");
    }
  }
  const configs = options.configs ?? {};
  for (const entry of configurablePackages) {
    const { package: name, example } = entry;
    const found: ConnectorDefinition[] = [];
    try {
      const mod = (await import(name)) as Record<string, unknown>;
      if (!isConnector(mod.default)) {
        log.warn({ package: name }, "connector package exports no connector: skipped");
        continue;
      }
      found.push(mod.default);
      for (const exported of "companions" in entry ? entry.companions : []) {
        const companion = mod[exported];
        if (isConnector(companion)) found.push(companion);
        else log.warn({ package: name, export: exported }, "connector package lacks a companion connector");
      }
    } catch (err) {
      log.warn({ package: name, err }, "connector package failed to load: skipped");
      continue;
    }
    for (const connector of found) {
      const variable = connectorConfigVariable(connector.name);
      const given = configs[variable];
      if (given !== undefined) {
        registrations.push({
          connector,
          config: checkedConfig(connector, variable, given),
          configuredBy: variable,
        });
      } else if (connector.name === "prometheus" && options.prometheusToken) {
        registrations.push({
          connector,
          config: { webhookAuth: { type: "bearer", token: options.prometheusToken } },
          configuredBy: prometheusTokenVariable,
        });
      } else {
        const notConfigured = notConfiguredHint(connector, variable, example);
        registrations.push({ connector, notConfigured });
        log.info(
          { connector: connector.name, kind: connector.kind, needs: notConfigured.needs },
          "connector not configured: listed, webhook answers 503 until configured",
        );
      }
    }
  }
  return registrations;
}

/**
 * `config` checked against the connector's schema; throws RW_ERR_CONFIG_INVALID naming the
 * variable and the failing fields (never a value).
 */
function checkedConfig(
  connector: ConnectorDefinition,
  variable: string,
  config: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const checked = connector.configSchema.safeParse(config ?? {});
  if (checked.success) return config ?? {};
  const issues = checked.error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(config)",
    message: i.message,
  }));
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw rwError(
    "RW_ERR_CONFIG_INVALID",
    config === undefined
      ? `${variable} is not set, and the ${connector.kind} connector "${connector.name}" needs configuration: ${listed}`
      : `${variable} does not fit the ${connector.kind} connector "${connector.name}": ${listed}`,
    { details: { variable, connector: connector.name, issues } },
  );
}

const connectorsVariable = "RUNWARDEN_CONNECTORS";

/** A path (`./x.js`, `../x.js`, `/abs/x.js`) or a `file:` URL, as opposed to a package name. */
function isPathSpec(spec: string): boolean {
  return spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("file:") || isAbsolute(spec);
}

/** The first line of an import failure, short: enough to tell "not found" from "threw while loading". */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split("\n", 1)[0] ?? "").slice(0, 300);
}

/**
 * Loads the connector modules named by RUNWARDEN_CONNECTORS: each spec is a package name
 * (resolved from the example server's own dependencies) or a path (relative to `cwd`), whose
 * default export is a `defineConnector()` object. Each connector's configuration is the
 * `RUNWARDEN_CONNECTOR_CONFIG_<NAME>` variable (`{}` when unset), checked here against the
 * connector's schema so a mistake names the variable to fix. `claimed` variables (those that
 * configure a first-party connector) are not reported as unused.
 *
 * Throws RW_ERR_PLUGIN_NOT_FOUND (a module does not import), RW_ERR_PLUGIN_INVALID (no
 * connector default export), RW_ERR_PLUGIN_DUPLICATE (two modules declare the same kind and
 * name) or RW_ERR_CONFIG_INVALID (a configuration does not validate, or a
 * `RUNWARDEN_CONNECTOR_CONFIG_*` variable matches no loaded connector). Messages never hold a
 * configuration value.
 */
export async function loadConfiguredConnectors(
  specs: readonly string[],
  configs: Readonly<Record<string, Record<string, unknown>>>,
  options: { log: Logger; cwd?: string; claimed?: ReadonlySet<string> },
): Promise<ConnectorRegistration[]> {
  const cwd = options.cwd ?? process.cwd();
  const registrations: ConnectorRegistration[] = [];
  const loadedFrom = new Map<string, string>();
  const used = new Set<string>();
  for (const spec of specs) {
    const target =
      isPathSpec(spec) && !spec.startsWith("file:") ? pathToFileURL(resolve(cwd, spec)).href : spec;
    let mod: { default?: unknown };
    try {
      mod = (await import(target)) as { default?: unknown };
    } catch (cause) {
      throw rwError(
        "RW_ERR_PLUGIN_NOT_FOUND",
        `${connectorsVariable}: cannot import "${spec}": ${firstLine(cause)}`,
        {
          cause,
          details: { variable: connectorsVariable, spec },
        },
      );
    }
    const connector = mod.default;
    if (!isConnector(connector) || typeof connector.configSchema?.safeParse !== "function") {
      throw rwError(
        "RW_ERR_PLUGIN_INVALID",
        `${connectorsVariable}: "${spec}" has no defineConnector() object as its default export`,
        { details: { variable: connectorsVariable, spec } },
      );
    }
    const key = `${connector.kind}:${connector.name}`;
    const earlier = loadedFrom.get(key);
    if (earlier !== undefined) {
      throw rwError(
        "RW_ERR_PLUGIN_DUPLICATE",
        `${connectorsVariable}: "${earlier}" and "${spec}" both declare the ${connector.kind} connector "${connector.name}"`,
        { details: { variable: connectorsVariable, specs: [earlier, spec] } },
      );
    }
    loadedFrom.set(key, spec);
    const variable = connectorConfigVariable(connector.name);
    used.add(variable);
    const config = checkedConfig(connector, variable, configs[variable]);
    registrations.push({
      connector,
      config,
      ...(configs[variable] !== undefined ? { configuredBy: variable } : {}),
    });
    options.log.info(
      { connector: connector.name, kind: connector.kind, spec, configured: configs[variable] !== undefined },
      "connector loaded from configuration",
    );
  }
  const unused = Object.keys(configs).filter(
    (variable) => !used.has(variable) && !options.claimed?.has(variable),
  );
  if (unused.length > 0) {
    throw rwError(
      "RW_ERR_CONFIG_INVALID",
      `${unused.join(", ")} ${unused.length === 1 ? "is" : "are"} set, but ${connectorsVariable} loads no connector of that name (loaded: ${
        [...loadedFrom.keys()].map((k) => k.split(":")[1]).join(", ") || "none"
      })`,
      { details: { variables: unused } },
    );
  }
  return registrations;
}

/**
 * The built-in registrations with the configured ones added: a configured connector replaces a
 * built-in one of the same kind and name (so RUNWARDEN_CONNECTORS can configure a first-party
 * connector too).
 */
export function mergeConnectors(
  builtIn: readonly ConnectorRegistration[],
  configured: readonly ConnectorRegistration[],
): ConnectorRegistration[] {
  const keyOf = (r: ConnectorRegistration) => `${r.connector.kind}:${r.connector.name}`;
  const replaced = new Set(configured.map(keyOf));
  return [...builtIn.filter((r) => !replaced.has(keyOf(r))), ...configured];
}

/** Takes group and other access off `path` when it has any. */
function ownerOnly(path: string, mode: 0o600 | 0o700): void {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, mode);
}

/**
 * Creates the data folder (database, generated key) with mode 0700, or takes group and other
 * access off an existing one.
 */
export function privateDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  ownerOnly(dataDir, 0o700);
}

/**
 * Which monitoring sources the engine polls: every configured monitoring connector, each with its
 * `RUNWARDEN_MONITORING_POLL_<NAME>` settings (core's defaults when unset: pull every 60 s when
 * the connector can pull, acknowledge and resolve when it implements them). Throws
 * RW_ERR_CONFIG_INVALID for a variable that names no registered monitoring connector.
 */
export function monitoringSources(
  connectors: readonly ConnectorRegistration[],
  settings: Readonly<Record<string, PollSettings>>,
): Record<string, PollSettings> {
  const sources: Record<string, PollSettings> = {};
  const used = new Set<string>();
  for (const { connector, notConfigured } of connectors) {
    if (connector.kind !== "monitoring" || notConfigured !== undefined) continue;
    const variable = monitoringPollVariable(connector.name);
    used.add(variable);
    sources[connector.name] = settings[variable] ?? {};
  }
  const unused = Object.keys(settings).filter((variable) => !used.has(variable));
  if (unused.length > 0) {
    throw rwError(
      "RW_ERR_CONFIG_INVALID",
      `${unused.join(", ")}: no monitoring connector of that name is registered (${monitoringPollPrefix}<NAME>)`,
      { details: { variables: unused } },
    );
  }
  return sources;
}

/**
 * How core's two-way sync picks its ticketing connector (the engine syncs with one): the one
 * RUNWARDEN_TICKET_SYNC names; otherwise core follows configuration: it syncs with the only
 * configured ticketing connector, or with the first one configured later from the Connectors tab
 * (no restart needed). Throws RW_ERR_CONFIG_INVALID when the variable names no configured
 * ticketing connector.
 */
export function ticketSync(
  connectors: readonly ConnectorRegistration[],
  settings: { ticketing?: string | undefined; pollIntervalMs?: number | undefined },
  log: Logger,
): TicketSyncOptions & { ticketing?: string } {
  const configured = connectors
    .filter((r) => r.connector.kind === "ticketing" && r.notConfigured === undefined)
    .map((r) => r.connector.name);
  const ticketing = settings.ticketing;
  if (ticketing !== undefined && !configured.includes(ticketing)) {
    throw rwError(
      "RW_ERR_CONFIG_INVALID",
      `${ticketSyncVariable} names "${ticketing}", which is not a configured ticketing connector (configured: ${configured.join(", ") || "none"})`,
      { details: { variable: ticketSyncVariable, configured } },
    );
  }
  if (ticketing === undefined && configured.length > 1)
    log.warn(
      { configured },
      `several ticketing connectors are configured: set ${ticketSyncVariable} to sync one`,
    );
  log.info(
    { ticketing: ticketing ?? "follows configuration", pollIntervalMs: settings.pollIntervalMs },
    "ticket sync enabled",
  );
  return {
    ...(ticketing === undefined ? {} : { ticketing }),
    ...(settings.pollIntervalMs === undefined ? {} : { pollIntervalMs: settings.pollIntervalMs }),
  };
}

/**
 * The vault's key: RUNWARDEN_MASTER_KEY, or one generated into the data folder (mode 0600, an
 * existing file made 0600 too) for local use. `fromFile` says whether the file is in use, so the
 * caller can warn.
 */
export function masterKey(
  dataDir: string,
  configured: string | undefined,
): { key: string; fromFile: boolean } {
  if (configured) return { key: configured, fromFile: false };
  const file = join(dataDir, "master.key");
  if (!existsSync(file))
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  ownerOnly(file, 0o600);
  return { key: readFileSync(file, "utf8").trim(), fromFile: true };
}

/**
 * The server's own secrets, for `createEngine({ redact })`: the vault key, the admin token, the
 * webhook secret, the Prometheus token, and the database URL with its password (as written and
 * decoded). Every session's output, events and errors show `***` in their place. (Connector
 * configuration fields marked `secret()` are added by the engine itself.)
 */
export function serverSecrets(
  config: Pick<ServerConfig, "databaseUrl" | "webhookSecret" | "prometheusToken">,
  secrets: { masterKey: string; adminToken: string },
): string[] {
  const values = [
    secrets.masterKey,
    secrets.adminToken,
    config.webhookSecret,
    config.prometheusToken,
    config.databaseUrl,
  ];
  if (config.databaseUrl) {
    try {
      const { password } = new URL(config.databaseUrl);
      if (password) values.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL (a libpq key=value string): the whole value is redacted above.
    }
  }
  return values.filter((value): value is string => typeof value === "string" && value !== "");
}

const bootstrapKey = "example-server:bootstrap-token-id";

/** The bootstrap admin token as a start found it: shown only when this start made it. */
export interface BootstrapToken {
  /** The token, when this start knows it: configured, or generated now. */
  token: string | undefined;
  /** True when this start generated it (the first start, or the one before was revoked). */
  generated: boolean;
}

/**
 * The bootstrap admin token: RUNWARDEN_ADMIN_TOKEN when set; otherwise one generated at the first
 * start (`fresh`, made before the engine so that it can be redacted), shown once and kept — the
 * store has only its hash, so later starts cannot show it. Lost: {@link rotateAdminToken}
 * (`npm run admin-token`) makes a new one and revokes it.
 */
export async function bootstrapToken(
  storage: Storage,
  tokens: TokenStore,
  configured: string | undefined,
  fresh: string = generateToken(),
): Promise<BootstrapToken> {
  if (configured) {
    await tokens.ensure(configured, { actor: "admin", roles: ["admin"], createdBy: null });
    return { token: configured, generated: false };
  }
  const previous = await storage.getValue(bootstrapKey);
  const kept = previous ? await tokens.get(Number(previous)) : undefined;
  if (kept && kept.revokedAt === null) return { token: undefined, generated: false };
  return { token: await replaceBootstrapToken(storage, tokens, fresh), generated: true };
}

/** Makes a new bootstrap admin token, revokes the one before, and returns the new one. */
export async function rotateAdminToken(storage: Storage, tokens: TokenStore): Promise<string> {
  return replaceBootstrapToken(storage, tokens, generateToken());
}

async function replaceBootstrapToken(storage: Storage, tokens: TokenStore, token: string): Promise<string> {
  const previous = await storage.getValue(bootstrapKey);
  const info = await tokens.ensure(token, { actor: "admin", roles: ["admin"], createdBy: null });
  if (previous && Number(previous) !== info.id) {
    const old = await tokens.get(Number(previous));
    if (old && old.revokedAt === null) await tokens.revoke(old.id);
  }
  await storage.setValue(bootstrapKey, String(info.id));
  return token;
}

export interface LoadedRunbook {
  file: string;
  id: number;
  status: string;
  created: boolean;
}

/**
 * Loads every `*.md` runbook of `dir` and approves it, unless its front matter keeps it a draft
 * (runbooks aimed at real systems are suggest-only by design). Already stored Markdown is not
 * stored again, so restarting changes nothing.
 */
export async function loadSampleRunbooks(engine: Engine, dir: string, log: Logger): Promise<LoadedRunbook[]> {
  if (!existsSync(dir)) return [];
  const admin = { id: "example-server", roles: ["admin"] as const };
  const loaded: LoadedRunbook[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".md") && f.toLowerCase() !== "readme.md")
    .sort()) {
    const markdown = readFileSync(join(dir, file), "utf8");
    const create = () =>
      engine.runbooks.create(markdown, {
        actor: { id: admin.id, roles: admin.roles },
        useFrontMatterStatus: true,
        origin: "example-server",
      });
    try {
      // Instances sharing a database may start together: the one that loses the race to store
      // or approve a runbook finds it done on its second try.
      const load = async () => {
        const result = await create();
        let record = result.runbook;
        const keepDraft = result.plan.metadata.status === "draft";
        if (record.status === "draft" && !keepDraft) {
          record = await engine.runbooks.approve(record.id, { actor: { id: admin.id, roles: admin.roles } });
        }
        return { file, id: record.id, status: record.status, created: result.created };
      };
      loaded.push(
        await load().catch((err: unknown) => {
          if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT") return load();
          throw err;
        }),
      );
    } catch (err) {
      log.error({ file, err }, "sample runbook failed to load");
    }
  }
  return loaded;
}

/** The unprivileged user the example server creates to run local steps when it runs as root. */
export const stepUser = "runwarden-step";

/** What `localRunAs` may need from the host; tests pass fakes. */
export interface HostAccess {
  uid: number | undefined;
  /** True when `/etc/passwd` has the user. */
  hasUser(name: string): boolean;
  /** Creates a system user without a home; throws when it cannot. */
  createUser(name: string): void;
}

const host: HostAccess = {
  uid: process.getuid?.(),
  hasUser: (name) =>
    existsSync("/etc/passwd") &&
    readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .some((line) => line.startsWith(`${name}:`)),
  createUser: (name) =>
    void execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], {
      stdio: "ignore",
      timeout: 10_000,
    }),
};

/**
 * The user local steps run as (the local connector's `runAs`), or undefined for the server's own.
 * RUNWARDEN_LOCAL_RUN_AS wins (empty: off). Unset, a server running as root runs steps as
 * `runwarden-step`, creating it when missing, or as `nobody` when it cannot; a step then cannot
 * read the server's files or `/proc/<server>/environ`. Logged either way.
 */
export function localRunAs(
  configured: string | null | undefined,
  log: Logger,
  access: HostAccess = host,
): string | undefined {
  if (configured === null) {
    log.warn({}, "RUNWARDEN_LOCAL_RUN_AS is empty: local steps run as the server's own user");
    return undefined;
  }
  if (configured !== undefined) {
    log.info({ runAs: configured }, "local steps run as RUNWARDEN_LOCAL_RUN_AS");
    return configured;
  }
  if (access.uid !== 0) {
    log.info({ uid: access.uid }, "local steps run as the server's own (unprivileged) user");
    return undefined;
  }
  if (!access.hasUser(stepUser)) {
    try {
      access.createUser(stepUser);
      log.info({ runAs: stepUser }, "created the system user that runs local steps");
    } catch (err) {
      log.warn(
        { err: { message: (err as Error).message } },
        "cannot create the user runwarden-step: local steps run as nobody",
      );
      return "nobody";
    }
  }
  log.info({ runAs: stepUser }, "the server runs as root: local steps run as an unprivileged user");
  return stepUser;
}

/**
 * The first of `dir` and its parents that another user cannot search (no execute bit for
 * others), or undefined when an unprivileged step user can reach `dir`.
 */
export function unreachableByOthers(dir: string): string | undefined {
  let current = resolve(dir);
  for (;;) {
    try {
      if ((statSync(current).mode & 0o001) === 0) return current;
    } catch {
      return current;
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/**
 * The folders to put on local steps' PATH. A folder the step user cannot reach (a parent without
 * the search bit for others, as a clone under /root has) is served from a copy the server makes:
 * a fresh private temporary folder (mkdtemp, so nobody can have prepared it), filled, then opened
 * read-only to others (folders 0755, scripts 0755 or 0644, owned by the server's user), so the
 * step user can run the scripts and cannot change them.
 */
export function stepPath(runAs: string | undefined, dirs: readonly string[], log: Logger): string[] {
  if (runAs === undefined) return [...dirs];
  return dirs.map((dir) => {
    const blocked = unreachableByOthers(dir);
    if (blocked === undefined || !existsSync(dir)) return dir;
    const copy = mkdtempSync(join(tmpdir(), "runwarden-step-path-"));
    cpSync(dir, copy, { recursive: true });
    openReadOnly(copy);
    log.info(
      { runAs, dir, blocked, copy },
      "local steps run as another user cannot reach this folder on their PATH (a parent is not searchable by others): serving its scripts from a read-only copy",
    );
    return copy;
  });
}

/** Folders 0755; files 0755 when their owner may run them, else 0644. */
function openReadOnly(path: string): void {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openReadOnly(join(path, entry));
  } else if (stat.isFile()) {
    chmodSync(path, stat.mode & 0o100 ? 0o755 : 0o644);
  }
}
