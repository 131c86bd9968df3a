/**
 * One declaration per endpoint: its path, roles, input schemas and documented responses. `mount`
 * registers it in the OpenAPI registry and installs a Hono handler that authenticates, checks the
 * role, parses params/query/body with zod (422 with the offending fields) and converts the body
 * from snake_case to the camelCase shape core expects.
 */
import type { OpenAPIHono, z as zod } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { type Role, rwError } from "@runwarden/core";
import type { Context } from "hono";
import { fromNodeHttp, readJson, readText } from "./body.js";
import { ErrorBody, invalidInput } from "./errors.js";
import type { PlainRequest, PlainResult } from "./fast.js";
import { fromWire, snakeSchema, toWire } from "./wire.js";

/** Who is calling: the token's actor and roles. */
export interface AuthActor {
  id: string;
  roles: readonly Role[];
  tokenId: number | null;
}

export interface AdapterEnv {
  Variables: {
    actor: AuthActor | undefined;
  };
}

export type Ctx = Context<AdapterEnv>;

/** Who may call an endpoint: token roles (any one suffices; admin always), or nobody checked. */
export type Access = { roles: readonly Role[] } | "public" | "custom";

type Schema = zod.ZodType;
type Out<S> = S extends Schema ? zod.output<S> : undefined;

export interface ResponseSpec {
  description: string;
  /** A core (camelCase) schema: documented in snake_case. */
  schema?: Schema;
  /** A schema already in wire shape. */
  wire?: Schema;
  contentType?: string;
}

