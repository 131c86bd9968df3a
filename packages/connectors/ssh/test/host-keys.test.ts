import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  fingerprintOf,
  hostsMatch,
  knownHostName,
  parseKnownHosts,
  verifyHostKey,
} from "../src/internal/host-keys.js";

// A raw ssh-ed25519 public key blob, as a server presents it.
function blob(): Buffer {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const type = Buffer.from("ssh-ed25519");
  const len = (n: number) => Buffer.from([0, 0, 0, n]);
  return Buffer.concat([len(type.length), type, len(raw.length), raw]);
}

const key = blob();
const other = blob();
const line = (hosts: string, k: Buffer, marker = "") =>
  `${marker ? `${marker} ` : ""}${hosts} ssh-ed25519 ${k.toString("base64")}`;

describe("fingerprintOf", () => {
  it("formats SHA256 without base64 padding, as ssh-keygen -l prints it", () => {
    expect(fingerprintOf(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe("knownHostName", () => {
  it("brackets the host when the port is not 22", () => {
    expect(knownHostName("db1", 22)).toBe("db1");
    expect(knownHostName("db1", 2222)).toBe("[db1]:2222");
  });
});

describe("hostsMatch", () => {
  it("matches lists, wildcards and negations", () => {
    expect(hostsMatch("web1,web2", "web2")).toBe(true);
    expect(hostsMatch("*.example.com", "db.example.com")).toBe(true);
    expect(hostsMatch("*.example.com,!db.example.com", "db.example.com")).toBe(false);
    expect(hostsMatch("web?", "web10")).toBe(false);
  });

  it("matches hashed entries when the host hashes to the stored value", () => {
    const salt = Buffer.from("0123456789abcdef0123");
    const hash = createHmac("sha1", salt).update("[10.0.0.5]:2222").digest("base64");
    const field = `|1|${salt.toString("base64")}|${hash}`;
    expect(hostsMatch(field, "[10.0.0.5]:2222")).toBe(true);
    expect(hostsMatch(field, "10.0.0.5")).toBe(false);
  });
});

describe("parseKnownHosts", () => {
  it("skips comments, blank and malformed lines and keeps markers", () => {
    const entries = parseKnownHosts(
      `# comment\n\n${line("a", key)}\ngarbage\n${line("b", other, "@revoked")}\n`,
    );
    expect(entries.map((e) => [e.hosts, e.marker])).toEqual([
      ["a", ""],
      ["b", "@revoked"],
    ]);
  });
});

describe("verifyHostKey", () => {
  const policy = (fingerprints: string[], text?: string) => ({
    fingerprints,
    knownHosts: text === undefined ? undefined : parseKnownHosts(text),
    hostPattern: "[db]:2222",
  });

  it("accepts a pinned fingerprint and refuses any other key as a mismatch", () => {
    expect(verifyHostKey(policy([fingerprintOf(key)]), key).ok).toBe(true);
    expect(verifyHostKey(policy([fingerprintOf(key)]), other)).toMatchObject({
      ok: false,
      problem: "mismatch",
      fingerprint: fingerprintOf(other),
    });
  });

  it("refuses an unknown host when nothing is pinned", () => {
    expect(verifyHostKey(policy([]), key)).toMatchObject({ ok: false, problem: "unknown" });
  });

  it("accepts a key listed for the host in known_hosts", () => {
    expect(verifyHostKey(policy([], line("[db]:2222", key)), key).ok).toBe(true);
  });

  it("reports a mismatch when the host is listed with another key", () => {
    expect(verifyHostKey(policy([], line("[db]:2222", other)), key)).toMatchObject({
      ok: false,
      problem: "mismatch",
    });
  });

  it("reports an unknown host when known_hosts lists other hosts only", () => {
    expect(verifyHostKey(policy([], line("db", key)), key)).toMatchObject({ ok: false, problem: "unknown" });
  });

  it("refuses a revoked key even when another line accepts it", () => {
    const text = `${line("[db]:2222", key)}\n${line("*", key, "@revoked")}`;
    expect(verifyHostKey(policy([], text), key)).toMatchObject({ ok: false, problem: "revoked" });
  });
});
