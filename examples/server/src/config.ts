/**
 * The example server's configuration, read from the environment once and checked with zod: a
 * wrong value stops the server with a message naming the variable. Each secret may come from a
 * file instead (`<NAME>_FILE`), so it need not sit in the environment.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type IntakeQueueOptionsInput, NotificationRule } from "@runwarden/core";
import { z } from "zod";

const Env = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  RUNWARDEN_DATA_DIR: z.string().min(1).default("./.runwarden"),
  RUNWARDEN_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").max(256).optional(),
  RUNWARDEN_MASTER_KEY: z.string().min(1).optional(),
  RUNWARDEN_DATABASE_URL: z.string().min(1).optional(),
  RUNWARDEN_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  RUNWARDEN_PROMETHEUS_TOKEN: z.string().min(16, "must be at least 16 characters").max(4096).optional(),
  RUNWARDEN_PUBLIC_METRICS: z.enum(["0", "1", "true", "false"]).optional(),
  RUNWARDEN_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  RUNWARDEN_LOCAL_RUN_AS: z
    .string()
    .regex(/^([a-z_][a-z0-9_.-]*\$?|\d+(:\d+)?)$/i, "must be a user name or uid[:gid]")
    .optional(),
  RUNWARDEN_TICKET_SYNC: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, "must name a ticketing connector")
    .optional(),
  RUNWARDEN_TICKET_SYNC_POLL_MS: z.coerce.number().int().min(100, "must be at least 100").optional(),
  /** A JSON array of notification rules (docs/notifications.md). */
  RUNWARDEN_NOTIFY_RULES: z
    .string()
    .transform((text, c) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        c.addIssue({ code: "custom", message: "must be a JSON array of notification rules" });
        return z.NEVER;
      }
    })
    .pipe(z.array(NotificationRule).max(100))
    .optional(),
  /**
   * The webhook intake queue: `processed` (default: a delivery is made durable, then answered
   * once its tickets are stored), `durable` (answered 202 once durable, stored right after) or
   * `off` (stored directly, no queue).
   */
  RUNWARDEN_INTAKE_QUEUE: z.enum(["off", "processed", "durable"]).default("processed"),
  RUNWARDEN_INTAKE_MAX_ENTRIES: z.coerce.number().int().min(1, "must be at least 1").optional(),
  RUNWARDEN_INTAKE_MAX_BYTES: z.coerce.number().int().min(1024, "must be at least 1024").optional(),
  RUNWARDEN_INTAKE_SOURCE_SHARE: z.coerce
    .number()
    .gt(0, "must be above 0")
    .max(1, "must be at most 1")
    .optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info"),
  RUNWARDEN_CONNECTORS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((spec) => spec.trim())
        .filter((spec) => spec !== ""),
    )
    .refine((specs) => new Set(specs).size === specs.length, "lists a module twice")
    .default([]),
});

/** The prefix of the variables holding the configuration of connectors loaded by RUNWARDEN_CONNECTORS. */
export const connectorConfigPrefix = "RUNWARDEN_CONNECTOR_CONFIG_";

/**
 * The variables that hold secrets. Each, and every `RUNWARDEN_CONNECTOR_CONFIG_<NAME>`, may be
 * given as `<VARIABLE>_FILE`: the path of a file holding the value.
 */
export const secretVariables = [
  "RUNWARDEN_ADMIN_TOKEN",
  "RUNWARDEN_MASTER_KEY",
  "RUNWARDEN_DATABASE_URL",
  "RUNWARDEN_WEBHOOK_SECRET",
  "RUNWARDEN_PROMETHEUS_TOKEN",
] as const;

const fileSuffix = "_FILE";

/**
 * Replaces each `<VARIABLE>_FILE` of a secret variable by `<VARIABLE>` holding the file's
 * contents (read once, trailing line breaks removed). Setting both is a problem, as is a file that
 * cannot be read or is empty, or `_FILE` on a variable that holds no secret. Problems name the
 * variable and the path, never the contents. Returns the variables whose value came from a file.
 */
