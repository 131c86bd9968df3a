import { isRunwardenError } from "@runwarden/core";
import { describe, expect, it } from "vitest";
import { signApprovalLink, verifyApprovalLink } from "../src/link.js";

const secret = "link-secret-for-the-tests-0123456789";
const now = Date.parse("2026-01-05T10:00:00.000Z");
const link = {
  approvalId: 31,
  bindingHash: "b".repeat(64),
  recipient: "ann@example.com",
  expiresAtMs: now + 60_000,
};

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!isRunwardenError(err)) throw err;
    return { code: err.code, message: err.message, reason: (err.details as { reason?: string }).reason };
  }
  throw new Error("not refused");
};

describe("approval link token", () => {
  it("verifies what it signed: the approval, its binding hash, the recipient, the expiry", () => {
    const token = signApprovalLink(secret, link);
    expect(verifyApprovalLink(secret, token, now)).toEqual({
      approvalId: 31,
      bindingHash: "b".repeat(64),
      recipient: "ann@example.com",
      expiresAt: "2026-01-05T10:01:00.000Z",
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
    });
  });

  it("is URL-safe and unique per link (a nonce each)", () => {
    const a = signApprovalLink(secret, link);
    const b = signApprovalLink(secret, link);
    expect(a).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(verifyApprovalLink(secret, a, now).nonce).not.toBe(verifyApprovalLink(secret, b, now).nonce);
  });

  it("refuses a token signed with another key as forged", () => {
    const token = signApprovalLink("another-secret-of-32-characters-xx", link);
    expect(refusal(() => verifyApprovalLink(secret, token, now))).toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
      reason: "forged",
      message: expect.stringContaining("not valid"),
    });
  });

  it("refuses a token whose payload was altered (another approval) as forged", () => {
    const [, mac] = signApprovalLink(secret, link).split(".");
    const payload = Buffer.from(
      JSON.stringify({ a: 32, h: "b".repeat(64), r: "ann@example.com", e: now + 60_000, n: "x".repeat(24) }),
    ).toString("base64url");
    expect(refusal(() => verifyApprovalLink(secret, `${payload}.${mac}`, now)).reason).toBe("forged");
  });

  it("refuses malformed tokens as forged", () => {
    for (const token of ["", "abc", "a.b.c", `${"x".repeat(3_000)}.y`, "e30.e30"])
      expect(refusal(() => verifyApprovalLink(secret, token, now)).reason).toBe("forged");
  });

  it("refuses an expired token and says when it expired", () => {
    const token = signApprovalLink(secret, link);
    expect(refusal(() => verifyApprovalLink(secret, token, now + 60_000))).toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
      reason: "expired",
      message: expect.stringContaining("expired at 2026-01-05T10:01:00.000Z"),
    });
  });
});
