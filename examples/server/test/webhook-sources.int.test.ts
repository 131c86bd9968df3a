/**
 * The example server keeps webhook sources in its SQLite store: a source created through the API,
 * and its token, still work after a restart on the same data folder, and its mapping turns a
 * foreign body into a ticket whose labels reach the detected hosts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

const adminToken = "webhook-sources-admin-token-0123";
const dataDir = mkdtempSync(join(tmpdir(), "rw-sources-"));
let server: RunningServer | undefined;

async function start(): Promise<RunningServer> {
  const config = readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir, RUNWARDEN_ADMIN_TOKEN: adminToken });
  server = await startServer(config, pino({ level: "silent" }));
  return server;
}

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(s: RunningServer, method: string, path: string, body: unknown, token = adminToken) {
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** An Uptime Kuma-like notification: a monitor and its latest heartbeat. */
const down = {
  heartbeat: { status: 0, msg: "connect ECONNREFUSED" },
  monitor: { id: 12, name: "checkout-db", hostname: "10.20.0.5", port: 5432 },
};

describe("webhook sources on the example server", () => {
  it("survive a restart: the stored mapping and the token keep working", async () => {
    let s = await start();
    const created = await call(s, "POST", "/webhook-sources", {
      name: "kuma",
      mapping: `{ "title": monitor.name & " is down", "severity": "critical", "labels": { "instance": monitor.hostname & ":" & $string(monitor.port), "service": "postgresql" } }`,
      fingerprint: `"kuma-" & $string(monitor.id)`,
      resolve_when: "heartbeat.status = 1",
    });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    await s.close();
    server = undefined;

    s = await start();
    expect((await call(s, "GET", "/webhook-sources/kuma", undefined)).body).toMatchObject({ name: "kuma" });
    const posted = await call(s, "POST", "/tickets/webhook/kuma", down, token);
    expect(posted.status).toBe(202);
    const ticket = await call(s, "GET", `/tickets/${posted.body.tickets[0].id}`, undefined);
    expect(ticket.body).toMatchObject({
      title: "checkout-db is down",
      severity: "critical",
      service: "postgresql",
      source: "kuma",
    });
    expect(ticket.body.analysis.entities.ips).toContain("10.20.0.5");
    const up = await call(
      s,
      "POST",
      "/tickets/webhook/kuma",
      { ...down, heartbeat: { status: 1, msg: "OK" } },
      token,
    );
    expect(up.body.resolved).toEqual([posted.body.tickets[0].id]);
  });
});
