/**
 * Credentials: named sets of fields for reaching a system. Secret fields are sealed by the vault
 * and are write-only through every API: they are listed as `********`, and leave the vault only
 * into a connector call.
 */
import { z } from "zod";
import type { AuditLog } from "./audit.js";
import {
  type CredentialTypeRegistry,
  genericCredentialType,
  isGenericPublicField,
  type ResolvedCredentialType,
} from "./credential-types.js";
import type { CredentialRecord } from "./domain.js";
import { isRunwardenError, rwError } from "./errors.js";
import type { EngineContext } from "./internal/context.js";
import type { ResolvedCredential } from "./plugin.js";
import type { Actor } from "./policy.js";
import { notFound } from "./storage-kit.js";
import type { Vault } from "./vault.js";

/** How a secret is shown in every listing. */
export const maskedSecret = "********";

/**
 * A credential as the API takes it: the connector guide's body, camelCased by the HTTP adapter
 * (`{ name, credentialType, environment, username, password, host, port, database_name }`), stored
 * under the names given. Every field other than `name`, `credentialType`, `environment` and
 * `secretFields` is a field of the credential, checked against its type: a type declared by a
 * connector (or core's `database`) takes exactly its schema's fields and seals those marked
 * `secret()`; the `generic` type takes any field and seals every one not on its public list
 * (`genericPublicFields`). Nothing is judged secret by its name.
 */
export interface CredentialInput {
  /** The credential's unique name. */
  name: string;
  /**
   * Its type (`ssh`, `database`, `generic`, a connector's own); decides which fields it takes and
   * which are sealed.
   */
  credentialType: string;
  /**
   * The environment it may be used in (`production`, …); a connection using it must be of the same
   * one. Default: none.
   */
  environment?: string;
  /** Extra field names to seal, beyond those the type marks secret (never fewer). */
  secretFields?: readonly string[];
  [field: string]: unknown;
}

/**
 * A change: fields given replace stored ones, `null` removes one, and a secret given as
 * `********` (a masked value sent back by a form) keeps the stored secret.
 */
export type CredentialChanges = Partial<CredentialInput>;

/** A credential as every API shows it: secret fields masked. */
export interface CredentialView {
  /** The credential's id. */
  id: number;
  /** Its unique name. */
  name: string;
  /** Its type. */
  credentialType: string;
  /** The environment it may be used in. */
  environment: string;
  /** Every field, secrets as `********`. */
  fields: Record<string, unknown>;
  /** Names of its sealed fields (masked in `fields`). */
  secretFields: string[];
  /** When it was created (ISO 8601). */
  createdAt: string;
  /** When it was last changed (ISO 8601). */
  updatedAt: string;
}

/** Who acts, for the audit log. */
export interface ActorOptions {
  /** Who acts: an actor or an actor id. Default: the engine. */
  actor?: Actor | string;
  /** Where the actor acted from (an IP, "cli"). */
  origin?: string;
}

/** `engine.credentials`: credentials sealed by the vault; every response masks their secrets. */
export interface CredentialsApi {
  /** Stores a credential; its secrets are sealed before they reach the store. */
  create(input: CredentialInput, options?: ActorOptions): Promise<CredentialView>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND when there is no such credential. */
  get(id: number): Promise<CredentialView>;
  /** The stored credentials, masked, optionally only of one environment or type. */
  list(filter?: { environment?: string; credentialType?: string }): Promise<CredentialView[]>;
  /**
   * Changes a credential (see {@link CredentialChanges}); re-seals its secrets. Throws
   * RW_ERR_STORAGE_NOT_FOUND, or RW_ERR_INPUT_INVALID for fields its type does not take.
   */
  update(id: number, changes: CredentialChanges, options?: ActorOptions): Promise<CredentialView>;
  /** Refuses (RW_ERR_STORAGE_CONFLICT) while a connection uses the credential. */
  delete(id: number, options?: ActorOptions): Promise<void>;
  /**
   * Makes `newKey` the vault's key and re-seals every credential with it. Configure the new key
   * (RUNWARDEN_MASTER_KEY) before the next start: secrets sealed with it cannot be opened without it.
   */
  rotateKey(newKey: string | Buffer, options?: ActorOptions): Promise<{ rotated: number; keyId: string }>;
}

