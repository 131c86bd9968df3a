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
  RUNWARDEN_PUBLIC_METRICS: z.enum(["0", "1", "true", "false"]).optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info"),
});

export interface ServerConfig {
  host: string;
  port: number;
  /** Absolute path of the data folder (SQLite file, generated master key). */
  dataDir: string;
  adminToken: string | undefined;
  masterKey: string | undefined;
  databaseUrl: string | undefined;
  webhookSecret: string | undefined;
  publicMetrics: boolean;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "silent";
}

/** Reads the configuration from `env`; throws an Error listing every bad variable. */
export function readConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
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
    publicMetrics: e.RUNWARDEN_PUBLIC_METRICS === "1" || e.RUNWARDEN_PUBLIC_METRICS === "true",
    logLevel: e.LOG_LEVEL,
  };
}
