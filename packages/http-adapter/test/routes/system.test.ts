import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpAdapter } from "../../src/index.js";
import { type Harness, setup } from "../helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await setup();
});
afterAll(() => h.close());

/** Reads SSE frames from a response until `count` events (not comments) arrived. */
async function readEvents(res: Response, count: number, timeoutMs = 5000) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: { id: string; event: string; data: Record<string, unknown> }[] = [];
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      new Promise<{ value: undefined; done: true }>((r) =>
        setTimeout(() => r({ value: undefined, done: true }), deadline - Date.now()),
      ),
    ]);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = Object.fromEntries(
        frame
          .split("\n")
          .filter((l) => !l.startsWith(":") && l.includes(": "))
          .map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]),
      );
      if (lines["event"])
        events.push({ id: lines["id"]!, event: lines["event"], data: JSON.parse(lines["data"]!) });
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return events;
}

describe("GET /health", () => {
  it("answers without a token with the store's kind", async () => {
    const r = await h.json("GET", "/health", { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "ok", storage: "memory", instance_id: h.engine.instanceId });
  });
});

describe("GET /metrics", () => {
  it("serves Prometheus text with request counters when a viewer asks", async () => {
    await h.call("GET", "/tickets");
    const res = await h.call("GET", "/metrics", { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/runwarden_http_requests_total\{method="GET",route="\/tickets",status="200"\} \d+/);
    expect(text).toContain("# TYPE runwarden_http_request_duration_seconds histogram");
    expect(text).toMatch(/runwarden_tickets\{status="new"\} 0/);
    expect(text).toMatch(/runwarden_approvals\{status="pending"\} \d+/);
    expect((await h.call("GET", "/metrics", { token: null })).status).toBe(401);
  });

  it('labels a request no endpoint matched route="unmatched", not a slice of that word', async () => {
    expect((await h.call("GET", "/no-such-endpoint")).status).toBe(404);
    expect((await h.call("POST", "/tickets/nope/nope/nope", { json: {} })).status).toBe(404);
    const text = await (await h.call("GET", "/metrics", { token: h.tokens.viewer })).text();
    expect(text).toMatch(/runwarden_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(text).toMatch(/runwarden_http_requests_total\{method="POST",route="unmatched",status="404"\} \d+/);
    expect(text).not.toContain('route="ed"');
  });

  it("answers without a token when publicMetrics is set", async () => {
    const open = createHttpAdapter({ engine: h.engine, publicMetrics: true, tokens: h.adapter.tokens });
    expect((await open.fetch(new Request(`http://t${open.basePath}/metrics`))).status).toBe(200);
    open.close();
  });
});

describe("GET /openapi.json", () => {
  it("documents every endpoint of the design in OpenAPI 3.1 with snake_case schemas", async () => {
    const r = await h.json("GET", "/openapi.json", { token: null });
    expect(r.body.openapi).toBe("3.1.0");
    expect(r.body.servers).toEqual([{ url: "/api/v1" }]);
    const paths = r.body.paths;
    const expected: [string, string][] = [
      ["post", "/tickets/upload-csv"],
      ["post", "/tickets/backtest-csv"],
      ["get", "/tickets/csv-template"],
      ["post", "/tickets/webhook/{source}"],
      ["post", "/tickets/demo/ticket"],
      ["get", "/tickets"],
      ["get", "/tickets/{id}"],
      ["get", "/connectors/monitoring"],
      ["get", "/connectors/ticketing"],
      ["post", "/connectors/credentials"],
      ["get", "/connectors/credentials"],
      ["post", "/connectors/credentials/{id}/rotate"],
      ["delete", "/connectors/credentials/{id}"],
      ["post", "/connectors/infrastructure-connections"],
      ["get", "/connectors/infrastructure-connections"],
      ["get", "/connectors/infrastructure-connections/{id}"],
      ["patch", "/connectors/infrastructure-connections/{id}"],
      ["delete", "/connectors/infrastructure-connections/{id}"],
      ["post", "/connectors/infrastructure-connections/{id}/test"],
      ["post", "/runbooks"],
      ["get", "/runbooks"],
      ["get", "/runbooks/{id}"],
      ["post", "/runbooks/{id}/approve"],
      ["post", "/runbooks/{id}/retire"],
      ["post", "/executions"],
      ["get", "/executions"],
      ["get", "/executions/{id}"],
      ["post", "/executions/{id}/cancel"],
      ["get", "/approvals"],
      ["post", "/approvals/{id}/approve"],
      ["post", "/approvals/{id}/reject"],
      ["post", "/tokens"],
      ["get", "/tokens"],
      ["delete", "/tokens/{id}"],
      ["get", "/events"],
      ["get", "/openapi.json"],
      ["get", "/health"],
      ["get", "/metrics"],
    ];
    for (const [method, path] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const ticket = r.body.components.schemas.Ticket;
    expect(Object.keys(ticket.properties)).toEqual(
      expect.arrayContaining(["external_id", "meta_data", "received_at"]),
    );
    const start = r.body.components.schemas.StartExecution;
    expect(Object.keys(start.properties).sort()).toEqual(["dry_run", "runbook_id", "ticket_id"]);
    expect(r.body.components.schemas.CredentialInput.example.database_name).toBe("mydb");
    expect(paths["/health"].get.security).toEqual([]);
  });
});

describe("GET /events", () => {
  it("streams the engine's events in snake_case when authenticated with a bearer token", async () => {
    const res = await h.call("GET", "/events?types=ticket:ingested", { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reading = readEvents(res, 1);
    await h.json("POST", "/tickets/demo/ticket", { json: { title: "Live one" } });
    const [event] = await reading;
    expect(event).toMatchObject({
      event: "ticket:ingested",
      data: { ticket_id: expect.any(Number), source: "manual" },
    });
  });

  it("accepts a fresh stream token, refuses a forged or expired one with 401", async () => {
    const minted = await h.json("POST", "/events/stream-token", { token: h.tokens.viewer });
    expect(minted.status).toBe(200);
    const res = await h.call("GET", `/events?stream_token=${encodeURIComponent(minted.body.stream_token)}`, {
      token: null,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    const forged = await h.json(
      "GET",
      // Change the last character to one it is not (replacing it with a fixed one was a no-op 1 time in 64).
      `/events?stream_token=${minted.body.stream_token.replace(/.$/, (c: string) => (c === "A" ? "B" : "A"))}`,
      { token: null },
    );
    expect(forged.status).toBe(401);
    const none = await h.json("GET", "/events", { token: null });
    expect(none.status).toBe(401);
    expect((await h.json("GET", "/events?types=bogus:event")).status).toBe(422);
  });

  it("stops accepting a stream token when its API token is revoked", async () => {
    const created = await h.json("POST", "/tokens", { json: { actor: "short-lived", roles: ["viewer"] } });
    const minted = await h.json("POST", "/events/stream-token", { token: created.body.token });
    await h.json("DELETE", `/tokens/${created.body.info.id}`);
    const r = await h.json("GET", `/events?stream_token=${encodeURIComponent(minted.body.stream_token)}`, {
      token: null,
    });
    expect(r.status).toBe(401);
  });

  it("keeps credential events from viewers and shows them to operators", async () => {
    const viewer = await h.call("GET", "/events", { token: h.tokens.viewer });
    const operator = await h.call("GET", "/events", { token: h.tokens.operator });
    const viewerEvents = readEvents(viewer, 2, 1500);
    const operatorEvents = readEvents(operator, 2, 3000);
    await h.json("POST", "/connectors/credentials", {
      json: { name: "c1", credential_type: "generic", api_key: "k-0123456789" },
    });
    await h.json("POST", "/tickets/demo/ticket", { json: { title: "After the credential" } });
    const seenByViewer = (await viewerEvents).map((e) => e.event);
    const seenByOperator = (await operatorEvents).map((e) => e.event);
    expect(seenByOperator).toContain("credential:changed");
    expect(seenByViewer).not.toContain("credential:changed");
    expect(seenByViewer).toContain("ticket:ingested");
  });

  it("replays buffered events after Last-Event-ID", async () => {
    const first = await h.call("GET", "/events?types=ticket:ingested");
    const reading = readEvents(first, 2);
    await h.json("POST", "/tickets/demo/ticket", { json: { title: "Replay A" } });
    await h.json("POST", "/tickets/demo/ticket", { json: { title: "Replay B" } });
    const [a, b] = await reading;
    const again = await h.call("GET", "/events?types=ticket:ingested", {
      headers: { "last-event-id": a!.id },
    });
    const [replayed] = await readEvents(again, 1);
    expect(replayed?.id).toBe(b!.id);
  });
});

describe("GET /events/recent", () => {
  it("returns the newest buffered events oldest first, with their time, as the caller's roles may see them", async () => {
    await h.json("POST", "/tickets/demo/ticket", { json: { title: "Backfilled one" } });
    await h.json("POST", "/credentials", {
      json: { name: "recent-events-cred", credential_type: "generic", fields: { token: "s3cret-value-1" } },
    });
    const viewer = await h.json("GET", "/events/recent?limit=500", { token: h.tokens.viewer });
    expect(viewer.status).toBe(200);
    const names = viewer.body.items.map((e: { event: string }) => e.event);
    expect(names).toContain("ticket:ingested");
    // Credential events are for operators, as on the stream.
    expect(names).not.toContain("credential:changed");
    const ids = viewer.body.items.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(viewer.body.items.at(-1).at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const admin = await h.json("GET", "/events/recent?limit=500");
    expect(admin.body.items.map((e: { event: string }) => e.event)).toContain("credential:changed");
    expect(JSON.stringify(admin.body)).not.toContain("s3cret-value-1");
    expect((await h.json("GET", "/events/recent?limit=2")).body.items).toHaveLength(2);
  });
});

describe("auto-execution storm control", () => {
  it("lists no paused runbook, and lets an approver resume one (audited, with an event) but not a viewer", async () => {
    expect((await h.json("GET", "/auto-execution/paused", { token: h.tokens.viewer })).body).toEqual({
      items: [],
    });
    const resumed: unknown[] = [];
    h.engine.events.on("runbook:auto-execution-resumed", (e) => resumed.push(e));
    const refused = await h.call("POST", "/auto-execution/paused/zebra-fix/resume", {
      token: h.tokens.viewer,
    });
    expect(refused.status).toBe(403);
    const ok = await h.call("POST", "/auto-execution/paused/zebra-fix/resume", { token: h.tokens.approver });
    expect(ok.status).toBe(204);
    expect(resumed).toEqual([{ key: "zebra-fix", actor: expect.any(String) }]);
    const audit = await h.engine.audit.list({ action: "runbook.auto_execution_resumed" });
    expect(audit.items.map((a) => a.objectId)).toContain("zebra-fix");
  });
});