const metaKeys = new Set([
  "name",
  "credentialType",
  "environment",
  "secretFields",
  "id",
  "createdAt",
  "updatedAt",
]);

const MetaSchema = z.object({
  name: z.string().trim().min(1).max(128),
  credentialType: z.string().trim().min(1).max(64),
  environment: z.string().trim().max(64).default(""),
  secretFields: z.array(z.string().min(1).max(128)).max(64).default([]),
});

const FieldName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be a plain field name");
const FieldValue = z.union([z.string().max(65_536), z.number(), z.boolean(), z.null()]);

/** Creates the credentials API. */
export function createCredentialsApi(
  ctx: EngineContext,
  deps: { vault: Vault; audit: AuditLog; types: CredentialTypeRegistry },
): CredentialsApi {
  const { vault, audit, types } = deps;
  const log = ctx.logger.child({ component: "credentials" });
  const store = ctx.storage.credentials;

  const load = async (id: number) => {
    const record = await store.get(id);
    if (!record) throw notFound("credential", id);
    return record;
  };
  const actorOf = (options?: ActorOptions) =>
    options?.actor === undefined
      ? "system"
      : typeof options.actor === "string"
        ? options.actor
        : options.actor.id;
  const recordChange = (
    record: CredentialRecord,
    change: "created" | "updated" | "deleted",
    options?: ActorOptions,
  ) => {
    ctx.events.emit("credential:changed", { credentialId: record.id, change });
    return audit.record({
      actor: actorOf(options),
      action: `credential.${change}`,
      objectType: "credential",
      objectId: record.id,
      origin: options?.origin ?? null,
      details: { name: record.name, credentialType: record.credentialType, environment: record.environment },
    });
  };
  /** The type of a new credential; an unknown name is refused with the known ones. */
  const typeOf = (name: string) => {
    const type = types.get(name);
    if (!type) {
      throw invalid([
        {
          field: "credentialType",
          message: `unknown credential type "${name.slice(0, 64)}"; known: ${types.names().join(", ")}`,
        },
      ]);
    }
    return type;
  };
  const show = (record: CredentialRecord) =>
    view(record, types.get(record.credentialType) ?? legacyType(record));

  return {
    async create(input, options) {
      // Every refused field is reported at once: the meta fields and the credential's own.
      const problems: { field: string; message: string }[] = [];
      const collect = <T>(check: () => T): T | undefined => {
        try {
          return check();
        } catch (err) {
          if (!isRunwardenError(err) || err.code !== "RW_ERR_INPUT_INVALID") throw err;
          problems.push(...((err.details?.fields ?? []) as { field: string; message: string }[]));
          return undefined;
        }
      };
      const meta = collect(() => parseMeta(input));
      const type = meta && collect(() => typeOf(meta.credentialType));
      const given = collect(() => fieldsOf(input));
      const split =
        meta && type && given && collect(() => splitFields(type, given, given, meta.secretFields));
      if (!meta || !split) throw invalid(problems);
      const { plain, secrets } = split;
      const now = ctx.nowIso();
      const record = await insertUnique(() =>
        store.insert({
          name: meta.name,
          credentialType: meta.credentialType,
          environment: meta.environment,
          fields: plain,
          secretFields: Object.keys(secrets).sort(),
          ciphertext: vault.seal(secrets),
          createdAt: now,
          updatedAt: now,
        }),
      );
      await recordChange(record, "created", options);
      log.info({ credentialId: record.id, name: record.name }, "credential created");
      return show(record);
    },

    async get(id) {
      return show(await load(id));
    },

    async list(filter = {}) {
      const records = await store.find({
        where: filter.environment !== undefined ? { environment: filter.environment } : {},
        order: "asc",
      });
      return records
        .filter(
          (record) => filter.credentialType === undefined || record.credentialType === filter.credentialType,
        )
        .map(show);
    },

    async update(id, changes, options) {
      const current = await load(id);
      const meta = parseMeta({
        name: changes.name ?? current.name,
        credentialType: changes.credentialType ?? current.credentialType,
        environment: changes.environment ?? current.environment,
        // A field once sealed stays sealed.
        secretFields: [...current.secretFields, ...(changes.secretFields ?? [])],
      });
      // A stored credential of a type no connector declares any more keeps working as generic,
      // with everything it sealed still sealed.
      const type =
        meta.credentialType === current.credentialType
          ? (types.get(meta.credentialType) ?? legacyType(current))
          : typeOf(meta.credentialType);
      const merged: Record<string, unknown> = { ...current.fields, ...vault.open(current.ciphertext) };
      const given = fieldsOf(changes, { allowNull: true });
      const secretNow = (key: string) => type.isSecret(key) || meta.secretFields.includes(key);
      for (const [key, value] of Object.entries(given)) {
        if (value === null) delete merged[key];
        else if (value === maskedSecret && secretNow(key)) continue;
        else merged[key] = value;
      }
      const changed = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null));
      const { plain, secrets } = splitFields(type, merged, changed, meta.secretFields);
      const record = await insertUnique(() =>
        store.update(id, current.version, {
          name: meta.name,
          credentialType: meta.credentialType,
          environment: meta.environment,
          fields: plain,
          secretFields: Object.keys(secrets).sort(),
          ciphertext: vault.seal(secrets),
          updatedAt: ctx.nowIso(),
        }),
      );
      await recordChange(record, "updated", options);
      return show(record);
    },
    async delete(id, options) {
      const current = await load(id);
      const users = await ctx.storage.connections.find({ where: { credentialId: id }, limit: 10 });
      if (users.length > 0) {
        throw rwError("RW_ERR_STORAGE_CONFLICT", `credential "${current.name}" is used by a connection`, {
          details: { entity: "credential", id, connections: users.map((c) => c.name) },
          retryable: false,
        });
      }
      await store.delete(id, current.version);
      await recordChange(current, "deleted", options);
    },

    async rotateKey(newKey, options) {
      const records = await store.find({ order: "asc" });
      // Open everything first: a credential the current keys cannot open stops the rotation
      // before anything was re-sealed.
      const opened = records.map((record) => ({ record, secrets: vault.open(record.ciphertext) }));
      // Connector configurations stored through the API are sealed with the same key.
      const configs = (await ctx.storage.connectorConfigs.find({ order: "asc" }))
        .filter((record) => record.ciphertext !== "")
        .map((record) => ({ record, secrets: vault.open(record.ciphertext) }));
      const { previousKeyId, keyId } = vault.rotate(newKey);
      for (const { record, secrets } of configs) {
        for (let attempt = 0, current = record; ; attempt++) {
          try {
            await ctx.storage.connectorConfigs.update(current.id, current.version, {
              ciphertext: vault.seal(secrets),
            });
            break;
          } catch (err) {
            if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 3) throw err;
            const fresh = await ctx.storage.connectorConfigs.get(current.id);
            if (!fresh || fresh.ciphertext === "" || vault.keyIdOf(fresh.ciphertext) === keyId) break;
            current = fresh;
            Object.assign(secrets, vault.open(fresh.ciphertext));
          }
        }
      }
      let rotated = 0;
      for (const { record, secrets } of opened) {
        let current = record;
        for (let attempt = 0; ; attempt++) {
          try {
            // updatedAt stays: a rotation changes no secret, so it voids no approval.
            await store.update(current.id, current.version, { ciphertext: vault.seal(secrets) });
            break;
          } catch (err) {
            if (!isRunwardenError(err) || err.code !== "RW_ERR_STORAGE_CONFLICT" || attempt >= 3) throw err;
            const fresh = await store.get(current.id);
            if (!fresh) break;
            current = fresh;
            if (vault.keyIdOf(fresh.ciphertext) === keyId) break;
            Object.assign(secrets, vault.open(fresh.ciphertext));
          }
        }
        rotated++;
        ctx.events.emit("credential:changed", { credentialId: record.id, change: "rotated" });
      }
      await audit.record({
        actor: actorOf(options),
        action: "vault.key_rotated",
        objectType: "vault",
        objectId: keyId,
        origin: options?.origin ?? null,
        details: { previousKeyId, keyId, rotated },
      });
      log.info({ keyId, previousKeyId, rotated }, "vault key rotated");
      return { rotated, keyId };
    },
  };
}

