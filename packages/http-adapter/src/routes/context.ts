/** What each route module receives from createHttpAdapter. */
import type { z } from "@hono/zod-openapi";
import type { Engine, Logger } from "@runwarden/core";
import { type AuthActor, type Ctx, type EndpointSpec, sendJson } from "../internal/endpoint.js";
import type { PlainAnswer } from "../internal/fast.js";
import type { MetricsRegistry } from "../internal/metrics.js";
import type { EventHub } from "../internal/sse.js";
import type { StreamTokens } from "../internal/stream-token.js";
import type { Wave } from "../internal/waves.js";
import type { TokenStore } from "../tokens.js";

export interface RouteContext {
  engine: Engine;
  tokens: TokenStore;
  log: Logger;
  limits: { jsonBytes: number; csvBytes: number; webhookBytes: number; runbookBytes: number };
  hub: EventHub;
  streamTokens: StreamTokens;
  metrics: MetricsRegistry;
  validateResponses: boolean;
  publicMetrics: boolean;
  genericWebhook: { secret: string | undefined; header: string };
  /** Paces generic webhooks into waves whose writes share the store's commits. */
  webhookWave: Wave;
  authenticate(c: Ctx): Promise<AuthActor | undefined>;
  /** The caller's address for the audit log. */
  originOf(c: Ctx): string;
  /** The API's public root, `https://host/prefix/api/v1` (from `publicUrl` or the request). */
  apiUrl(c: Ctx): string;
  /** The server's public base URL with the prefix, no trailing slash. */
  publicBase(c: Ctx): string;
  add<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined>(
    spec: EndpointSpec<P, Q, B>,
  ): void;
  openapi(): Record<string, unknown>;
}

/** Sends a core value as snake_case JSON (checked against its schema when configured). */
export function send(
  route: RouteContext,
  c: Ctx,
  status: number,
  schema: z.ZodType,
  value: unknown,
): Response {
  return sendJson(c, status, schema, value, route.validateResponses);
}

/** Actor options for core calls: who, from where. */
export function actorOptions(route: RouteContext, c: Ctx, actor: AuthActor) {
  return { actor: { id: actor.id, roles: actor.roles }, origin: route.originOf(c) };
}

/** Sends an endpoint's shared-logic answer (see internal/fast.ts) through Hono. */
export function answer(route: RouteContext, c: Ctx, a: PlainAnswer): Response {
  return sendJson(c, a.status, a.schema, a.value, route.validateResponses);
}
