import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createEngine, defineConnector } from "../src/index.js";

const key = randomBytes(32);

/** An infrastructure connector whose health check reports what the test sets. */
function fakeConnector(
  health: (
    password: string | undefined,
  ) => Promise<{ ok: boolean; latencyMs: number; reason?: string; message?: string }>,
  connectionTypes: string[] = ["fake"],
) {
  return defineConnector({
    kind: "infrastructure",
    name: "fake",
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["exec"],
    connectionTypes,
    create: () => ({
      open: async () => ({
        exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
        release: async () => {},
      }),
      healthCheck: (connection) => health(connection.credential?.secrets.password),
    }),
  });
}

const healthy = async () => ({ ok: true, latencyMs: 1 });

const body = {
  name: "prod-fake-01",
  connectionType: "fake",
  targetHost: "10.1.2.3",
  targetPort: 2222,
  targetService: null,
  environment: "prod",
};

describe("createConnectionsApi", () => {
  it("creates, reads, lists, updates and deletes connections, auditing each change", async () => {
    const engine = await createEngine({ vault: { key }, connectors: [fakeConnector(healthy)] });
    const created = await engine.connections.create(body, { actor: "alice" });
    expect(created).toMatchObject({ ...body, credentialId: null, health: { status: "unknown" } });
    expect(await engine.connections.get(created.id)).toEqual(created);
    expect(await engine.connections.getByName("prod-fake-01")).toEqual(created);
    expect(await engine.connections.list({ environment: "staging" })).toEqual([]);
    const updated = await engine.connections.update(created.id, { targetPort: 22 }, { actor: "bob" });
    expect(updated.targetPort).toBe(22);
    await engine.connections.delete(created.id, { actor: "carol" });
    await expect(engine.connections.get(created.id)).rejects.toMatchObject({
      code: "RW_ERR_STORAGE_NOT_FOUND",
    });
    const audit = (await engine.audit.list({ objectType: "connection", order: "asc" })).items;
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ["alice", "connection.created"],
      ["bob", "connection.updated"],
      ["carol", "connection.deleted"],
    ]);
    await engine.close();
  });

  it("accepts the connector guide's body with a credential of the same environment only", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [fakeConnector(healthy, ["fake", "database:postgresql"])],
    });
    const prod = await engine.credentials.create({
      name: "c",
      credentialType: "database",
      environment: "prod",
      username: "u",
      password: "x",
    });
    const connection = await engine.connections.create({
      name: "prod-db-01",
      connectionType: "database",
      credentialId: prod.id,
      targetHost: "db.example.com",
      targetPort: 5432,
      targetService: "postgresql",
      environment: "prod",
    });
    expect(connection.credentialId).toBe(prod.id);
    await expect(
      engine.connections.create({
        ...body,
        name: "staging-x",
        environment: "staging",
        credentialId: prod.id,
      }),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID" });
    await expect(engine.connections.create({ ...body, name: "local" })).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await expect(engine.connections.create({ ...body, targetHost: "a b;rm" })).rejects.toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
    });
    await engine.close();
  });

  it("runs the connector's health check and stores the result", async () => {
    let received: string | undefined;
    const engine = await createEngine({
      vault: { key },
      connectors: [
        fakeConnector(async (password) => {
          received = password;
          return { ok: true, latencyMs: 3.4 };
        }),
      ],
    });
    const credential = await engine.credentials.create({
      name: "c",
      credentialType: "generic",
      environment: "prod",
      password: "pw-xyz",
    });
    const connection = await engine.connections.create({ ...body, credentialId: credential.id });
    const health = await engine.connections.test(connection.id, { actor: "alice" });
    expect(health).toMatchObject({ status: "healthy", latencyMs: 3, error: null });
    expect(received).toBe("pw-xyz");
    expect((await engine.connections.get(connection.id)).health.status).toBe("healthy");
    await engine.close();
  });

  it("stores an unhealthy result with the secret redacted from the connector's error", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [
        fakeConnector(async (password) => {
          throw new Error(`login failed for password ${password}`);
        }),
      ],
    });
    const credential = await engine.credentials.create({
      name: "c",
      credentialType: "generic",
      environment: "prod",
      password: "pw-xyz",
    });
    const connection = await engine.connections.create({ ...body, credentialId: credential.id });
    const health = await engine.connections.test(connection.id);
    expect(health.status).toBe("unhealthy");
    expect(health.error).toBe("login failed for password ***");
    expect(JSON.stringify(await engine.audit.list())).not.toContain("pw-xyz");
    await engine.close();
  });

  it("redacts derived forms, what the check registers and the engine's own secrets from its message", async () => {
    const header = `Basic ${Buffer.from("ops:pw/xyz+1").toString("base64")}`;
    const connector = defineConnector({
      kind: "infrastructure",
      name: "fake",
      version: "1.0.0",
      sdk: "^0.1.0",
      configSchema: z.object({}),
      capabilities: ["exec"],
      connectionTypes: ["fake"],
      create: () => ({
        open: async () => ({
          exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
          release: async () => {},
        }),
        healthCheck: async (connection, { redact }) => {
          redact?.(header);
          const password = connection.credential?.secrets.password ?? "";
          return {
            ok: false,
            latencyMs: 1,
            reason: "auth",
            message: `sent ${header} to /login?p=${encodeURIComponent(password)} as server-token-0123456789`,
          };
        },
      }),
    });
    const engine = await createEngine({
      vault: { key },
      connectors: [connector],
      redact: ["server-token-0123456789"],
    });
    const credential = await engine.credentials.create({
      name: "c",
      credentialType: "generic",
      environment: "prod",
      password: "pw/xyz+1",
    });
    const connection = await engine.connections.create({ ...body, credentialId: credential.id });
    const health = await engine.connections.test(connection.id);
    expect(health.error).toBe("auth: sent *** to /login?p=*** as ***");
    await engine.close();
  });

  it("refuses a connection type no registered connector serves, on create and update, listing the known types", async () => {
    const engine = await createEngine({ vault: { key }, connectors: [fakeConnector(healthy)] });
    const refusal = {
      code: "RW_ERR_INPUT_INVALID",
      status: 422,
      message: expect.stringMatching(/"winrm".*known types: fake, local/),
      details: {
        fields: [{ field: "connectionType", message: expect.stringContaining("fake, local") }],
        knownTypes: ["fake", "local"],
      },
    };
    await expect(engine.connections.create({ ...body, connectionType: "winrm" })).rejects.toMatchObject(
      refusal,
    );
    // `database` is known only with the target service of a registered database connector.
    await expect(
      engine.connections.create({ ...body, connectionType: "database", targetService: "postgresql" }),
    ).rejects.toMatchObject({ code: "RW_ERR_INPUT_INVALID", details: { knownTypes: ["fake", "local"] } });
    const created = await engine.connections.create(body);
    await expect(engine.connections.update(created.id, { connectionType: "winrm" })).rejects.toMatchObject(
      refusal,
    );
    expect((await engine.connections.get(created.id)).connectionType).toBe("fake");
    expect(await engine.connections.list()).toHaveLength(1);
    await engine.close();
  });

  it("reports a connection type no connector serves, and a hung check, as unhealthy", async () => {
    const engine = await createEngine({
      vault: { key },
      connectors: [fakeConnector(() => new Promise(() => {}))],
    });
    // A connection left behind by a connector no longer registered (create refuses the type now).
    const now = new Date().toISOString();
    const orphan = await engine.storage.connections.insert({
      ...body,
      name: "orphan",
      connectionType: "winrm",
      credentialId: null,
      options: {},
      health: { status: "unknown", checkedAt: null, latencyMs: null, error: null },
      createdAt: now,
      updatedAt: now,
    });
    expect((await engine.connections.test(orphan.id)).error).toMatch(/RW_ERR_PLUGIN_NOT_FOUND/);
    const hung = await engine.connections.create(body);
    const health = await engine.connections.test(hung.id, { timeoutMs: 50 });
    expect(health).toMatchObject({ status: "unhealthy", error: "no answer within 50 ms" });
    await engine.close();
  });
});
