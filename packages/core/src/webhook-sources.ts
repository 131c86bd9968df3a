/**
 * Named webhook sources: the generic webhook with a mapping. An admin creates a source with a
 * JSONata mapping from any JSON body to ticket fields (plus optional item, fingerprint and
 * resolve expressions); `POST /tickets/webhook/{name}` then takes that tool's own payload,
 * authenticated by the source's token. `tryMapping` runs a mapping on a body with no side effect.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { ValidTicketInput, WebhookSourceRecord } from "./domain.js";
import { rwError } from "./errors.js";
import type { EngineContext } from "./internal/context.js";
import {
  type CompiledMapping,
  compileMapping,
  defaultMappingLimits,
  type MappedItem,
  type MappingLimits,
  MappingSpecSchema,
} from "./internal/jsonata-mapping.js";
import type { Actor } from "./policy.js";
import { type ConnectorRegistry, genericWebhookSource } from "./registry.js";
import type { AuditRecorder } from "./runbooks.js";
import { GenericWebhookTicket, genericInput } from "./tickets/generic.js";
import type { FieldProblem } from "./tickets/intake.js";
import { tagsToLabels, toLabels } from "./tickets/labels.js";

/** A source's name: kebab-case, as connector names are; `generic` and `try` are reserved. */
const SourceName = z
  .string()
  .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, "use lower-case letters, digits and dashes (kebab-case)")
  .max(64)
  .refine((name) => name !== genericWebhookSource && name !== "try", "this name is reserved");

/** What `create` takes. */
export const WebhookSourceInput = MappingSpecSchema.extend({
  name: SourceName,
  description: z.string().max(1_000).default(""),
});
/**
 * What {@link WebhookSourcesApi.create} takes: a kebab-case name, a description and the JSONata
 * expressions.
 *
 * @experimental
 */
export type WebhookSourceInput = z.input<typeof WebhookSourceInput>;

/** What `update` may change (the name is the source's identity and stays). */
export const WebhookSourceChanges = MappingSpecSchema.partial().extend({
  description: z.string().max(1_000).optional(),
});
/**
 * What {@link WebhookSourcesApi.update} may change.
 *
 * @experimental
 */
export type WebhookSourceChanges = z.input<typeof WebhookSourceChanges>;

/** A mapping to try: the expressions of `WebhookSourceInput`. */
export const WebhookMappingSpec = MappingSpecSchema;
/**
 * A mapping to try with {@link WebhookSourcesApi.tryMapping}.
 *
 * @experimental
 */
export type WebhookMappingSpec = z.input<typeof WebhookMappingSpec>;

/**
 * A source as the API shows it: never its token or the token's hash.
 *
 * @experimental
 */
export type WebhookSourceView = Omit<WebhookSourceRecord, "tokenHash">;

/**
 * A source with its token: returned once, by `create` and `rotateToken`.
 *
 * @experimental
 */
export interface WebhookSourceWithToken {
  /** The source as the API shows it. */
  source: WebhookSourceView;
  /** Send it as `Authorization: Bearer <token>` or `X-Runwarden-Webhook-Token: <token>`. */
  token: string;
}

/**
 * What a body maps to: the tickets it would create or resolve, and what was odd about it.
 *
 * @experimental
 */
export interface MappingResult {
  /** The ticket inputs the body maps to, validated. */
  tickets: ValidTicketInput[];
  /** What was mapped with a guess (an unknown severity, an ignored field). */
  warnings: string[];
}

/**
 * Who acts on a webhook source, for the audit log.
 *
 * @experimental
 */
export interface WebhookSourceActorOptions {
  /** The acting actor. */
  actor: Actor;
  /** Where the actor acted from, for the audit log. */
  origin?: string;
}

/**
 * `engine.webhookSources`: named webhook sources that map any JSON body to tickets with JSONata.
 * @experimental
 */
