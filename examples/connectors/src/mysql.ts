/**
 * The MySQL / MariaDB connector: run a runbook's SQL steps as server-side prepared statements,
 * checks read-only.
 *
 *   npx tsx --conditions=@runwarden/source examples/connectors/src/mysql.ts
 *
 * Environment (the mysql client's names where it has them): MYSQL_HOST (127.0.0.1),
 * MYSQL_TCP_PORT (3306), MYSQL_USER (root), MYSQL_PWD (empty), MYSQL_DATABASE (test).
 */
import { randomBytes } from "node:crypto";
import mysql from "@runwarden/connector-mysql";
import { createEngine } from "@runwarden/core";
import { env, operator, runExample } from "./run-example.js";

const engine = await createEngine({
  connectors: [mysql],
  // The memory store is gone when the script exits, so a throwaway vault key is enough here.
  vault: { key: process.env.RUNWARDEN_MASTER_KEY ?? randomBytes(32) },
});
await engine.start();

const host = env("MYSQL_HOST", "127.0.0.1");
const port = Number(env("MYSQL_TCP_PORT", "3306"));
// The connector guide's bodies, with "target_service": "mysql" (or "mariadb").
const credential = await engine.credentials.create(
  {
    name: "example-mysql-credentials",
    credentialType: "database",
    environment: "example",
    username: env("MYSQL_USER", "root"),
    password: process.env.MYSQL_PWD ?? "",
    host,
    port,
    database_name: env("MYSQL_DATABASE", "test"),
  },
  { actor: operator },
);
await engine.connections.create(
  {
    name: "example-mysql",
    connectionType: "database",
    credentialId: credential.id,
    targetHost: host,
    targetPort: port,
    targetService: "mysql",
    environment: "example",
  },
  { actor: operator },
);

await runExample(
  engine,
  `---
connection: example-mysql
---
# Find a client's sleeping connections

## Prechecks
\`\`\`sql {name=server severity=safe}
SELECT VERSION() AS version, @@max_connections AS max_connections
\`\`\`

## Main Steps
\`\`\`sql {name=list-sleepers requires_approval=true severity=medium_risk}
SELECT ID, USER, TIME FROM information_schema.PROCESSLIST WHERE COMMAND = 'Sleep' AND USER = {{ticket.service}}
\`\`\`

## Postchecks
\`\`\`sql {name=connections severity=safe}
SELECT COUNT(*) AS connections FROM information_schema.PROCESSLIST
\`\`\`
`,
  { title: "too many connections", service: "billing-api", environment: "example", severity: "high" },
);
