/**
 * The HTTP connector: run a runbook's `http` steps against a service's API, under the
 * connection's egress policy (only its own host).
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/http.ts
 *
 * Environment: RW_HTTP_URL, the API's base URL (it must answer `GET /health` and
 * `POST /admin/restart?service=…`), and RW_HTTP_TOKEN, sent as a bearer token. Without
 * RW_HTTP_URL the script starts a stand-in for such an API on loopback and calls that.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import http from "@runwarden/connector-http";
import { createEngine } from "@runwarden/core";
import { operator, runExample } from "./run-example.js";

/** A stand-in admin API: the health endpoint and a restart action. */
async function startStandIn(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    console.log(
      `  [stand-in API] ${req.method} ${url.pathname}${url.search} (${req.headers.authorization ? "with" : "no"} token)`,
    );
    const route = `${req.method} ${url.pathname}`;
    const body =
      route === "GET /health"
        ? { status: "ok" }
        : route === "POST /admin/restart"
          ? { restarted: url.searchParams.get("service") }
          : undefined;
    res.writeHead(body ? (route === "POST /admin/restart" ? 202 : 200) : 404, {
      "content-type": "application/json",
    });
    res.end(JSON.stringify(body ?? { error: "not found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const standIn = process.env.RW_HTTP_URL ? undefined : await startStandIn();
const base = new URL(process.env.RW_HTTP_URL ?? standIn!.url);

const engine = await createEngine({
  connectors: [{ connector: http, config: { timeoutMs: 10_000 } }],
  // The memory store is gone when the script exits, so a throwaway vault key is enough here.
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const credential = await engine.credentials.create(
  {
    name: "example-api-token",
    credentialType: "api",
    environment: "example",
    // `token` is sealed by the vault and sent as `Authorization: Bearer …`, to this host only.
    token: process.env.RW_HTTP_TOKEN ?? "example-token",
  },
  { actor: operator },
);
await engine.connections.create(
  {
    name: "example-api",
    connectionType: "api",
    credentialId: credential.id,
    targetHost: base.hostname,
    targetPort: base.port ? Number(base.port) : null,
    environment: "example",
    options: { scheme: base.protocol.replace(":", ""), health_path: "/health" },
  },
  { actor: operator },
);

try {
  await runExample(
    engine,
    `---
connection: example-api
---
# Restart a service through its admin API

## Prechecks
\`\`\`http {name=health-before severity=safe}
GET /health
\`\`\`

## Main Steps
\`\`\`http {name=restart requires_approval=true severity=medium_risk expect_exit_code=0}
POST /admin/restart?service={{ticket.service}}
Content-Type: application/json

{"reason": "runwarden example"}
\`\`\`

## Postchecks
\`\`\`http {name=health-after severity=safe expect_output=ok}
GET /health
\`\`\`
`,
    { title: "checkout API returns 503", service: "checkout api", environment: "example", severity: "high" },
  );
} finally {
  standIn?.close();
}
