/**
 * Runwarden embedded in a Fastify 5 service that authenticates with its own JWTs (HS256, its own
 * issuer and audience), logs with its own pino logger and mounts the REST API under `/ops`.
 */
import { randomBytes } from "node:crypto";
import { createEngine, type Engine, type Logger, localConnector, type Role } from "@runwarden/core";
import {
  createHttpAdapter,
  fastifyPlugin,
  type HostIdentity,
  type HttpAdapter,
} from "@runwarden/http-adapter";
import { createPostgresStorage } from "@runwarden/storage-postgres";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jwtVerify, SignJWT } from "jose";

/** The host's JWT groups that mean something to Runwarden, and what they mean. */
export const groupRoles: Record<string, Role[]> = {
  "oncall-engineers": ["operator"],
  "incident-leads": ["operator", "approver"],
  "platform-admins": ["admin"],
  auditors: ["viewer"],
};

export interface ServiceOptions {
  databaseUrl: string;
  logger: Logger;
  /** The HS256 key the host's identity service signs its JWTs with. */
  jwtSecret: Uint8Array;
  issuer?: string;
  audience?: string;
  vaultKey?: Buffer;
}

export interface Service {
  app: FastifyInstance;
  engine: Engine;
  adapter: HttpAdapter;
  listen(port: number, host?: string): Promise<string>;
  /** What SIGTERM runs: Fastify stops accepting and closes; then the step in flight finishes. */
  shutdown(): Promise<void>;
}

/** Signs a token as the host's identity service would (tests, the demo). */
export function signToken(
  options: Pick<ServiceOptions, "jwtSecret" | "issuer" | "audience">,
  subject: string,
  groups: string[],
  expiresIn = "10m",
): Promise<string> {
  return new SignJWT({ groups })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuer(options.issuer ?? "orders-idp")
    .setAudience(options.audience ?? "orders-service")
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(options.jwtSecret);
}

export async function createService(options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  const issuer = options.issuer ?? "orders-idp";
  const audience = options.audience ?? "orders-service";

  /** The host's JWT check: the identity, or undefined for a missing or invalid token. */
  async function identify(authorization: string | null | undefined): Promise<HostIdentity | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match || match[1]!.split(".").length !== 3) return undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, options.jwtSecret, {
        issuer,
        audience,
        algorithms: ["HS256"],
      });
      const groups = Array.isArray(payload.groups) ? payload.groups.filter((g) => typeof g === "string") : [];
      const roles = [...new Set(groups.flatMap((g) => groupRoles[g] ?? []))];
      return payload.sub ? { actor: payload.sub, roles } : undefined;
    } catch {
      return undefined;
    }
  }

  const storage = await createPostgresStorage({ connectionString: options.databaseUrl, logger });
  const engine = await createEngine({
    storage,
    logger,
    vault: { key: options.vaultKey ?? randomBytes(32) },
    connectors: [{ connector: localConnector, config: { env: { SERVICE: "orders" } } }],
  });
  await engine.start();
  const adapter = createHttpAdapter({
    engine,
    prefix: "/ops",
    logger,
    // Not a JWT of ours: Runwarden's own API tokens (same header) are checked next.
    authenticate: ({ request }) => identify(request.headers.get("authorization")),
  });

  const app: FastifyInstance = Fastify({ loggerInstance: logger as FastifyBaseLogger });
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/orders", async (request, reply) => {
    const who = await identify(request.headers.authorization);
    if (!who) return reply.code(401).send({ error: "sign in" });
    return { orders: [], for: who.actor };
  });
  await app.register(fastifyPlugin(adapter), { prefix: "/ops" });
  app.addHook("preClose", async () => adapter.close());
  app.addHook("onClose", async () => {
    logger.info({}, "shutting down: draining steps in flight");
    await engine.close();
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    engine,
    adapter,
    async listen(port, host = "127.0.0.1") {
      await app.listen({ port, host });
      const address = app.server.address();
      return `http://${host}:${typeof address === "object" && address ? address.port : port}`;
    },
    shutdown() {
      closing ??= app.close();
      return closing;
    },
  };
}
