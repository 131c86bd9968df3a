/**
 * One connector in detail and its configuration kept in the store:
 * `GET /connectors/{kind}/{name}` (status, config JSON Schema, vendor set-up steps with this
 * server's webhook URL), `GET|PUT /connectors/{kind}/{name}/config` (secrets masked; the host's
 * environment wins), `POST …/config/webhook-secret` (generated server-side, shown once) and
 * `POST /connectors/monitoring/{name}/test-alert` (the connector's documented sample, through its
 * own parser).
 *
 * A configuration body is the connector's own configuration exactly as its JSON Schema spells
 * it (`webhookAuth`, not `webhook_auth`): it is not case-converted, because connectors read their
 * keys (and record keys such as label names) as declared.
 */
import { z } from "@hono/zod-openapi";
import {
  type ConnectorConfigView,
  type ConnectorKind,
  type Engine,
  genericWebhookSource,
  isRunwardenError,
  rwError,
  sendTestNotification,
  type VendorSetupStep,
} from "@runwarden/core";
import type { Ctx } from "../internal/endpoint.js";
import { actorOptions, type RouteContext } from "./context.js";

const kinds = ["monitoring", "ticketing", "infrastructure", "notifier"] as const;

const TestNotificationWire = z
  .object({ delivered: z.boolean(), at: z.string() })
  .openapi("TestNotificationResult");

const NameParams = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, "a connector name (kebab-case)")
    .openapi({ param: { name: "name", in: "path" }, example: "prometheus" }),
});

const ConfigViewWire = z
  .object({
    kind: z.enum(kinds),
    name: z.string(),
    source: z.enum(["host", "store", "none"]).openapi({
      description:
        "The configuration in effect: `host` (environment variables / createEngine, which win and cannot be changed here), `store` (set through this API) or `none`",
    }),
    configured_by: z.string().nullable().openapi({
      description: "The variable that configures it (source host), or who stored it",
    }),
    stored: z.boolean().openapi({ description: "A configuration is stored (even when the host's wins)" }),
    config: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The stored configuration, secret fields as `********`" }),
    secret_paths: z.array(z.string()).openapi({ example: ["webhookAuth.token"] }),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
  })
  .openapi("ConnectorConfig");

const VendorStepWire = z.object({
  title: z.string(),
  text: z.string().optional(),
  snippet: z.object({ language: z.string(), content: z.string() }).optional(),
});

const ConnectorDetailWire = z
  .object({
    kind: z.enum(kinds),
    name: z.string(),
    version: z.string(),
    description: z.string().nullable(),
    capabilities: z.array(z.string()),
    status: z.enum(["ready", "not_configured"]),
    needs: z.array(z.string()),
    hint: z.string().nullable(),
    config_source: z.enum(["host", "store", "none"]),
    configured_by: z.string().nullable(),
    activity: z.object({
      last_webhook_at: z.string().nullable(),
      webhooks: z.number().int(),
      last_error_at: z.string().nullable(),
      last_error: z.string().nullable(),
    }),
    poller: z.record(z.string(), z.unknown()).nullable().openapi({
      description: "Monitoring: the poller's state (last pull, last error, next run), or null",
    }),
    webhook_url: z.string().nullable().openapi({
      description: "Monitoring: where the tool posts its webhooks",
      example: "https://runwarden.example/api/v1/tickets/webhook/prometheus",
    }),
    config_schema: z.object({
      json_schema: z.record(z.string(), z.unknown()).openapi({
        description:
          'JSON Schema of the configuration; a secret field has `"x-secret": true` and `writeOnly: true`',
      }),
      secret_paths: z.array(z.string()),
      required: z.array(z.string()),
      webhook_secret_path: z.string().nullable().openapi({
        description: "Where POST …/config/webhook-secret puts a generated secret; null when it has none",
      }),
    }),
    vendor_setup: z.array(VendorStepWire).openapi({
      description: "What to do on the vendor's side, rendered with this server's webhook URL",
    }),
    sample_webhook: z.boolean().openapi({ description: "POST …/test-alert can send a sample alert" }),
    config: ConfigViewWire,
  })
  .openapi("ConnectorDetail");

const WebhookSecretWire = z
  .object({
    secret: z.string().openapi({ description: "The generated secret: shown in this response only" }),
    path: z.string().openapi({ example: "webhookAuth.token" }),
    webhook_url: z.string().nullable(),
    vendor_setup: z.array(VendorStepWire).openapi({
      description: "The vendor set-up with the new secret written into its snippets (shown once)",
    }),
    config: ConfigViewWire,
  })
  .openapi("GeneratedWebhookSecret");

const TestAlertWire = z
  .object({
    tickets: z.array(z.object({ id: z.number().int(), deduplicated: z.boolean(), status: z.string() })),
    resolved: z.array(z.number().int()),
    warnings: z.array(z.string()),
  })
  .openapi("TestAlertResult");

