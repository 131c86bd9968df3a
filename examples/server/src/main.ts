/**
 * `pnpm start`: the Runwarden example server. Configuration comes from the environment (see
 * README.md); logs are JSON lines on stdout.
 */
import { pino } from "pino";
import { readConfig, type ServerConfig } from "./config.js";
import { type RunningServer, startServer } from "./server.js";

async function main(): Promise<void> {
  const config = readConfig();
  const logs = pino.destination({ dest: 1, sync: false });
  const logger = pino({ level: config.logLevel, base: { service: "runwarden-example" } }, logs);
  const server = await startServer(config, logger);
  if (server.masterKeyFromFile && !config.masterKey) {
    logger.warn(
      { file: `${config.dataDir}/master.key` },
      "RUNWARDEN_MASTER_KEY (or RUNWARDEN_MASTER_KEY_FILE) is not set: using a key generated into the data folder (fine locally, not in production)",
    );
  }
  logger.info(
    {
      url: server.url,
      dataDir: config.dataDir,
      runbooks: server.runbooks.map((r) => `${r.file}:${r.status}`),
    },
    "server started",
  );
  const lines = [
    "",
    "  Runwarden example server is running",
    "",
    `  Dashboard:  ${server.url}/`,
    `  API:        ${server.url}/api/v1  (OpenAPI: ${server.url}/api/v1/openapi.json)`,
    ...adminTokenLines(server, config),
    "",
  ];
  // The banner is the last thing of the start: the logs written before it are flushed first.
  logs.flushSync();
  console.log(lines.join("\n"));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "server stopping");
    server.close().then(
      () => {
        logs.flushSync();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        logs.flushSync();
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

/** What the banner says of the admin token: shown once, when this start made it. */
function adminTokenLines(server: RunningServer, config: ServerConfig): string[] {
  if (config.adminToken) {
    return [
      "  Admin token: the value of RUNWARDEN_ADMIN_TOKEN (or of the file RUNWARDEN_ADMIN_TOKEN_FILE names)",
    ];
  }
  if (server.adminTokenGenerated) {
    return [
      `  Admin token: ${server.adminToken}`,
      "  (shown this once and kept across restarts; lost it? `npm run admin-token` prints a new one)",
    ];
  }
  return [
    "  Admin token: the one shown at the first start (lost it? `npm run admin-token` prints a new one)",
  ];
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
