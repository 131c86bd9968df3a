import { createMemoryStorage } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { createTokenStore, hashToken, hasRole } from "../src/tokens.js";

describe("createTokenStore", () => {
  it("stores only the hash when a token is created and verifies the token", async () => {
    const storage = createMemoryStorage();
    const tokens = createTokenStore(storage);
    const { token, info } = await tokens.create({ actor: "alice", roles: ["approver"], createdBy: "root" });
    expect(token).toMatch(/^rw_[A-Za-z0-9_-]{32}$/);
    expect(info).not.toHaveProperty("tokenHash");
    const [stored] = await storage.tokens.find();
    expect(stored?.tokenHash).toBe(hashToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);
    expect((await tokens.verify(token))?.actor).toBe("alice");
    expect(await tokens.verify(`${token}x`)).toBeUndefined();
    expect(await tokens.verify("short")).toBeUndefined();
  });

  it("stops accepting a token when it is revoked", async () => {
    const tokens = createTokenStore(createMemoryStorage());
    const { token, info } = await tokens.create({ actor: "bob", roles: ["viewer"] });
    expect(await tokens.verify(token)).toBeDefined();
    const revoked = await tokens.revoke(info.id);
    expect(revoked.revokedAt).not.toBeNull();
    expect(await tokens.verify(token)).toBeUndefined();
    await expect(tokens.revoke(999)).rejects.toMatchObject({ code: "RW_ERR_STORAGE_NOT_FOUND" });
  });

  it("inserts the bootstrap token once when ensure is called on every start", async () => {
    const storage = createMemoryStorage();
    const tokens = createTokenStore(storage);
    const secret = "bootstrap-token-0123456789";
    const first = await tokens.ensure(secret, { actor: "admin", roles: ["admin"] });
    const again = await tokens.ensure(secret, { actor: "admin", roles: ["admin"] });
    expect(again.id).toBe(first.id);
    expect(await storage.tokens.count()).toBe(1);
    await tokens.revoke(first.id);
    expect((await tokens.ensure(secret, { actor: "admin", roles: ["admin"] })).revokedAt).toBeNull();
    await expect(tokens.ensure("too-short", { actor: "a", roles: ["admin"] })).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
    });
  });
});

describe("hasRole", () => {
  it("lets admin do everything and others only what their roles name", () => {
    expect(hasRole(["admin"], ["approver"])).toBe(true);
    expect(hasRole(["viewer"], ["approver"])).toBe(false);
    expect(hasRole(["operator", "approver"], ["approver"])).toBe(true);
  });
});
