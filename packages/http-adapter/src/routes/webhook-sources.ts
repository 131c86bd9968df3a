/**
 * Webhook sources: the generic webhook with a mapping. An admin creates, lists, changes and
 * deletes named sources whose JSONata mapping turns any tool's JSON into tickets, rotates their
 * tokens, and tries a mapping on a body (no side effect). The tool then posts to
 * `POST /tickets/webhook/{name}` with the source's token.
 */
import { z } from "@hono/zod-openapi";
import { isRunwardenError, WebhookSourceRecord } from "@runwarden/core";
import { named } from "../internal/endpoint.js";
import { actorOptions, type RouteContext, send } from "./context.js";

const SourceView = named("WebhookSource", WebhookSourceRecord.omit({ tokenHash: true }));
const SourceList = z.object({ items: z.array(SourceView) });
const SourceWithToken = named(
  "WebhookSourceWithToken",
  z.object({
    source: SourceView,
    /** Shown this once: send it as `Authorization: Bearer <token>` or `X-Runwarden-Webhook-Token`. */
    token: z.string(),
  }),
);

const expression = (what: string) =>
  z
    .string()
    .max(16_384)
    .nullable()
    .optional()
    .openapi({ description: `JSONata: ${what}` });

const mappingFields = {
  items: expression("selects the alerts of a body (`alerts`); absent: the body, an array element by element"),
  mapping: z.string().min(1).max(16_384).openapi({
    description:
      'JSONata: one alert → ticket fields (`title` required; `description`, `severity`, `environment`, `service`, `external_id`, `meta_data`, `labels`, `tags`). `$body` is the whole body. Example: `{ "title": monitor.name & " is down", "severity": "high", "labels": { "host": monitor.hostname } }`',
  }),
  fingerprint: expression("one alert → its fingerprint; absent: derived by the engine"),
  resolve_when: expression("one alert → true when it says the problem is over"),
};

const CreateSourceBody = z
  .object({
    name: z.string().max(64).openapi({ description: "kebab-case; the `{source}` of the webhook URL" }),
    description: z.string().max(1_000).optional(),
    ...mappingFields,
  })
  .openapi("CreateWebhookSource");

const UpdateSourceBody = z
  .object({
    description: z.string().max(1_000).optional(),
    items: mappingFields.items,
    mapping: mappingFields.mapping.optional(),
    fingerprint: mappingFields.fingerprint,
    resolve_when: mappingFields.resolve_when,
  })
  .openapi("UpdateWebhookSource");

const TryBody = z
  .object({
    ...mappingFields,
    /** The body to map, as the tool would send it. */
    body: z.unknown().openapi({ description: "The JSON body to map, as the tool would post it" }),
  })
  .openapi("TryWebhookMapping");

const TryStoredBody = z
  .object({ body: z.unknown().openapi({ description: "The JSON body to map" }) })
  .openapi("TryWebhookSource");

const MappingError = z
  .object({
    code: z.string(),
    message: z.string(),
    expression: z.string().nullable(),
    position: z.number().int().nullable(),
    token: z.string().nullable(),
    jsonata_code: z.string().nullable(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })),
  })
  .openapi("WebhookMappingError");
const TryResult = z
  .object({
    tickets: z.array(z.unknown()),
    warnings: z.array(z.string()),
    error: MappingError.nullable(),
  })
  .openapi("WebhookMappingTrial");

const NameParams = z.object({ name: z.string().max(64) });