/**
 * Opens a credential for a connector call. Internal: only connection resolution calls it, and the
 * executor registers every secret it returns for redaction. `accepted` is the list of types the
 * connector takes (null: any); a credential of another type, or one that no longer matches its
 * type's schema, throws RW_ERR_EXEC_CONNECTION naming the fields (never a value).
 */
export async function resolveCredential(
  ctx: EngineContext,
  vault: Vault,
  id: number,
  access: { types: CredentialTypeRegistry; accepted: readonly string[] | null; connector?: string },
): Promise<{ credential: ResolvedCredential; record: CredentialRecord }> {
  const record = await ctx.storage.credentials.get(id);
  if (!record) {
    throw notFound("credential", id);
  }
  const { accepted, connector } = access;
  if (accepted !== null && !accepted.includes(record.credentialType)) {
    throw rwError(
      "RW_ERR_EXEC_CONNECTION",
      `credential "${record.name}" is of type "${record.credentialType}", but connector ${connector ?? "(unknown)"} accepts ${accepted.join(", ") || "no credential"}`,
      { details: { credentialId: record.id, credentialType: record.credentialType, accepted } },
    );
  }
  const type = access.types.get(record.credentialType) ?? legacyType(record);
  const opened = vault.open(record.ciphertext);
  const merged: Record<string, unknown> = { ...record.fields, ...opened };
  let value: Record<string, unknown> = merged;
  if (type.schema) {
    const parsed = type.schema.safeParse(merged);
    if (!parsed.success) {
      const fields = fieldIssues(parsed.error);
      throw rwError(
        "RW_ERR_EXEC_CONNECTION",
        `credential "${record.name}" does not match its type "${record.credentialType}" (${fields.map((f) => f.field).join(", ")}); update it`,
        { details: { credentialId: record.id, credentialType: record.credentialType, fields } },
      );
    }
    value = parsed.data as Record<string, unknown>;
  }
  const secrets: Record<string, string> = { ...opened };
  for (const [key, item] of Object.entries(merged)) {
    if (type.isSecret(key) && typeof item === "string" && item !== "") secrets[key] = item;
  }
  return {
    record,
    credential: {
      id: record.id,
      name: record.name,
      credentialType: record.credentialType,
      environment: record.environment,
      value,
      secrets,
    },
  };
}

