import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createVault, isSecretFieldName } from "../src/vault.js";

const key = randomBytes(32);

describe("createVault", () => {
  afterEach(() => {
    delete process.env.RW_TEST_VAULT_KEY;
  });

  it("opens what it sealed when the key is the same", () => {
    const vault = createVault({ key });
    const envelope = vault.seal({ password: "hunter2", token: "t0k" });
    expect(envelope.split(":")).toHaveLength(4);
    expect(envelope).not.toContain("hunter2");
    expect(vault.open(envelope)).toEqual({ password: "hunter2", token: "t0k" });
  });

  it("uses a fresh IV for every seal", () => {
    const vault = createVault({ key });
    expect(vault.seal({ a: "x" })).not.toBe(vault.seal({ a: "x" }));
  });

  it("accepts the key as base64 or hex text", () => {
    const sealed = createVault({ key: key.toString("base64") }).seal({ a: "1" });
    expect(createVault({ key: key.toString("hex") }).open(sealed)).toEqual({ a: "1" });
  });

  it("reads the key from RUNWARDEN_MASTER_KEY (or the named variable) when none is given", () => {
    process.env.RW_TEST_VAULT_KEY = key.toString("base64");
    const vault = createVault({ env: "RW_TEST_VAULT_KEY" });
    expect(createVault({ key }).open(vault.seal({ a: "1" }))).toEqual({ a: "1" });
  });

  it("refuses a key that is not 32 bytes without echoing it", () => {
    const bad = "c2hvcnQta2V5LXZhbHVlLXRoYXQtaXMtc2VjcmV0";
    let caught: unknown;
    try {
      createVault({ key: bad });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: "RW_ERR_VAULT_KEY" });
    expect(JSON.stringify(caught) + String((caught as Error).message)).not.toContain(bad);
  });

  it("fails only when used when no key is configured", () => {
    const vault = createVault({ env: "RW_TEST_VAULT_KEY" });
    expect(vault.keyId).toBeNull();
    expect(() => vault.seal({ a: "1" })).toThrow(expect.objectContaining({ code: "RW_ERR_VAULT_KEY" }));
  });

  it("refuses to open with another key or tampered data", () => {
    const envelope = createVault({ key }).seal({ a: "1" });
    expect(() => createVault({ key: randomBytes(32) }).open(envelope)).toThrow(
      expect.objectContaining({ code: "RW_ERR_VAULT_DECRYPT" }),
    );
    const [id, iv, tag, data] = envelope.split(":") as [string, string, string, string];
    const flipped = Buffer.from(data, "base64");
    flipped[0] = flipped[0]! ^ 1;
    expect(() => createVault({ key }).open([id, iv, tag, flipped.toString("base64")].join(":"))).toThrow(
      expect.objectContaining({ code: "RW_ERR_VAULT_DECRYPT" }),
    );
  });

  it("opens envelopes of a previous key after a rotation", () => {
    const old = createVault({ key });
    const envelope = old.seal({ a: "1" });
    const next = randomBytes(32);
    const { previousKeyId, keyId } = old.rotate(next);
    expect(previousKeyId).not.toBe(keyId);
    expect(old.open(envelope)).toEqual({ a: "1" });
    expect(old.keyIdOf(old.seal({ b: "2" }))).toBe(keyId);
    expect(createVault({ key: next, previousKeys: [key] }).open(envelope)).toEqual({ a: "1" });
  });
});

describe("isSecretFieldName", () => {
  it("marks every conventional secret name whatever its spelling", () => {
    for (const name of [
      "password",
      "private_key",
      "privateKey",
      "passphrase",
      "token",
      "api_key",
      "apiKey",
      "secret",
      "client_secret",
      "db_password",
      "accessToken",
    ]) {
      expect(isSecretFieldName(name), name).toBe(true);
    }
  });

  it("leaves ordinary fields alone", () => {
    for (const name of ["username", "host", "port", "database_name", "databaseName", "region", "tokenUrl"]) {
      expect(isSecretFieldName(name), name).toBe(false);
    }
  });
});