function viewToWire(view: ConnectorConfigView) {
  return {
    kind: view.kind,
    name: view.name,
    source: view.source,
    configured_by: view.configuredBy,
    stored: view.stored,
    config: view.config,
    secret_paths: view.secretPaths,
    updated_at: view.updatedAt,
    updated_by: view.updatedBy,
  };
}

/** The connector's vendor set-up steps, each checked; a connector that throws gets none (logged). */
function vendorSetupOf(
  route: RouteContext,
  engine: Engine,
  kind: ConnectorKind,
  name: string,
  where: { webhookUrl: string; baseUrl: string; webhookSecret?: string },
): VendorSetupStep[] {
  const definition = engine.connectors.definition(kind, name);
  if (!definition?.vendorSetup) return [];
  try {
    const steps = definition.vendorSetup(where);
    return z.array(VendorStepWire).parse(steps);
  } catch (err) {
    route.log.warn({ kind, name, err: { message: (err as Error).message } }, "vendorSetup failed");
    return [];
  }
}

/** Field paths of a connector's configuration errors stay as its schema spells them. */
async function verbatimFields<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isRunwardenError(err) && err.code === "RW_ERR_INPUT_INVALID" && err.details) {
      err.details.fieldsVerbatim = true;
    }
    throw err;
  }
}