function readSecretFiles(env: Record<string, string>, problems: string[]): Set<string> {
  const fromFile = new Set<string>();
  for (const [variable, path] of Object.entries(env)) {
    if (!variable.startsWith("RUNWARDEN_") || !variable.endsWith(fileSuffix)) continue;
    const target = variable.slice(0, -fileSuffix.length);
    delete env[variable];
    if (
      !(secretVariables as readonly string[]).includes(target) &&
      !target.startsWith(connectorConfigPrefix)
    ) {
      problems.push(
        `${variable}: only secrets can be read from a file (${secretVariables.join(", ")}, ${connectorConfigPrefix}<NAME>)`,
      );
      continue;
    }
    if (env[target] !== undefined) {
      problems.push(`${target} and ${variable} are both set: set one of them`);
      delete env[target];
      continue;
    }
    let contents: string;
    try {
      contents = readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      problems.push(`${variable}: cannot read ${JSON.stringify(path)} (${code})`);
      continue;
    }
    const value = contents.replace(/[\r\n]+$/, "");
    if (value === "") {
      problems.push(`${variable}: ${JSON.stringify(path)} is empty`);
      continue;
    }
    env[target] = value;
    fromFile.add(target);
  }
  return fromFile;
}

/**
 * The variable holding the JSON configuration of the connector named `name`: upper case, with `_`
 * for `-` (`grafana` → `RUNWARDEN_CONNECTOR_CONFIG_GRAFANA`, `my-tool` → `…_MY_TOOL`).
 */