export interface EndpointSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: `/tickets/{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: P;
  /** Query schema, in wire (snake_case) shape; values arrive as strings (use z.coerce). */
  query?: Q;
  /**
   * A JSON body: `schema` is core's camelCase schema (the wire shape is derived from it), or
   * `wire` is a schema written in wire shape whose output is handed over as is.
   */
  body?: { schema?: B; wire?: B; required?: boolean; limitBytes?: number };
  /** Documented request body for endpoints that read the body themselves. */
  requestBody?: { description: string; content: Record<string, { schema: Schema }> };
  responses: Record<number, ResponseSpec>;
  handler(
    c: Ctx,
    input: { params: Out<P>; query: Out<Q>; body: Out<B>; actor: AuthActor },
  ): Promise<Response> | Response;
  /**
   * The fast path (see internal/fast.ts): the endpoint's logic over a {@link PlainRequest}, which
   * the node:http entry runs straight from IncomingMessage/ServerResponse. `handler` must run the
   * same logic (over {@link plainRequest}). Only for endpoints without a `body` spec.
   */
  fast?(req: PlainRequest, input: { params: Out<P>; query: Out<Q>; actor: AuthActor }): Promise<PlainResult>;
}

/** A fast route as mount hands it to the adapter: the node:http entry matches and runs it. */
export interface FastSpec {
  method: string;
  /** OpenAPI style, under the API root. */
  path: string;
  /** Hono's path for it (`/tickets/webhook/:source`): the metrics' route label. */
  label: string;
  run(req: PlainRequest, params: Record<string, string>): Promise<PlainResult>;
}

export interface MountOptions {
  /** Authenticates the request (or not): called for every non-public endpoint. */
  authenticate(c: Ctx): Promise<AuthActor | undefined>;
  jsonLimitBytes: number;
  /** Registers a wire schema under a component name, once. */
  component(name: string, schema: Schema): Schema;
  /** Receives each endpoint declared with `fast`. */
  fast?(spec: FastSpec): void;
}

const names = new WeakMap<Schema, string>();

/** Gives a core schema the component name its wire form is documented under. */
export function named<S extends Schema>(name: string, schema: S): S {
  names.set(schema, name);
  return schema;
}

function wireDoc(schema: Schema, options: MountOptions): Schema {
  const name = names.get(schema);
  const wire = snakeSchema(schema);
  return name ? options.component(name, wire) : wire;
}

export function unauthenticated(
  message = "missing or invalid token: send `Authorization: Bearer <token>`",
): Error {
  return rwError("RW_ERR_AUTH_UNAUTHENTICATED", message);
}

export function forbidden(needed: readonly Role[]): Error {
  return rwError("RW_ERR_AUTH_FORBIDDEN", `this operation needs one of the roles: ${needed.join(", ")}`, {
    details: { requiredRoles: [...needed] },
  });
}

export function requireRoles(actor: AuthActor | undefined, needed: readonly Role[]): AuthActor {
  if (!actor) throw unauthenticated();
  if (actor.roles.includes("admin") || needed.some((r) => actor.roles.includes(r))) return actor;
  throw forbidden(needed);
}

/** The public actor for endpoints that need none. */
const anonymous: AuthActor = { id: "anonymous", roles: [], tokenId: null };

function parseWith<S extends Schema>(schema: S, value: unknown, what: string): zod.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error, what);
  return result.data;
}

export function mount<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
>(app: OpenAPIHono<AdapterEnv>, spec: EndpointSpec<P, Q, B>, options: MountOptions): void {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const schema = r.schema ? wireDoc(r.schema, options) : r.wire;
    responses[status] = {
      description: r.description,
      ...(schema ? { content: { [r.contentType ?? "application/json"]: { schema } } } : {}),
    };
  }
  const errorContent = { content: { "application/json": { schema: options.component("Error", ErrorBody) } } };
  if (spec.access !== "public") {
    responses["401"] ??= { description: "Missing or invalid token", ...errorContent };
    responses["403"] ??= { description: "The token lacks the role", ...errorContent };
  }
  if (spec.params || spec.query || spec.body) {
    responses["422"] ??= {
      description: "Invalid input: `fields` names each offending field",
      ...errorContent,
    };
  }
  const bodyDoc = spec.body
    ? {
        required: spec.body.required ?? true,
        content: {
          "application/json": {
            schema: spec.body.schema ? wireDoc(spec.body.schema, options) : spec.body.wire!,
          },
        },
      }
    : spec.requestBody;
  const roles = typeof spec.access === "object" ? spec.access.roles : [];
  app.openAPIRegistry.registerPath({
    method: spec.method,
    path: spec.path,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description || roles.length > 0
      ? {
          description: [spec.description, roles.length > 0 ? `Roles: ${[...roles, "admin"].join(", ")}.` : ""]
            .filter(Boolean)
            .join("\n\n"),
        }
      : {}),
    ...(spec.access === "public" ? { security: [] } : {}),
    request: {
      ...(spec.params ? { params: spec.params as unknown as zod.ZodObject } : {}),
      ...(spec.query ? { query: spec.query as unknown as zod.ZodObject } : {}),
      ...(bodyDoc ? { body: bodyDoc as never } : {}),
    },
    responses: responses as never,
  });

  const honoPath = spec.path.replace(/\{([^}]+)\}/g, ":$1");
  app.on(spec.method.toUpperCase(), honoPath, async (c) => {
    let actor = anonymous;
    if (typeof spec.access === "object") {
      actor = requireRoles(await options.authenticate(c), spec.access.roles);
    } else if (spec.access === "custom") {
      actor = (await options.authenticate(c).catch(() => undefined)) ?? anonymous;
    }
    const params = (
      spec.params ? parseWith(spec.params, c.req.param(), "path parameter") : undefined
    ) as Out<P>;
    const query = (
      spec.query ? parseWith(spec.query, c.req.query(), "query parameter") : undefined
    ) as Out<Q>;
    let body = undefined as Out<B>;
    if (spec.body) {
      const raw = await readJson(c.req.raw, spec.body.limitBytes ?? options.jsonLimitBytes);
      if (raw === undefined && spec.body.required !== false) {
        throw rwError("RW_ERR_INPUT_INVALID", "a JSON request body is required", {
          details: { fields: [{ field: "(body)", message: "required" }] },
        });
      }
      const value = raw ?? {};
      if (raw === undefined && spec.body.required === false) {
        // An optional body that was not sent: the handler decides.
      } else if (spec.body.schema) {
        const converted = fromWire(spec.body.schema, value);
        body = parseWith(spec.body.schema, converted, "request body") as Out<B>;
      } else {
        body = parseWith(spec.body.wire!, value, "request body") as Out<B>;
      }
    }
    return spec.handler(c, { params, query, body, actor });
  });

  if (spec.fast && options.fast) {
    if (spec.body) {
      throw rwError("RW_ERR_INTERNAL", `fast path for ${spec.path}: only endpoints without a body spec`);
    }
    const fast = spec.fast;
    options.fast({
      method: spec.method.toUpperCase(),
      path: spec.path,
      label: honoPath,
      // The same order of checks as the Hono handler above: access, parameters, query.
      async run(req, rawParams) {
        let actor = anonymous;
        if (typeof spec.access === "object") {
          actor = requireRoles(await req.authenticate(), spec.access.roles);
        } else if (spec.access === "custom") {
          actor = (await req.authenticate().catch(() => undefined)) ?? anonymous;
        }
        const params = (
          spec.params ? parseWith(spec.params, rawParams, "path parameter") : undefined
        ) as Out<P>;
        const query = (
          spec.query ? parseWith(spec.query, req.query(), "query parameter") : undefined
        ) as Out<Q>;
        return fast(req, { params, query, actor });
      },
    });
  }
}

/** A {@link PlainRequest} over Hono's context: what an endpoint's `handler` hands its `fast` logic. */
export function plainRequest(c: Ctx, authenticate: (c: Ctx) => Promise<AuthActor | undefined>): PlainRequest {
  return {
    header: (name) => c.req.header(name),
    headers() {
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, key) => {
        headers[key] = value;
      });
      return headers;
    },
    query: () => c.req.query(),
    readText: (limit) => readText(c.req.raw, limit, fromNodeHttp(c.env)),
    authenticate: () => authenticate(c),
  };
}

/** A core value in its snake_case wire shape, checked against its schema first when `validate`. */
export function wireValue(schema: Schema, value: unknown, validate: boolean): object {
  if (validate) {
    const result = schema.safeParse(value);
    if (!result.success) {
      throw rwError("RW_ERR_INTERNAL", "response failed its schema", {
        details: { issues: result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
      });
    }
  }
  return toWire(schema, value) as object;
}

/** Sends a core value as snake_case JSON, optionally checking it against its schema first. */
export function sendJson(
  c: Ctx,
  status: number,
  schema: Schema,
  value: unknown,
  validate: boolean,
): Response {
  const wire = wireValue(schema, value, validate);
  const direct = c.env ? directJson.get(c.env as object) : undefined;
  if (direct) {
    // Mounted through node:http: the listener writes the text itself, so the Response carries no
    // body (a web body stream per answer costs more than the rest of a small request).
    const response = c.body(null, status as 200, { "Content-Type": "application/json" });
    direct.response = response;
    direct.text = JSON.stringify(wire);
    return response;
  }
  return c.json(wire, status as 200);
}

/** A JSON answer sendJson left for the node:http listener to write (see node.ts). */
export interface DirectJson {
  response?: Response;
  text?: string;
}

/** Set by the node:http listener for each request it hands to the adapter, by the request's env. */
export const directJson = new WeakMap<object, DirectJson>();

/** `{ id }` path parameter: a positive integer. */
export const IdParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 1 }),
});

/** `?environment=&type=`: the filter of the credential and connection listings. */
export const ListFilter = z.object({
  environment: z.string().max(64).optional(),
  type: z.string().max(64).optional(),
});

/** Keyset pagination in every list. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Only items with an id below this one (lists are newest first). */
  cursor: z.coerce.number().int().positive().optional(),
};

/** A list answer: the items and the cursor of the next page (null at the end). */
export function listOf(schema: Schema): Schema {
  return z.object({ items: z.array(schema), nextCursor: z.number().int().nullable() });
}