export interface WebhookSourcesApi {
  /** Creates a source and its token (shown once). Names of monitoring connectors are refused. */
  create(input: WebhookSourceInput, options: WebhookSourceActorOptions): Promise<WebhookSourceWithToken>;
  /** Every source, as the API shows it (no token). */
  list(): Promise<WebhookSourceView[]>;
  /** `RW_ERR_STORAGE_NOT_FOUND` when there is no such source. */
  get(name: string): Promise<WebhookSourceView>;
  /** Whether a source of this name exists. */
  has(name: string): Promise<boolean>;
  /**
   * Changes a source's description or expressions. Throws RW_ERR_STORAGE_NOT_FOUND for an unknown
   * source, RW_ERR_INPUT_INVALID for changes that do not validate.
   */
  update(
    name: string,
    changes: WebhookSourceChanges,
    options: WebhookSourceActorOptions,
  ): Promise<WebhookSourceView>;
  /** Replaces the token; the old one stops working at once. */
  rotateToken(name: string, options: WebhookSourceActorOptions): Promise<WebhookSourceWithToken>;
  /** Deletes a source; its token stops working. Throws RW_ERR_STORAGE_NOT_FOUND. */
  remove(name: string, options: WebhookSourceActorOptions): Promise<void>;
  /** Runs a mapping on a body: the tickets it gives, or `RW_ERR_INPUT_MAPPING`. Stores nothing. */
  tryMapping(spec: WebhookMappingSpec, body: unknown, source?: string): Promise<MappingResult>;
  /**
   * For intake: the source's tickets from a request, after checking its token
   * (`RW_ERR_AUTH_UNAUTHENTICATED`); undefined when there is no source of this name.
   */
  receive(
    name: string,
    request: { headers: Readonly<Record<string, string | undefined>>; body: unknown },
  ): Promise<MappingResult | undefined>;
}

const tokenPrefixLength = 9;

function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function newToken(): { token: string; tokenHash: string; tokenPrefix: string } {
  const token = `rwwh_${randomBytes(24).toString("base64url")}`;
  return { token, tokenHash: hashToken(token), tokenPrefix: token.slice(0, tokenPrefixLength) };
}

function view(record: WebhookSourceRecord): WebhookSourceView {
  const { tokenHash: _hidden, ...rest } = record;
  return rest;
}

function invalidInput(error: z.ZodError): never {
  const fields = error.issues.slice(0, 20).map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  throw rwError(
    "RW_ERR_INPUT_INVALID",
    `the webhook source is invalid: ${fields[0]?.field}: ${fields[0]?.message}`,
    {
      details: { fields },
    },
  );
}

/** The token a request carries: `Authorization: Bearer …` or `X-Runwarden-Webhook-Token`. */
function presentedToken(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  let bearer: string | undefined;
  let custom: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = key.toLowerCase();
    if (name === "x-runwarden-webhook-token") custom = value.trim();
    else if (name === "authorization") {
      const match = /^bearer\s+(\S+)\s*$/i.exec(value);
      if (match) bearer = match[1];
    }
  }
  return custom ?? bearer;
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Keys a mapping may produce besides the generic ticket's. */
const extraMappedKeys = new Set(["labels", "tags"]);

/**
 * One mapped item → the generic ticket's fields: `labels` and `tags` go to `meta_data`, numbers
 * where text is expected become text, the fingerprint and resolve expressions win over fields.
 */