export function webhookSourceRoutes(route: RouteContext): void {
  const { engine } = route;
  const admin = { roles: ["admin"] } as const;

  /** Runs a trial: the tickets (wire shape), or the mapping's error as data for the dashboard. */
  async function trial(run: () => Promise<{ tickets: unknown[]; warnings: string[] }>) {
    try {
      const result = await run();
      return { tickets: result.tickets, warnings: result.warnings, error: null };
    } catch (error) {
      if (
        !isRunwardenError(error) ||
        (error.code !== "RW_ERR_INPUT_MAPPING" && error.code !== "RW_ERR_INPUT_INVALID")
      )
        throw error;
      const details = (error.details ?? {}) as {
        expression?: string;
        position?: number;
        token?: string;
        jsonataCode?: string;
        fields?: { field: string; message: string }[];
      };
      return {
        tickets: [],
        warnings: [],
        error: {
          code: error.code,
          message: error.message,
          expression: details.expression ?? null,
          position: details.position ?? null,
          token: details.token ?? null,
          jsonata_code: details.jsonataCode ?? null,
          fields: details.fields ?? [],
        },
      };
    }
  }

  route.add({
    method: "post",
    path: "/webhook-sources",
    tag: "webhook-sources",
    summary: "Create a webhook source with a JSONata mapping",
    description:
      "Creates a named source: `POST /tickets/webhook/{name}` then maps that tool's JSON to tickets with the mapping. Answers the source and its token, shown once (only its sha256 is stored).",
    access: admin,
    body: { wire: CreateSourceBody },
    responses: { 201: { description: "The source and its token", schema: SourceWithToken } },
    async handler(c, { body, actor }) {
      const created = await engine.webhookSources.create(
        {
          name: body.name,
          description: body.description,
          items: body.items,
          mapping: body.mapping,
          fingerprint: body.fingerprint,
          resolveWhen: body.resolve_when,
        },
        actorOptions(route, c, actor),
      );
      return send(route, c, 201, SourceWithToken, created);
    },
  });

  route.add({
    method: "get",
    path: "/webhook-sources",
    tag: "webhook-sources",
    summary: "List webhook sources",
    access: admin,
    responses: { 200: { description: "Every source (never a token)", schema: SourceList } },
    async handler(c) {
      return send(route, c, 200, SourceList, { items: await engine.webhookSources.list() });
    },
  });

  route.add({
    method: "post",
    path: "/webhook-sources/try",
    tag: "webhook-sources",
    summary: "Try a mapping on a body (no side effect)",
    description:
      "Runs the expressions on the body and answers the tickets they give, or the JSONata error with the expression, position and token it failed at (`error`). Nothing is stored.",
    access: admin,
    body: { wire: TryBody },
    responses: { 200: { description: "The tickets, or the error", wire: TryResult } },
    async handler(c, { body }) {
      const result = await trial(() =>
        engine.webhookSources.tryMapping(
          {
            items: body.items,
            mapping: body.mapping,
            fingerprint: body.fingerprint,
            resolveWhen: body.resolve_when,
          },
          body.body,
        ),
      );
      return c.json(toTrialWire(result), 200);
    },
  });

  route.add({
    method: "get",
    path: "/webhook-sources/{name}",
    tag: "webhook-sources",
    summary: "Get a webhook source",
    access: admin,
    params: NameParams,
    responses: { 200: { description: "The source", schema: SourceView } },
    async handler(c, { params }) {
      return send(route, c, 200, SourceView, await engine.webhookSources.get(params.name));
    },
  });

  route.add({
    method: "put",
    path: "/webhook-sources/{name}",
    tag: "webhook-sources",
    summary: "Change a webhook source's description or expressions",
    description: "Fields left out keep their value; `null` clears an optional expression.",
    access: admin,
    params: NameParams,
    body: { wire: UpdateSourceBody },
    responses: { 200: { description: "The source", schema: SourceView } },
    async handler(c, { params, body, actor }) {
      const updated = await engine.webhookSources.update(
        params.name,
        {
          description: body.description,
          items: body.items,
          mapping: body.mapping,
          fingerprint: body.fingerprint,
          resolveWhen: body.resolve_when,
        },
        actorOptions(route, c, actor),
      );
      return send(route, c, 200, SourceView, updated);
    },
  });

  route.add({
    method: "delete",
    path: "/webhook-sources/{name}",
    tag: "webhook-sources",
    summary: "Delete a webhook source",
    access: admin,
    params: NameParams,
    responses: { 204: { description: "Deleted" } },
    async handler(c, { params, actor }) {
      await engine.webhookSources.remove(params.name, actorOptions(route, c, actor));
      return c.body(null, 204);
    },
  });

  route.add({
    method: "post",
    path: "/webhook-sources/{name}/token",
    tag: "webhook-sources",
    summary: "Rotate a webhook source's token",
    description: "The old token stops working at once; the new one is shown this once.",
    access: admin,
    params: NameParams,
    responses: { 200: { description: "The source and its new token", schema: SourceWithToken } },
    async handler(c, { params, actor }) {
      const rotated = await engine.webhookSources.rotateToken(params.name, actorOptions(route, c, actor));
      return send(route, c, 200, SourceWithToken, rotated);
    },
  });

  route.add({
    method: "post",
    path: "/webhook-sources/{name}/try",
    tag: "webhook-sources",
    summary: "Try a stored source's mapping on a body (no side effect)",
    access: admin,
    params: NameParams,
    body: { wire: TryStoredBody },
    responses: { 200: { description: "The tickets, or the error", wire: TryResult } },
    async handler(c, { params, body }) {
      const source = await engine.webhookSources.get(params.name);
      const result = await trial(() => engine.webhookSources.tryMapping(source, body.body, source.name));
      return c.json(toTrialWire(result), 200);
    },
  });
}

/** Tickets of a trial in the API's snake_case. */
function toTrialWire(result: { tickets: unknown[]; warnings: string[]; error: unknown }) {
  const tickets = (result.tickets as Record<string, unknown>[]).map((t) => ({
    title: t.title,
    description: t.description,
    severity: t.severity,
    environment: t.environment,
    service: t.service,
    source: t.source,
    external_id: t.externalId ?? null,
    fingerprint: t.fingerprint ?? null,
    resolved: t.resolved ?? false,
    meta_data: t.metaData ?? {},
  }));
  return { tickets, warnings: result.warnings, error: result.error };
}
