import { defineConnector, secret } from "@runwarden/core";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, setup } from "../helpers.js";

/** A monitoring source with a bearer-token webhook, a vendor set-up and a sample webhook. */
const source = defineConnector({
  kind: "monitoring",
  name: "acme",
  version: "1.0.0",
  sdk: "^0.1.0",
  configSchema: z.object({
    webhookAuth: z.discriminatedUnion("type", [
      z.object({ type: z.literal("bearer"), token: secret(z.string().min(16)) }),
      z.object({ type: z.literal("none") }),
    ]),
    apiUrl: z.url().optional(),
  }),
  capabilities: ["webhook", "verify-webhook"],
  vendorSetup: ({ webhookUrl, webhookSecret }) => [
    {
      title: "Point Acme at Runwarden",
      snippet: {
        language: "yaml",
        content: `url: ${webhookUrl}\ntoken: ${webhookSecret ?? "<webhook token>"}\n`,
      },
    },
  ],
  sampleWebhook: () => ({ body: { name: "AcmeSample", host: "web-01" } }),
  create(config) {
    return {
      verifyWebhook: (request) =>
        config.webhookAuth.type === "none" ||
        request.headers.authorization === `Bearer ${config.webhookAuth.token}`,
      parseWebhook: (request) => {
        const body = request.body as { name?: string; host?: string };
        return { tickets: [{ title: `${body.name ?? "alert"} on ${body.host ?? "?"}` }], warnings: [] };
      },
    };
  },
});

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function withSource(config?: Record<string, unknown>) {
  h = await setup({
    engine: {
      connectors: [
        config
          ? { connector: source, config, configuredBy: "RUNWARDEN_ACME" }
          : { connector: source, notConfigured: { needs: ["webhookAuth"], hint: "configure acme" } },
      ],
    },
    adapter: { publicUrl: "https://rw.example/" },
  });
  return h;
}

describe("GET /connectors/{kind}/{name}", () => {
  it("shows status, the config JSON Schema with secrets flagged and the vendor set-up with this server's URL", async () => {
    await withSource();
    const { status, body } = await h.json("GET", "/connectors/monitoring/acme", { token: h.tokens.viewer });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: "not_configured",
      config_source: "none",
      webhook_url: "https://rw.example/api/v1/tickets/webhook/acme",
      sample_webhook: true,
      config: { stored: false, config: null },
      config_schema: { required: ["webhookAuth"], webhook_secret_path: "webhookAuth.token" },
    });
    const auth = body.config_schema.json_schema.properties.webhookAuth;
    expect(auth.oneOf[0].properties.token).toMatchObject({ "x-secret": true, writeOnly: true });
    expect(body.vendor_setup[0].snippet.content).toContain(
      "url: https://rw.example/api/v1/tickets/webhook/acme",
    );
    expect(body.vendor_setup[0].snippet.content).toContain("<webhook token>");
  });

  it("answers 404 for an unknown connector and for the built-in generic source", async () => {
    await withSource();
    expect((await h.json("GET", "/connectors/monitoring/nope")).status).toBe(404);
    expect((await h.json("GET", "/connectors/monitoring/generic")).status).toBe(404);
    expect((await h.json("GET", "/connectors/ticketing/acme")).status).toBe(404);
  });
});

