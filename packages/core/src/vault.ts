/**
 * The credential vault: seals secret fields with AES-256-GCM (node:crypto) under a key the host
 * provides, and opens them again only for a connector call. The key never leaves this module and
 * never appears in an error.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { rwError } from "./errors.js";

/** How the host hands the vault its master key. */
export interface VaultOptions {
  /**
   * The master key: 32 bytes, as a Buffer or as base64 / hex text. Default: the environment
   * variable named by `env`.
   */
  key?: string | Buffer;
  /** Keys secrets may still be sealed with (after a rotation), tried by key id when opening. */
  previousKeys?: readonly (string | Buffer)[];
  /** The environment variable holding the key when `key` is not given. Default `RUNWARDEN_MASTER_KEY`. */
  env?: string;
}

/** The engine's vault. Not exported from the engine: secrets leave it only into connector calls. */
export interface Vault {
  /** Short id of the current key (recorded in every envelope); null when no key is configured. */
  readonly keyId: string | null;
  /** Seals secret fields into an envelope `keyId:iv:tag:data` (base64 parts). */
  seal(secrets: Readonly<Record<string, string>>): string;
  /** Opens an envelope sealed with the current key or a previous one. */
  open(envelope: string): Record<string, string>;
  /** The id of the key an envelope was sealed with. */
  keyIdOf(envelope: string): string;
  /**
   * Makes `newKey` the current key; the old one stays available for opening. The caller
   * re-seals what it holds (see `credentials.rotateKey`).
   */
  rotate(newKey: string | Buffer): { previousKeyId: string | null; keyId: string };
}

/** The environment variable the vault reads its key from when `createEngine` is given none. */
export const defaultVaultKeyEnv = "RUNWARDEN_MASTER_KEY";

const algorithm = "aes-256-gcm";
const ivBytes = 12;

/**
 * Creates the vault. A key that is given but malformed fails here (RW_ERR_VAULT_KEY); a missing
 * key fails only when a secret is sealed or opened, so an engine without credentials needs none.
 */
export function createVault(options: VaultOptions = {}): Vault {
  const envName = options.env ?? defaultVaultKeyEnv;
  const source = options.key ?? process.env[envName];
  let current =
    source === undefined || source === "" ? null : parseKey(source, options.key ? "key" : envName);
  const keys = new Map<string, Buffer>();
  for (const [index, previous] of (options.previousKeys ?? []).entries()) {
    const key = parseKey(previous, `previousKeys[${index}]`);
    keys.set(key.id, key.bytes);
  }
  if (current) keys.set(current.id, current.bytes);

  const requireKey = () => {
    if (!current) {
      throw rwError(
        "RW_ERR_VAULT_KEY",
        `the credential vault has no master key: set ${envName} (32 bytes, base64 or hex) or pass createEngine({ vault: { key } })`,
        { details: { env: envName } },
      );
    }
    return current;
  };

  return {
    get keyId() {
      return current?.id ?? null;
    },
    seal(secrets) {
      const key = requireKey();
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv(algorithm, key.bytes, iv);
      const data = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()]);
      return [
        key.id,
        iv.toString("base64"),
        cipher.getAuthTag().toString("base64"),
        data.toString("base64"),
      ].join(":");
    },
    open(envelope) {
      const parts = envelope.split(":");
      if (parts.length !== 4) throw decryptError("the envelope is malformed");
      const [id, iv, tag, data] = parts as [string, string, string, string];
      if (current === null && keys.size === 0) requireKey();
      const bytes = keys.get(id);
      if (!bytes) throw decryptError(`it was sealed with key ${id}, which is not configured`, id);
      try {
        const decipher = createDecipheriv(algorithm, bytes, Buffer.from(iv, "base64"));
        decipher.setAuthTag(Buffer.from(tag, "base64"));
        const text = Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString(
          "utf8",
        );
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
        return parsed as Record<string, string>;
      } catch {
        // The cause is deliberately dropped: it could only say "bad tag", and must not carry data.
        throw decryptError("authentication failed (wrong key or tampered data)", id);
      }
    },
    keyIdOf(envelope) {
      return envelope.slice(0, envelope.indexOf(":"));
    },
    rotate(newKey) {
      const next = parseKey(newKey, "newKey");
      const previousKeyId = current?.id ?? null;
      keys.set(next.id, next.bytes);
      current = next;
      return { previousKeyId, keyId: next.id };
    },
  };
}

interface ParsedKey {
  id: string;
  bytes: Buffer;
}

function parseKey(source: string | Buffer, label: string): ParsedKey {
  let bytes: Buffer | undefined;
  if (Buffer.isBuffer(source)) bytes = source;
  else {
    const text = source.trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, "hex");
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) bytes = Buffer.from(text, "base64");
  }
  if (bytes?.length !== 32) {
    // Never echo the key: only what was wrong with it.
    throw rwError(
      "RW_ERR_VAULT_KEY",
      `the vault key from ${label} must be 32 bytes, as base64 or hex (e.g. \`openssl rand -base64 32\`)`,
      { details: { source: label, bytes: bytes?.length ?? null } },
    );
  }
  const id = createHash("sha256").update("runwarden-vault-key-id").update(bytes).digest("hex").slice(0, 12);
  return { id, bytes: Buffer.from(bytes) };
}

function decryptError(why: string, keyId?: string) {
  return rwError("RW_ERR_VAULT_DECRYPT", `a stored secret cannot be decrypted: ${why}`, {
    details: keyId ? { keyId } : {},
  });
}

/** Field names that are always secret, compared lower-case without `_`, `-` or spaces. */
const secretNames = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "privatekey",
  "secret",
  "clientsecret",
  "token",
  "accesstoken",
  "refreshtoken",
  "apikey",
  "apitoken",
  "authtoken",
  "bearertoken",
  "sessiontoken",
  "secretkey",
  "secretaccesskey",
  "accesskey",
  "connectionstring",
  "dsn",
  "sastoken",
  "webhooksecret",
  "signingsecret",
]);
const secretSuffixes = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "privatekey",
  "secretkey",
];

/**
 * True for a field name that holds a secret whatever the credential type: `password`,
 * `private_key`, `passphrase`, `token`, `api_key`, `client_secret`, `db_password`, …
 */
export function isSecretFieldName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[\s_-]+/g, "");
  return secretNames.has(normalized) || secretSuffixes.some((suffix) => normalized.endsWith(suffix));
}
