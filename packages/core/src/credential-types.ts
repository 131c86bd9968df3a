/**
 * Credential types: the fields each kind of credential has and which of them are secret, from one
 * zod object schema per type whose secret fields are marked with `secret()`. The vault seals, the
 * APIs mask and the dashboard's form shows exactly what a type declares; nothing is guessed from a
 * field's name. Connectors declare the types they accept (`credentialTypes` in `defineConnector`);
 * core adds `database` (the connector guide's body) and `generic`.
 */
import { z } from "zod";
import { rwError } from "./errors.js";
import { isSecretSchema, secret } from "./plugin.js";

/** A credential type's schema: a zod object of scalar fields. */
export type CredentialSchema = z.ZodObject;

/** One field of a credential type, as the dashboard builds a form from it. */
export interface CredentialTypeField {
  /** The field's name in the credential. */
  name: string;
  /** Sealed by the vault, masked in every response, a password input in a form. */
  secret: boolean;
  /** True when a credential of this type must have it. */
  required: boolean;
  /** The field's value type; `enum` lists its choices in `options`. */
  type: "string" | "number" | "boolean" | "enum";
  /** The choices of an `enum` field. */
  options?: string[];
  /** A short help text for the form. */
  description?: string;
}

/** A credential type and its fields. */
export interface CredentialTypeInfo {
  /** The type's name (`ssh`, `database`, `generic`, a connector's own). */
  name: string;
  /** One line for people, or null. */
  description: string | null;
  /**
   * True for `generic`: any field name, every field not on `publicFields` is secret. `fields` is
   * empty for it.
   */
  generic: boolean;
  /** The type's fields, in schema order. */
  fields: CredentialTypeField[];
  /** For `generic`: the field names that are stored in clear; every other field is sealed. */
  publicFields: string[];
  /** The connectors that accept it (`database` lists the SQL connectors). */
  connectors: string[];
}

/** The name of the free-form type. */
export const genericCredentialType = "generic";

/**
 * Field names the `generic` type stores in clear (compared lower-case, `-` as `_`). Every other
 * field of a generic credential is a secret, whatever its name.
 */
export const genericPublicFields: readonly string[] = Object.freeze([
  "username",
  "user",
  "login",
  "host",
  "hostname",
  "port",
  "database",
  "database_name",
  "schema",
  "region",
  "domain",
  "tenant",
  "tenant_id",
  "account",
  "account_id",
  "project",
  "project_id",
  "organization",
  "url",
  "base_url",
  "endpoint",
  "email",
  "client_id",
  "auth_method",
  "description",
]);

/**
 * The connector guide's database credential:
 * `{ "username", "password", "host", "port", "database_name" }` (besides `name`,
 * `credential_type: "database"` and `environment`). Accepted by the PostgreSQL and MySQL
 * connectors.
 */
export const databaseCredential = z.object({
  username: z.string().min(1).describe("The database user"),
  password: secret(z.string()).optional().describe("The user's password (empty or absent for trust auth)"),
  host: z.string().min(1).optional().describe("Used when the connection has no target_host"),
  port: z
    .number()
    .int()
    .min(1)
    .max(65_535)
    .optional()
    .describe("Used when the connection has no target_port"),
  database_name: z.string().min(1).optional().describe("Used when the connection's options name none"),
});

/** The built-in typed credential types, by name. */
export const builtInCredentialTypes: Readonly<Record<string, CredentialSchema>> = Object.freeze({
  database: databaseCredential,
});

const typeName = /^[a-z][a-z0-9_-]{0,63}$/;

interface TypeEntry {
  name: string;
  schema: CredentialSchema | null;
  fields: CredentialTypeField[];
  secretFields: string[];
  connectors: Set<string>;
}

/** The engine's credential types. Internal: built by the connector registry. */
export interface CredentialTypeRegistry {
  /** Checks a connector's declared types; throws RW_ERR_PLUGIN_INVALID / RW_ERR_PLUGIN_DUPLICATE. */
  check(connector: string, types: Readonly<Record<string, unknown>> | undefined): void;
  /** Checks and adds a connector's types. */
  add(connector: string, types: Readonly<Record<string, unknown>> | undefined): void;
  /** The type of that name, or undefined. */
  get(name: string): ResolvedCredentialType | undefined;
  /** Every type, sorted by name. */
  list(): CredentialTypeInfo[];
  /** Names of every type, sorted. */
  names(): string[];
}

/** A type as the credentials API uses it. */
export interface ResolvedCredentialType {
  name: string;
  /** null for `generic`. */
  schema: CredentialSchema | null;
  fields: readonly CredentialTypeField[];
  /** Names of the fields it marks secret (empty for generic: see `isSecret`). */
  secretFields: readonly string[];
  /** Whether a field of this type is secret. */
  isSecret(field: string): boolean;
}

