import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEngine, createMemoryStorage } from "../src/index.js";
import { postgresStub } from "./executor/helpers.js";

const key = randomBytes(32);
/** The connector guide's body, camelCased as the HTTP adapter hands it over. */
const guideBody = {
  name: "prod-db-credentials",
  credentialType: "database",
  environment: "prod",
  username: "admin",
  password: "s3cret-Pa55",
  host: "db.example.com",
  port: 5432,
  database_name: "mydb",
};

describe("createCredentialsApi", () => {
  it("stores the connector guide's body and lists its secret masked", async () => {
    const engine = await createEngine({ vault: { key } });
    const created = await engine.credentials.create(guideBody, { actor: "alice" });
    expect(created).toMatchObject({
      name: "prod-db-credentials",
      credentialType: "database",
      environment: "prod",
      fields: {
        username: "admin",
        password: "********",
        host: "db.example.com",
        port: 5432,
        database_name: "mydb",
      },
      secretFields: ["password"],
    });
    const [listed] = await engine.credentials.list();
    expect(listed?.fields.password).toBe("********");
    expect((await engine.credentials.get(created.id)).fields.password).toBe("********");
    await engine.close();
  });

  it("keeps the secret only as ciphertext in the store, the audit log and events", async () => {
    const storage = createMemoryStorage();
    const engine = await createEngine({ storage, vault: { key } });
    const seen: unknown[] = [];
    engine.events.on("credential:changed", (e) => seen.push(e));
    const created = await engine.credentials.create({
      ...guideBody,
      credentialType: "generic",
      apiKey: "ak-777",
      secretFields: ["database_name"],
    });
    const stored = await storage.credentials.get(created.id);
    const everything = JSON.stringify([stored, await engine.audit.list(), seen]);
    for (const secret of ["s3cret-Pa55", "ak-777", "mydb"]) expect(everything).not.toContain(secret);
    expect(stored?.secretFields).toEqual(["apiKey", "database_name", "password"]);
    await engine.close();
  });

  it("replaces a secret on update, and keeps it when the masked value comes back", async () => {
    const storage = createMemoryStorage();
    const engine = await createEngine({ storage, vault: { key } });
    const created = await engine.credentials.create(guideBody);
    await engine.credentials.update(created.id, { password: "********", username: "root" });
    const { createVault } = await import("../src/vault.js");
    const vault = createVault({ key });
    let stored = await storage.credentials.get(created.id);
    expect(vault.open(stored!.ciphertext)).toEqual({ password: "s3cret-Pa55" });
    expect(stored?.fields.username).toBe("root");
    await engine.credentials.update(created.id, { password: "n3w" });
    stored = await storage.credentials.get(created.id);
    expect(vault.open(stored!.ciphertext)).toEqual({ password: "n3w" });
    await engine.close();
  });

  it("refuses invalid input by field name, never echoing a value", async () => {
    const engine = await createEngine({ vault: { key } });
    const err = await engine.credentials
      .create({ name: "", credentialType: "database", password: { nested: "p@ss-value" } })
      .catch((e) => e);
    expect(err.code).toBe("RW_ERR_INPUT_INVALID");
    expect(err.details.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(["name", "password"]),
    );
    expect(JSON.stringify(err.details) + err.message).not.toContain("p@ss-value");
    await engine.close();
  });

  it("refuses a second credential with the same name", async () => {
    const engine = await createEngine({ vault: { key } });
    await engine.credentials.create(guideBody);
    await expect(engine.credentials.create(guideBody)).rejects.toMatchObject({
      code: "RW_ERR_STORAGE_CONFLICT",
    });
    await engine.close();
  });

  it("refuses to delete a credential a connection uses, and audits the delete", async () => {
    const engine = await createEngine({ vault: { key }, connectors: [postgresStub] });
    const credential = await engine.credentials.create(guideBody);
    const connection = await engine.connections.create({
      name: "prod-db-01",
      connectionType: "database",
      credentialId: credential.id,
      targetHost: "db.example.com",
      targetPort: 5432,
      targetService: "postgresql",
      environment: "prod",
    });
    await expect(engine.credentials.delete(credential.id)).rejects.toMatchObject({
      code: "RW_ERR_STORAGE_CONFLICT",
    });
    await engine.connections.delete(connection.id, { actor: "alice" });
    await engine.credentials.delete(credential.id, { actor: "alice" });
    await expect(engine.credentials.get(credential.id)).rejects.toMatchObject({
      code: "RW_ERR_STORAGE_NOT_FOUND",
    });
    const actions = (await engine.audit.list({ objectType: "credential" })).items.map((e) => e.action);
    expect(actions).toEqual(["credential.deleted", "credential.created"]);
    await engine.close();
  });

  it("re-encrypts every credential under the new key when the key rotates", async () => {
    const storage = createMemoryStorage();
    const engine = await createEngine({ storage, vault: { key } });
    const a = await engine.credentials.create(guideBody);
    const b = await engine.credentials.create({ ...guideBody, name: "other", password: "pw-2" });
    const before = await storage.credentials.get(a.id);
    const next = randomBytes(32);
    const result = await engine.credentials.rotateKey(next.toString("base64"), { actor: "admin" });
    expect(result.rotated).toBe(2);
    const { createVault } = await import("../src/vault.js");
    const onlyNew = createVault({ key: next });
    expect(onlyNew.open((await storage.credentials.get(a.id))!.ciphertext)).toEqual({
      password: "s3cret-Pa55",
    });
    expect(onlyNew.open((await storage.credentials.get(b.id))!.ciphertext)).toEqual({ password: "pw-2" });
    expect(() => onlyNew.open(before!.ciphertext)).toThrow();
    expect((await storage.credentials.get(a.id))?.updatedAt).toBe(before?.updatedAt);
    const [event] = (await engine.audit.list({ action: "vault.key_rotated" })).items;
    expect(event).toMatchObject({ actor: "admin", details: { rotated: 2 } });
    await engine.close();
  });
});
