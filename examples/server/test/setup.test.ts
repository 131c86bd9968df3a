import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, localConnector } from "@runwarden/core";
import { createTokenStore } from "@runwarden/http-adapter";
import { pino } from "pino";
import grafana from "runwarden-connector-grafana";
import { describe, expect, it } from "vitest";
import { runbooksDir } from "../src/server.js";
import {
  bootstrapToken,
  loadConfiguredConnectors,
  loadSampleRunbooks,
  localRunAs,
  masterKey,
  mergeConnectors,
  monitoringSources,
  privateDataDir,
  rotateAdminToken,
  serverSecrets,
  stepPath,
  unreachableByOthers,
} from "../src/setup.js";

const silent = pino({ level: "silent" });
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const grafanaSecret = "grafana-hmac-secret-for-tests-0042";
const grafanaConfig = {
  RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: { auth: { type: "hmac", secret: grafanaSecret } },
};

describe("loadConfiguredConnectors", () => {
  it("loads a package by name and a path relative to cwd, each with its variable's config", async () => {
    const echo = { token: "echo-token-0123456789" };
    const loaded = await loadConfiguredConnectors(
      ["runwarden-connector-grafana", "./echo-connector.ts"],
      { ...grafanaConfig, RUNWARDEN_CONNECTOR_CONFIG_ECHO_HOOK: echo },
      { log: silent, cwd: fixtures },
    );
    expect(loaded.map((r) => [r.connector.kind, r.connector.name, r.config])).toEqual([
      ["monitoring", "grafana", grafanaConfig.RUNWARDEN_CONNECTOR_CONFIG_GRAFANA],
      ["monitoring", "echo-hook", echo],
    ]);
    expect(loaded[0]?.connector).toBe(grafana);

    const engine = await createEngine({ connectors: loaded });
    expect(engine.connectors.has("monitoring", "grafana")).toBe(true);
    expect(engine.connectors.has("monitoring", "echo-hook")).toBe(true);
    await engine.close();
  });

  it("loads an absolute path and returns nothing when no module is named", async () => {
    const loaded = await loadConfiguredConnectors(
      [join(fixtures, "echo-connector.ts")],
      { RUNWARDEN_CONNECTOR_CONFIG_ECHO_HOOK: { token: "echo-token-0123456789" } },
      { log: silent },
    );
    expect(loaded.map((r) => r.connector.name)).toEqual(["echo-hook"]);
    expect(await loadConfiguredConnectors([], {}, { log: silent })).toEqual([]);
  });

  it("names the variable, never its value, when the config does not fit the connector", async () => {
    const short = { RUNWARDEN_CONNECTOR_CONFIG_GRAFANA: { auth: { type: "hmac", secret: "too-short-9" } } };
    const wrong = loadConfiguredConnectors(["runwarden-connector-grafana"], short, { log: silent });
    await expect(wrong).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
      message: expect.stringMatching(
        /^RUNWARDEN_CONNECTOR_CONFIG_GRAFANA does not fit .*"grafana": auth\.secret: /,
      ),
      details: { variable: "RUNWARDEN_CONNECTOR_CONFIG_GRAFANA", connector: "grafana" },
    });
    await expect(wrong).rejects.not.toMatchObject({ message: expect.stringContaining("too-short-9") });

    await expect(
      loadConfiguredConnectors(["runwarden-connector-grafana"], {}, { log: silent }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
      message: expect.stringMatching(
        /^RUNWARDEN_CONNECTOR_CONFIG_GRAFANA is not set, .* needs configuration: auth: /,
      ),
    });
  });

  it("refuses a config variable when no loaded connector has its name", async () => {
    const typo = { ...grafanaConfig, RUNWARDEN_CONNECTOR_CONFIG_GRAFAN: { auth: {} } };
    await expect(
      loadConfiguredConnectors(["runwarden-connector-grafana"], typo, { log: silent }),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONFIG_INVALID",
      message:
        "RUNWARDEN_CONNECTOR_CONFIG_GRAFAN is set, but RUNWARDEN_CONNECTORS loads no connector of that name (loaded: grafana)",
    });
    await expect(loadConfiguredConnectors([], grafanaConfig, { log: silent })).rejects.toMatchObject({
      message: expect.stringContaining("(loaded: none)"),
    });
  });

  it("throws a distinct code when a module is missing, is no connector or repeats a connector", async () => {
    await expect(
      loadConfiguredConnectors(["runwarden-connector-nope"], {}, { log: silent }),
    ).rejects.toMatchObject({
      code: "RW_ERR_PLUGIN_NOT_FOUND",
      message: expect.stringContaining('RUNWARDEN_CONNECTORS: cannot import "runwarden-connector-nope"'),
      details: { spec: "runwarden-connector-nope" },
    });
    await expect(
      loadConfiguredConnectors(["./missing.js"], {}, { log: silent, cwd: fixtures }),
    ).rejects.toMatchObject({ code: "RW_ERR_PLUGIN_NOT_FOUND" });
    await expect(
      loadConfiguredConnectors(["./not-a-connector.ts"], {}, { log: silent, cwd: fixtures }),
    ).rejects.toMatchObject({
      code: "RW_ERR_PLUGIN_INVALID",
      message:
        'RUNWARDEN_CONNECTORS: "./not-a-connector.ts" has no defineConnector() object as its default export',
    });
    await expect(
      loadConfiguredConnectors(
        ["./echo-connector.ts", "./echo-connector-copy.ts"],
        { RUNWARDEN_CONNECTOR_CONFIG_ECHO_HOOK: { token: "echo-token-0123456789" } },
        { log: silent, cwd: fixtures },
      ),
    ).rejects.toMatchObject({
      code: "RW_ERR_PLUGIN_DUPLICATE",
      message:
        'RUNWARDEN_CONNECTORS: "./echo-connector.ts" and "./echo-connector-copy.ts" both declare the monitoring connector "echo-hook"',
    });
  });
});

