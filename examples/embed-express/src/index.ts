/**
 * Runwarden embedded in an Express 5 service that already has its own routes, its own sessions
 * and its own pino logger. The REST API is mounted under `/ops` (`/ops/api/v1/…`); the host's
 * session decides who the caller is, through the adapter's `authenticate` hook.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createEngine, type Engine, type Logger, localConnector, type Role } from "@runwarden/core";
import { createHttpAdapter, expressMiddleware, type HttpAdapter } from "@runwarden/http-adapter";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import express, { type NextFunction, type Request, type Response } from "express";

/** The host's own users and roles (in a real service: its user table or identity provider). */
export interface HostUser {
  name: string;
  password: string;
  role: "sre" | "lead" | "auditor";
}

/** How the host's roles map to Runwarden's: the one place this service decides it. */
export const runwardenRoles: Record<HostUser["role"], Role[]> = {
  sre: ["operator"],
  lead: ["operator", "approver"],
  auditor: ["viewer"],
};

export interface ServiceOptions {
  /** PostgreSQL connection string: the service's own database. */
  databaseUrl: string;
  logger: Logger;
  users: HostUser[];
  /** The vault key (32 bytes). Default: random, so stored credentials do not survive a restart. */
  vaultKey?: Buffer;
}

export interface Service {
  app: express.Express;
  engine: Engine;
  adapter: HttpAdapter;
  /** Listens on `port` (0: any free one) and returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  /**
   * Graceful shutdown, what SIGTERM runs: stop accepting connections, end event streams, let
   * steps in flight finish (`engine.close()` waits for them), then close the store.
   */
  shutdown(): Promise<void>;
}

interface SessionRequest extends Request {
  user?: HostUser;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  const storage = await createPostgresStorage({ connectionString: options.databaseUrl, logger });
  const engine = await createEngine({
    storage,
    logger,
    vault: { key: options.vaultKey ?? randomBytes(32) },
    // A connector registered in code: local steps get the service's scripts folder on PATH.
    connectors: [{ connector: localConnector, config: { path: [], env: { SERVICE: "orders" } } }],
  });
  await engine.start();

  // The host's sessions: an opaque id in a cookie, the user in memory.
  const sessions = new Map<string, HostUser>();
  const app = express();
  app.disable("x-powered-by");
  app.use((req: SessionRequest, _res, next) => {
    const sid = cookie(req, "sid");
    if (sid) req.user = sessions.get(sid);
    next();
  });

  const adapter = createHttpAdapter({
    engine,
    prefix: "/ops",
    logger,
    authenticate: ({ node }) => {
      const user = (node as SessionRequest | undefined)?.user;
      return user ? { actor: user.name, roles: runwardenRoles[user.role] } : undefined;
    },
  });
  // Before any body parser: the adapter streams bodies itself (webhook signatures need the bytes).
  app.use(expressMiddleware(adapter));

  // The host's own routes, next to the API.
  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.post("/login", express.json({ limit: "4kb" }), (req: SessionRequest, res: Response) => {
    const body = (req.body ?? {}) as { name?: unknown; password?: unknown };
    const user = options.users.find(
      (u) =>
        u.name === body.name && typeof body.password === "string" && sameSecret(u.password, body.password),
    );
    if (!user) {
      res.status(401).json({ error: "bad credentials" });
      return;
    }
    const sid = randomBytes(24).toString("base64url");
    sessions.set(sid, user);
    res.cookie("sid", sid, { httpOnly: true, sameSite: "strict", path: "/" }).json({ name: user.name });
  });
  app.get("/whoami", (req: SessionRequest, res) => {
    res.json(req.user ? { name: req.user.name, role: req.user.role } : { name: null });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, "request failed");
    res.status(500).json({ error: "internal error" });
  });

  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  return {
    app,
    engine,
    adapter,
    async listen(port, host = "127.0.0.1") {
      const listening = app.listen(port, host);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once("listening", resolve);
        listening.once("error", reject);
      });
      const { port: bound } = listening.address() as AddressInfo;
      return `http://${host}:${bound}`;
    },
    shutdown() {
      closing ??= (async () => {
        logger.info({}, "shutting down: draining steps in flight");
        const closed = server
          ? new Promise<void>((resolve) => server!.close(() => resolve()))
          : Promise.resolve();
        adapter.close();
        server?.closeIdleConnections();
        await engine.close();
        server?.closeAllConnections();
        await closed;
        logger.info({}, "shut down");
      })();
      return closing;
    },
  };
}
