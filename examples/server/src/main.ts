/**
 * `pnpm start`: the Runwarden example server. Configuration comes from the environment (see
 * README.md); logs are JSON lines on stdout.
 */
import { pino } from "pino";
import { readConfig } from "./config.js";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, base: { service: "runwarden-example" } });
  const server = await startServer(config, logger);
  logger.info(
    {
      url: server.url,
      dataDir: config.dataDir,
      runbooks: server.runbooks.map((r) => `${r.file}:${r.status}`),
    },
    "server started",
  );
  if (server.masterKeyFromFile && !config.masterKey) {
    logger.warn(
      { file: `${config.dataDir}/master.key` },
      "RUNWARDEN_MASTER_KEY (or RUNWARDEN_MASTER_KEY_FILE) is not set: using a key generated into the data folder (fine locally, not in production)",
    );
  }
  const lines = [
    "",
    "  Runwarden example server is running",
    "",
    `  Dashboard:  ${server.url}/`,
    `  API:        ${server.url}/api/v1  (OpenAPI: ${server.url}/api/v1/openapi.json)`,
    server.adminTokenGenerated
      ? `  Admin token (generated for this run; set RUNWARDEN_ADMIN_TOKEN to keep one): ${server.adminToken}`
      : "  Admin token: the value of RUNWARDEN_ADMIN_TOKEN (or of the file RUNWARDEN_ADMIN_TOKEN_FILE names)",
    "",
  ];
  console.log(lines.join("\n"));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "server stopping");
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