describe("mergeConnectors", () => {
  it("replaces a built-in connector of the same kind and name and keeps the others in order", () => {
    const builtIn = [
      { connector: localConnector, config: { path: ["/a"] } },
      { connector: grafana, config: {} },
    ];
    const configured = [{ connector: grafana, config: grafanaConfig.RUNWARDEN_CONNECTOR_CONFIG_GRAFANA }];
    expect(mergeConnectors(builtIn, configured)).toEqual([builtIn[0], configured[0]]);
    expect(mergeConnectors(builtIn, [])).toEqual(builtIn);
  });
});

describe("monitoringSources", () => {
  it("polls every registered monitoring connector, each with its variable's settings", () => {
    const connectors = [
      { connector: localConnector, config: {} },
      { connector: grafana, config: {} },
    ];
    expect(monitoringSources(connectors, {})).toEqual({ grafana: {} });
    expect(
      monitoringSources(connectors, {
        RUNWARDEN_MONITORING_POLL_GRAFANA: { intervalMs: 30_000, acknowledge: false },
      }),
    ).toEqual({ grafana: { intervalMs: 30_000, acknowledge: false } });
  });

  it("refuses a pull settings variable that names no registered monitoring connector", () => {
    expect(() =>
      monitoringSources([{ connector: localConnector, config: {} }], {
        RUNWARDEN_MONITORING_POLL_LOCAL: { enabled: false },
      }),
    ).toThrow(
      expect.objectContaining({
        code: "RW_ERR_CONFIG_INVALID",
        message: expect.stringMatching(/RUNWARDEN_MONITORING_POLL_LOCAL/),
      }),
    );
  });
});

describe("loadSampleRunbooks", () => {
  it("approves the sample runbooks except drafts, and changes nothing when run again", async () => {
    const engine = await createEngine();
    const first = await loadSampleRunbooks(engine, runbooksDir, silent);
    expect(first.length).toBeGreaterThanOrEqual(8);
    const byFile = Object.fromEntries(first.map((r) => [r.file, r.status]));
    expect(byFile["fix-database-connection.md"]).toBe("approved");
    expect(byFile["replication-lag.md"]).toBe("draft");
    const again = await loadSampleRunbooks(engine, runbooksDir, silent);
    expect(again.every((r) => !r.created)).toBe(true);
    expect(again.map((r) => r.id)).toEqual(first.map((r) => r.id));
    await engine.close();
  });
});

