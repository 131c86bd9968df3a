import { describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";

describe("readConfig", () => {
  it("applies the documented defaults when nothing is set", () => {
    const config = readConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      adminToken: undefined,
      masterKey: undefined,
      publicMetrics: false,
    });
    expect(config.dataDir.endsWith("/.runwarden")).toBe(true);
  });

  it("reads every variable when they are set", () => {
    const config = readConfig({
      HOST: "0.0.0.0",
      PORT: "9000",
      RUNWARDEN_DATA_DIR: "/var/lib/runwarden",
      RUNWARDEN_ADMIN_TOKEN: "a".repeat(20),
      RUNWARDEN_MASTER_KEY: "k",
      RUNWARDEN_WEBHOOK_SECRET: "s".repeat(16),
      RUNWARDEN_PUBLIC_METRICS: "1",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      dataDir: "/var/lib/runwarden",
      publicMetrics: true,
      logLevel: "debug",
    });
  });

  it("names the variable when a value is wrong", () => {
    expect(() => readConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => readConfig({ RUNWARDEN_ADMIN_TOKEN: "short" })).toThrow(
      /RUNWARDEN_ADMIN_TOKEN: must be at least 16/,
    );
  });
});
