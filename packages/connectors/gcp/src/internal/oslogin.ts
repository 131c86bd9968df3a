/**
 * Short-lived OS Login keys: one ed25519 key pair per service account and project, imported with
 * an expiry of `keyLifetimeSeconds` and reused until a minute before it runs out. The private key
 * stays in memory only.
 */
import { createHash } from "node:crypto";
import { rwError } from "@runwarden/core";
import ssh2 from "ssh2";
import type { GcpConfig } from "../config.js";
import type { GcpApi } from "./api.js";

// ssh2 is CommonJS and Node's ESM loader does not see `utils` as a named export (the packed
// check's import of the built package failed on it): take it from the default export.
const { utils } = ssh2;

/** What SSH needs: the POSIX user OS Login gave the account and the matching private key. */
export interface Login {
  username: string;
  privateKey: string;
  expiresAt: number;
}

const MARGIN_MS = 60_000;

/**
 * A fresh ed25519 key pair in OpenSSH format that ssh2 itself can read back. ssh2 1.17's
 * `generateKeyPairSync("ed25519")` writes a private key its own parser calls malformed about
 * once in 300 keys (measured: 31 of 9,000), so SSH would then fail with "the credential's private
 * key cannot be used" for the key's whole lifetime: such a key is dropped and another generated.
 */
export function keyPair(comment: string): { public: string; private: string } {
  for (let attempt = 0; attempt < 8; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw rwError("RW_ERR_CONNECTOR_REJECTED", "could not generate a usable OS Login key", {
    details: { reason: "protocol" },
  });
}

export class OsLoginKeys {
  readonly #config: GcpConfig;
  readonly #now: () => number;
  readonly #logins = new Map<string, Promise<Login>>();

  constructor(config: GcpConfig, now: () => number) {
    this.#config = config;
    this.#now = now;
  }

  /** A valid login for `email` on `project`, importing a fresh key when none is left. */
  async loginFor(api: GcpApi, email: string, project: string, signal: AbortSignal): Promise<Login> {
    const key = createHash("sha256")
      .update(JSON.stringify([email, project]))
      .digest("base64url");
    const cached = this.#logins.get(key);
    if (cached) {
      const login = await cached.catch(() => undefined);
      if (login && login.expiresAt - MARGIN_MS > this.#now()) return login;
      if (this.#logins.get(key) === cached) this.#logins.delete(key);
    }
    const pending = this.#import(api, email, project, signal);
    this.#logins.set(key, pending);
    pending.catch(() => {
      if (this.#logins.get(key) === pending) this.#logins.delete(key);
    });
    return pending;
  }

  async #import(api: GcpApi, email: string, project: string, signal: AbortSignal): Promise<Login> {
    const pair = keyPair(`runwarden ${email}`);
    const expiresAt = this.#now() + this.#config.keyLifetimeSeconds * 1000;
    const answer = await api.importSshPublicKey(
      email,
      project,
      pair.public,
      String(expiresAt * 1000),
      signal,
    );
    const accounts = answer.loginProfile?.posixAccounts ?? [];
    const account = accounts.find((a) => a.primary) ?? accounts[0];
    if (!account?.username) {
      throw rwError(
        "RW_ERR_CONNECTOR_REJECTED",
        "OS Login returned no POSIX account for the service account (is OS Login enabled on the project?)",
        { details: { reason: "protocol" } },
      );
    }
    return { username: account.username, privateKey: pair.private, expiresAt };
  }

  clear(): void {
    this.#logins.clear();
  }
}
