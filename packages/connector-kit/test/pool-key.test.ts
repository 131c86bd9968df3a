import { describe, expect, it } from "vitest";
import { poolKey } from "../src/pool-key.js";

describe("poolKey", () => {
  const identity = [7, "db1.internal", 5432, "orders", "ops", "pw-9f8e7d-secret", "verify-full"];

  it("gives the same key for the same identity and a different one when the password differs", () => {
    expect(poolKey(identity)).toBe(poolKey([...identity]));
    expect(poolKey(identity)).not.toBe(poolKey(identity.with(5, "pw-other")));
  });

  it("holds neither the password nor the host, database or user: only a hex digest", () => {
    const key = poolKey(identity);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    for (const part of ["pw-9f8e7d-secret", "db1.internal", "orders", "ops"]) expect(key).not.toContain(part);
  });

  it("is not the plain SHA-256 of the identity, so it cannot be recomputed outside the process", async () => {
    const { createHash } = await import("node:crypto");
    const plain = createHash("sha256").update(JSON.stringify(identity)).digest("hex");
    expect(poolKey(identity)).not.toBe(plain);
  });

  it("counts an undefined part as null", () => {
    expect(poolKey(["h", undefined])).toBe(poolKey(["h", null]));
  });
});