/**
 * The masked view every API returns: a field is masked when it was sealed, or when its type marks
 * it secret (a record stored before the type did).
 */
export function view(
  record: CredentialRecord,
  type?: Pick<ResolvedCredentialType, "isSecret">,
): CredentialView {
  const fields: Record<string, unknown> = { ...record.fields };
  const secret = new Set(record.secretFields);
  for (const name of Object.keys(fields)) if (type?.isSecret(name)) secret.add(name);
  for (const name of secret) fields[name] = maskedSecret;
  return {
    id: record.id,
    name: record.name,
    credentialType: record.credentialType,
    environment: record.environment,
    fields,
    secretFields: [...secret].sort(),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** A stored credential's type that nothing declares any more: the generic rule plus what it sealed. */
function legacyType(record: Pick<CredentialRecord, "secretFields">): ResolvedCredentialType {
  return {
    name: genericCredentialType,
    schema: null,
    fields: [],
    secretFields: [],
    isSecret: (field) => record.secretFields.includes(field) || !isGenericPublicField(field),
  };
}

function parseMeta(input: Record<string, unknown>) {
  const parsed = MetaSchema.safeParse({
    name: input.name,
    credentialType: input.credentialType,
    environment: input.environment ?? undefined,
    secretFields: input.secretFields ?? undefined,
  });
  if (!parsed.success)
    throw invalid(parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })));
  return parsed.data;
}

