import { describe, expect, it } from "vitest";
import { computeFingerprint, ticketFingerprint } from "../../src/analyzer/fingerprint.js";

const base = { source: "prometheus", title: "Disk full", service: "nginx", environment: "prod" };

describe("computeFingerprint", () => {
  it("is the same when only case and spacing of the title differ", () => {
    expect(computeFingerprint({ ...base, title: "  DISK   full " })).toBe(computeFingerprint(base));
    expect(computeFingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("differs when source, service or environment differ", () => {
    const all = [
      base,
      { ...base, source: "datadog" },
      { ...base, service: "api" },
      { ...base, environment: "dev" },
    ];
    expect(new Set(all.map(computeFingerprint)).size).toBe(4);
  });
});

describe("ticketFingerprint", () => {
  it("uses the source's fingerprint, namespaced, when the source gave one", () => {
    const subject = {
      ...base,
      description: "",
      severity: "high" as const,
      externalId: null,
      sourceFingerprint: "abc",
      metaData: {},
    };
    expect(ticketFingerprint(subject)).toBe("prometheus:abc");
  });
});