function toGeneric(item: MappedItem, prefix: string, warnings: string[]): unknown {
  const fields = { ...item.fields };
  const ignored = Object.keys(fields).filter(
    (key) => !(key in GenericWebhookTicket.shape) && !extraMappedKeys.has(key),
  );
  if (ignored.length > 0)
    warnings.push(`${prefix}the mapping produced unknown field(s): ${ignored.slice(0, 10).join(", ")}`);
  for (const key of ["title", "description", "severity", "environment", "service", "fingerprint"]) {
    const value = fields[key];
    if (typeof value === "number" || typeof value === "boolean") fields[key] = String(value);
    if (value === null) delete fields[key];
  }
  const labels = { ...tagsToLabels(fields.tags), ...toLabels(fields.labels) };
  const metaData: Record<string, unknown> = {
    ...(fields.meta_data && typeof fields.meta_data === "object" && !Array.isArray(fields.meta_data)
      ? (fields.meta_data as Record<string, unknown>)
      : {}),
  };
  if (Object.keys(labels).length > 0) metaData.labels = { ...toLabels(metaData.labels), ...labels };
  if (typeof fields.title === "string" && fields.title.length > 500)
    fields.title = `${fields.title.slice(0, 499)}…`;
  if (typeof fields.description === "string" && fields.description.length > 20_000)
    fields.description = `${fields.description.slice(0, 19_999)}…`;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(GenericWebhookTicket.shape))
    if (fields[key] !== undefined) out[key] = fields[key];
  out.meta_data = metaData;
  if (item.fingerprint !== undefined) out.fingerprint = item.fingerprint.slice(0, 256);
  if (item.resolved !== undefined) out.resolved = item.resolved;
  return out;
}

