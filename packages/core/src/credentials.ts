/**
 * Credentials: named sets of fields for reaching a system. Secret fields are sealed by the vault
 * and are write-only through every API: they are listed as `********`, and leave the vault only
 * into a connector call.
 */
import { z } from "zod";
import type { AuditLog } from "./audit.js";
import type { CredentialRecord } from "./domain.js";
import { isRunwardenError, rwError } from "./errors.js";
import type { EngineContext } from "./internal/context.js";
import type { ResolvedCredential } from "./plugin.js";
import type { Actor } from "./policy.js";
import { isSecretFieldName, type Vault } from "./vault.js";

/** How a secret is shown in every listing. */
export const maskedSecret = "********";

/**
 * A credential as the API takes it: the connector guide's body, camelCased by the HTTP adapter
 * (`{ name, credentialType, environment, username, password, host, port, database_name }`), stored under the names given.
 * Every field other than `name`, `credentialType`, `environment` and `secretFields` is a field of
 * the credential; those named like a secret (password, privateKey, passphrase, token, apiKey,
 * secret, clientSecret, …) are always sealed, and `secretFields` marks more.
 */
export interface CredentialInput {
  name: string;
  credentialType: string;
  environment?: string;
  /** Extra field names to treat as secret. */
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
  id: number;
  name: string;
  credentialType: string;
  environment: string;
  /** Every field, secrets as `********`. */
  fields: Record<string, unknown>;
  secretFields: string[];
  createdAt: string;
  updatedAt: string;
}

/** Who acts, for the audit log. */
export interface ActorOptions {
  actor?: Actor | string;
  /** Where the actor acted from (an IP, "cli"). */
  origin?: string;
}

export interface CredentialsApi {
  /** Stores a credential; its secrets are sealed before they reach the store. */
  create(input: CredentialInput, options?: ActorOptions): Promise<CredentialView>;
  /** Throws RW_ERR_STORAGE_NOT_FOUND when there is no such credential. */
  get(id: number): Promise<CredentialView>;
  list(filter?: { environment?: string; credentialType?: string }): Promise<CredentialView[]>;
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
  deps: { vault: Vault; audit: AuditLog },
): CredentialsApi {
  const { vault, audit } = deps;
  const log = ctx.logger.child({ component: "credentials" });
  const store = ctx.storage.credentials;

  const load = async (id: number) => {
    const record = await store.get(id);
    if (!record) {
      throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no credential with id ${id}`, {
        details: { entity: "credential", id },
      });
    }
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
      const split = collect(() =>
        splitFields(input, Array.isArray(input.secretFields) ? input.secretFields : []),
      );
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
      return view(record);
    },

    async get(id) {
      return view(await load(id));
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
        .map(view);
    },

    async update(id, changes, options) {
      const current = await load(id);
      const meta = parseMeta({
        name: changes.name ?? current.name,
        credentialType: changes.credentialType ?? current.credentialType,
        environment: changes.environment ?? current.environment,
        secretFields: [...current.secretFields, ...(changes.secretFields ?? [])],
      });
      const stored = vault.open(current.ciphertext);
      const plain: Record<string, unknown> = { ...current.fields };
      const secrets: Record<string, string> = { ...stored };
      const given = splitFields(changes, meta.secretFields, { allowNull: true, keepMasked: true });
      for (const [key, value] of Object.entries(given.plain)) {
        delete secrets[key];
        if (value === null) delete plain[key];
        else plain[key] = value;
      }
      for (const [key, value] of Object.entries(given.secrets)) {
        delete plain[key];
        secrets[key] = value;
      }
      for (const key of given.removed) delete secrets[key];
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
      return view(record);
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
      const { previousKeyId, keyId } = vault.rotate(newKey);
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
 * executor registers every value it returns for redaction.
 */
export async function resolveCredential(
  ctx: EngineContext,
  vault: Vault,
  id: number,
): Promise<{ credential: ResolvedCredential; record: CredentialRecord }> {
  const record = await ctx.storage.credentials.get(id);
  if (!record) {
    throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no credential with id ${id}`, {
      details: { entity: "credential", id },
    });
  }
  return {
    record,
    credential: {
      id: record.id,
      name: record.name,
      credentialType: record.credentialType,
      environment: record.environment,
      fields: { ...record.fields },
      secrets: vault.open(record.ciphertext),
    },
  };
}

/** The masked view every API returns. */
export function view(record: CredentialRecord): CredentialView {
  const fields: Record<string, unknown> = { ...record.fields };
  for (const name of record.secretFields) fields[name] = maskedSecret;
  return {
    id: record.id,
    name: record.name,
    credentialType: record.credentialType,
    environment: record.environment,
    fields,
    secretFields: [...record.secretFields],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
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
 * Splits input fields into plain and secret ones. Values are never copied into an error: a field
 * is reported by name only.
 */
function splitFields(
  input: Record<string, unknown>,
  extraSecret: readonly string[],
  mode: { allowNull?: boolean; keepMasked?: boolean } = {},
): { plain: Record<string, unknown>; secrets: Record<string, string>; removed: string[] } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  const removed: string[] = [];
  const problems: { field: string; message: string }[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (metaKeys.has(key) || value === undefined) continue;
    if (!FieldName.safeParse(key).success) {
      problems.push({ field: key.slice(0, 64), message: "must be a plain field name" });
      continue;
    }
    const secret = isSecretFieldName(key) || extraSecret.includes(key);
    if (value === null) {
      if (!mode.allowNull) problems.push({ field: key, message: "must not be null" });
      else if (secret) removed.push(key);
      else plain[key] = null;
      continue;
    }
    if (!FieldValue.safeParse(value).success) {
      problems.push({ field: key, message: "must be a string, number or boolean (at most 64 KiB)" });
      continue;
    }
    if (!secret) plain[key] = value;
    else if (mode.keepMasked && value === maskedSecret) continue;
    else if (typeof value === "boolean") problems.push({ field: key, message: "a secret must be a string" });
    else secrets[key] = String(value);
  }
  if (problems.length > 0) throw invalid(problems);
  return { plain, secrets, removed };
}

function invalid(fields: { field: string; message: string }[]) {
  return rwError(
    "RW_ERR_INPUT_INVALID",
    `the credential is invalid: ${fields.map((f) => f.field).join(", ")}`,
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