/** Creates the registry with the built-in types. */
export function createCredentialTypeRegistry(): CredentialTypeRegistry {
  const entries = new Map<string, TypeEntry>();
  entries.set(genericCredentialType, {
    name: genericCredentialType,
    schema: null,
    fields: [],
    secretFields: [],
    connectors: new Set(),
  });
  for (const [name, schema] of Object.entries(builtInCredentialTypes)) {
    entries.set(name, { name, schema, ...describeSchema(name, schema, "core"), connectors: new Set() });
  }

  const validate = (
    connector: string,
    types: Readonly<Record<string, unknown>> | undefined,
  ): [string, CredentialSchema][] => {
    if (types === undefined) return [];
    if (typeof types !== "object" || types === null || Array.isArray(types)) {
      throw invalidDeclaration(connector, "credentialTypes", "must be an object of zod object schemas");
    }
    const accepted: [string, CredentialSchema][] = [];
    for (const [name, schema] of Object.entries(types)) {
      if (!typeName.test(name)) {
        throw invalidDeclaration(
          connector,
          `credentialTypes.${name}`,
          "must be a lower-case name (a-z, 0-9, _ and -)",
        );
      }
      if (name === genericCredentialType) {
        if (schema !== genericCredential) {
          throw invalidDeclaration(
            connector,
            `credentialTypes.${name}`,
            "is the built-in free-form type: use `genericCredential`",
          );
        }
        accepted.push([name, schema as CredentialSchema]);
        continue;
      }
      if (!(schema instanceof z.ZodObject)) {
        throw invalidDeclaration(
          connector,
          `credentialTypes.${name}`,
          "must be a zod object schema (z.object)",
        );
      }
      const existing = entries.get(name);
      if (existing && existing.schema !== schema) {
        throw rwError(
          "RW_ERR_PLUGIN_DUPLICATE",
          `credential type "${name}" is already declared with other fields${existing.connectors.size > 0 ? ` by ${[...existing.connectors].join(", ")}` : " by core"}; reuse its schema (import it) or choose another name`,
          { details: { connector, credentialType: name } },
        );
      }
      describeSchema(name, schema, connector);
      accepted.push([name, schema]);
    }
    return accepted;
  };

  return {
    check(connector, types) {
      validate(connector, types);
    },
    add(connector, types) {
      for (const [name, schema] of validate(connector, types)) {
        const entry =
          entries.get(name) ??
          ({
            name,
            schema,
            ...describeSchema(name, schema, connector),
            connectors: new Set(),
          } satisfies TypeEntry);
        entry.connectors.add(connector);
        entries.set(name, entry);
      }
    },
    get(name) {
      const entry = entries.get(name);
      if (!entry) return undefined;
      const secrets = new Set(entry.secretFields);
      return {
        name: entry.name,
        schema: entry.schema,
        fields: entry.fields,
        secretFields: entry.secretFields,
        isSecret:
          entry.schema === null ? (field) => !isGenericPublicField(field) : (field) => secrets.has(field),
      };
    },
    list() {
      return [...entries.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((entry) => ({
          name: entry.name,
          description:
            entry.schema === null
              ? "Any fields; every field not on the public list is secret"
              : (entry.schema.description ?? null),
          generic: entry.schema === null,
          fields: entry.fields.map((field) => ({ ...field })),
          publicFields: entry.schema === null ? [...genericPublicFields] : [],
          connectors: [...entry.connectors].sort(),
        }));
    },
    names() {
      return [...entries.keys()].sort();
    },
  };
}

/**
 * The `generic` type, for a connector that accepts free-form credentials: declare
 * `credentialTypes: { generic: genericCredential }`. Its value is every stored field.
 */
export const genericCredential = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** True for a field the `generic` type stores in clear. */
export function isGenericPublicField(field: string): boolean {
  return genericPublicFields.includes(field.toLowerCase().replace(/-/g, "_"));
}

/**
 * The fields of a credential type's schema (name, secret, required, type), as the dashboard and
 * the connector testkit read them. Throws RW_ERR_PLUGIN_INVALID for a field it cannot store.
 */
export function credentialFields(schema: CredentialSchema): CredentialTypeField[] {
  return describeSchema("(type)", schema, "(connector)").fields;
}

/** Field names, secrets, requiredness and types of a credential schema; refuses what it cannot store. */
function describeSchema(
  type: string,
  schema: CredentialSchema,
  connector: string,
): { fields: CredentialTypeField[]; secretFields: string[] } {
  const fields: CredentialTypeField[] = [];
  for (const [name, node] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const { base, secret: isSecret, description } = unwrap(node);
    const def = base._zod.def as unknown as { type: string; entries?: Record<string, unknown> };
    let kind: CredentialTypeField["type"];
    let options: string[] | undefined;
    switch (def.type) {
      case "string":
        kind = "string";
        break;
      case "number":
      case "int":
        kind = "number";
        break;
      case "boolean":
        kind = "boolean";
        break;
      case "enum":
        kind = "enum";
        options = Object.values(def.entries ?? {}).map(String);
        break;
      default:
        throw invalidDeclaration(
          connector,
          `credentialTypes.${type}.${name}`,
          "must be a string, number, boolean or enum field",
        );
    }
    if (isSecret && kind !== "string") {
      throw invalidDeclaration(
        connector,
        `credentialTypes.${type}.${name}`,
        "a secret field must be a string",
      );
    }
    const required = !node.safeParse(undefined).success;
    fields.push({
      name,
      secret: isSecret,
      required,
      type: kind,
      ...(options ? { options } : {}),
      ...(description ? { description } : {}),
    });
  }
  return { fields, secretFields: fields.filter((f) => f.secret).map((f) => f.name) };
}

/** Looks through optional/default/nullable wrappers; secret if any layer is marked. */
function unwrap(node: z.ZodType): { base: z.ZodType; secret: boolean; description: string | undefined } {
  let current = node;
  let isSecret = false;
  let description: string | undefined;
  for (let depth = 0; depth < 16; depth++) {
    if (isSecretSchema(current)) isSecret = true;
    description ??= current.description;
    const def = current._zod.def as unknown as { type: string; innerType?: z.ZodType };
    if (
      (def.type === "optional" ||
        def.type === "nullable" ||
        def.type === "default" ||
        def.type === "prefault" ||
        def.type === "readonly") &&
      def.innerType
    ) {
      current = def.innerType;
      continue;
    }
    break;
  }
  return { base: current, secret: isSecret, description };
}

function invalidDeclaration(connector: string, path: string, message: string) {
  return rwError("RW_ERR_PLUGIN_INVALID", `connector "${connector}" has an invalid declaration`, {
    details: { connector, issues: [{ path, message }] },
  });
}