describe("bootstrapToken", () => {
  it("generates the admin token at the first start only, and keeps it across later starts", async () => {
    const engine = await createEngine();
    const tokens = createTokenStore(engine.storage);
    const first = await bootstrapToken(engine.storage, tokens, undefined);
    expect(first.generated).toBe(true);
    const again = await bootstrapToken(engine.storage, tokens, undefined);
    // The later start cannot show it (the store has its hash only) and does not replace it.
    expect(again).toEqual({ token: undefined, generated: false });
    expect((await tokens.verify(first.token!))?.roles).toEqual(["admin"]);
    expect((await tokens.list()).filter((t) => t.actor === "admin")).toHaveLength(1);
    await engine.close();
  });

  it("generates a new one when the kept token was revoked", async () => {
    const engine = await createEngine();
    const tokens = createTokenStore(engine.storage);
    const first = await bootstrapToken(engine.storage, tokens, undefined);
    await tokens.revoke((await tokens.verify(first.token!))!.id);
    const next = await bootstrapToken(engine.storage, tokens, undefined);
    expect(next.generated).toBe(true);
    expect(next.token).not.toBe(first.token);
    expect(await tokens.verify(next.token!)).toBeDefined();
    await engine.close();
  });

  it("rotates: a new admin token works and the one before is revoked", async () => {
    const engine = await createEngine();
    const tokens = createTokenStore(engine.storage);
    const first = await bootstrapToken(engine.storage, tokens, undefined);
    const rotated = await rotateAdminToken(engine.storage, tokens);
    expect(await tokens.verify(first.token!)).toBeUndefined();
    expect((await tokens.verify(rotated))?.roles).toEqual(["admin"]);
    // The next start keeps the rotated one.
    expect(await bootstrapToken(engine.storage, tokens, undefined)).toEqual({
      token: undefined,
      generated: false,
    });
    await engine.close();
  });

  it("uses a configured token as it is", async () => {
    const engine = await createEngine();
    const tokens = createTokenStore(engine.storage);
    const fixed = await bootstrapToken(engine.storage, tokens, "configured-admin-token-123");
    expect(fixed).toEqual({ token: "configured-admin-token-123", generated: false });
    expect(await tokens.verify("configured-admin-token-123")).toBeDefined();
    await engine.close();
  });
});

describe("masterKey", () => {
  it("generates a private key file once when none is configured", () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-key-"));
    const first = masterKey(dir, undefined);
    expect(first.fromFile).toBe(true);
    expect(Buffer.from(first.key, "base64")).toHaveLength(32);
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    expect(masterKey(dir, undefined).key).toBe(first.key);
    expect(readFileSync(join(dir, "master.key"), "utf8").trim()).toBe(first.key);
    expect(masterKey(dir, "configured")).toEqual({ key: "configured", fromFile: false });
  });
});

