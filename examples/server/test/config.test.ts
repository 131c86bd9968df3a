import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
      RUNWARDEN_PUBLIC_URL: "https://runwarden.example",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      dataDir: "/var/lib/runwarden",
      publicMetrics: true,
      publicUrl: "https://runwarden.example",
      logLevel: "debug",
    });
  });

  it("reads RUNWARDEN_LOCAL_RUN_AS: unset is the default, empty turns it off", () => {
    expect(readConfig({}).localRunAs).toBeUndefined();
    expect(readConfig({ RUNWARDEN_LOCAL_RUN_AS: "" }).localRunAs).toBeNull();
    expect(readConfig({ RUNWARDEN_LOCAL_RUN_AS: "deploy" }).localRunAs).toBe("deploy");
    expect(readConfig({ RUNWARDEN_LOCAL_RUN_AS: "1001:1001" }).localRunAs).toBe("1001:1001");
    expect(() => readConfig({ RUNWARDEN_LOCAL_RUN_AS: "a b" })).toThrow(/RUNWARDEN_LOCAL_RUN_AS/);
  });

  it("names the variable when a value is wrong", () => {
    expect(() => readConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => readConfig({ RUNWARDEN_PUBLIC_URL: "ftp://x" })).toThrow(/RUNWARDEN_PUBLIC_URL/);
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

describe("readConfig with secrets in files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rw-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, contents: string): string {
    const path = join(dir, name);
    writeFileSync(path, contents, { mode: 0o600 });
    return path;
  }

  it("reads every secret variable from its _FILE, trimming the trailing line break", () => {
    const config = readConfig({
      RUNWARDEN_ADMIN_TOKEN_FILE: file("admin", `${"a".repeat(20)}\n`),
      RUNWARDEN_MASTER_KEY_FILE: file("key", "master-key-value\r\n"),
      RUNWARDEN_DATABASE_URL_FILE: file("db", "postgres://rw:pw@db/runwarden\n"),
      RUNWARDEN_WEBHOOK_SECRET_FILE: file("hook", "w".repeat(16)),
      RUNWARDEN_PROMETHEUS_TOKEN_FILE: file("prom", `${"p".repeat(16)}\n\n`),
      RUNWARDEN_CONNECTORS: "@acme/grafana",
      RUNWARDEN_CONNECTOR_CONFIG_GRAFANA_FILE: file("grafana", '{"token":"g-secret"}\n'),
    });
    expect(config).toMatchObject({
      adminToken: "a".repeat(20),
      masterKey: "master-key-value",
      databaseUrl: "postgres://rw:pw@db/runwarden",
      webhookSecret: "w".repeat(16),
      prometheusToken: "p".repeat(16),
      connectorConfigs: { RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: { token: "g-secret" } },
    });
  });

  it("refuses a variable set both directly and as _FILE, naming both", () => {
    expect(() =>
      readConfig({
        RUNWARDEN_ADMIN_TOKEN: "b".repeat(20),
        RUNWARDEN_ADMIN_TOKEN_FILE: file("admin", "a".repeat(20)),
      }),
    ).toThrow(/RUNWARDEN_ADMIN_TOKEN and RUNWARDEN_ADMIN_TOKEN_FILE are both set: set one of them/);
  });

  it("names the variable and the path, never the contents, when a file is missing, unreadable or empty", () => {
    const missing = join(dir, "missing");
    const run = () =>
      readConfig({
        RUNWARDEN_MASTER_KEY_FILE: missing,
        RUNWARDEN_WEBHOOK_SECRET_FILE: dir,
        RUNWARDEN_ADMIN_TOKEN_FILE: file("empty", "\n"),
        RUNWARDEN_PROMETHEUS_TOKEN_FILE: file("short", "tok-secret-x\n"),
      });
    expect(run).toThrow(`RUNWARDEN_MASTER_KEY_FILE: cannot read "${missing}" (ENOENT)`);
    expect(run).toThrow(`RUNWARDEN_WEBHOOK_SECRET_FILE: cannot read "${dir}" (EISDIR)`);
    expect(run).toThrow(/RUNWARDEN_ADMIN_TOKEN_FILE: ".*empty" is empty/);
    expect(run).toThrow(/RUNWARDEN_PROMETHEUS_TOKEN_FILE \(its file\): must be at least 16 characters/);
    expect(run).not.toThrow(/tok-secret-x/);
  });

  it("refuses _FILE on a variable that holds no secret", () => {
    expect(() => readConfig({ RUNWARDEN_DATA_DIR_FILE: file("dir", "/tmp") })).toThrow(
      /RUNWARDEN_DATA_DIR_FILE: only secrets can be read from a file/,
    );
  });
});

describe("connectorConfigVariable", () => {
  it("upper-cases the connector name with _ for - when naming its variable", () => {
    expect(connectorConfigVariable("grafana")).toBe("RUNWARDEN_CONNECTOR_CONFIG_GRAFANA");
    expect(connectorConfigVariable("my-tool2")).toBe("RUNWARDEN_CONNECTOR_CONFIG_MY_TOOL2");
  });
});