/**
 * The credential's own fields of an input, checked as plain scalar values. Values are never
 * copied into an error: a field is reported by name only.
 */
function fieldsOf(
  input: Record<string, unknown>,
  mode: { allowNull?: boolean } = {},
): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  const problems: { field: string; message: string }[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (metaKeys.has(key) || value === undefined) continue;
    if (!FieldName.safeParse(key).success) {
      problems.push({ field: key.slice(0, 64), message: "must be a plain field name" });
    } else if (value === null) {
      if (mode.allowNull) out[key] = null;
      else problems.push({ field: key, message: "must not be null" });
    } else if (!FieldValue.safeParse(value).success) {
      problems.push({ field: key, message: "must be a string, number or boolean (at most 64 KiB)" });
    } else out[key] = value as string | number | boolean;
  }
  if (problems.length > 0) throw invalid(problems);
  return out;
}

/**
 * Checks a credential's fields against its type and splits them into plain and sealed ones.
 * `given` are the fields the caller sent (an unknown one of a typed credential is refused; a
 * stored one from before the type existed is kept as it was). Secret: what the type marks, plus
 * `extraSecret`.
 */
function splitFields(
  type: ResolvedCredentialType,
  fields: Readonly<Record<string, unknown>>,
  given: Readonly<Record<string, unknown>>,
  extraSecret: readonly string[],
): { plain: Record<string, unknown>; secrets: Record<string, string> } {
  const problems: { field: string; message: string }[] = [];
  if (type.schema) {
    const known = type.fields.map((f) => f.name);
    for (const key of Object.keys(given)) {
      if (!known.includes(key)) {
        problems.push({
          field: key,
          message: `is not a field of credential type "${type.name}" (its fields: ${known.join(", ")})`,
        });
      }
    }
    const parsed = type.schema.safeParse(fields);
    if (!parsed.success) problems.push(...fieldIssues(parsed.error));
  }
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!(type.isSecret(key) || extraSecret.includes(key))) plain[key] = value;
    else if (typeof value === "boolean") problems.push({ field: key, message: "a secret must be a string" });
    else secrets[key] = String(value);
  }
  if (problems.length > 0) throw invalid(problems);
  return { plain, secrets };
}

/** zod issues as `{ field, message }`: the field's name and what was expected, never the value. */
function fieldIssues(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "(credential)",
    message: issue.code === "invalid_type" ? `must be a ${issue.expected}` : issue.message,
  }));
}

function invalid(fields: { field: string; message: string }[]) {
  return rwError(
    "RW_ERR_INPUT_INVALID",
    `the credential is invalid: ${fields.map((f) => `${f.field} (${f.message})`).join("; ")}`,
    {
      details: { fields },
    },
  );
}

async function insertUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isRunwardenError(err) && err.code === "RW_ERR_STORAGE_CONFLICT" && err.details?.reason === "unique") {
      throw rwError("RW_ERR_STORAGE_CONFLICT", "a credential with this name already exists", {
        details: { entity: "credential", field: "name" },
        retryable: false,
        cause: err,
      });
    }
    throw err;
  }
}
