/**
 * The PostgreSQL connector: run a runbook's SQL steps with bound parameters, checks read-only.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/postgres.ts
 *
 * Environment (libpq's names): PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
 * PGPASSWORD (empty), PGDATABASE (postgres).
 */
import { randomBytes } from "node:crypto";
import postgres from "@runwarden/connector-postgres";
import { createEngine } from "@runwarden/core";
import { env, operator, runExample } from "./run-example.js";

const engine = await createEngine({
  connectors: [{ connector: postgres, config: { statementTimeoutMs: 30_000 } }],
  // The memory store is gone when the script exits, so a throwaway vault key is enough here.
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const host = env("PGHOST", "127.0.0.1");
const port = Number(env("PGPORT", "5432"));
// The connector guide's bodies: a database credential and a database connection.
const credential = await engine.credentials.create(
  {
    name: "example-db-credentials",
    credentialType: "database",
    environment: "example",
    username: env("PGUSER", "postgres"),
    password: process.env.PGPASSWORD ?? "",
    host,
    port,
    database_name: env("PGDATABASE", "postgres"),
  },
  { actor: operator },
);
await engine.connections.create(
  {
    name: "example-db",
    connectionType: "database",
    credentialId: credential.id,
    targetHost: host,
    targetPort: port,
    targetService: "postgresql",
    environment: "example",
  },
  { actor: operator },
);

await runExample(
  engine,
  `---
connection: example-db
---
# Cancel a client's idle transactions

## Prechecks
\`\`\`sql {name=sessions severity=safe}
SELECT state, count(*) AS sessions FROM pg_stat_activity WHERE datname = current_database() GROUP BY state ORDER BY state
\`\`\`

## Main Steps
\`\`\`sql {name=cancel-idle-transactions requires_approval=true severity=medium_risk}
SELECT pid, pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE application_name = {{ticket.service}} AND state = 'idle in transaction'
\`\`\`

## Postchecks
\`\`\`sql {name=still-idle severity=safe}
SELECT count(*) AS idle_in_transaction FROM pg_stat_activity WHERE application_name = {{ticket.service}} AND state = 'idle in transaction'
\`\`\`
`,
  { title: "idle transactions hold locks", service: "billing-api", environment: "example", severity: "high" },
);
