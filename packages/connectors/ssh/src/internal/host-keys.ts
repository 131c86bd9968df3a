/**
 * Host key verification: pinned SHA256 fingerprints or an OpenSSH known_hosts file. Unknown hosts
 * are refused; the verdict keeps the presented fingerprint so the error can show what to pin.
 */
import { createHash, createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";

/** The OpenSSH-style fingerprint of a raw public key blob: `SHA256:<base64, no padding>`. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

export interface HostKeyPolicy {
  /** Accepted fingerprints (normalised, without padding). */
  fingerprints: string[];
  /** Parsed known_hosts entries, when a file was given. */
  knownHosts: KnownHostEntry[] | undefined;
  /** The name as known_hosts writes it: `host` on port 22, `[host]:port` otherwise. */
  hostPattern: string;
}

export interface KnownHostEntry {
  marker: "" | "@revoked" | "@cert-authority";
  hosts: string;
  key: Buffer;
}

export type Verdict =
  | { ok: true; fingerprint: string }
  | { ok: false; fingerprint: string; problem: "unknown" | "mismatch" | "revoked" };

export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Parses a known_hosts file's text; malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"] = "";
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority")
      marker = fields.shift() as KnownHostEntry["marker"];
    const [hosts, , blob] = fields;
    if (!hosts || !blob) continue;
    entries.push({ marker, hosts, key: Buffer.from(blob, "base64") });
  }
  return entries;
}

export async function readKnownHosts(path: string): Promise<KnownHostEntry[]> {
  return parseKnownHosts(await readFile(path, "utf8"));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** Does a known_hosts host field (`a,b,!c`, wildcards, or a hashed `|1|salt|hash`) name `name`? */
export function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) matched = true;
  }
  return matched;
}

/** Decides whether `key` may be trusted for the policy's host. */
export function verifyHostKey(policy: HostKeyPolicy, key: Buffer): Verdict {
  const fingerprint = fingerprintOf(key);
  if (policy.fingerprints.length > 0) {
    return policy.fingerprints.includes(fingerprint)
      ? { ok: true, fingerprint }
      : { ok: false, fingerprint, problem: "mismatch" };
  }
  if (!policy.knownHosts) return { ok: false, fingerprint, problem: "unknown" };
  const entries = policy.knownHosts.filter(
    (entry) => entry.marker !== "@cert-authority" && hostsMatch(entry.hosts, policy.hostPattern),
  );
  if (entries.some((entry) => entry.marker === "@revoked" && entry.key.equals(key))) {
    return { ok: false, fingerprint, problem: "revoked" };
  }
  const plain = entries.filter((entry) => entry.marker === "");
  if (plain.some((entry) => entry.key.equals(key))) return { ok: true, fingerprint };
  const hostSeen = plain.length > 0;
  return { ok: false, fingerprint, problem: hostSeen ? "mismatch" : "unknown" };
}
