/**
 * A runbook with PowerShell steps run by the engine over WinRM, against the connector's fake
 * listener (NTLM over HTTP, sealed; it runs the decoded script under sh). List items on a winrm
 * connection run as PowerShell; a hostile ticket value reaches the listener only as one
 * single-quoted string; a placeholder where PowerShell would evaluate it fails the step before
 * anything is sent.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import winrm from "@runwarden/connector-winrm";
import { type Actor, createEngine, type Engine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeWsman, startFakeWsman } from "../../packages/connectors/winrm/test/fake-wsman.js";

const admin: Actor = { id: "sre-lead", roles: ["admin"] };
const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
const user = { username: "svc-rw", password: "E2e-winrm-pw-77", domain: "CORP" };
const runId = randomBytes(4).toString("hex");
const marker = `/tmp/rw-e2e-winrm-pwned-${runId}`;

const runbook = `---
id: winrm-e2e
status: approved
connection: win-01
match:
  services: [w3svc]
auto_execute: false
---

# Restart the app pool

## Prechecks

- \`echo checking {{ticket.service}}\` (severity: safe)

## Main Steps

\`\`\`powershell {name=recycle requires_approval=true severity=medium_risk}
echo 'recycled {{ticket.service}}'
\`\`\`
`;

const unsafeRunbook = `---
id: winrm-e2e-unsafe
status: approved
connection: win-01
auto_execute: false
---

# Evaluate the service name

## Main Steps

- \`Invoke-Expression {{ticket.service}}\`
`;

let fake: FakeWsman;
let engine: Engine;
let dir: string;

beforeAll(async () => {
  fake = await startFakeWsman({ auth: "ntlm", user });
});
afterAll(async () => {
  await fake.close();
  rmSync(marker, { force: true });
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "rw-e2e-winrm-"));
  engine = await createEngine({
    storage: createSqliteStorage({ path: join(dir, "runwarden.db") }),
    vault: { key: randomBytes(32) },
    connectors: [winrm],
  });
  await engine.start();
  const credential = await engine.credentials.create(
    { name: "win-login", credentialType: "winrm", environment: "prod", ...user },
    { actor: admin },
  );
  await engine.connections.create(
    {
      name: "win-01",
      connectionType: "winrm",
      credentialId: credential.id,
      targetHost: "127.0.0.1",
      targetPort: fake.port,
      environment: "prod",
      options: { transport: "http" },
    },
    { actor: admin },
  );
});

afterEach(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("PowerShell steps over WinRM, end to end", () => {
  it("runs a list item as PowerShell with the hostile value single-quoted, and the approved main step", async () => {
    const hostile = `w3svc'; touch ${marker}; '$(touch ${marker})`;
    const created = await engine.runbooks.create(runbook, { actor: admin, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "IIS app pool stopped",
      severity: "high",
      environment: "prod",
      service: hostile,
      source: "zabbix",
      externalId: `win-${runId}`,
    });
    const { session } = await engine.executions.start(ticket.id, created.runbook.id, { actor: alice });
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const quoted = `'w3svc''; touch ${marker}; ''$(touch ${marker})'`;
    // The precheck went out as PowerShell (-EncodedCommand), its value one single-quoted string.
    expect(fake.log.commands).toContain(`echo checking ${quoted}`);

    const [approval] = (await engine.approvals.list({ status: "pending", sessionId: session.id })).items;
    expect(approval?.renderedCommand).toBe(`echo 'recycled ${quoted.slice(1)}`);
    expect(approval?.target).toBe(`win-01 (winrm 127.0.0.1:${fake.port})`);
    await engine.approvals.approve(approval!.id, { actor: alice });
    expect((await engine.executions.settled(session.id)).status).toBe("succeeded");
    const detail = await engine.executions.get(session.id);
    expect(detail.steps.map((s) => [s.phase, s.status, s.exitCode])).toEqual([
      ["prechecks", "succeeded", 0],
      ["main", "succeeded", 0],
    ]);
    expect(existsSync(marker)).toBe(false);
    expect(JSON.stringify(detail)).not.toContain(user.password);
  });

  it("fails a step whose placeholder PowerShell would evaluate, before anything reaches the host", async () => {
    const created = await engine.runbooks.create(unsafeRunbook, { actor: admin, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "evaluate",
      severity: "low",
      environment: "prod",
      service: "Get-Date",
      source: "zabbix",
      externalId: `win-unsafe-${runId}`,
    });
    const before = fake.log.commands.length;
    const { session } = await engine.executions.start(ticket.id, created.runbook.id, { actor: alice });
    const done = await engine.executions.settled(session.id);
    expect(done.status).toBe("failed");
    const detail = await engine.executions.get(session.id);
    expect(JSON.stringify(detail)).toContain("RW_ERR_EXEC_TEMPLATE");
    expect(fake.log.commands.length).toBe(before);
  });
});