export function connectorConfigVariable(name: string): string {
  return `${connectorConfigPrefix}${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The variable naming the ticketing connector core's two-way sync runs with. */
export const ticketSyncVariable = "RUNWARDEN_TICKET_SYNC";

/** The prefix of the variables holding a monitoring source's pull settings. */
export const monitoringPollPrefix = "RUNWARDEN_MONITORING_POLL_";

/** The variable holding the pull settings of the monitoring connector named `name`. */
export function monitoringPollVariable(name: string): string {
  return `${monitoringPollPrefix}${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** A monitoring source's pull settings (`RUNWARDEN_MONITORING_POLL_<NAME>`), a subset of core's. */
const PollSettings = z.strictObject({
  /** False stops pulling; acknowledge and resolve still run. */
  enabled: z.boolean().optional(),
  intervalMs: z.number().int().min(1_000, "must be at least 1000 (1 s)").optional(),
  /** False: no acknowledge when a session starts, no resolve when its ticket resolves. */
  acknowledge: z.boolean().optional(),
  maxBackoffMs: z.number().int().positive().optional(),
});
export type PollSettings = z.infer<typeof PollSettings>;

/**
 * Every `<prefix><NAME>` variable, parsed: a JSON object each. A problem is reported with the
 * variable's name, never its value (a connector configuration usually holds a secret).
 */
function connectorConfigs(
  env: Readonly<Record<string, string>>,
  problems: string[],
  prefix = connectorConfigPrefix,
) {
  const configs: Record<string, Record<string, unknown>> = {};
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(prefix)) continue;
    const suffix = variable.slice(prefix.length);
    if (!/^[A-Z0-9]+(_[A-Z0-9]+)*$/.test(suffix)) {
      problems.push(`${variable}: name the connector in upper case with _ for - (e.g. ${prefix}GRAFANA)`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // JSON.parse quotes the text around the error: it may be a secret, so it is left out.
      problems.push(`${variable}: is not valid JSON`);
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      problems.push(`${variable}: must be a JSON object`);
      continue;
    }
    configs[variable] = parsed as Record<string, unknown>;
  }
  return configs;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Absolute path of the data folder (SQLite file, generated master key). */
  dataDir: string;
  adminToken: string | undefined;
  masterKey: string | undefined;
  databaseUrl: string | undefined;
  webhookSecret: string | undefined;
  /** RUNWARDEN_PROMETHEUS_TOKEN: registers the Prometheus connector with this webhook bearer token. */
  prometheusToken: string | undefined;
  publicMetrics: boolean;
  /**
   * RUNWARDEN_PUBLIC_URL: the server's URL as vendors reach it (`https://runwarden.example`), for
   * the webhook URLs and snippets of the Connectors tab. Unset: the URL the request came to.
   */
  publicUrl: string | undefined;
  /**
   * RUNWARDEN_LOCAL_RUN_AS: the OS user local steps run as. `undefined` (unset): the default, an
   * unprivileged user when the server runs as root; `null` (set empty): the server's own user.
   */
  localRunAs: string | null | undefined;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "silent";
  /** RUNWARDEN_CONNECTORS: connector modules to load, in order (package names or paths). */
  connectors: string[];
  /** The `RUNWARDEN_CONNECTOR_CONFIG_<NAME>` values (JSON objects), by variable name. */
  connectorConfigs: Record<string, Record<string, unknown>>;
  /** The `RUNWARDEN_MONITORING_POLL_<NAME>` values (pull settings), by variable name. */
  monitoringPoll: Record<string, PollSettings>;
  /**
   * RUNWARDEN_TICKET_SYNC (the ticketing connector to sync with; default the only configured one)
   * and RUNWARDEN_TICKET_SYNC_POLL_MS (time between inbound polls; core's default 60 s).
   */
  ticketSync: { ticketing: string | undefined; pollIntervalMs: number | undefined };
  /** RUNWARDEN_NOTIFY_RULES: notification routing rules; none turns notifications off. */
  notifyRules: NotificationRule[];
  /**
   * RUNWARDEN_INTAKE_QUEUE, _MAX_ENTRIES, _MAX_BYTES, _SOURCE_SHARE: the engine's `intake`
   * options (absent: the queue in `processed` mode with core's bounds).
   */
  intake?: IntakeQueueOptionsInput;
}

function pollSettings(
  env: Readonly<Record<string, string>>,
  problems: string[],
): Record<string, PollSettings> {
  const settings: Record<string, PollSettings> = {};
  for (const [variable, value] of Object.entries(connectorConfigs(env, problems, monitoringPollPrefix))) {
    const parsed = PollSettings.safeParse(value);
    if (parsed.success) settings[variable] = parsed.data;
    else
      problems.push(...parsed.error.issues.map((i) => `${variable}: ${[...i.path, i.message].join(": ")}`));
  }
  return settings;
}

/**
 * Reads the configuration from `env`, and the secrets given as `<VARIABLE>_FILE` from their files;
 * throws an Error listing every bad variable (never a secret's value).
 */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== "",
    ),
  );
  const problems: string[] = [];
  const fromFile = readSecretFiles(cleaned, problems);
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = issue.path.join(".");
      problems.push(
        `${variable}${fromFile.has(variable) ? `${fileSuffix} (its file)` : ""}: ${issue.message}`,
      );
    }
  }
  const configs = connectorConfigs(cleaned, problems);
  const monitoringPoll = pollSettings(cleaned, problems);
  if (!parsed.success || problems.length > 0) {
    throw new Error(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir: resolve(e.RUNWARDEN_DATA_DIR),
    adminToken: e.RUNWARDEN_ADMIN_TOKEN,
    masterKey: e.RUNWARDEN_MASTER_KEY,
    databaseUrl: e.RUNWARDEN_DATABASE_URL,
    webhookSecret: e.RUNWARDEN_WEBHOOK_SECRET,
    prometheusToken: e.RUNWARDEN_PROMETHEUS_TOKEN,
    publicMetrics: e.RUNWARDEN_PUBLIC_METRICS === "1" || e.RUNWARDEN_PUBLIC_METRICS === "true",
    publicUrl: e.RUNWARDEN_PUBLIC_URL,
    // Set but empty turns it off (empty values are otherwise the same as unset).
    localRunAs: env.RUNWARDEN_LOCAL_RUN_AS === "" ? null : e.RUNWARDEN_LOCAL_RUN_AS,
    logLevel: e.LOG_LEVEL,
    connectors: e.RUNWARDEN_CONNECTORS,
    connectorConfigs: configs,
    monitoringPoll,
    ticketSync: { ticketing: e.RUNWARDEN_TICKET_SYNC, pollIntervalMs: e.RUNWARDEN_TICKET_SYNC_POLL_MS },
    notifyRules: e.RUNWARDEN_NOTIFY_RULES ?? [],
    intake: {
      enabled: e.RUNWARDEN_INTAKE_QUEUE !== "off",
      ...(e.RUNWARDEN_INTAKE_QUEUE === "durable" ? { acknowledge: "durable" as const } : {}),
      ...(e.RUNWARDEN_INTAKE_MAX_ENTRIES ? { maxEntries: e.RUNWARDEN_INTAKE_MAX_ENTRIES } : {}),
      ...(e.RUNWARDEN_INTAKE_MAX_BYTES ? { maxBytes: e.RUNWARDEN_INTAKE_MAX_BYTES } : {}),
      ...(e.RUNWARDEN_INTAKE_SOURCE_SHARE ? { sourceShare: e.RUNWARDEN_INTAKE_SOURCE_SHARE } : {}),
    },
  };
}