describe("masterKey and privateDataDir", () => {
  it("make an existing key file 0600 and an existing data folder 0700", () => {
    const dir = mkdtempSync(join(tmpdir(), "rw-key-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "master.key"), `${Buffer.alloc(32, 1).toString("base64")}\n`, { mode: 0o644 });
    chmodSync(join(dir, "master.key"), 0o644);
    privateDataDir(dir);
    expect(masterKey(dir, undefined).key).toBe(Buffer.alloc(32, 1).toString("base64"));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
  });

  it("creates a missing data folder 0700", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "rw-data-")), "nested", "data");
    privateDataDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe("serverSecrets", () => {
  it("lists the key, the admin token, the webhook and Prometheus secrets and the database URL with its password", () => {
    expect(
      serverSecrets(
        {
          databaseUrl: "postgres://rw:p%40ss%2Fword@db:5432/runwarden",
          webhookSecret: "webhook-secret-0123456",
          prometheusToken: undefined,
        },
        { masterKey: "master-key", adminToken: "admin-token-0123456789" },
      ),
    ).toEqual([
      "master-key",
      "admin-token-0123456789",
      "webhook-secret-0123456",
      "postgres://rw:p%40ss%2Fword@db:5432/runwarden",
      "p%40ss%2Fword",
      "p@ss/word",
    ]);
  });

  it("keeps a database setting that is not a URL whole", () => {
    expect(
      serverSecrets(
        {
          databaseUrl: "host=db password=pw",
          webhookSecret: undefined,
          prometheusToken: "prom-token-0123456",
        },
        { masterKey: "k", adminToken: "a" },
      ),
    ).toEqual(["k", "a", "prom-token-0123456", "host=db password=pw"]);
  });
});

describe("localRunAs", () => {
  /** A host double: which users exist, what was created, and what was logged. */
  function fakeHost(uid: number, users: string[], canCreate = true) {
    const created: string[] = [];
    const logged: { level: string; msg: string; fields: unknown }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const access = {
      uid,
      hasUser: (name: string) => users.includes(name) || created.includes(name),
      createUser: (name: string) => {
        if (!canCreate) throw new Error("useradd: not found");
        created.push(name);
      },
    };
    return { access, created, logged, log };
  }

  it("runs steps as runwarden-step by default as root, creating the user when missing, and logs it", () => {
    const host = fakeHost(0, ["root", "nobody"]);
    expect(localRunAs(undefined, host.log, host.access)).toBe("runwarden-step");
    expect(host.created).toEqual(["runwarden-step"]);
    expect(localRunAs(undefined, host.log, host.access)).toBe("runwarden-step");
    expect(host.created).toEqual(["runwarden-step"]);
    expect(JSON.stringify(host.logged)).toContain('"runAs":"runwarden-step"');
  });

  it("falls back to nobody when the user cannot be created", () => {
    const host = fakeHost(0, ["root", "nobody"], false);
    expect(localRunAs(undefined, host.log, host.access)).toBe("nobody");
  });

  it("keeps the server's user when not root or when RUNWARDEN_LOCAL_RUN_AS is empty, and honours a set value", () => {
    const user = fakeHost(1000, []);
    expect(localRunAs(undefined, user.log, user.access)).toBeUndefined();
    const root = fakeHost(0, []);
    expect(localRunAs(null, root.log, root.access)).toBeUndefined();
    expect(localRunAs("deploy", root.log, root.access)).toBe("deploy");
    expect(root.created).toEqual([]);
  });

  it("names the first folder an unprivileged step user cannot search on the way to a PATH folder", () => {
    const base = mkdtempSync(join(tmpdir(), "rw-reach-"));
    const inner = join(base, "a", "scripts");
    mkdirSync(inner, { recursive: true, mode: 0o755 });
    chmodSync(base, 0o755);
    expect(unreachableByOthers(inner)).toBeUndefined();
    chmodSync(join(base, "a"), 0o700);
    expect(unreachableByOthers(inner)).toBe(join(base, "a"));
    rmSync(base, { recursive: true, force: true });
  });

  it("serves scripts the step user cannot reach from a read-only copy it can run", async () => {
    // A clone under /root: the step user cannot search a parent of the scripts folder.
    const base = mkdtempSync(join(tmpdir(), "rw-unreachable-"));
    const scripts = join(base, "home", "scripts");
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, "check.sh"), "#!/bin/sh\necho checked as $(id -un)\n", { mode: 0o700 });
    chmodSync(join(base, "home"), 0o700);
    const [copy] = stepPath("nobody", [scripts], silent);
    expect(copy).not.toBe(scripts);
    expect(unreachableByOthers(copy!)).toBeUndefined();
    expect(statSync(join(copy!, "check.sh")).mode & 0o777).toBe(0o755);
    expect(statSync(copy!).mode & 0o777).toBe(0o755);
    // The user that runs steps can run it, and cannot change it.
    const engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [{ connector: localConnector, config: { runAs: "nobody", path: [copy!] } }],
    });
    try {
      const handle = await engine.connectors
        .infrastructureFor("local")
        .open({} as never, { signal: new AbortController().signal });
      const run = (command: string) =>
        handle.exec({ command, language: "sh", readOnly: false, signal: new AbortController().signal });
      expect((await run("check.sh")).stdout).toBe("checked as nobody\n");
      expect((await run(`echo x >> ${copy}/check.sh`)).exitCode).not.toBe(0);
    } finally {
      await engine.close();
    }
    // A reachable folder, or no other user, is used as it is.
    expect(stepPath(undefined, [scripts], silent)).toEqual([scripts]);
    chmodSync(base, 0o755);
    chmodSync(join(base, "home"), 0o755);
    expect(stepPath("nobody", [scripts], silent)).toEqual([scripts]);
    rmSync(base, { recursive: true, force: true });
  });

  it("on this host (root), registers a local connector whose steps run unprivileged", async () => {
    const runAs = localRunAs(undefined, silent);
    expect(runAs === "runwarden-step" || runAs === "nobody").toBe(true);
    const engine = await createEngine({
      vault: { key: Buffer.alloc(32, 7) },
      connectors: [{ connector: localConnector, config: { runAs } }],
    });
    try {
      const instance = engine.connectors.infrastructureFor("local");
      const handle = await instance.open({} as never, { signal: new AbortController().signal });
      const result = await handle.exec({
        command: "id -un",
        language: "sh",
        readOnly: true,
        signal: new AbortController().signal,
      });
      expect(result.stdout).toBe(`${runAs}\n`);
    } finally {
      await engine.close();
    }
  });
});
