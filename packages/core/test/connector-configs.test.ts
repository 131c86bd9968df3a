import { randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  createEngine,
  createMemoryStorage,
  defineConnector,
  isRunwardenError,
  secret,
} from "../src/index.js";
import { createVault } from "../src/vault.js";

const key = randomBytes(32);

/** A monitoring connector whose webhook checks a bearer token, recording every instance it creates. */
function tokenSource(created: { token: string | undefined; closed: boolean }[] = []) {
  return defineConnector({
    kind: "monitoring",
    name: "tokened",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({
      webhookAuth: z.discriminatedUnion("type", [
        z.object({ type: z.literal("bearer"), token: secret(z.string().min(16)) }),
        z.object({
          type: z.literal("basic"),
          username: z.string().min(1),
          password: secret(z.string().min(12)),
        }),
        z.object({ type: z.literal("none") }),
      ]),
      url: z.string().url().optional(),
      hosts: z.array(z.object({ name: z.string(), key: secret(z.string()) })).default([]),
    }),
    capabilities: ["webhook", "verify-webhook"],
    create(config) {
      const record = {
        token: config.webhookAuth.type === "bearer" ? config.webhookAuth.token : undefined,
        closed: false,
      };
      created.push(record);
      return {
        verifyWebhook: (request) =>
          config.webhookAuth.type === "none" ||
          request.headers.authorization === `Bearer ${record.token ?? ""}`,
        parseWebhook: () => ({ tickets: [{ title: "from the tokened source" }], warnings: [] }),
        close: async () => {
          record.closed = true;
        },
      };
    },
  });
}

const notConfigured = { needs: ["webhookAuth"], hint: "configure it through the API" };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isRunwardenError(err)) return err.code;
    throw err;
  }
  return "no error";
}