export function connectorConfigRoutes(route: RouteContext): void {
  const { engine } = route;
  const viewer = { roles: ["viewer", "operator", "approver"] } as const;
  const operator = { roles: ["operator"] } as const;
  const admin = { roles: ["admin"] } as const;

  const webhookUrlOf = (c: Ctx, kind: ConnectorKind, name: string) =>
    kind === "monitoring" ? `${route.apiUrl(c)}/tickets/webhook/${name}` : null;
  const known = (kind: ConnectorKind, name: string) => {
    if (
      !engine.connectors.definition(kind, name) ||
      (kind === "monitoring" && name === genericWebhookSource)
    ) {
      throw rwError("RW_ERR_PLUGIN_NOT_FOUND", `no ${kind} connector named "${name.slice(0, 80)}"`, {
        details: { kind, name: name.slice(0, 80) },
      });
    }
  };

  for (const kind of kinds) {
    route.add({
      method: "get",
      path: `/connectors/${kind}/{name}`,
      tag: "connectors",
      summary: `Get a ${kind} connector: status, configuration schema and vendor set-up`,
      description:
        "Everything the Connectors tab shows for one connector: its status and where its configuration comes from, webhook activity (last received, last refused), the poller (monitoring), the configuration's JSON Schema (secret and required fields flagged) and the vendor-side set-up steps rendered with this server's webhook URL.",
      access: viewer,
      params: NameParams,
      responses: { 200: { description: "The connector", wire: ConnectorDetailWire } },
      async handler(c, { params, actor }) {
        known(kind, params.name);
        const { name } = params;
        // The stored values (URLs, user names) are for operators, as GET …/config is.
        const mayReadConfig = ["operator", "admin"].some((role) => actor.roles.includes(role as never));
        const [infos, pollers, view] = await Promise.all([
          engine.connectors.list(kind, { health: false }),
          kind === "monitoring" ? engine.monitoring.status() : Promise.resolve([]),
          engine.connectorConfigs.get(kind, name),
        ]);
        const info = infos.find((i) => i.name === name)!;
        const schema = engine.connectorConfigs.schema(kind, name);
        const webhookUrl = webhookUrlOf(c, kind, name);
        const definition = engine.connectors.definition(kind, name)!;
        return c.json({
          kind,
          name,
          version: info.version,
          description: info.description,
          capabilities: [...info.capabilities],
          status: info.status,
          needs: [...info.needs],
          hint: info.hint,
          config_source: info.configSource,
          configured_by: info.configuredBy,
          activity: {
            last_webhook_at: info.activity.lastWebhookAt,
            webhooks: info.activity.webhooks,
            last_error_at: info.activity.lastErrorAt,
            last_error: info.activity.lastError,
          },
          poller: snakeKeys(pollers.find((p) => p.source === name) ?? null),
          webhook_url: webhookUrl,
          config_schema: {
            json_schema: schema.jsonSchema,
            secret_paths: schema.secretPaths,
            required: schema.required,
            webhook_secret_path: schema.webhookSecretPath,
          },
          vendor_setup: vendorSetupOf(route, engine, kind, name, {
            webhookUrl: webhookUrl ?? "",
            baseUrl: route.publicBase(c),
          }),
          sample_webhook: kind === "monitoring" && typeof definition.sampleWebhook === "function",
          config: mayReadConfig ? viewToWire(view) : { ...viewToWire(view), config: null },
        });
      },
    });

    route.add({
      method: "get",
      path: `/connectors/${kind}/{name}/config`,
      tag: "connectors",
      summary: `Get a ${kind} connector's stored configuration (secrets masked)`,
      access: operator,
      params: NameParams,
      responses: { 200: { description: "The configuration", wire: ConfigViewWire } },
      async handler(c, { params }) {
        known(kind, params.name);
        return c.json(viewToWire(await engine.connectorConfigs.get(kind, params.name)));
      },
    });

    route.add({
      method: "put",
      path: `/connectors/${kind}/{name}/config`,
      tag: "connectors",
      summary: `Store a ${kind} connector's configuration and apply it live`,
      description:
        "The body is the connector's configuration as its JSON Schema (GET /connectors/{kind}/{name}) spells it, not case-converted. It is checked with the connector's schema (422 naming each field, never a value); the fields it marks secret are sealed by the vault and returned as `********`; a secret sent back as `********` keeps the stored one. The connector is recreated at once (a not-configured one becomes configured; a monitoring source's poller restarts on the new instance). A connector configured by environment variables answers 409 RW_ERR_CONFIG_HOST_OWNED: the environment wins.",
      access: admin,
      params: NameParams,
      body: { wire: z.record(z.string(), z.unknown()).openapi("ConnectorConfigInput") },
      responses: {
        200: { description: "Stored and applied", wire: ConfigViewWire },
        409: { description: "Configured by the host's environment, which wins" },
      },
      async handler(c, { params, body, actor }) {
        known(kind, params.name);
        const view = await verbatimFields(() =>
          engine.connectorConfigs.put(
            kind,
            params.name,
            body as Record<string, unknown>,
            actorOptions(route, c, actor),
          ),
        );
        return c.json(viewToWire(view));
      },
    });

    route.add({
      method: "post",
      path: `/connectors/${kind}/{name}/config/webhook-secret`,
      tag: "connectors",
      summary: `Generate (or rotate) a ${kind} connector's webhook secret`,
      description:
        "32 random bytes (base64url) from the server's CSPRNG, stored sealed in the connector's webhook secret field (`webhook_secret_path` of GET /connectors/{kind}/{name}; the auth variant that has one is chosen when none is) and applied at once. The secret and the vendor set-up written with it are in this response only.",
      access: admin,
      params: NameParams,
      responses: {
        200: { description: "The new secret, shown once", wire: WebhookSecretWire },
        409: { description: "Configured by the host's environment, which wins" },
      },
      async handler(c, { params, actor }) {
        known(kind, params.name);
        const { view, secret, path } = await verbatimFields(() =>
          engine.connectorConfigs.generateWebhookSecret(kind, params.name, actorOptions(route, c, actor)),
        );
        const webhookUrl = webhookUrlOf(c, kind, params.name);
        c.header("cache-control", "no-store");
        return c.json({
          secret,
          path,
          webhook_url: webhookUrl,
          vendor_setup: vendorSetupOf(route, engine, kind, params.name, {
            webhookUrl: webhookUrl ?? "",
            baseUrl: route.publicBase(c),
            webhookSecret: secret,
          }),
          config: viewToWire(view),
        });
      },
    });
  }

  route.add({
    method: "post",
    path: "/connectors/monitoring/{name}/test-alert",
    tag: "connectors",
    summary: "Send a test alert through a monitoring connector",
    description:
      "Sends the connector's documented sample webhook (its `sampleWebhook`) through its own `parseWebhook` and the webhook intake, so a ticket appears as a real alert's would (a repeat folds into the open one). The caller's role stands in for the webhook's verification. 503 when the connector is not configured; 404 when it has no sample.",
    access: operator,
    params: NameParams,
    responses: { 201: { description: "The tickets it made", wire: TestAlertWire } },
    async handler(c, { params, actor }) {
      known("monitoring", params.name);
      const result = await engine.connectorConfigs.sendTestAlert(params.name, actorOptions(route, c, actor));
      return c.json(
        {
          tickets: result.tickets.map(({ ticket, deduplicated }) => ({
            id: ticket.id,
            deduplicated,
            status: ticket.status,
          })),
          resolved: result.resolved.map((t) => t.id),
          warnings: result.warnings,
        },
        201,
      );
    },
  });
  route.add({
    method: "post",
    path: "/connectors/notifier/{name}/test-notification",
    tag: "connectors",
    summary: "Send a test notification through a notifier",
    description:
      "Sends a `test` notification to the notifier now (not through the outbox) and answers once it is delivered. 503 when the notifier is not configured; a refusal by the channel is its connector error (502/504).",
    access: operator,
    params: NameParams,
    responses: { 200: { description: "Delivered", wire: TestNotificationWire } },
    async handler(c, { params, actor }) {
      known("notifier", params.name);
      const at = Date.now();
      await sendTestNotification(engine.connectors.notifier(params.name), params.name, {
        now: at,
        signal: AbortSignal.timeout(30_000),
      });
      await engine.audit.record({
        actor: actor.id,
        action: "notification.tested",
        objectType: "connector",
        objectId: `notifier/${params.name}`,
        origin: actorOptions(route, c, actor).origin,
        details: {},
      });
      return c.json({ delivered: true, at: new Date(at).toISOString() }, 200);
    },
  });
}

/** A core status object's keys in snake_case (values as they are). */
function snakeKeys(value: object | null): Record<string, unknown> | null {
  if (value === null) return null;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`), v]),
  );
}
