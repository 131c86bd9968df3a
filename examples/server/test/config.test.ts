import { describe, expect, it } from "vitest";
import { connectorConfigVariable, readConfig } from "../src/config.js";

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

  it("reads the connector modules and their JSON configuration variables", () => {
    const config = readConfig({
      RUNWARDEN_CONNECTORS: " runwarden-connector-grafana, ./connectors/my-tool.js ,",
      RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: '{"auth":{"type":"hmac","secret":"0123456789abcdef"}}',
      RUNWARDEN_CONNECTOR_CONFIG_MY_TOOL: "{}",
      RUNWARDEN_PROMETHEUS_TOKEN: "p".repeat(20),
    });
    expect(config.connectors).toEqual(["runwarden-connector-grafana", "./connectors/my-tool.js"]);
    expect(config.connectorConfigs).toEqual({
      RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: { auth: { type: "hmac", secret: "0123456789abcdef" } },
      RUNWARDEN_CONNECTOR_CONFIG_MY_TOOL: {},
    });
    expect(config.prometheusToken).toBe("p".repeat(20));
    expect(readConfig({})).toMatchObject({
      connectors: [],
      connectorConfigs: {},
      prometheusToken: undefined,
    });
  });

  it("reads each monitoring source's pull settings and names a bad one", () => {
    const config = readConfig({
      RUNWARDEN_MONITORING_POLL_DATADOG: '{"intervalMs":30000,"enabled":true,"acknowledge":false}',
    });
    expect(config.monitoringPoll).toEqual({
      RUNWARDEN_MONITORING_POLL_DATADOG: { intervalMs: 30_000, enabled: true, acknowledge: false },
    });
    expect(readConfig({}).monitoringPoll).toEqual({});
    expect(() => readConfig({ RUNWARDEN_MONITORING_POLL_DATADOG: '{"intervalMs":10,"every":"1m"}' })).toThrow(
      /RUNWARDEN_MONITORING_POLL_DATADOG: intervalMs: must be at least 1000.*RUNWARDEN_MONITORING_POLL_DATADOG: .*every/,
    );
  });

  it("names each bad connector variable and never quotes its value", () => {
    const secret = "s3cr3t-value-never-shown";
    let message = "";
    try {
      readConfig({
        RUNWARDEN_CONNECTORS: "a,b,a",
        RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: `{"auth": ${secret}}`,
        RUNWARDEN_CONNECTOR_CONFIG_OTHER: `["${secret}"]`,
        "RUNWARDEN_CONNECTOR_CONFIG_my-tool": "{}",
        RUNWARDEN_PROMETHEUS_TOKEN: "short",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("RUNWARDEN_CONNECTORS: lists a module twice");
    expect(message).toContain("RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: is not valid JSON");
    expect(message).toContain("RUNWARDEN_CONNECTOR_CONFIG_OTHER: must be a JSON object");
    expect(message).toContain("RUNWARDEN_CONNECTOR_CONFIG_my-tool: name the connector in upper case");
    expect(message).toContain("RUNWARDEN_PROMETHEUS_TOKEN: must be at least 16");
    expect(message).not.toContain(secret);
  });
});

describe("connectorConfigVariable", () => {
  it("upper-cases the connector name with _ for - when naming its variable", () => {
    expect(connectorConfigVariable("grafana")).toBe("RUNWARDEN_CONNECTOR_CONFIG_GRAFANA");
    expect(connectorConfigVariable("my-tool2")).toBe("RUNWARDEN_CONNECTOR_CONFIG_MY_TOOL2");
  });
});
