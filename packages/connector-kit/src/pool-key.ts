/**
 * Pool keys that name a connection identity, secret included, without holding the secret: an
 * HMAC-SHA256 under a random key drawn once per process, so a heap dump or a log line that shows
 * the key gives nothing to brute-force offline.
 */
import { createHmac, randomBytes } from "node:crypto";

const PROCESS_KEY = randomBytes(32);

/**
 * The pool key of a connection identity (host, port, user, password, options…): the same parts
 * give the same key within this process, different parts a different key, and the key does not
 * contain nor reveal any part. Parts are serialised with `JSON.stringify`; `undefined` counts as
 * `null`.
 *
 * @example
 * const key = poolKey([connection.id, host, port, user, password ?? null]);
 * let pool = pools.get(key);
 */
export function poolKey(identity: readonly unknown[]): string {
  return createHmac("sha256", PROCESS_KEY)
    .update(JSON.stringify(identity.map((part) => part ?? null)))
    .digest("hex");
}