/** Creates the webhook sources API over the store. */
export function createWebhookSourcesApi(
  ctx: EngineContext,
  deps: { registry: ConnectorRegistry; audit: AuditRecorder; limits?: Partial<MappingLimits> },
): WebhookSourcesApi {
  const { storage } = ctx;
  const log = ctx.logger.child({ component: "webhook-sources" });
  const limits: MappingLimits = { ...defaultMappingLimits, ...deps.limits };
  /** Compiled mappings by source id and expressions: a source's expressions compile once. */
  const cache = new Map<number, { key: string; compiled: CompiledMapping }>();

  async function find(name: string): Promise<WebhookSourceRecord | undefined> {
    if (!SourceName.safeParse(name).success) return undefined;
    const [record] = await storage.webhookSources.find({ where: { name }, limit: 1 });
    return record;
  }

  async function require(name: string): Promise<WebhookSourceRecord> {
    const record = await find(name);
    if (!record) {
      throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no webhook source named "${name.slice(0, 64)}"`, {
        details: { name: name.slice(0, 64) },
      });
    }
    return record;
  }

  function compiledOf(record: WebhookSourceRecord): CompiledMapping {
    const key = JSON.stringify([record.items, record.mapping, record.fingerprint, record.resolveWhen]);
    const hit = cache.get(record.id);
    if (hit && hit.key === key) return hit.compiled;
    const compiled = compileMapping(record, limits);
    cache.set(record.id, { key, compiled });
    return compiled;
  }

  async function map(compiled: CompiledMapping, body: unknown, source: string): Promise<MappingResult> {
    const items = await compiled.evaluate(body);
    const warnings: string[] = [];
    const fields: FieldProblem[] = [];
    const tickets: ValidTicketInput[] = [];
    items.forEach((item, i) => {
      const prefix = items.length > 1 ? `[${i}].` : "";
      const parsed = GenericWebhookTicket.safeParse(toGeneric(item, prefix, warnings));
      if (!parsed.success) {
        for (const issue of parsed.error.issues.slice(0, 10)) {
          fields.push({ field: `${prefix}${issue.path.map(String).join(".")}`, message: issue.message });
        }
        return;
      }
      const input = genericInput({ ...parsed.data, source }, source, prefix, warnings, fields);
      if (input) tickets.push(input);
    });
    if (fields.length > 0) {
      const first = fields[0]!;
      throw rwError(
        "RW_ERR_INPUT_MAPPING",
        `the mapping's result is not a valid ticket: ${first.field}: ${first.message}`,
        { details: { expression: "mapping", fields } },
      );
    }
    return { tickets, warnings };
  }

  async function audit(action: string, record: WebhookSourceRecord, options: WebhookSourceActorOptions) {
    await deps.audit.record({
      actor: options.actor.id,
      action: `webhook-source.${action}`,
      objectType: "webhook-source",
      objectId: String(record.id),
      origin: options.origin ?? null,
      details: { name: record.name, tokenPrefix: record.tokenPrefix },
    });
  }

  return {
    async create(input, options) {
      const parsed = WebhookSourceInput.safeParse(input);
      if (!parsed.success) invalidInput(parsed.error);
      const spec = parsed.data;
      if (
        deps.registry.has("monitoring", spec.name) ||
        deps.registry.notConfigured("monitoring", spec.name)
      ) {
        throw rwError(
          "RW_ERR_STORAGE_CONFLICT",
          `"${spec.name}" is a monitoring connector's webhook source`,
          {
            details: {
              name: spec.name,
              fields: [{ field: "name", message: "taken by a monitoring connector" }],
            },
          },
        );
      }
      compileMapping(spec, limits);
      const { token, tokenHash, tokenPrefix } = newToken();
      const now = ctx.nowIso();
      const record = await storage.webhookSources.insert({
        name: spec.name,
        description: spec.description,
        items: spec.items ?? null,
        mapping: spec.mapping,
        fingerprint: spec.fingerprint ?? null,
        resolveWhen: spec.resolveWhen ?? null,
        tokenHash,
        tokenPrefix,
        createdAt: now,
        updatedAt: now,
        createdBy: options.actor.id,
        lastReceivedAt: null,
      });
      await audit("created", record, options);
      log.info({ source: record.name, actor: options.actor.id }, "webhook source created");
      return { source: view(record), token };
    },

    async list() {
      return (await storage.webhookSources.find({ order: "asc", limit: 1_000 })).map(view);
    },

    async get(name) {
      return view(await require(name));
    },

    async has(name) {
      return (await find(name)) !== undefined;
    },

    async update(name, changes, options) {
      const parsed = WebhookSourceChanges.safeParse(changes);
      if (!parsed.success) invalidInput(parsed.error);
      const record = await require(name);
      const next = {
        description: parsed.data.description ?? record.description,
        items: parsed.data.items === undefined ? record.items : parsed.data.items,
        mapping: parsed.data.mapping ?? record.mapping,
        fingerprint: parsed.data.fingerprint === undefined ? record.fingerprint : parsed.data.fingerprint,
        resolveWhen: parsed.data.resolveWhen === undefined ? record.resolveWhen : parsed.data.resolveWhen,
      };
      compileMapping(next, limits);
      const updated = await storage.webhookSources.update(record.id, record.version, {
        ...next,
        updatedAt: ctx.nowIso(),
      });
      await audit("updated", updated, options);
      return view(updated);
    },

    async rotateToken(name, options) {
      const record = await require(name);
      const { token, tokenHash, tokenPrefix } = newToken();
      const updated = await storage.webhookSources.update(record.id, record.version, {
        tokenHash,
        tokenPrefix,
        updatedAt: ctx.nowIso(),
      });
      await audit("token-rotated", updated, options);
      return { source: view(updated), token };
    },

    async remove(name, options) {
      const record = await require(name);
      await storage.webhookSources.delete(record.id, record.version);
      cache.delete(record.id);
      await audit("deleted", record, options);
    },

    async tryMapping(spec, body, source = "try") {
      const parsed = WebhookMappingSpec.safeParse(spec);
      if (!parsed.success) invalidInput(parsed.error);
      return map(compileMapping(parsed.data, limits), body, source);
    },

    async receive(name, request) {
      const record = await find(name);
      if (!record) return undefined;
      const token = presentedToken(request.headers);
      if (token === undefined || !sameHash(hashToken(token), record.tokenHash)) {
        throw rwError(
          "RW_ERR_AUTH_UNAUTHENTICATED",
          `the webhook source "${name}" needs its token in Authorization: Bearer or X-Runwarden-Webhook-Token`,
          { details: { source: name } },
        );
      }
      const result = await map(compiledOf(record), request.body, record.name);
      // Best effort and at most every 10 s per source: a write per webhook would cost a commit
      // each, and a lost race on lastReceivedAt is not worth failing the webhook.
      const now = ctx.clock.now();
      const last = record.lastReceivedAt ? Date.parse(record.lastReceivedAt) : 0;
      if (now - last >= 10_000) {
        storage.webhookSources
          .update(record.id, record.version, { lastReceivedAt: new Date(now).toISOString() })
          .catch(() => undefined);
      }
      return result;
    },
  };
}
