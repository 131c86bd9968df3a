/**
 * API tokens: each names the actor it acts as and the roles it holds. Only a sha256 of a token is
 * stored; the token itself is shown once, when it is created.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type ApiToken, type Role, rwError, type Storage } from "@runwarden/core";

/** Every role a token can hold. `admin` may do everything. */
export const tokenRoles = ["viewer", "operator", "approver", "admin"] as const satisfies readonly Role[];

/** A token as the API lists it: never the hash, never the token. */
export type TokenInfo = Omit<ApiToken, "tokenHash">;

/** What {@link TokenStore.create} and `ensure` take. */
export interface CreateTokenInput {
  /** The actor the token acts as (recorded in the audit log). */
  actor: string;
  /** The roles the token holds. */
  roles: readonly Role[];
  /** Who created it (an admin's actor), or null for the bootstrap token. */
  createdBy?: string | null;
}

/** The API tokens, stored as sha256 hashes (see {@link createTokenStore}). */
export interface TokenStore {
  /** Creates a token; the returned `token` is the only time it is ever visible. */
  create(input: CreateTokenInput): Promise<{ token: string; info: TokenInfo }>;
  /**
   * Makes sure `token` exists with these roles (the bootstrap admin token from the environment):
   * inserts it the first time, leaves it alone afterwards. Idempotent across restarts.
   */
  ensure(token: string, input: CreateTokenInput): Promise<TokenInfo>;
  /** Every token (revoked ones included), without hashes. */
  list(): Promise<TokenInfo[]>;
  /** The token with this id (revoked or not), or undefined. */
  get(id: number): Promise<TokenInfo | undefined>;
  /** Revokes a token; RW_ERR_STORAGE_NOT_FOUND when there is no such token. */
  revoke(id: number): Promise<TokenInfo>;
  /** The live (not revoked) token for this secret, or undefined. */
  verify(token: string): Promise<TokenInfo | undefined>;
}

/** Options of {@link createTokenStore}. */
export interface TokenStoreOptions {
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** How long a verified token is trusted without re-reading the store. Default 5 s. */
  cacheTtlMs?: number;
}

const TOKEN_PREFIX = "rw_";
/** A token the host supplies (RUNWARDEN_ADMIN_TOKEN) must be at least this long. */
export const minTokenLength = 16;
const maxTokenLength = 256;
/** `lastUsedAt` is written at most this often per token. */
const touchEveryMs = 60_000;

/** The sha256 of a token, in hex: what is stored and compared. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new random token: `rw_` and 32 base64url characters (192 bits). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(24).toString("base64url");
}

function info(record: ApiToken): TokenInfo {
  const { tokenHash: _hash, ...rest } = record;
  return rest;
}

/** Creates the token store over `storage.tokens`. */
export function createTokenStore(storage: Storage, options: TokenStoreOptions = {}): TokenStore {
  const now = options.now ?? Date.now;
  const ttl = options.cacheTtlMs ?? 5_000;
  const cache = new Map<string, { record: ApiToken; until: number }>();
  const touched = new Map<number, number>();

  async function insert(token: string, input: CreateTokenInput): Promise<ApiToken> {
    return storage.tokens.insert({
      actor: input.actor,
      roles: [...new Set(input.roles)],
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
      createdAt: new Date(now()).toISOString(),
      createdBy: input.createdBy ?? null,
      revokedAt: null,
      lastUsedAt: null,
    });
  }

  return {
    async create(input) {
      const token = generateToken();
      return { token, info: info(await insert(token, input)) };
    },
    async ensure(token, input) {
      if (token.length < minTokenLength || token.length > maxTokenLength) {
        throw rwError(
          "RW_ERR_CONFIG_INVALID",
          `the bootstrap token must be ${minTokenLength} to ${maxTokenLength} characters long`,
        );
      }
      const [existing] = await storage.tokens.find({ where: { tokenHash: hashToken(token) }, limit: 1 });
      if (existing) {
        if (existing.revokedAt === null) return info(existing);
        // Revoked through the API, then set again in the environment: the host means it.
        return info(await storage.tokens.update(existing.id, existing.version, { revokedAt: null }));
      }
      return info(await insert(token, input));
    },
    async list() {
      return (await storage.tokens.find({ order: "asc" })).map(info);
    },
    async get(id) {
      const record = await storage.tokens.get(id);
      return record ? info(record) : undefined;
    },
    async revoke(id) {
      const record = await storage.tokens.get(id);
      if (!record) {
        throw rwError("RW_ERR_STORAGE_NOT_FOUND", `no token with id ${id}`, {
          details: { entity: "token", id },
        });
      }
      for (const [hash, entry] of cache) if (entry.record.id === id) cache.delete(hash);
      if (record.revokedAt !== null) return info(record);
      return info(
        await storage.tokens.update(id, record.version, { revokedAt: new Date(now()).toISOString() }),
      );
    },
    async verify(token) {
      if (token.length < minTokenLength || token.length > maxTokenLength) return undefined;
      const hash = hashToken(token);
      const t = now();
      let entry = cache.get(hash);
      if (!entry || entry.until < t) {
        const [record] = await storage.tokens.find({ where: { tokenHash: hash }, limit: 1 });
        if (!record) {
          cache.delete(hash);
          return undefined;
        }
        entry = { record, until: t + ttl };
        cache.set(hash, entry);
        if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
      }
      const { record } = entry;
      // The store matched on the hash; compare again in constant time all the same.
      if (!timingSafeEqual(Buffer.from(record.tokenHash), Buffer.from(hash))) return undefined;
      if (record.revokedAt !== null) return undefined;
      if ((touched.get(record.id) ?? 0) + touchEveryMs < t) {
        touched.set(record.id, t);
        void storage.tokens
          .update(record.id, record.version, { lastUsedAt: new Date(t).toISOString() })
          .then((updated) => {
            if (cache.get(hash)) cache.set(hash, { record: updated, until: t + ttl });
          })
          .catch(() => {
            // A concurrent write won; lastUsedAt is advisory.
            cache.delete(hash);
          });
      }
      return info(record);
    },
  };
}

/** True when a token with `roles` may act with `needed` (admin may do everything). */
export function hasRole(roles: readonly Role[], needed: readonly Role[]): boolean {
  if (roles.includes("admin")) return true;
  return needed.some((role) => roles.includes(role));
}
