import { defineConnector, rwError } from "@runwarden/core";
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

/** Serves `database` connections to PostgreSQL and reaches nothing: every check fails. */
const postgresStub = defineConnector({
  kind: "infrastructure",
  name: "postgres-stub",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({}),
  capabilities: ["exec"],
  connectionTypes: ["database:postgresql"],
  create: () => ({
    open: async () => {
      throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", "postgres-stub reaches no database");
    },
    healthCheck: async () => ({ ok: false, latencyMs: 0, reason: "unreachable", message: "a stub" }),
  }),
});

let h: Harness;
beforeAll(async () => {
  h = await setup({ engine: { connectors: [postgresStub] } });
});
afterAll(() => h.close());

describe("POST /connectors/credentials", () => {
  it("accepts the connector guide's body verbatim and never returns the secret", async () => {
    const res = await h.call("POST", "/connectors/credentials", { json: documentedCredential });
    const text = await res.text();
    expect(res.status).toBe(201);
    expect(text).not.toContain('"secret"');
    const body = JSON.parse(text);
    expect(body).toMatchObject({
      id: 1,
      name: "prod-db-credentials",
      credential_type: "database",
      environment: "prod",
      fields: {
        username: "admin",
        password: "********",
        host: "db.example.com",
        port: 5432,
        database_name: "mydb",
      },
      secret_fields: ["password"],
    });
  });

  it("stores the credential's fields under the names the caller used, as connectors read them", async () => {
    const res = await h.json("POST", "/connectors/credentials", {
      json: {
        name: "key-fields",
        credential_type: "generic",
        username: "ops",
        private_key: "KEY",
        database_name: "x",
      },
    });
    expect(res.status).toBe(201);
    const stored = await h.engine.credentials.get(res.body.id);
    expect(Object.keys(stored.fields)).toEqual(
      expect.arrayContaining(["username", "private_key", "database_name"]),
    );
    expect(stored.secretFields).toContain("private_key");
    expect(res.body.fields.private_key).toBe("********");
  });

  it("answers 409 when the name is taken and 422 naming the field when the body is incomplete", async () => {
    const dup = await h.json("POST", "/connectors/credentials", { json: documentedCredential });
    expect(dup.status).toBe(409);
    const missing = await h.json("POST", "/connectors/credentials", { json: { credential_type: "ssh" } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.fields.map((f: { field: string }) => f.field)).toContain("name");
    const nested = await h.json("POST", "/connectors/credentials", {
      json: { name: "x", credential_type: "ssh", key: { a: 1 } },
    });
    expect(nested.status).toBe(422);
    const notObject = await h.json("POST", "/connectors/credentials", { json: [1, 2] });
    expect(notObject.status).toBe(422);
  });

  it("needs the admin role", async () => {
    const r = await h.json("POST", "/connectors/credentials", {
      token: h.tokens.operator,
      json: { ...documentedCredential, name: "x" },
    });
    expect(r.status).toBe(403);
  });
});

describe("GET /connectors/credentials", () => {
  it("lists credentials masked and filters by environment and type", async () => {
    const res = await h.call("GET", "/connectors/credentials?environment=prod", { token: h.tokens.operator });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain('"secret"');
    expect(JSON.parse(text).items[0].fields.password).toBe("********");
    const none = await h.json("GET", "/connectors/credentials?type=ssh");
    expect(none.body.items).toEqual([]);
    expect((await h.json("GET", "/connectors/credentials", { token: h.tokens.viewer })).status).toBe(403);
  });

  it("returns one credential masked and 404 for an unknown id", async () => {
    expect((await h.json("GET", "/connectors/credentials/1")).body.fields.password).toBe("********");
    expect((await h.json("GET", "/connectors/credentials/99")).status).toBe(404);
  });
});

describe("PATCH and rotate /connectors/credentials/{id}", () => {
  it("changes fields, and rotates only secret fields", async () => {
    const patched = await h.json("PATCH", "/connectors/credentials/1", {
      json: { username: "dba", password: "********" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.fields.username).toBe("dba");
    const rotated = await h.call("POST", "/connectors/credentials/1/rotate", {
      json: { password: "n3w-s3cret-value" },
    });
    expect(rotated.status).toBe(200);
    expect(await rotated.text()).not.toContain("n3w-s3cret-value");
    const notSecret = await h.json("POST", "/connectors/credentials/1/rotate", { json: { username: "x" } });
    expect(notSecret.status).toBe(422);
    expect(notSecret.body.error.fields[0].field).toBe("username");
    const empty = await h.json("POST", "/connectors/credentials/1/rotate", { json: {} });
    expect(empty.status).toBe(422);
  });
});

describe("POST /connectors/infrastructure-connections", () => {
  it("accepts the connector guide's body verbatim", async () => {
    const r = await h.json("POST", "/connectors/infrastructure-connections", { json: documentedConnection });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      ...documentedConnection,
      id: 1,
      options: {},
      health: { status: "unknown", checked_at: null, latency_ms: null, error: null },
    });
  });

  it("answers 422 with snake_case fields when the body is invalid", async () => {
    const r = await h.json("POST", "/connectors/infrastructure-connections", {
      json: { ...documentedConnection, name: "bad", target_port: 70000 },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.fields.map((f: { field: string }) => f.field)).toContain("target_port");
    const wrongEnv = await h.json("POST", "/connectors/infrastructure-connections", {
      json: { ...documentedConnection, name: "staging-db", environment: "staging" },
    });
    expect(wrongEnv.status).toBe(422);
    expect(wrongEnv.body.error.fields[0].field).toBe("credential_id");
  });

  it("answers 422 naming connection_type with the known types when no connector serves the type", async () => {
    for (const json of [
      { ...documentedConnection, name: "winrm-01", connection_type: "winrm" },
      { ...documentedConnection, name: "mysql-01", target_service: "mysql" },
    ]) {
      const r = await h.json("POST", "/connectors/infrastructure-connections", { json });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe("RW_ERR_INPUT_INVALID");
      expect(r.body.error.fields).toEqual([
        { field: "connection_type", message: expect.stringContaining("database:postgresql, local") },
      ]);
      expect(r.body.error.details.known_types).toEqual(["database:postgresql", "local"]);
    }
    expect(
      (await h.json("GET", "/connectors/infrastructure-connections")).body.items.map(
        (c: { name: string }) => c.name,
      ),
    ).not.toContain("winrm-01");
  });

  it("refuses to delete a credential while a connection uses it", async () => {
    const r = await h.json("DELETE", "/connectors/credentials/1");
    expect(r.status).toBe(409);
  });
});

describe("infrastructure connections: list, get, update, test, delete", () => {
  it("reads, changes, tests and deletes a connection", async () => {
    const list = await h.json("GET", "/connectors/infrastructure-connections?environment=prod", {
      token: h.tokens.operator,
    });
    expect(list.body.items).toHaveLength(1);
    const get = await h.json("GET", "/connectors/infrastructure-connections/1", { token: h.tokens.operator });
    expect(get.body.name).toBe("prod-db-01");
    const updated = await h.json("PATCH", "/connectors/infrastructure-connections/1", {
      json: { target_port: 6432 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.target_port).toBe(6432);
    // The postgres connector here reaches nothing: the check fails, and says why, without a 5xx.
    const tested = await h.json("POST", "/connectors/infrastructure-connections/1/test", {
      token: h.tokens.operator,
    });
    expect(tested.status).toBe(200);
    expect(tested.body.status).toBe("unhealthy");
    expect(typeof tested.body.error).toBe("string");
    expect((await h.json("GET", "/connectors/infrastructure-connections/1")).body.health.status).toBe(
      "unhealthy",
    );
    expect(
      (await h.json("DELETE", "/connectors/infrastructure-connections/1", { token: h.tokens.operator }))
        .status,
    ).toBe(403);
    const deleted = await h.call("DELETE", "/connectors/infrastructure-connections/1");
    expect(deleted.status).toBe(204);
    expect((await h.json("GET", "/connectors/infrastructure-connections/1")).status).toBe(404);
    expect((await h.call("DELETE", "/connectors/credentials/1")).status).toBe(204);
  });

  it("tests a local connection as healthy", async () => {
    const created = await h.json("POST", "/connectors/infrastructure-connections", {
      json: { name: "runner-host", connection_type: "local", environment: "prod" },
    });
    expect(created.status).toBe(201);
    const tested = await h.json("POST", `/connectors/infrastructure-connections/${created.body.id}/test`);
    expect(tested.body.status).toBe("healthy");
  });
});

describe("GET /connectors/monitoring|ticketing|infrastructure", () => {
  it("lists the registered connectors of each kind", async () => {
    const monitoring = await h.json("GET", "/connectors/monitoring", { token: h.tokens.viewer });
    expect(monitoring.status).toBe(200);
    expect(monitoring.body.items).toEqual([]);
    expect((await h.json("GET", "/connectors/ticketing")).body.items).toEqual([]);
    const infra = await h.json("GET", "/connectors/infrastructure");
    expect(infra.body.items.map((c: { name: string }) => c.name)).toContain("local");
    expect(infra.body.items[0]).toHaveProperty("connection_types");
  });
});

describe("GET /connectors/monitoring pollers", () => {
  let failing = false;
  const tinyMonitor = defineConnector({
    kind: "monitoring",
    name: "tiny-monitor",
    version: "0.1.0",
    sdk: "^0.1.0",
    configSchema: z.object({}),
    capabilities: ["pull", "acknowledge"],
    create: () => ({
      async *pull() {
        if (failing) throw rwError("RW_ERR_CONNECTOR_UNREACHABLE", "tiny-monitor is down");
        yield { title: "Disk full on db-01", severity: "high", fingerprint: "disk-db-01" };
      },
      acknowledge: async () => {},
    }),
  });
  const quietMonitor = defineConnector({ ...tinyMonitor, name: "quiet-monitor", capabilities: [] });

  it("shows each polled source's cursor, last and next run and last error, and null for the others", async () => {
    const m = await setup({
      engine: {
        connectors: [tinyMonitor, quietMonitor],
        monitoring: { "tiny-monitor": { manual: true, intervalMs: 30_000 } },
      },
    });
    try {
      await m.engine.monitoring.poller("tiny-monitor")!.poll();
      const ok = await m.json("GET", "/connectors/monitoring", { token: m.tokens.viewer });
      expect(ok.status).toBe(200);
      const [quiet, tiny] = ok.body.items;
      expect(quiet).toMatchObject({ name: "quiet-monitor", poller: null });
      expect(tiny.poller).toMatchObject({
        source: "tiny-monitor",
        enabled: true,
        interval_ms: 30_000,
        acknowledge: true,
        last_error: null,
        failures: 0,
        last_alerts: 1,
        pending_actions: 0,
      });
      expect(Date.parse(tiny.poller.next_run_at) - Date.parse(tiny.poller.last_run_at)).toBe(30_000);
      expect(tiny.poller.cursor).toBe(tiny.poller.last_run_at);

      failing = true;
      await m.engine.monitoring.poller("tiny-monitor")!.poll({ force: true });
      const failed = await m.json("GET", "/connectors/monitoring");
      expect(failed.body.items[1].poller).toMatchObject({
        last_error: "RW_ERR_CONNECTOR_UNREACHABLE: tiny-monitor is down",
        failures: 1,
        cursor: tiny.poller.cursor,
      });
    } finally {
      failing = false;
      await m.close();
    }
  });
});
