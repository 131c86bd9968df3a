/**
 * Credentials (`/connectors/credentials`). The connector guide's request bodies work verbatim: a
 * credential is a flat object whose extra fields (username, password, host, …) are the
 * credential's fields, checked against its type; the fields the type marks secret are sealed by
 * the vault and never returned.
 */
import { z } from "@hono/zod-openapi";
import { type CredentialView, rwError } from "@runwarden/core";
import { IdParams, ListFilter } from "../internal/endpoint.js";
import { actorOptions, type RouteContext } from "./context.js";

/** A credential as every endpoint shows it: secrets are `********`. */
const CredentialWire = z
  .object({
    id: z.number().int(),
    name: z.string(),
    credential_type: z.string(),
    environment: z.string(),
    fields: z.record(z.string(), z.unknown()).openapi({
      description: "Every field; secret ones as `********`",
      example: { username: "admin", password: "********" },
    }),
    secret_fields: z.array(z.string()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Credential");
const CredentialListWire = z.object({ items: z.array(CredentialWire) });

const FieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** The documented body: flat, extra keys are the credential's fields. */
const CredentialBodyWire = z
  .object({
    name: z.string().openapi({ example: "prod-db-credentials" }),
    credential_type: z.string().openapi({ example: "database" }),
    environment: z.string().optional().openapi({ example: "prod" }),
    secret_fields: z.array(z.string()).optional().openapi({
      description:
        "More field names to seal, beyond those the credential type marks secret (see GET /connectors/credential-types)",
    }),
  })
  .catchall(FieldValue)
  .openapi("CredentialInput", {
    example: {
      name: "prod-db-credentials",
      credential_type: "database",
      environment: "prod",
      username: "admin",
      password: "secret",
      host: "db.example.com",
      port: 5432,
      database_name: "mydb",
    },
  });
const CredentialChangesWire = z
  .record(z.string(), FieldValue.or(z.array(z.string())))
  .openapi("CredentialChanges", {
    description:
      "Fields to change; `null` removes one; a secret sent back as `********` keeps the stored value.",
  });
const RotateBodyWire = z.record(z.string(), z.string().min(1)).openapi("CredentialRotation", {
  description: 'New values of secret fields, e.g. `{ "password": "n3w" }`',
});

/**
 * The wire body's meta keys are snake_case; a credential's own fields (`database_name`,
 * `private_key`, …) are stored under exactly the names the caller used, because connectors read
 * them by those names.
 */
const credentialMetaKeys: Record<string, string> = {
  credential_type: "credentialType",
  secret_fields: "secretFields",
};

function credentialFromWire(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) out[credentialMetaKeys[key] ?? key] = value;
  return out;
}

function credentialToWire(view: CredentialView): z.infer<typeof CredentialWire> {
  return {
    id: view.id,
    name: view.name,
    credential_type: view.credentialType,
    environment: view.environment,
    fields: view.fields,
    secret_fields: view.secretFields,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
  };
}

function objectBody(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw rwError("RW_ERR_INPUT_INVALID", "the request body must be a JSON object", {
      details: { fields: [{ field: "(body)", message: "must be an object" }] },
    });
  }
  return value as Record<string, unknown>;
}

export function credentialRoutes(route: RouteContext): void {
  const { engine } = route;
  const operator = { roles: ["operator"] } as const;
  const admin = { roles: ["admin"] } as const;

  route.add({
    method: "post",
    path: "/connectors/credentials",
    tag: "credentials",
    summary: "Create a credential",
    description:
      "The body is flat: besides `name`, `credential_type`, `environment` and `secret_fields`, every key is a field of the credential, checked against its type (GET /connectors/credential-types): an unknown field is a 422 naming it. The fields the type marks secret are sealed with AES-256-GCM and never returned; the `generic` type seals every field not on its public list.",
    access: admin,
    body: { wire: CredentialBodyWire },
    responses: { 201: { description: "The credential, secrets masked", wire: CredentialWire } },
    async handler(c, { body, actor }) {
      const input = credentialFromWire(objectBody(body));
      const created = await engine.credentials.create(input as never, actorOptions(route, c, actor));
      return c.json(credentialToWire(created), 201);
    },
  });

  route.add({
    method: "get",
    path: "/connectors/credentials",
    tag: "credentials",
    summary: "List credentials (secrets masked)",
    access: operator,
    query: ListFilter,
    responses: { 200: { description: "Credentials", wire: CredentialListWire } },
    async handler(c, { query }) {
      const items = await engine.credentials.list({
        ...(query.environment !== undefined ? { environment: query.environment } : {}),
        ...(query.type !== undefined ? { credentialType: query.type } : {}),
      });
      return c.json({ items: items.map(credentialToWire) });
    },
  });

  route.add({
    method: "get",
    path: "/connectors/credentials/{id}",
    tag: "credentials",
    summary: "Get a credential (secrets masked)",
    access: operator,
    params: IdParams,
    responses: { 200: { description: "The credential", wire: CredentialWire } },
    async handler(c, { params }) {
      return c.json(credentialToWire(await engine.credentials.get(params.id)));
    },
  });

  route.add({
    method: "patch",
    path: "/connectors/credentials/{id}",
    tag: "credentials",
    summary: "Change a credential's fields",
    access: admin,
    params: IdParams,
    body: { wire: CredentialChangesWire },
    responses: { 200: { description: "The credential, secrets masked", wire: CredentialWire } },
    async handler(c, { params, body, actor }) {
      const changes = credentialFromWire(objectBody(body));
      const updated = await engine.credentials.update(
        params.id,
        changes as never,
        actorOptions(route, c, actor),
      );
      return c.json(credentialToWire(updated));
    },
  });

  route.add({
    method: "post",
    path: "/connectors/credentials/{id}/rotate",
    tag: "credentials",
    summary: "Rotate a credential's secrets",
    description:
      "Replaces secret fields (e.g. a new password) and nothing else. Pending approvals bound to the old secret are voided.",
    access: admin,
    params: IdParams,
    body: { wire: RotateBodyWire },
    responses: { 200: { description: "The credential, secrets masked", wire: CredentialWire } },
    async handler(c, { params, body, actor }) {
      const current = await engine.credentials.get(params.id);
      const changes = credentialFromWire(body);
      const keys = Object.keys(changes);
      if (keys.length === 0) {
        throw rwError("RW_ERR_INPUT_INVALID", "name at least one secret field to rotate", {
          details: { fields: [{ field: "(body)", message: "no secret fields given" }] },
        });
      }
      const notSecret = keys.filter((k) => !current.secretFields.includes(k));
      if (notSecret.length > 0) {
        throw rwError(
          "RW_ERR_INPUT_INVALID",
          `not a secret field of this credential: ${notSecret.join(", ")}`,
          {
            details: {
              fields: notSecret.map((k) => ({ field: k, message: "is not a secret field" })),
            },
          },
        );
      }
      const updated = await engine.credentials.update(
        params.id,
        changes as never,
        actorOptions(route, c, actor),
      );
      return c.json(credentialToWire(updated));
    },
  });

  route.add({
    method: "delete",
    path: "/connectors/credentials/{id}",
    tag: "credentials",
    summary: "Delete a credential",
    description: "Refused with 409 while a connection uses it.",
    access: admin,
    params: IdParams,
    responses: { 204: { description: "Deleted" } },
    async handler(c, { params, actor }) {
      await engine.credentials.delete(params.id, actorOptions(route, c, actor));
      return c.body(null, 204);
    },
  });
}
