import { describe, expect, it } from "vitest";
import { normalizeEnvironment, normalizeSeverity, normalizeStage } from "../../src/analyzer/normalize.js";
import type { AnalysisState } from "../../src/analyzer/stage.js";

describe("normalizeSeverity", () => {
  it("maps tool spellings onto the scale when they are known aliases", () => {
    expect(normalizeSeverity("P1")).toBe("critical");
    expect(normalizeSeverity(" Warning ")).toBe("medium");
    expect(normalizeSeverity("sev-2")).toBe("high");
    expect(normalizeSeverity("informational")).toBe("info");
    expect(normalizeSeverity("LOW")).toBe("low");
  });

  it("returns undefined when the severity is unknown", () => {
    expect(normalizeSeverity("catastrophic")).toBeUndefined();
    expect(normalizeSeverity(3)).toBeUndefined();
  });
});

describe("normalizeEnvironment", () => {
  it("maps aliases when given production, stage or development", () => {
    expect(normalizeEnvironment("Production")).toBe("prod");
    expect(normalizeEnvironment("stage")).toBe("staging");
    expect(normalizeEnvironment("development")).toBe("dev");
    expect(normalizeEnvironment("eu-west")).toBe("eu-west");
  });
});

describe("normalizeStage", () => {
  it("trims, collapses and lower-cases fields and notes each change when they differ", () => {
    const notes: string[] = [];
    const state = {
      ticket: {
        title: "  Disk   full\n on web-01 ",
        description: " x ",
        severity: "high",
        environment: "PRODUCTION",
        service: "Nginx",
        source: "Prometheus",
        externalId: null,
        sourceFingerprint: null,
        metaData: {},
      },
    } as unknown as AnalysisState;
    normalizeStage.run(state, { note: (n: string) => notes.push(n) } as never);
    expect(state.ticket).toMatchObject({
      title: "Disk full on web-01",
      description: "x",
      environment: "prod",
      service: "nginx",
      source: "prometheus",
    });
    expect(notes).toEqual([
      "title whitespace collapsed",
      'environment "PRODUCTION" → "prod"',
      'service "Nginx" → "nginx"',
    ]);
  });
});
