import { Writable } from "node:stream";
import { databaseCredential, defineConnector, type ResolvedConnection } from "@runwarden/core";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, setup } from "../helpers.js";

/** The connector guide's bodies, verbatim. */
const documentedCredential = {
  name: "prod-db-credentials",
  credential_type: "database",
  environment: "prod",
  username: "admin",
  password: "secret",
  host: "db.example.com",
  port: 5432,
  database_name: "mydb",
};
const documentedConnection = {
  name: "prod-db-01",
  connection_type: "database",
  credential_id: 1,
  target_host: "db.example.com",
  target_port: 5432,
  target_service: "postgresql",
  environment: "prod",
};

/** A PostgreSQL stand-in that accepts core's database type and records what it was handed. */
const seen: ResolvedConnection[] = [];
const fakePostgres = defineConnector({
  kind: "infrastructure",
  name: "fake-postgres",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: [],
  connectionTypes: ["database:postgresql"],
  credentialTypes: { database: databaseCredential },
  create: () => ({
    open: async () => ({
      exec: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
      release: async () => {},
    }),
    healthCheck: async (connection) => {
      seen.push(connection as ResolvedConnection);
      return { ok: true, latencyMs: 1 };
    },
  }),
});

const lines: string[] = [];
const logger = pino(
  { level: "trace" },
  new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  }),
);
const events: unknown[] = [];

let h: Harness;
beforeAll(async () => {
  h = await setup({ engine: { logger, connectors: [fakePostgres] }, adapter: { logger } });
  h.engine.events.on("credential:changed", (e) => events.push(e));
  h.engine.events.on("connection:changed", (e) => events.push(e));
});
afterAll(() => h.close());

describe("credential types over HTTP", () => {
  it("accepts the connector guide's database body verbatim and hands the connector its typed fields", async () => {
    const created = await h.json("POST", "/connectors/credentials", { json: documentedCredential });
    expect(created.status).toBe(201);
    expect(created.body.fields).toEqual({
      username: "admin",
      password: "********",
      host: "db.example.com",
      port: 5432,
      database_name: "mydb",
    });
    expect(created.body.secret_fields).toEqual(["password"]);
    const connection = await h.json("POST", "/connectors/infrastructure-connections", {
      json: documentedConnection,
    });
    expect(connection.status).toBe(201);
    const tested = await h.json("POST", `/connectors/infrastructure-connections/${connection.body.id}/test`);
    expect(tested.body.status).toBe("healthy");
    expect(seen.at(-1)?.credential).toMatchObject({
      credentialType: "database",
      value: {
        username: "admin",
        password: "secret",
        host: "db.example.com",
        port: 5432,
        database_name: "mydb",
      },
    });
  });

  it("seals and masks fields named auth and bearer on the generic type in every response", async () => {
    const secrets = ["auth-Zq81-create", "bearer-Zq82-create", "bearer-Zq83-update", "auth-Zq84-rotate"];
    const texts: string[] = [];
    const send = async (method: string, path: string, json?: unknown) => {
      const res = await h.call(method, path, json === undefined ? {} : { json });
      const text = await res.text();
      texts.push(text);
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const created = await send("POST", "/connectors/credentials", {
      name: "legacy-token",
      credential_type: "generic",
      environment: "prod",
      username: "ops",
      auth: secrets[0],
      bearer: secrets[1],
    });
    expect(created.status).toBe(201);
    expect(created.body.fields).toEqual({ username: "ops", auth: "********", bearer: "********" });
    const id = created.body.id as number;
    const listed = await send("GET", "/connectors/credentials?type=generic");
    expect(listed.body.items[0].fields.bearer).toBe("********");
    expect((await send("GET", `/connectors/credentials/${id}`)).body.fields.auth).toBe("********");
    const patched = await send("PATCH", `/connectors/credentials/${id}`, {
      bearer: secrets[2],
      auth: "********",
    });
    expect(patched.body.fields).toEqual({ username: "ops", auth: "********", bearer: "********" });
    const rotated = await send("POST", `/connectors/credentials/${id}/rotate`, { auth: secrets[3] });
    expect(rotated.status).toBe(200);
    // A refused change names the field, never the value.
    const refused = await send("PATCH", `/connectors/credentials/${id}`, { bearer: { nested: secrets[2] } });
    expect(refused.status).toBe(422);
    const everything = texts.join("\n") + lines.join("") + JSON.stringify(events);
    expect(lines.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    for (const value of secrets) expect(everything).not.toContain(value);
    const stored = await h.engine.storage.credentials.get(id);
    expect(JSON.stringify(stored)).not.toMatch(/Zq8/);
  });

  it("answers 422 naming an unknown field on a known type, without echoing its value", async () => {
    const res = await h.call("POST", "/connectors/credentials", {
      json: { ...documentedCredential, name: "with-extra", bearer: "tok-Zq90" },
    });
    const text = await res.text();
    expect(res.status).toBe(422);
    const body = JSON.parse(text);
    expect(body.error.code).toBe("RW_ERR_INPUT_INVALID");
    expect(body.error.fields).toEqual([
      {
        field: "bearer",
        message:
          'is not a field of credential type "database" (its fields: username, password, host, port, database_name)',
      },
    ]);
    expect(text).not.toContain("tok-Zq90");
    const unknownType = await h.json("POST", "/connectors/credentials", {
      json: { name: "typo", credential_type: "databse", username: "a" },
    });
    expect(unknownType.status).toBe(422);
    expect(unknownType.body.error.fields[0]).toEqual({
      field: "credential_type",
      message: 'unknown credential type "databse"; known: database, generic',
    });
  });

  it("lists the credential types with each field's name, secrecy, requiredness and type", async () => {
    const res = await h.json("GET", "/connectors/credential-types", { token: h.tokens.operator });
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.items.map((t: { name: string }) => [t.name, t]));
    expect(byName.database).toMatchObject({
      generic: false,
      connectors: ["fake-postgres"],
      fields: [
        { name: "username", secret: false, required: true, type: "string" },
        { name: "password", secret: true, required: false, type: "string" },
        { name: "host", secret: false, required: false, type: "string" },
        { name: "port", secret: false, required: false, type: "number" },
        { name: "database_name", secret: false, required: false, type: "string" },
      ],
    });
    expect(byName.generic).toMatchObject({ generic: true, fields: [] });
    expect(byName.generic.public_fields).toEqual(expect.arrayContaining(["username", "host", "port"]));
    expect(byName.generic.public_fields).not.toContain("auth");
    expect((await h.json("GET", "/connectors/credential-types", { token: h.tokens.viewer })).status).toBe(
      403,
    );
    const doc = await h.json("GET", "/openapi.json");
    expect(
      doc.body.paths["/api/v1/connectors/credential-types"] ?? doc.body.paths["/connectors/credential-types"],
    ).toBeDefined();
  });
});
