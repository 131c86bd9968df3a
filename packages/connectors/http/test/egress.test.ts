import { describe, expect, it } from "vitest";
import { checkEgress, guardedLookup, isBlockedAddress, isMetadataHost } from "../src/internal/egress.js";

describe("isBlockedAddress", () => {
  it.each([
    "169.254.169.254",
    "169.254.0.1",
    "fe80::1",
    "fd00:ec2::254",
    "::ffff:169.254.169.254",
    "100.100.100.200",
  ])("blocks %s", (a) => {
    expect(isBlockedAddress(a)).toBe(true);
  });
  it.each(["10.0.0.1", "127.0.0.1", "::1", "fd00:ec2::253", "not-an-ip"])("allows %s", (a) => {
    expect(isBlockedAddress(a)).toBe(false);
  });
});

describe("isMetadataHost", () => {
  it("knows the metadata host names", () => {
    expect(isMetadataHost("metadata.google.internal.")).toBe(true);
    expect(isMetadataHost("[fd00:ec2::254]")).toBe(true);
    expect(isMetadataHost("api.example.com")).toBe(false);
  });
});

describe("checkEgress", () => {
  const policy = { home: "api.example.com", allowed: ["*.example.org", "status.io"], allowLinkLocal: false };
  it("allows the home host and the allowlist, wildcards included", () => {
    for (const url of ["https://api.example.com/x", "https://a.b.example.org/", "http://status.io:8080/"]) {
      expect(() => checkEgress(new URL(url), policy)).not.toThrow();
    }
  });
  it("refuses other hosts, and the bare wildcard domain", () => {
    for (const url of ["https://example.org/", "https://api.example.com.evil.net/"]) {
      expect(() => checkEgress(new URL(url), policy)).toThrow(/egress policy refused/);
    }
  });
});

describe("guardedLookup", () => {
  it("passes ordinary answers through", async () => {
    const address = await new Promise((resolve, reject) =>
      guardedLookup("localhost", { family: 4 }, (error, a) => (error ? reject(error) : resolve(a))),
    );
    expect(address).toBe("127.0.0.1");
  });
});
