/**
 * The example server: an engine on SQLite (or on PostgreSQL when RUNWARDEN_DATABASE_URL is set,
 * so that several instances share the work) with the first-party connectors, the REST API and the
 * dashboard, on one node:http server. `startServer` is what `main.ts` runs and what the browser
 * tests start in-process.
 */
import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createEngine, type Engine, type Logger, localConnector, type Storage } from "@runwarden/core";
import {
  createHttpAdapter,
  createTokenStore,
  generateToken,
  type HttpAdapter,
  toNodeHandler,
} from "@runwarden/http-adapter";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import type { ServerConfig } from "./config.js";
import {
  bootstrapToken,
  firstPartyConfigVariables,
  firstPartyConnectors,
  type LoadedRunbook,
  loadConfiguredConnectors,
  loadSampleRunbooks,
  localRunAs,
  masterKey,
  mergeConnectors,
  monitoringSources,
  privateDataDir,
  serverSecrets,
  stepPath,
  ticketSync,
} from "./setup.js";
import { createStaticHandler } from "./static.js";

/** examples/runbooks, next to this example (the same from src/ and dist/). */
export const runbooksDir = fileURLToPath(new URL("../../runbooks/", import.meta.url));
/** The demo scripts the connector guide's "Fix Database Connection" runbook runs. */
export const scriptsDir = fileURLToPath(new URL("../../runbooks/scripts/", import.meta.url));
/** The dashboard's static files. */
export const publicDir = fileURLToPath(new URL("../public/", import.meta.url));

/** `/api` and everything under it: the API's URL space, whatever version or endpoint. */
function isApiPath(url: string | undefined): boolean {
  const path = (url ?? "/").split("?", 1)[0]!;
  return path === "/api" || path.startsWith("/api/");
}

/** The store the configuration names: PostgreSQL when RUNWARDEN_DATABASE_URL is set, else SQLite. */
export async function openStorage(config: ServerConfig, logger: Logger): Promise<Storage> {
  return config.databaseUrl
    ? await createPostgresStorage({ connectionString: config.databaseUrl, logger })
    : createSqliteStorage({ path: `${config.dataDir}/runwarden.db`, logger });
}

export interface RunningServer {
  url: string;
  engine: Engine;
  adapter: HttpAdapter;
  /**
   * The admin token when this start knows it: RUNWARDEN_ADMIN_TOKEN, or the one generated at the
   * first start. Later starts keep that one and know only its hash (`undefined` here).
   */
  adminToken: string | undefined;
  /** True when this start generated the admin token (shown once). */
  adminTokenGenerated: boolean;
  /** True when the vault key is the one generated into the data folder. */
  masterKeyFromFile: boolean;
  runbooks: LoadedRunbook[];
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  privateDataDir(config.dataDir);
  const key = masterKey(config.dataDir, config.masterKey);
  const adminToken = config.adminToken ?? generateToken();
  const storage = await openStorage(config, logger);
  if (storage.shared && key.fromFile) {
    logger.warn(
      {},
      "RUNWARDEN_MASTER_KEY is not set: instances sharing this database must all use the same key, or they cannot read each other's credentials",
    );
  }
  const runAs = localRunAs(config.localRunAs, logger);
  const path = stepPath(runAs, [scriptsDir], logger);
  const connectors = mergeConnectors(
    [
      { connector: localConnector, config: { path, runAs } },
      ...(await firstPartyConnectors(logger, {
        prometheusToken: config.prometheusToken,
        configs: config.connectorConfigs,
      })),
    ],
    await loadConfiguredConnectors(config.connectors, config.connectorConfigs, {
      log: logger,
      claimed: firstPartyConfigVariables,
    }),
  );
  const sync = ticketSync(connectors, config.ticketSync, logger);
  const engine = await createEngine({
    storage,
    connectors,
    logger,
    vault: { key: key.key },
    // What a local step could read (the key file, /proc/<pid>/environ) shows as *** to viewers.
    redact: serverSecrets(config, { masterKey: key.key, adminToken }),
    monitoring: monitoringSources(connectors, config.monitoringPoll),
    sync,
    intake: config.intake ?? { enabled: true },
    ...(config.notifyRules.length > 0
      ? {
          notifications: {
            rules: config.notifyRules,
            ...(config.publicUrl ? { dashboardUrl: config.publicUrl } : {}),
          },
        }
      : {}),
  });
  const tokens = createTokenStore(engine.storage);
  const runbooks = await loadSampleRunbooks(engine, runbooksDir, logger);
  await engine.start();
  const admin = await bootstrapToken(engine.storage, tokens, config.adminToken, adminToken);

  const adapter = createHttpAdapter({
    engine,
    tokens,
    logger,
    publicMetrics: config.publicMetrics,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(config.webhookSecret ? { webhooks: { generic: { secret: config.webhookSecret } } } : {}),
  });
  const api = toNodeHandler(adapter);
  const files = createStaticHandler(publicDir);
  const server: Server = createServer((req, res) => {
    // Under /api the adapter answers everything, its JSON 404 included: never the dashboard's HTML.
    if (isApiPath(req.url)) api(req, res);
    else api(req, res, () => files(req, res));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  return {
    url,
    engine,
    adapter,
    adminToken: admin.token,
    adminTokenGenerated: admin.generated,
    masterKeyFromFile: key.fromFile,
    runbooks,
    async close() {
      adapter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
      // The read-only copies of unreachable script folders (see stepPath).
      for (const dir of path) if (dir !== scriptsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