describe("PUT /connectors/{kind}/{name}/config", () => {
  it("configures a not-configured source live: its webhook answers 202 with the token, 401 without", async () => {
    await withSource();
    const token = "acme-token-0123456789abcdef";
    expect((await h.json("POST", "/tickets/webhook/acme", { json: {}, token: null })).status).toBe(503);
    const put = await h.json("PUT", "/connectors/monitoring/acme/config", {
      json: { webhookAuth: { type: "bearer", token } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      source: "store",
      configured_by: "root",
      config: { webhookAuth: { type: "bearer", token: "********" } },
      secret_paths: ["webhookAuth.token"],
    });
    expect(JSON.stringify(put.body)).not.toContain(token);
    const ok = await h.json("POST", "/tickets/webhook/acme", {
      json: { name: "Disk", host: "web-02" },
      token: null,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(202);
    expect((await h.json("POST", "/tickets/webhook/acme", { json: {}, token: null })).status).toBe(401);
    const read = await h.json("GET", "/connectors/monitoring/acme/config", { token: h.tokens.operator });
    expect(read.body.config.webhookAuth.token).toBe("********");
    const asViewer = await h.json("GET", "/connectors/monitoring/acme", { token: h.tokens.viewer });
    expect(asViewer.body.config).toMatchObject({ stored: true, config: null });
    const detail = await h.json("GET", "/connectors/monitoring/acme");
    expect(detail.body.activity).toMatchObject({
      webhooks: 1,
      last_error: expect.stringContaining("RW_ERR_AUTH"),
    });
    const list = await h.json("GET", "/connectors/monitoring");
    expect(list.body.items[0]).toMatchObject({ name: "acme", status: "ready", config_source: "store" });
  });

  it("is for admins only, and refuses an invalid body by field without echoing a secret", async () => {
    await withSource();
    const forbidden = await h.json("PUT", "/connectors/monitoring/acme/config", {
      json: { webhookAuth: { type: "none" } },
      token: h.tokens.operator,
    });
    expect(forbidden.status).toBe(403);
    const bad = await h.json("PUT", "/connectors/monitoring/acme/config", {
      json: { webhookAuth: { type: "bearer", token: "too-short-tok" } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields).toEqual([{ field: "webhookAuth.token", message: expect.any(String) }]);
    expect(JSON.stringify(bad.body)).not.toContain("too-short-tok");
  });

  it("answers 409 for a connector configured by the environment, naming the variable", async () => {
    await withSource({ webhookAuth: { type: "none" } });
    const { status, body } = await h.json("PUT", "/connectors/monitoring/acme/config", {
      json: { webhookAuth: { type: "none" } },
    });
    expect(status).toBe(409);
    expect(body.error.code).toBe("RW_ERR_CONFIG_HOST_OWNED");
    expect(body.error.message).toContain("RUNWARDEN_ACME");
    const detail = await h.json("GET", "/connectors/monitoring/acme");
    expect(detail.body).toMatchObject({ config_source: "host", configured_by: "RUNWARDEN_ACME" });
  });
});

describe("POST /connectors/{kind}/{name}/config/webhook-secret", () => {
  it("generates a secret shown once, written into the vendor snippet, and rotates it", async () => {
    await withSource();
    const first = await h.json("POST", "/connectors/monitoring/acme/config/webhook-secret");
    expect(first.status).toBe(200);
    expect(first.res.headers.get("cache-control")).toBe("no-store");
    expect(first.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.body.path).toBe("webhookAuth.token");
    expect(first.body.vendor_setup[0].snippet.content).toContain(`token: ${first.body.secret}`);
    expect(first.body.config.config.webhookAuth.token).toBe("********");
    const hit = (secret: string) =>
      h.json("POST", "/tickets/webhook/acme", {
        json: {},
        token: null,
        headers: { authorization: `Bearer ${secret}` },
      });
    expect((await hit(first.body.secret)).status).toBe(202);
    const second = await h.json("POST", "/connectors/monitoring/acme/config/webhook-secret");
    expect((await hit(first.body.secret)).status).toBe(401);
    expect((await hit(second.body.secret)).status).toBe(202);
    const detail = await h.json("GET", "/connectors/monitoring/acme");
    expect(JSON.stringify(detail.body)).not.toContain(second.body.secret);
  });
});

describe("POST /connectors/monitoring/{name}/test-alert", () => {
  it("sends the connector's sample through its own parser and the ticket appears", async () => {
    await withSource();
    expect((await h.json("POST", "/connectors/monitoring/acme/test-alert")).status).toBe(503);
    await h.json("PUT", "/connectors/monitoring/acme/config", { json: { webhookAuth: { type: "none" } } });
    const { status, body } = await h.json("POST", "/connectors/monitoring/acme/test-alert", {
      token: h.tokens.operator,
    });
    expect(status).toBe(201);
    const ticket = await h.json("GET", `/tickets/${body.tickets[0].id}`);
    expect(ticket.body).toMatchObject({ title: "AcmeSample on web-01", source: "acme" });
    expect(
      (await h.json("POST", "/connectors/monitoring/acme/test-alert", { token: h.tokens.viewer })).status,
    ).toBe(403);
  });
});

describe("PATCH /tickets/{id}", () => {
  it("takes the connector guide's Option 2 body verbatim", async () => {
    h = await setup();
    const created = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", {
      json: { title: "Database connection refused on db-01" },
    });
    const id = created.body.ticket.id;
    const body = {
      ticket_id: id,
      meta_data: {
        connection_config: {
          connector_type: "ssh",
          host: "192.168.1.100",
          port: 22,
          username: "admin",
          credential_id: 5,
        },
      },
    };
    const { status, body: ticket } = await h.json("PATCH", `/tickets/${id}`, {
      json: body,
      token: h.tokens.operator,
    });
    expect(status).toBe(200);
    expect(ticket.meta_data.connection_config).toEqual(body.meta_data.connection_config);
    const removed = await h.json("PATCH", `/tickets/${id}`, {
      json: { meta_data: { connection_config: null } },
    });
    expect(removed.body.meta_data.connection_config).toBeUndefined();
  });

  it("refuses a mismatched ticket_id, other meta_data keys, a secret and a viewer", async () => {
    h = await setup();
    const created = await h.json("POST", "/tickets/demo/ticket?auto_execute=false", { json: { title: "x" } });
    const id = created.body.ticket.id;
    const patch = (json: unknown, token?: string) => h.json("PATCH", `/tickets/${id}`, { json, token });
    expect((await patch({ ticket_id: id + 1, meta_data: { connection_config: {} } })).status).toBe(422);
    expect((await patch({ meta_data: { connection_config: {}, owner: "me" } })).status).toBe(422);
    const secretOne = await patch({ meta_data: { connection_config: { host: "h", password: "pw-123456" } } });
    expect(secretOne.status).toBe(422);
    expect(JSON.stringify(secretOne.body)).not.toContain("pw-123456");
    expect((await patch({ meta_data: { connection_config: {} } }, h.tokens.viewer)).status).toBe(403);
    expect(
      (await h.json("PATCH", "/tickets/999999", { json: { meta_data: { connection_config: {} } } })).status,
    ).toBe(404);
  });
});
