import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup();
});
afterAll(() => h.close());

/** A Grafana-style body: several alerts, each with labels. */
const grafanaLike = {
  status: "firing",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "HighLatency", instance: "api-3:8080", severity: "disaster", priority: "P2" },
      annotations: { summary: "p99 over 2 s" },
      fingerprint: "abc123",
    },
    {
      status: "resolved",
      labels: { alertname: "DiskFull", instance: "10.0.0.4:9100", job: "node" },
      annotations: {},
      fingerprint: "def456",
    },
  ],
};

const source = {
  name: "grafana-like",
  description: "a tool without a connector",
  items: "alerts",
  mapping: `{ "title": labels.alertname & ": " & (annotations.summary ? annotations.summary : "alert"), "labels": labels }`,
  fingerprint: "fingerprint",
  resolve_when: `status = "resolved"`,
};

describe("webhook sources API", () => {
  it("creates a source (admin only), shows its token once, and routes the webhook through the mapping", async () => {
    const forbidden = await h.json("POST", "/webhook-sources", { token: h.tokens.operator, json: source });
    expect(forbidden.status).toBe(403);

    const created = await h.json("POST", "/webhook-sources", { json: source });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^rwwh_/);
    expect(created.body.source).toMatchObject({ name: "grafana-like", resolve_when: `status = "resolved"` });
    expect(created.body.source).not.toHaveProperty("token_hash");
    const token: string = created.body.token;

    const listed = await h.call("GET", "/webhook-sources");
    expect(await listed.text()).not.toContain(token);

    const noToken = await h.json("POST", "/tickets/webhook/grafana-like", { token: null, json: grafanaLike });
    expect(noToken.status).toBe(401);
    // An API token is not the source's token.
    const apiToken = await h.json("POST", "/tickets/webhook/grafana-like", { json: grafanaLike });
    expect(apiToken.status).toBe(401);

    const posted = await h.json("POST", "/tickets/webhook/grafana-like", {
      token: null,
      headers: { "x-runwarden-webhook-token": token },
      json: grafanaLike,
    });
    expect(posted.status).toBe(202);
    expect(posted.body.tickets).toHaveLength(1);
    const ticket = await h.json("GET", `/tickets/${posted.body.tickets[0].id}`);
    expect(ticket.body).toMatchObject({
      title: "HighLatency: p99 over 2 s",
      severity: "critical",
      source: "grafana-like",
      external_id: null,
    });
    expect(ticket.body.analysis.entities.hosts[0]).toBe("api-3");
  });

  it("tries a mapping on a body with no side effect, and answers a JSONata error with its position", async () => {
    const before = (await h.json("GET", "/tickets")).body.items.length;
    const ok = await h.json("POST", "/webhook-sources/try", {
      json: { ...source, name: undefined, body: grafanaLike },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.error).toBeNull();
    expect(ok.body.tickets).toMatchObject([
      { title: "HighLatency: p99 over 2 s", severity: "critical", fingerprint: "abc123", resolved: false },
      { title: "DiskFull: alert", severity: "medium", fingerprint: "def456", resolved: true, service: "" },
    ]);
    expect(ok.body.tickets[0].meta_data.labels.instance).toBe("api-3:8080");

    const broken = await h.json("POST", "/webhook-sources/try", {
      json: { mapping: `{ "title": labels.alertname & }`, body: grafanaLike },
    });
    expect(broken.status).toBe(200);
    expect(broken.body.tickets).toEqual([]);
    expect(broken.body.error).toMatchObject({
      code: "RW_ERR_INPUT_MAPPING",
      expression: "mapping",
      position: expect.any(Number),
    });
    expect((await h.json("GET", "/tickets")).body.items.length).toBe(before);
  });

  it("tries a stored source, updates it, rotates its token and deletes it", async () => {
    const stored = await h.json("POST", "/webhook-sources/grafana-like/try", { json: { body: grafanaLike } });
    expect(stored.body.tickets).toHaveLength(2);

    const updated = await h.json("PUT", "/webhook-sources/grafana-like", {
      json: { mapping: `{ "title": "X " & labels.alertname }`, resolve_when: null },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      mapping: `{ "title": "X " & labels.alertname }`,
      resolve_when: null,
    });
    const badUpdate = await h.json("PUT", "/webhook-sources/grafana-like", { json: { fingerprint: "((" } });
    expect(badUpdate.status).toBe(422);
    expect(badUpdate.body.error.code).toBe("RW_ERR_INPUT_MAPPING");

    const rotated = await h.json("POST", "/webhook-sources/grafana-like/token");
    expect(rotated.status).toBe(200);
    const posted = await h.json("POST", "/tickets/webhook/grafana-like", {
      token: rotated.body.token,
      json: { alerts: [{ labels: { alertname: "Rotated" }, status: "firing", fingerprint: "r1" }] },
    });
    expect(posted.status).toBe(202);

    expect((await h.call("DELETE", "/webhook-sources/grafana-like")).status).toBe(204);
    expect((await h.json("GET", "/webhook-sources/grafana-like")).status).toBe(404);
    const gone = await h.json("POST", "/tickets/webhook/grafana-like", {
      token: rotated.body.token,
      json: grafanaLike,
    });
    expect(gone.status).toBe(404);
  });

  it("refuses bad names with 422 and the generic source's name", async () => {
    const bad = await h.json("POST", "/webhook-sources", { json: { ...source, name: "Not Kebab" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields[0].field).toBe("name");
    expect((await h.json("POST", "/webhook-sources", { json: { ...source, name: "generic" } })).status).toBe(
      422,
    );
  });
});
