/**
 * Connector listings (`GET /connectors/monitoring|ticketing|infrastructure`, with each monitoring
 * source's poller) and the credential types the registered connectors accept. Credentials and
 * infrastructure connections have their own files (credentials.ts, connections.ts).
 */
import { z } from "@hono/zod-openapi";
import { MonitoringSourceStatus } from "@runwarden/core";
import { named } from "../internal/endpoint.js";
import { type RouteContext, send } from "./context.js";

const ConnectorInfo = named(
  "Connector",
  z.object({
    kind: z.enum(["monitoring", "ticketing", "infrastructure", "notifier"]),
    name: z.string(),
    version: z.string(),
    description: z.string().nullable(),
    capabilities: z.array(z.string()),
    connectionTypes: z.array(z.string()),
    health: z
      .object({
        ok: z.boolean(),
        latencyMs: z.number(),
        reason: z.string().optional(),
        message: z.string().optional(),
        checkedAt: z.string(),
      })
      .nullable(),
    status: z.enum(["ready", "not_configured"]).openapi({
      description:
        "`not_configured`: registered without its configuration; `needs` and `hint` say what to set",
    }),
    needs: z
      .array(z.string())
      .openapi({ description: "Variables or config fields a not-configured connector needs" }),
    hint: z.string().nullable().openapi({ description: "How to configure a not-configured connector" }),
    configSource: z.enum(["host", "store", "none"]).openapi({
      description:
        "Where the configuration in effect comes from: `host` (environment variables, which win), `store` (PUT /connectors/{kind}/{name}/config) or `none`",
    }),
    configuredBy: z.string().nullable(),
    activity: z.object({
      lastWebhookAt: z.string().nullable(),
      webhooks: z.number().int(),
      lastErrorAt: z.string().nullable(),
      lastError: z.string().nullable(),
    }),
  }),
);
const ConnectorList = z.object({ items: z.array(ConnectorInfo) });
/** A monitoring connector, with its poller when `createEngine({ monitoring })` names it. */
const MonitoringConnectorInfo = named(
  "MonitoringConnector",
  ConnectorInfo.extend({
    poller: named("MonitoringPoller", MonitoringSourceStatus).nullable(),
  }),
);
const MonitoringConnectorList = z.object({ items: z.array(MonitoringConnectorInfo) });

/** A credential type and its fields, for building a form (the dashboard's credential form). */
const CredentialTypeWire = z
  .object({
    name: z.string().openapi({ example: "database" }),
    description: z.string().nullable(),
    generic: z.boolean().openapi({
      description: "Any field names; every field not listed in `public_fields` is secret",
    }),
    fields: z.array(
      z.object({
        name: z.string().openapi({ example: "password" }),
        secret: z.boolean().openapi({ description: "Sealed by the vault and returned as `********`" }),
        required: z.boolean(),
        type: z.enum(["string", "number", "boolean", "enum"]),
        options: z.array(z.string()).optional(),
        description: z.string().optional(),
      }),
    ),
    public_fields: z.array(z.string()),
    connectors: z.array(z.string()).openapi({ description: "Connectors that accept this type" }),
  })
  .openapi("CredentialType");
const CredentialTypeListWire = z.object({ items: z.array(CredentialTypeWire) });

export function connectorRoutes(route: RouteContext): void {
  const { engine } = route;
  const viewer = { roles: ["viewer", "operator", "approver"] } as const;
  const operator = { roles: ["operator"] } as const;

  route.add({
    method: "get",
    path: "/connectors/monitoring",
    tag: "connectors",
    summary: "List monitoring connectors with their status and poller",
    description:
      "`poller` is null for a source the engine does not poll; otherwise its cursor, last and next run, last error, lease holder and pending acknowledge/resolve calls.",
    access: viewer,
    responses: {
      200: { description: "Registered monitoring connectors, by name", schema: MonitoringConnectorList },
    },
    async handler(c) {
      const [connectors, pollers] = await Promise.all([
        engine.connectors.list("monitoring"),
        engine.monitoring.status(),
      ]);
      const items = connectors.map((info) => ({
        ...info,
        poller: pollers.find((status) => status.source === info.name) ?? null,
      }));
      return send(route, c, 200, MonitoringConnectorList, { items });
    },
  });

  for (const kind of ["ticketing", "infrastructure", "notifier"] as const) {
    route.add({
      method: "get",
      path: `/connectors/${kind}`,
      tag: "connectors",
      summary: `List ${kind} connectors with their status`,
      access: viewer,
      responses: { 200: { description: "Registered connectors, by name", schema: ConnectorList } },
      async handler(c) {
        return send(route, c, 200, ConnectorList, { items: await engine.connectors.list(kind) });
      },
    });
  }

  route.add({
    method: "get",
    path: "/connectors/credential-types",
    tag: "credentials",
    summary: "List credential types and their fields",
    description:
      "Every credential type the registered connectors accept, plus core's `database` and `generic`: each field's name, whether it is secret (sealed and masked) and required. A form can be built from it.",
    access: operator,
    responses: { 200: { description: "Credential types, by name", wire: CredentialTypeListWire } },
    async handler(c) {
      const items = engine.connectors.credentialTypes.list().map((type) => ({
        name: type.name,
        description: type.description,
        generic: type.generic,
        fields: type.fields,
        public_fields: type.publicFields,
        connectors: type.connectors,
      }));
      return c.json({ items });
    },
  });
}
