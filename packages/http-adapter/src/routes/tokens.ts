/** API tokens: an admin creates, lists and revokes them. */
import { z } from "@hono/zod-openapi";
import { ApiToken } from "@runwarden/core";
import { IdParams, named } from "../internal/endpoint.js";
import { tokenRoles } from "../tokens.js";
import { type RouteContext, send } from "./context.js";

/** A token as listed: never its hash. */
export const TokenInfo = named("Token", ApiToken.omit({ tokenHash: true }));

export const CreateTokenBody = named(
  "CreateToken",
  z.object({
    actor: z
      .string()
      .trim()
      .min(1)
      .max(128)
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.@:+-]*$/,
        "letters, digits and _ . @ : + - (an actor id such as alice or ci-bot)",
      ),
    roles: z.array(z.enum(tokenRoles)).min(1).max(4),
  }),
);

const CreatedToken = named(
  "CreatedToken",
  z.object({
    /** The token: shown this once, never again. */
    token: z.string(),
    info: TokenInfo,
  }),
);

const TokenList = z.object({ items: z.array(TokenInfo) });

const Me = named(
  "Me",
  z.object({
    actor: z.string(),
    roles: z.array(z.enum(tokenRoles)),
    tokenId: z.number().int().nullable(),
    /** The caller's own token record (never its hash); null for an actor the host's auth hook made. */
    token: TokenInfo.nullable(),
  }),
);

export function tokenRoutes(route: RouteContext): void {
  const admin = { roles: ["admin"] } as const;

  route.add({
    method: "get",
    path: "/me",
    tag: "tokens",
    summary: "Who the token acts as, its roles, and the token's own record",
    access: { roles: ["viewer", "operator", "approver"] },
    responses: { 200: { description: "The caller", schema: Me } },
    async handler(c, { actor }) {
      const token = actor.tokenId === null ? undefined : await route.tokens.get(actor.tokenId);
      return send(route, c, 200, Me, {
        actor: actor.id,
        roles: [...actor.roles],
        tokenId: actor.tokenId,
        token: token ?? null,
      });
    },
  });

  route.add({
    method: "post",
    path: "/tokens",
    tag: "tokens",
    summary: "Create an API token",
    description: "Returns the token once; only its sha256 is stored.",
    access: admin,
    body: { schema: CreateTokenBody },
    responses: { 201: { description: "The token (shown once) and its record", schema: CreatedToken } },
    async handler(c, { body, actor }) {
      const created = await route.tokens.create({
        actor: body.actor,
        roles: body.roles,
        createdBy: actor.id,
      });
      await route.engine.audit.record({
        actor: actor.id,
        action: "token.created",
        objectType: "token",
        objectId: created.info.id,
        origin: route.originOf(c),
        details: { tokenActor: created.info.actor, roles: created.info.roles, prefix: created.info.prefix },
      });
      return send(route, c, 201, CreatedToken, created);
    },
  });

  route.add({
    method: "get",
    path: "/tokens",
    tag: "tokens",
    summary: "List API tokens",
    access: admin,
    responses: { 200: { description: "Every token, revoked ones included", schema: TokenList } },
    async handler(c) {
      return send(route, c, 200, TokenList, { items: await route.tokens.list() });
    },
  });

  route.add({
    method: "delete",
    path: "/tokens/{id}",
    tag: "tokens",
    summary: "Revoke an API token",
    access: admin,
    params: IdParams,
    responses: { 200: { description: "The revoked token", schema: TokenInfo } },
    async handler(c, { params, actor }) {
      const revoked = await route.tokens.revoke(params.id);
      await route.engine.audit.record({
        actor: actor.id,
        action: "token.revoked",
        objectType: "token",
        objectId: revoked.id,
        origin: route.originOf(c),
        details: { tokenActor: revoked.actor, prefix: revoked.prefix },
      });
      return send(route, c, 200, TokenInfo, revoked);
    },
  });
}
