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
  const policy = {
    home: "https://api.example.com",
    allowed: ["*.example.org", "status.io", "metrics.io:9090", "https://hooks.io:8443"],
    allowLinkLocal: false,
  };
  it("allows the home origin and the allowlist, wildcards included", () => {
    for (const url of [
      "https://api.example.com/x",
      "https://a.b.example.org/",
      "http://status.io/",
      "https://status.io/",
      "http://metrics.io:9090/",
      "https://hooks.io:8443/hook",
    ]) {
      expect(() => checkEgress(new URL(url), policy)).not.toThrow();
    }
  });
  it("refuses other hosts, and the bare wildcard domain", () => {
    for (const url of ["https://example.org/", "https://api.example.com.evil.net/"]) {
      expect(() => checkEgress(new URL(url), policy)).toThrow(/egress policy refused/);
    }
  });
  it("refuses the home host on another port or scheme: the whole origin must match", () => {
    for (const url of [
      "https://api.example.com:8443/",
      "http://api.example.com/",
      "http://api.example.com:443/",
    ]) {
      expect(() => checkEgress(new URL(url), policy)).toThrow(/egress policy refused/);
    }
  });
  it("refuses an allowlisted host on a port or scheme its entry does not name", () => {
    for (const url of [
      "http://status.io:8080/",
      "https://a.example.org:444/",
      "http://metrics.io/",
      "http://hooks.io:8443/",
      "https://hooks.io/",
    ]) {
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
