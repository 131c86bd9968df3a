import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createEngine } from "../src/engine.js";
import { isRunwardenError } from "../src/errors.js";
import { type ConnectorDefinition, defineConnector, secret } from "../src/plugin.js";
import { createConnectorRegistry, secretPaths } from "../src/registry.js";
import { coreVersion } from "../src/version.js";
import { makeContext } from "./support/engine-context.js";

function monitoring(name: string, overrides: Partial<ConnectorDefinition<"monitoring">> = {}) {
  return defineConnector({
    kind: "monitoring",
    name,
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({
      url: z.string().url().default("http://localhost"),
      token: secret(z.string()).optional(),
    }),
    capabilities: ["webhook"],
    create: () => ({ parseWebhook: () => ({ tickets: [], warnings: [] }) }),
    ...overrides,
  });
}

function infrastructure(name: string, connectionTypes: string[]) {
  return defineConnector({
    kind: "infrastructure",
    name,
    version: "1.0.0",
    sdk: ">=0.1.0",
    configSchema: z.object({}),
    capabilities: ["exec"],
    connectionTypes,
    create: () => ({
      open: async () => ({
        exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
        release: async () => {},
      }),
      healthCheck: async () => ({ ok: true, latencyMs: 1 }),
    }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("coreVersion", () => {
  it("equals the version in core's package.json when compared", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as {
      version: string;
    };
    expect(coreVersion).toBe(pkg.version);
  });
});

describe("createConnectorRegistry", () => {
  it("registers the built-in local connector when the host passes none", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, []);
    expect(registry.has("infrastructure", "local")).toBe(true);
    expect(typeof registry.infrastructureFor("local").open).toBe("function");
  });

  it("lets a host registration replace the built-in local connector when it has the same name", async () => {
    const { localConnector } = await import("../src/executor/local.js");
    const registry = await createConnectorRegistry(makeContext().ctx, [
      { connector: localConnector, config: { path: ["/opt/scripts"] } },
    ]);
    expect((await registry.list("infrastructure")).map((c) => c.name)).toEqual(["local"]);
  });

  it("creates each connector with a context when it is registered", async () => {
    let seen: { signal: AbortSignal; now: Date; config: unknown } | undefined;
    const connector = monitoring("alerts", {
      create: (config, ctx) => {
        seen = { signal: ctx.signal, now: ctx.now(), config };
        return {};
      },
    });
    const { ctx } = makeContext();
    await createConnectorRegistry(ctx, [{ connector, config: { url: "https://a.example" } }]);
    expect(seen?.signal).toBe(ctx.signal);
    expect(seen?.now.toISOString()).toBe("2025-06-01T12:00:00.000Z");
    expect(seen?.config).toEqual({ url: "https://a.example" });
  });

  it("hands connectors a context without the never-used dryRun flag", async () => {
    let keys: string[] = [];
    const connector = monitoring("alerts", {
      create: (_config, ctx) => {
        keys = Object.keys(ctx).sort();
        return {};
      },
    });
    await createConnectorRegistry(makeContext().ctx, [connector]);
    expect(keys).toEqual(["logger", "now", "signal"]);
  });

  it("throws RW_ERR_PLUGIN_INVALID with the issues when the config does not validate", async () => {
    const err = await createConnectorRegistry(makeContext().ctx, [
      { connector: monitoring("alerts"), config: { url: "not a url", token: 42 } },
    ]).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_PLUGIN_INVALID");
    const issues = (err as { details: { issues: { path: string }[] } }).details.issues;
    expect(issues.map((i) => i.path).sort()).toEqual(["token", "url"]);
    expect(JSON.stringify(err)).not.toContain("not a url");
  });

  it("throws RW_ERR_PLUGIN_INVALID when the declaration is malformed", async () => {
    const bad = { ...monitoring("alerts"), name: "Not Kebab" } as ConnectorDefinition;
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [bad]))).toBe("RW_ERR_PLUGIN_INVALID");
    const noCreate = { ...monitoring("alerts"), create: undefined } as unknown as ConnectorDefinition;
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [noCreate]))).toBe(
      "RW_ERR_PLUGIN_INVALID",
    );
  });

  it("throws RW_ERR_PLUGIN_INVALID naming the capability when one is not listed for its kind", async () => {
    // A monitoring connector may not declare an infrastructure capability, nor an unknown name.
    const wrong = monitoring("alerts", {
      capabilities: [
        "webhook",
        "run-query",
        "teleport",
      ] as unknown as ConnectorDefinition<"monitoring">["capabilities"],
    });
    const err = await createConnectorRegistry(makeContext().ctx, [wrong]).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_PLUGIN_INVALID");
    const issues = (err as { details: { issues: { path: string; message: string }[] } }).details.issues;
    expect(issues.map((i) => i.path)).toEqual(["capabilities.1", "capabilities.2"]);
    expect(issues[0]?.message).toContain('"run-query" is not a monitoring capability');
    expect(issues[0]?.message).toContain("webhook, pull, acknowledge, resolve, note, health-check");
  });

  it("throws RW_ERR_PLUGIN_INVALID when an instance lacks its kind's methods", async () => {
    const ticketing = defineConnector({
      kind: "ticketing",
      name: "desk",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: [],
      create: () => ({}) as never,
    });
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [ticketing]))).toBe(
      "RW_ERR_PLUGIN_INVALID",
    );
  });

  it("throws RW_ERR_PLUGIN_VERSION_MISMATCH when core is outside the sdk range", async () => {
    const err = await createConnectorRegistry(makeContext().ctx, [
      monitoring("alerts", { sdk: "^2.0.0" }),
    ]).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_PLUGIN_VERSION_MISMATCH");
    expect((err as Error).message).toContain("^2.0.0");
  });

  it("throws RW_ERR_PLUGIN_DUPLICATE when two connectors of a kind share a name", async () => {
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [monitoring("a"), monitoring("a")]))).toBe(
      "RW_ERR_PLUGIN_DUPLICATE",
    );
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [monitoring("generic")]))).toBe(
      "RW_ERR_PLUGIN_DUPLICATE",
    );
    expect(
      await codeOf(
        createConnectorRegistry(makeContext().ctx, [
          infrastructure("pg-one", ["database:postgresql"]),
          infrastructure("pg-two", ["database:postgres"]),
        ]),
      ),
    ).toBe("RW_ERR_PLUGIN_DUPLICATE");
  });

  it("throws RW_ERR_PLUGIN_FROZEN with how to fix it when registering after freeze", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, []);
    registry.freeze();
    const err = await registry.register(monitoring("late")).catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_PLUGIN_FROZEN");
    expect((err as Error).message).toContain("createEngine({ connectors })");
  });

  it("dispatches database connections on their target service when looked up", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, [
      infrastructure("postgres", ["database:postgresql"]),
      infrastructure("mysql", ["database:mysql", "database:mariadb"]),
      infrastructure("ssh", ["ssh"]),
    ]);
    const pg = registry.infrastructureFor("database", "PostgreSQL");
    expect(registry.infrastructureFor("database", "postgres")).toBe(pg);
    expect(registry.infrastructureFor("database", "mariadb")).toBe(
      registry.infrastructureFor("database", "mysql"),
    );
    expect(registry.infrastructureFor("database", "mysql")).not.toBe(pg);
    expect(registry.infrastructureFor("ssh")).not.toBe(pg);
    expect(() => registry.infrastructureFor("database", "oracle")).toThrow(/database:oracle/);
    expect(() => registry.infrastructureFor("winrm")).toThrow(
      expect.objectContaining({ code: "RW_ERR_PLUGIN_NOT_FOUND" }),
    );
  });

  it("answers the step languages of the connector serving a connection type, dispatching databases", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, [
      { ...infrastructure("postgres", ["database:postgresql", "database:postgres"]), languages: ["sql"] },
      infrastructure("legacy", ["legacy"]),
    ]);
    expect(registry.languagesFor("database", "PostgreSQL")).toEqual(["sql"]);
    expect(registry.languagesFor("local")).toEqual(["sh", "python", "javascript", "powershell"]);
    expect(registry.languagesFor("legacy")).toBeUndefined();
    expect(registry.languagesFor("database", "oracle")).toBeUndefined();
  });

  it("throws RW_ERR_PLUGIN_INVALID when a declared language is not in its normal spelling", async () => {
    const bad = { ...infrastructure("pg2", ["database:pg2"]), languages: ["SQL"] };
    expect(await codeOf(createConnectorRegistry(makeContext().ctx, [bad]))).toBe("RW_ERR_PLUGIN_INVALID");
  });

  it("throws RW_ERR_PLUGIN_NOT_FOUND naming the registered ones when a name is unknown", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, [monitoring("prometheus")]);
    expect(() => registry.monitoring("datadog")).toThrow(/registered: prometheus/);
    expect(() => registry.ticketing("servicenow")).toThrow(
      expect.objectContaining({ code: "RW_ERR_PLUGIN_NOT_FOUND" }),
    );
  });

  it("lists a connector registered without configuration as not configured, with its needs, and never creates it", async () => {
    let created = 0;
    const registry = await createConnectorRegistry(makeContext().ctx, [
      monitoring("alpha"),
      {
        connector: monitoring("beta", {
          configSchema: z.object({ token: secret(z.string().min(16)) }),
          create: () => {
            created += 1;
            return {};
          },
        }),
        notConfigured: { needs: ["BETA_TOKEN"], hint: "set BETA_TOKEN to a token of 16 characters" },
      },
    ]);
    expect(created).toBe(0);
    const listed = await registry.list("monitoring", { health: false });
    expect(listed.map((c) => [c.name, c.status, c.needs, c.hint])).toEqual([
      ["alpha", "ready", [], null],
      ["beta", "not_configured", ["BETA_TOKEN"], "set BETA_TOKEN to a token of 16 characters"],
    ]);
    expect(registry.has("monitoring", "beta")).toBe(false);
    expect(registry.notConfigured("monitoring", "beta")).toEqual({
      needs: ["BETA_TOKEN"],
      hint: "set BETA_TOKEN to a token of 16 characters",
    });
    expect(registry.notConfigured("monitoring", "alpha")).toBeUndefined();
    let thrown: unknown;
    try {
      registry.monitoring("beta");
    } catch (err) {
      thrown = err;
    }
    expect(isRunwardenError(thrown) && thrown.code).toBe("RW_ERR_PLUGIN_NOT_CONFIGURED");
    expect(isRunwardenError(thrown) && thrown.status).toBe(503);
    expect((thrown as Error).message).toContain("set BETA_TOKEN");
    expect(isRunwardenError(thrown) && thrown.details).toMatchObject({ needs: ["BETA_TOKEN"] });
  });

  it("refuses a not-configured registration without needs, and one whose name is already taken", async () => {
    const ctx = makeContext().ctx;
    expect(
      await codeOf(
        createConnectorRegistry(ctx, [
          { connector: monitoring("beta"), notConfigured: { needs: [], hint: "x" } },
        ]),
      ),
    ).toBe("RW_ERR_PLUGIN_INVALID");
    expect(
      await codeOf(
        createConnectorRegistry(ctx, [
          { connector: monitoring("beta"), notConfigured: { needs: ["X"], hint: "set X" } },
          monitoring("beta"),
        ]),
      ),
    ).toBe("RW_ERR_PLUGIN_DUPLICATE");
  });

  it("lists connectors with health and reuses a recent check when listed twice", async () => {
    let checks = 0;
    const registry = await createConnectorRegistry(makeContext().ctx, [
      monitoring("zeta", {
        create: () => ({
          healthCheck: async () => {
            checks++;
            return { ok: true, latencyMs: 3 };
          },
        }),
      }),
      monitoring("alpha"),
    ]);
    const list = await registry.list("monitoring");
    expect(list.map((c) => c.name)).toEqual(["alpha", "zeta"]);
    expect(list[0]?.health).toBeNull();
    expect(list[1]).toMatchObject({
      version: "1.0.0",
      capabilities: ["webhook"],
      health: { ok: true, latencyMs: 3 },
    });
    await registry.list("monitoring");
    expect(checks).toBe(1);
  });

  it("gives a ticketing connector's health check one signal, which engine.close() aborts", async () => {
    let seen: AbortSignal | undefined;
    const desk = defineConnector({
      kind: "ticketing",
      name: "desk",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: ["create", "update", "comment", "health-check"],
      create: () => ({
        create: async () => ({ externalId: "1" }),
        update: async () => {},
        comment: async () => {},
        healthCheck: ({ signal }) =>
          new Promise((resolve) => {
            seen = signal;
            signal.addEventListener("abort", () => resolve({ ok: false, latencyMs: 0, reason: "aborted" }));
          }),
      }),
    });
    const engine = await createEngine({ connectors: [desk] });
    const listed = engine.connectors.list("ticketing");
    await until(() => seen !== undefined);
    expect(seen?.aborted).toBe(false);
    const started = performance.now();
    await engine.close();
    expect(seen?.aborted).toBe(true);
    expect((await listed)[0]?.health).toMatchObject({ ok: false, reason: "aborted" });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("reports a failing health check as unhealthy when it throws", async () => {
    const registry = await createConnectorRegistry(makeContext().ctx, [
      monitoring("flaky", {
        create: () => ({
          healthCheck: async () => {
            throw new Error("refused");
          },
        }),
      }),
    ]);
    expect((await registry.list("monitoring"))[0]?.health).toMatchObject({
      ok: false,
      reason: "error",
      message: "refused",
    });
  });

  it("redacts secret config fields from connector logs when a connector logs its config", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const { ctx } = makeContext();
    ctx.logger = pino({ level: "info" }, sink);
    const connector = monitoring("alerts", {
      create: (config, c) => {
        c.logger.info({ config }, "configured");
        return {};
      },
    });
    const registry = await createConnectorRegistry(ctx, [{ connector, config: { token: "s3cr3t-token" } }]);
    expect(lines.join("")).not.toContain("s3cr3t-token");
    expect(lines.join("")).toContain('"connector":"alerts"');
    expect(registry.redactPaths).toContain("config.token");
  });

  it("hands secret config values to the engine's redactor, so sessions redact them", async () => {
    const { ctx } = makeContext();
    await createConnectorRegistry(ctx, [
      { connector: monitoring("alerts"), config: { token: "wh-token-5e1f0a" } },
    ]);
    expect(ctx.redactor.redact("Bearer wh-token-5e1f0a")).toBe("Bearer ***");
  });

  it("keeps a secret out of the error when create() throws with it", async () => {
    const connector = monitoring("alerts", {
      create: (config) => {
        throw new Error(`cannot log in with ${(config as { token: string }).token}`);
      },
    });
    const err = (await createConnectorRegistry(makeContext().ctx, [
      { connector, config: { token: "hunter22" } },
    ]).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("[redacted]");
    expect(err.message).not.toContain("hunter22");
    expect(err.cause).toBeUndefined();
  });

  it("closes every instance when closed, even when one close fails", async () => {
    const closed: string[] = [];
    const registry = await createConnectorRegistry(makeContext().ctx, [
      monitoring("a", {
        create: () => ({
          close: async () => {
            throw new Error("boom");
          },
        }),
      }),
      monitoring("b", { create: () => ({ close: async () => void closed.push("b") }) }),
    ]);
    await registry.close();
    expect(closed).toEqual(["b"]);
  });
});

describe("secretPaths", () => {
  it("finds secret fields through wrappers when they are nested", () => {
    const schema = z.object({
      password: secret(z.string()),
      auth: z.object({ token: secret(z.string()).optional() }).optional(),
      hosts: z.array(z.object({ key: secret(z.string()) })),
      plain: z.string(),
    });
    expect(secretPaths(schema).sort()).toEqual(["auth.token", "hosts.*.key", "password"]);
  });
});

async function until(ok: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