describe("connector configuration through the store", () => {
  it("configures a not-configured connector live, seals its secrets and masks them on read", async () => {
    const storage = createMemoryStorage();
    const created: { token: string | undefined; closed: boolean }[] = [];
    const engine = await createEngine({
      storage,
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    await engine.start();
    const request = (token: string) => ({
      headers: { authorization: `Bearer ${token}` },
      body: {},
      rawBody: "{}",
    });
    expect(await codeOf(engine.tickets.ingestWebhook("tokened", request("x")))).toBe(
      "RW_ERR_PLUGIN_NOT_CONFIGURED",
    );

    const token = "a-token-of-sixteen-or-more";
    const view = await engine.connectorConfigs.put(
      "monitoring",
      "tokened",
      { webhookAuth: { type: "bearer", token }, hosts: [{ name: "a", key: "host-key-a" }] },
      { actor: "alice" },
    );
    expect(view).toMatchObject({
      source: "store",
      configuredBy: "alice",
      stored: true,
      config: { webhookAuth: { type: "bearer", token: "********" }, hosts: [{ name: "a", key: "********" }] },
      secretPaths: ["hosts.0.key", "webhookAuth.token"],
    });
    const [stored] = await storage.connectorConfigs.find();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.stringify(stored)).not.toContain("host-key-a");
    expect(createVault({ key }).open(stored!.ciphertext)).toEqual({
      "webhookAuth.token": JSON.stringify(token),
      "hosts.0.key": JSON.stringify("host-key-a"),
    });

    const result = await engine.tickets.ingestWebhook("tokened", request(token));
    expect(result.tickets[0]?.ticket.title).toBe("from the tokened source");
    expect(await codeOf(engine.tickets.ingestWebhook("tokened", request("wrong")))).toBe(
      "RW_ERR_AUTH_UNAUTHENTICATED",
    );
    const [info] = await engine.connectors.list("monitoring", { health: false });
    expect(info).toMatchObject({ status: "ready", configSource: "store" });
    await engine.close();
  });

  it("keeps a stored secret sent back masked, and closes the instance it replaces", async () => {
    const created: { token: string | undefined; closed: boolean }[] = [];
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    const token = "first-token-0123456789";
    await engine.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "bearer", token } });
    await engine.connectorConfigs.put("monitoring", "tokened", {
      webhookAuth: { type: "bearer", token: "********" },
      url: "http://127.0.0.1:9093",
    });
    expect(created.map((c) => c.token)).toEqual([token, token]);
    expect(created[0]?.closed).toBe(true);
    expect(created[1]?.closed).toBe(false);
    expect((await engine.connectorConfigs.get("monitoring", "tokened")).config).toEqual({
      webhookAuth: { type: "bearer", token: "********" },
      url: "http://127.0.0.1:9093",
    });
    await engine.close();
  });

  it("refuses an invalid configuration by field, without its values, and changes nothing", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(), notConfigured }],
    });
    const err = await engine.connectorConfigs
      .put("monitoring", "tokened", { webhookAuth: { type: "bearer", token: "short-secret" } })
      .catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(JSON.stringify(err)).not.toContain("short-secret");
    expect((err as { details: { fields: { field: string }[] } }).details.fields[0]?.field).toBe(
      "webhookAuth.token",
    );
    expect(
      await codeOf(
        engine.connectorConfigs.put("monitoring", "tokened", {
          webhookAuth: { type: "bearer", token: "********" },
        }),
      ),
    ).toBe("RW_ERR_INPUT_INVALID");
    expect(engine.connectors.notConfigured("monitoring", "tokened")).toBeDefined();
    expect(await engine.storage.connectorConfigs.count()).toBe(0);
    await engine.close();
  });

  it("lets the host's configuration win: a PUT is a 409 and a stored one is not applied", async () => {
    const storage = createMemoryStorage();
    const first = await createEngine({
      storage,
      vault: { key },
      connectors: [{ connector: tokenSource(), notConfigured }],
    });
    await first.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "none" } });
    // Closing the engine closes the store: reopen a second engine on a copy of its records.
    const records = await storage.connectorConfigs.find();
    const second = createMemoryStorage();
    for (const { id: _id, version: _v, ...record } of records) await second.connectorConfigs.insert(record);
    await first.close();

    const created: { token: string | undefined; closed: boolean }[] = [];
    const hostToken = "the-hosts-own-token-123";
    const engine = await createEngine({
      storage: second,
      vault: { key },
      connectors: [
        {
          connector: tokenSource(created),
          config: { webhookAuth: { type: "bearer", token: hostToken } },
          configuredBy: "RUNWARDEN_TOKENED",
        },
      ],
    });
    expect(created.map((c) => c.token)).toEqual([hostToken]);
    const view = await engine.connectorConfigs.get("monitoring", "tokened");
    expect(view).toMatchObject({ source: "host", configuredBy: "RUNWARDEN_TOKENED", stored: true });
    const err = await engine.connectorConfigs
      .put("monitoring", "tokened", { webhookAuth: { type: "none" } })
      .catch((e: unknown) => e);
    expect(isRunwardenError(err) && err.code).toBe("RW_ERR_CONFIG_HOST_OWNED");
    expect((err as Error).message).toContain("RUNWARDEN_TOKENED");
    expect(await codeOf(engine.connectorConfigs.generateWebhookSecret("monitoring", "tokened"))).toBe(
      "RW_ERR_CONFIG_HOST_OWNED",
    );
    await engine.close();
  });

  it("applies a stored configuration when a new engine starts on the same store", async () => {
    const records = await (async () => {
      const storage = createMemoryStorage();
      const engine = await createEngine({
        storage,
        vault: { key },
        connectors: [{ connector: tokenSource(), notConfigured }],
      });
      await engine.connectorConfigs.put("monitoring", "tokened", {
        webhookAuth: { type: "bearer", token: "stored-token-0123456789" },
      });
      const found = await storage.connectorConfigs.find();
      await engine.close();
      return found;
    })();
    const storage = createMemoryStorage();
    for (const { id: _id, version: _v, ...record } of records) await storage.connectorConfigs.insert(record);
    const created: { token: string | undefined; closed: boolean }[] = [];
    const engine = await createEngine({
      storage,
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    expect(created.map((c) => c.token)).toEqual(["stored-token-0123456789"]);
    expect(engine.connectors.has("monitoring", "tokened")).toBe(true);
    // The source gets a poller like one the host configured (acknowledge/resolve, pull when it can).
    expect(engine.monitoring.poller("tokened")).toBeDefined();
    await engine.close();
  });

  it("generates a webhook secret into the chosen auth variant, shown once", async () => {
    const created: { token: string | undefined; closed: boolean }[] = [];
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    const first = await engine.connectorConfigs.generateWebhookSecret("monitoring", "tokened", {
      actor: "admin",
    });
    expect(first.path).toBe("webhookAuth.token");
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.view.config).toEqual({ webhookAuth: { type: "bearer", token: "********" } });
    expect(created.at(-1)?.token).toBe(first.secret);
    const second = await engine.connectorConfigs.generateWebhookSecret("monitoring", "tokened");
    expect(second.secret).not.toBe(first.secret);
    expect(created.at(-1)?.token).toBe(second.secret);
    const audit = await engine.audit.list({ objectType: "connector" } as never);
    expect(JSON.stringify(audit)).not.toContain(second.secret);
    await engine.close();
  });

  it("describes the schema as JSON Schema with secret and required fields", async () => {
    const engine = await createEngine({ connectors: [{ connector: tokenSource(), notConfigured }] });
    const schema = engine.connectorConfigs.schema("monitoring", "tokened");
    expect(schema.required).toEqual(["webhookAuth"]);
    expect(schema.secretPaths.sort()).toEqual(["hosts.*.key", "webhookAuth.password", "webhookAuth.token"]);
    expect(schema.webhookSecretPath).toBe("webhookAuth.token");
    const auth = (
      schema.jsonSchema.properties as Record<string, { oneOf: { properties: Record<string, unknown> }[] }>
    ).webhookAuth!;
    expect(auth.oneOf[0]?.properties.token).toMatchObject({
      type: "string",
      "x-secret": true,
      writeOnly: true,
    });
    await engine.close();
  });

  it("sends a connector's sample webhook through its own parser as a test alert", async () => {
    const base = tokenSource();
    const withSample = defineConnector({
      ...base,
      sampleWebhook: () => ({ body: { alert: "sample" } }),
    });
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: withSample, notConfigured }],
    });
    expect(await codeOf(engine.connectorConfigs.sendTestAlert("tokened"))).toBe(
      "RW_ERR_PLUGIN_NOT_CONFIGURED",
    );
    await engine.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "none" } });
    const result = await engine.connectorConfigs.sendTestAlert("tokened", { actor: "alice" });
    expect(result.tickets[0]?.ticket).toMatchObject({
      title: "from the tokened source",
      source: "tokened",
      metaData: { test_alert: true },
    });
    // A sample never starts a runbook on its own.
    expect((await engine.executions.list({ ticketId: result.tickets[0]!.ticket.id })).items).toEqual([]);
    await engine.close();
  });

  it("applies concurrent changes one after the other: the store and the running instance agree", async () => {
    const created: { token: string | undefined; closed: boolean }[] = [];
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    const tokens = ["concurrent-token-aaaaaaaa", "concurrent-token-bbbbbbbb", "concurrent-token-cccccccc"];
    await Promise.all(
      tokens.map((token) =>
        engine.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "bearer", token } }),
      ),
    );
    const [stored] = await engine.storage.connectorConfigs.find();
    expect(stored?.version).toBe(3);
    expect(createVault({ key }).open(stored!.ciphertext)["webhookAuth.token"]).toBe(
      JSON.stringify(created.at(-1)?.token),
    );
    expect(created.filter((c) => !c.closed)).toHaveLength(1);
    await engine.close();
  });

  it("records the last webhook received and the last one refused", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(), notConfigured }],
    });
    const token = "activity-token-0123456789";
    await engine.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "bearer", token } });
    await engine.tickets.ingestWebhook("tokened", {
      headers: { authorization: `Bearer ${token}` },
      body: {},
      rawBody: "{}",
    });
    await codeOf(engine.tickets.ingestWebhook("tokened", { headers: {}, body: {}, rawBody: "{}" }));
    const [info] = await engine.connectors.list("monitoring", { health: false });
    expect(info?.activity).toMatchObject({
      webhooks: 1,
      lastError: expect.stringContaining("RW_ERR_AUTH_UNAUTHENTICATED"),
    });
    expect(info?.activity.lastWebhookAt).toEqual(expect.any(String));
    await engine.close();
  });

  it("re-seals stored connector secrets when the vault key rotates", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [{ connector: tokenSource(), notConfigured }],
    });
    const token = "rotate-me-token-0123456789";
    await engine.connectorConfigs.put("monitoring", "tokened", { webhookAuth: { type: "bearer", token } });
    const newKey = randomBytes(32);
    await engine.credentials.rotateKey(newKey);
    const [stored] = await engine.storage.connectorConfigs.find();
    expect(createVault({ key: newKey }).open(stored!.ciphertext)["webhookAuth.token"]).toBe(
      JSON.stringify(token),
    );
    expect(() => createVault({ key }).open(stored!.ciphertext)).toThrow();
    await engine.close();
  });

  it("reloads a configuration another engine instance on the same store changed", async () => {
    const storage = createMemoryStorage();
    const created: { token: string | undefined; closed: boolean }[] = [];
    const one = await createEngine({
      storage,
      vault: { key },
      connectors: [{ connector: tokenSource(), notConfigured }],
    });
    const two = await createEngine({
      storage,
      vault: { key },
      connectors: [{ connector: tokenSource(created), notConfigured }],
    });
    await one.start();
    await two.start();
    await one.connectorConfigs.put("monitoring", "tokened", {
      webhookAuth: { type: "bearer", token: "shared-store-token-0123456" },
    });
    await vi.waitFor(() => expect(two.connectors.has("monitoring", "tokened")).toBe(true));
    expect(created.map((c) => c.token)).toEqual(["shared-store-token-0123456"]);
    expect((await two.connectors.list("monitoring", { health: false }))[0]?.configSource).toBe("store");
    await two.close().catch(() => undefined);
    await one.close().catch(() => undefined);
  });

  it("never lets the API configure the built-in local connector", async () => {
    const engine = await createEngine({ vault: { key } });
    expect(await codeOf(engine.connectorConfigs.put("infrastructure", "local", { runAs: "root" }))).toBe(
      "RW_ERR_CONFIG_HOST_OWNED",
    );
    expect((await engine.connectorConfigs.get("infrastructure", "local")).source).toBe("host");
    await engine.close();
  });
});
