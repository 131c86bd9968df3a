/**
 * Infrastructure connections (`/connectors/infrastructure-connections`): a named target, its
 * connection type and optional credential, and its health check. The bodies are camelCase, as
 * the connector guide writes them.
 */
import { z } from "@hono/zod-openapi";
import { ConnectionHealth, ConnectionInput, ConnectionRecord } from "@runwarden/core";
import { IdParams, ListFilter, named } from "../internal/endpoint.js";
import { actorOptions, type RouteContext, send } from "./context.js";

/** The documented body of a connection (connector guide): core's schema of it. */
const ConnectionBody = named("ConnectionInput", ConnectionInput);
const ConnectionChanges = named("ConnectionChanges", ConnectionBody.partial());
const Connection = named("Connection", ConnectionRecord);
const ConnectionList = z.object({ items: z.array(Connection) });
const Health = named("ConnectionHealth", ConnectionHealth);

export function connectionRoutes(route: RouteContext): void {
  const { engine } = route;
  const operator = { roles: ["operator"] } as const;
  const admin = { roles: ["admin"] } as const;

  route.add({
    method: "post",
    path: "/connectors/infrastructure-connections",
    tag: "connections",
    summary: "Create an infrastructure connection",
    access: admin,
    body: { schema: ConnectionBody },
    responses: { 201: { description: "The connection", schema: Connection } },
    async handler(c, { body, actor }) {
      const created = await engine.connections.create(body, actorOptions(route, c, actor));
      return send(route, c, 201, Connection, created);
    },
  });

  route.add({
    method: "get",
    path: "/connectors/infrastructure-connections",
    tag: "connections",
    summary: "List infrastructure connections with their health",
    access: operator,
    query: ListFilter,
    responses: { 200: { description: "Connections", schema: ConnectionList } },
    async handler(c, { query }) {
      const items = await engine.connections.list({
        ...(query.environment !== undefined ? { environment: query.environment } : {}),
        ...(query.type !== undefined ? { connectionType: query.type } : {}),
      });
      return send(route, c, 200, ConnectionList, { items });
    },
  });

  route.add({
    method: "get",
    path: "/connectors/infrastructure-connections/{id}",
    tag: "connections",
    summary: "Get an infrastructure connection",
    access: operator,
    params: IdParams,
    responses: { 200: { description: "The connection", schema: Connection } },
    async handler(c, { params }) {
      return send(route, c, 200, Connection, await engine.connections.get(params.id));
    },
  });

  route.add({
    method: "patch",
    path: "/connectors/infrastructure-connections/{id}",
    tag: "connections",
    summary: "Change an infrastructure connection",
    access: admin,
    params: IdParams,
    body: { schema: ConnectionChanges },
    responses: { 200: { description: "The connection", schema: Connection } },
    async handler(c, { params, body, actor }) {
      const updated = await engine.connections.update(params.id, body, actorOptions(route, c, actor));
      return send(route, c, 200, Connection, updated);
    },
  });

  route.add({
    method: "delete",
    path: "/connectors/infrastructure-connections/{id}",
    tag: "connections",
    summary: "Delete an infrastructure connection",
    access: admin,
    params: IdParams,
    responses: { 204: { description: "Deleted" } },
    async handler(c, { params, actor }) {
      await engine.connections.delete(params.id, actorOptions(route, c, actor));
      return c.body(null, 204);
    },
  });

  route.add({
    method: "post",
    path: "/connectors/infrastructure-connections/{id}/test",
    tag: "connections",
    summary: "Run the connection's health check",
    description:
      "A failed check is a 200 with `status: unhealthy` and the reason; the result is stored on the connection.",
    access: operator,
    params: IdParams,
    responses: { 200: { description: "The health check's result", schema: Health } },
    async handler(c, { params, actor }) {
      return send(
        route,
        c,
        200,
        Health,
        await engine.connections.test(params.id, actorOptions(route, c, actor)),
      );
    },
  });
}
