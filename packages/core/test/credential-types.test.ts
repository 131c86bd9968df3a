import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createEngine,
  createMemoryStorage,
  databaseCredential,
  defineConnector,
  genericCredential,
  type ResolvedConnection,
  secret,
} from "../src/index.js";
import { createVault } from "../src/vault.js";

const key = randomBytes(32);

/** An infrastructure connector that declares `types` and hands each health check's connection to `seen`. */
function typedConnector(
  types: Record<string, z.ZodObject> | undefined,
  seen: ResolvedConnection[] = [],
  name = "typed",
) {
  return defineConnector({
    kind: "infrastructure",
    name,
    version: "1.0.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["exec"],
    connectionTypes: [name],
    ...(types ? { credentialTypes: types } : {}),
    create: () => ({
      open: async () => ({
        exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
        release: async () => {},
      }),
      healthCheck: async (connection: ResolvedConnection) => {
        seen.push(connection);
        return { ok: true, latencyMs: 1 };
      },
    }),
  });
}

const basic = z.object({ username: z.string(), password: secret(z.string()) });

/** A pino logger writing every line into `lines`. */
function capturingLogger(lines: string[]) {
  return pino(
    { level: "trace" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
}

describe("credential types", () => {
  it("seals and masks fields named auth and bearer on the generic type", async () => {
    const storage = createMemoryStorage();
    const engine = await createEngine({ storage, vault: { key } });
    const created = await engine.credentials.create({
      name: "legacy-api",
      credentialType: "generic",
      username: "ops",
      auth: "auth-value-1f2e",
      bearer: "bearer-value-9a8b",
    });
    expect(created.fields).toEqual({ username: "ops", auth: "********", bearer: "********" });
    expect(created.secretFields).toEqual(["auth", "bearer"]);
    const stored = await storage.credentials.get(created.id);
    expect(JSON.stringify(stored)).not.toMatch(/auth-value|bearer-value/);
    expect(createVault({ key }).open(stored!.ciphertext)).toEqual({
      auth: "auth-value-1f2e",
      bearer: "bearer-value-9a8b",
    });
    await engine.close();
  });

  it("keeps only the public list of the generic type in clear", async () => {
    const engine = await createEngine({ vault: { key } });
    const created = await engine.credentials.create({
      name: "g",
      credentialType: "generic",
      host: "h",
      port: 5,
      region: "eu",
      pin: 1234,
      session: "s-1",
    });
    expect(created.fields).toEqual({
      host: "h",
      port: 5,
      region: "eu",
      pin: "********",
      session: "********",
    });
    await engine.close();
  });

  it("seals exactly the fields a connector's type marks secret, whatever their names", async () => {
    const storage = createMemoryStorage();
    const token = z.object({ auth: secret(z.string()), password_hint: z.string() });
    const engine = await createEngine({ storage, vault: { key }, connectors: [typedConnector({ token })] });
    const created = await engine.credentials.create({
      name: "t",
      credentialType: "token",
      auth: "tok-5555",
      password_hint: "the usual",
    });
    expect(created.fields).toEqual({ auth: "********", password_hint: "the usual" });
    expect(created.secretFields).toEqual(["auth"]);
    const stored = await storage.credentials.get(created.id);
    expect(stored?.fields).toEqual({ password_hint: "the usual" });
    await engine.close();
  });

  it("keeps a field secret when its schema is described after secret()", async () => {
    const token = z.object({
      token: secret(z.string()).describe("the token"),
      key: secret(z.string()).optional().meta({ description: "a key" }),
    });
    const engine = await createEngine({ vault: { key }, connectors: [typedConnector({ token })] });
    const created = await engine.credentials.create({
      name: "t",
      credentialType: "token",
      token: "t-1",
      key: "k-1",
    });
    expect(created.fields).toEqual({ token: "********", key: "********" });
    const listed = engine.connectors.credentialTypes.list().find((t) => t.name === "token");
    expect(listed?.fields).toEqual([
      { name: "token", secret: true, required: true, type: "string", description: "the token" },
      { name: "key", secret: true, required: false, type: "string", description: "a key" },
    ]);
    await engine.close();
  });

  it("refuses an unknown field on a known type, naming it and the type's fields", async () => {
    const engine = await createEngine({ vault: { key } });
    const err = await engine.credentials
      .create({
        name: "db",
        credentialType: "database",
        username: "admin",
        password: "pw-31337",
        bearer: "tok-31337",
      })
      .catch((e) => e);
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(err.details.fields).toEqual([
      {
        field: "bearer",
        message:
          'is not a field of credential type "database" (its fields: username, password, host, port, database_name)',
      },
    ]);
    expect(err.message).toContain("bearer");
    expect(JSON.stringify(err.details) + err.message).not.toMatch(/31337/);
    const created = await engine.credentials.create({
      name: "db",
      credentialType: "database",
      username: "a",
    });
    const update = await engine.credentials.update(created.id, { auth: "x" }).catch((e) => e);
    expect(update.code).toBe("RW_ERR_INPUT_INVALID");
    expect(update.details.fields.map((f: { field: string }) => f.field)).toEqual(["auth"]);
    await engine.close();
  });

  it("refuses a type nobody declares, listing the known ones", async () => {
    const engine = await createEngine({ vault: { key }, connectors: [typedConnector({ basic })] });
    const err = await engine.credentials
      .create({ name: "x", credentialType: "databse", username: "a" })
      .catch((e) => e);
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(err.details.fields).toEqual([
      {
        field: "credentialType",
        message: 'unknown credential type "databse"; known: basic, database, generic',
      },
    ]);
    await engine.close();
  });

  it("hands a connector its credential parsed with the declared type", async () => {
    const seen: ResolvedConnection[] = [];
    const engine = await createEngine({ vault: { key }, connectors: [typedConnector({ basic }, seen)] });
    const credential = await engine.credentials.create({
      name: "b",
      credentialType: "basic",
      username: "ops",
      password: "pw-4242",
    });
    const connection = await engine.connections.create({
      name: "t1",
      connectionType: "typed",
      credentialId: credential.id,
      targetHost: "10.0.0.1",
    });
    await engine.connections.test(connection.id);
    expect(seen[0]?.credential).toEqual({
      id: credential.id,
      name: "b",
      credentialType: "basic",
      environment: "",
      value: { username: "ops", password: "pw-4242" },
      secrets: { password: "pw-4242" },
    });
    await engine.close();
  });

  it("hands a generic credential whole to a connector that accepts generic or declares no types", async () => {
    const seen: ResolvedConnection[] = [];
    const engine = await createEngine({
      vault: { key },
      connectors: [
        typedConnector({ generic: genericCredential as never }, seen, "free"),
        typedConnector(undefined, seen, "untyped"),
      ],
    });
    const credential = await engine.credentials.create({
      name: "g",
      credentialType: "generic",
      user: "ops",
      auth: "a-1",
      port: 7,
    });
    for (const connectionType of ["free", "untyped"]) {
      const connection = await engine.connections.create({
        name: connectionType,
        connectionType,
        credentialId: credential.id,
        targetHost: "10.0.0.1",
      });
      await engine.connections.test(connection.id);
    }
    expect(seen.map((c) => [c.credential?.value, c.credential?.secrets])).toEqual([
      [{ user: "ops", auth: "a-1", port: 7 }, { auth: "a-1" }],
      [{ user: "ops", auth: "a-1", port: 7 }, { auth: "a-1" }],
    ]);
    await engine.close();
  });

  it("refuses a credential of a type the connection's connector does not accept, before calling it", async () => {
    const seen: ResolvedConnection[] = [];
    const storage = createMemoryStorage();
    const engine = await createEngine({
      storage,
      vault: { key },
      connectors: [typedConnector({ basic }, seen)],
    });
    const credential = await engine.credentials.create({
      name: "g",
      credentialType: "generic",
      token: "t-1",
    });
    const refused = await engine.connections
      .create({ name: "t1", connectionType: "typed", credentialId: credential.id, targetHost: "10.0.0.1" })
      .catch((e) => e);
    expect(refused).toMatchObject({
      code: "RW_ERR_INPUT_INVALID",
      details: { fields: [{ field: "credentialId", message: "must be a credential of type basic" }] },
    });
    // A connection stored before (or whose credential changed type since) is refused at use.
    const connection = await engine.connections.create({
      name: "t1",
      connectionType: "typed",
      targetHost: "10.0.0.1",
    });
    await storage.connections.update(connection.id, connection.version, { credentialId: credential.id });
    const health = await engine.connections.test(connection.id);
    expect(health.status).toBe("unhealthy");
    expect(health.error).toContain('is of type "generic", but connector typed accepts basic');
    expect(seen).toEqual([]);
    await engine.close();
  });

  it("loads a credential stored before types existed, with what it sealed still sealed", async () => {
    const storage = createMemoryStorage();
    const vault = createVault({ key });
    const now = new Date().toISOString();
    // The 0.1 shape: secrets guessed by name, a camelCase extra field, a type nobody declares.
    const database = await storage.credentials.insert({
      name: "old-db",
      credentialType: "database",
      environment: "prod",
      fields: { username: "admin", host: "db", port: 5432, database_name: "mydb", databaseName: "mydb" },
      secretFields: ["password"],
      ciphertext: vault.seal({ password: "old-pw-1" }),
      createdAt: now,
      updatedAt: now,
    });
    const custom = await storage.credentials.insert({
      name: "old-custom",
      credentialType: "winrm",
      environment: "prod",
      fields: { username: "admin", bearer: "in-clear-before" },
      secretFields: ["password"],
      ciphertext: vault.seal({ password: "old-pw-2" }),
      createdAt: now,
      updatedAt: now,
    });
    const seen: ResolvedConnection[] = [];
    const engine = await createEngine({
      storage,
      vault: { key },
      connectors: [typedConnector({ database: databaseCredential }, seen)],
    });
    expect((await engine.credentials.get(database.id)).fields.password).toBe("********");
    // A field its type would seal is masked even though it was stored in clear.
    expect((await engine.credentials.get(custom.id)).fields).toEqual({
      username: "admin",
      bearer: "********",
      password: "********",
    });
    const connection = await engine.connections.create({
      name: "c",
      connectionType: "typed",
      credentialId: database.id,
      environment: "prod",
      targetHost: "db",
    });
    await engine.connections.test(connection.id);
    expect(seen[0]?.credential?.value).toEqual({
      username: "admin",
      password: "old-pw-1",
      host: "db",
      port: 5432,
      database_name: "mydb",
    });
    // Updating one field keeps the rest, the old extra field included.
    const updated = await engine.credentials.update(custom.id, { password: "new-pw" });
    expect(updated.fields).toEqual({ username: "admin", bearer: "********", password: "********" });
    expect(createVault({ key }).open((await storage.credentials.get(custom.id))!.ciphertext)).toEqual({
      password: "new-pw",
      bearer: "in-clear-before",
    });
    await engine.close();
  });

  it("never lets a secret field reach a response, log line, event or error", async () => {
    const lines: string[] = [];
    const events: unknown[] = [];
    const engine = await createEngine({
      vault: { key },
      logger: capturingLogger(lines),
      connectors: [typedConnector({ basic })],
    });
    engine.events.on("credential:changed", (e) => events.push(e));
    const responses: unknown[] = [];
    const errors: unknown[] = [];
    const attempt = async <T>(call: () => Promise<T>) => {
      try {
        responses.push(await call());
      } catch (err) {
        errors.push({ message: (err as Error).message, details: (err as { details?: unknown }).details });
      }
    };
    const created = await engine.credentials.create({
      name: "b",
      credentialType: "basic",
      username: "ops",
      password: "Sekr1t-create",
    });
    responses.push(created);
    await attempt(() => engine.credentials.list());
    await attempt(() => engine.credentials.get(created.id));
    await attempt(() => engine.credentials.update(created.id, { password: "Sekr1t-update" }));
    await attempt(() => engine.credentials.update(created.id, { password: "********" }));
    // Refused inputs carrying secrets: a wrong type, an unknown field, a secret that is not a string.
    await attempt(() =>
      engine.credentials.create({ name: "c", credentialType: "basic", username: 5, password: "Sekr1t-err1" }),
    );
    await attempt(() =>
      engine.credentials.create({
        name: "d",
        credentialType: "basic",
        password: "Sekr1t-err2",
        pin: "Sekr1t-err3",
      }),
    );
    await attempt(() =>
      engine.credentials.create({ name: "e", credentialType: "generic", token: true, key: "Sekr1t-err4" }),
    );
    await attempt(() => engine.credentials.update(created.id, { password: { deep: "Sekr1t-err5" } }));
    await attempt(() => engine.credentials.rotateKey(randomBytes(32)));
    expect(errors).toHaveLength(4);
    expect(lines.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    const everything = JSON.stringify([responses, lines, events, errors]);
    expect(everything).not.toContain("Sekr1t");
    await engine.close();
  });

  it("checks declared types at registration: objects only, string secrets, one schema per name", async () => {
    const refused = async (types: Record<string, unknown>, name = "typed") =>
      createEngine({ vault: { key }, connectors: [typedConnector(types as never, [], name)] }).catch(
        (e) => e,
      );
    const notObject = await refused({ basic: z.string() });
    expect(notObject).toMatchObject({
      code: "RW_ERR_PLUGIN_INVALID",
      details: {
        issues: [{ path: "credentialTypes.basic", message: "must be a zod object schema (z.object)" }],
      },
    });
    const numberSecret = await refused({ pin: z.object({ pin: secret(z.number()) }) });
    expect(numberSecret).toMatchObject({
      code: "RW_ERR_PLUGIN_INVALID",
      details: { issues: [{ path: "credentialTypes.pin.pin", message: "a secret field must be a string" }] },
    });
    const otherDatabase = await refused({ database: z.object({ dsn: secret(z.string()) }) });
    expect(otherDatabase).toMatchObject({ code: "RW_ERR_PLUGIN_DUPLICATE" });
    const monitoring = await createEngine({
      vault: { key },
      connectors: [
        defineConnector({
          kind: "monitoring",
          name: "mon",
          version: "1.0.0",
          sdk: "^0.1.0",
          configSchema: z.object({}),
          capabilities: [],
          credentialTypes: { basic },
          create: () => ({}),
        }),
      ],
    }).catch((e) => e);
    expect(monitoring).toMatchObject({ code: "RW_ERR_PLUGIN_INVALID" });
    // Two connectors sharing one schema (as the SQL connectors share `database`) is fine.
    const engine = await createEngine({
      vault: { key },
      connectors: [typedConnector({ basic }, [], "one"), typedConnector({ basic }, [], "two")],
    });
    const listed = engine.connectors.credentialTypes.list().find((t) => t.name === "basic");
    expect(listed).toEqual({
      name: "basic",
      description: null,
      generic: false,
      fields: [
        { name: "username", secret: false, required: true, type: "string" },
        { name: "password", secret: true, required: true, type: "string" },
      ],
      publicFields: [],
      connectors: ["one", "two"],
    });
    await engine.close();
  });
});
