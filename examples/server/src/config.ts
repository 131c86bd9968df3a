/**
 * The example server's configuration, read from the environment once and checked with zod: a
 * wrong value stops the server with a message naming the variable.
 */
import { resolve } from "node:path";
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
 * The variable holding the JSON configuration of the connector named `name`: upper case, with `_`
 * for `-` (`grafana` → `RUNWARDEN_CONNECTOR_CONFIG_GRAFANA`, `my-tool` → `…_MY_TOOL`).
 */
export function connectorConfigVariable(name: string): string {
  return `${connectorConfigPrefix}${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

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
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "silent";
  /** RUNWARDEN_CONNECTORS: connector modules to load, in order (package names or paths). */
  connectors: string[];
  /** The `RUNWARDEN_CONNECTOR_CONFIG_<NAME>` values (JSON objects), by variable name. */
  connectorConfigs: Record<string, Record<string, unknown>>;
  /** The `RUNWARDEN_MONITORING_POLL_<NAME>` values (pull settings), by variable name. */
  monitoringPoll: Record<string, PollSettings>;
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

/** Reads the configuration from `env`; throws an Error listing every bad variable. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(cleaned);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  const configs = connectorConfigs(cleaned as Record<string, string>, problems);
  const monitoringPoll = pollSettings(cleaned as Record<string, string>, problems);
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
    logLevel: e.LOG_LEVEL,
    connectors: e.RUNWARDEN_CONNECTORS,
    connectorConfigs: configs,
    monitoringPoll,
  };
}
