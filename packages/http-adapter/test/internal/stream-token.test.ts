import { describe, expect, it } from "vitest";
import { createStreamTokens } from "../../src/internal/stream-token.js";

describe("createStreamTokens", () => {
  it("accepts its own token until it expires", () => {
    const tokens = createStreamTokens("k".repeat(32), 60_000);
    const { token, expiresAt } = tokens.mint(7, 1_000);
    expect(expiresAt).toBe(61_000);
    expect(tokens.check(token, 2_000)).toBe(7);
    expect(tokens.check(token, 61_001)).toBeUndefined();
  });

  it("refuses a token when its id, expiry or signature was changed", () => {
    const tokens = createStreamTokens(undefined, 60_000);
    const { token } = tokens.mint(7, 1_000);
    const [id, expiry, sig] = token.split(".");
    expect(tokens.check(`8.${expiry}.${sig}`, 2_000)).toBeUndefined();
    expect(tokens.check(`${id}.99999999.${sig}`, 2_000)).toBeUndefined();
    expect(tokens.check(`${id}.${expiry}.${"A".repeat(43)}`, 2_000)).toBeUndefined();
    expect(tokens.check("garbage", 2_000)).toBeUndefined();
    expect(createStreamTokens(undefined, 60_000).check(token, 2_000)).toBeUndefined();
  });
});
