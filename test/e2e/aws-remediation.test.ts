/**
 * Issue 19, end to end: the sample runbook examples/runbooks/reboot-ec2-instance.md (aws fences)
 * runs through the engine and the AWS connector — the credential an assumed role (STS in moto
 * 5.2.1), EC2 in moto, SSM in the connector tests' service-model-validated fake that runs the
 * commands under sh. Prechecks read the instance's status and the OS's view, the approved main
 * step reboots it, the postcheck sees it running with status checks ok. A hostile instance id in
 * a ticket stays one quoted field and is refused as an instance id: nothing reaches AWS.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import aws from "@runwarden/connector-aws";
import { type Actor, createEngine, type Engine } from "@runwarden/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeSsm, startFakeSsm } from "../../packages/connectors/aws/test/fake-ssm.js";
import { launchInstance, type Moto, startMoto } from "../../packages/connectors/aws/test/moto.js";

const runbookMarkdown = readFileSync(
  join(import.meta.dirname, "../../examples/runbooks/reboot-ec2-instance.md"),
  "utf8",
);
const sreLead: Actor = { id: "sre-lead", roles: ["admin"] };
const alice: Actor = { id: "alice", roles: ["operator", "approver"] };
const bob: Actor = { id: "bob", roles: ["approver"] };
const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

describe("EC2 remediation (engine → aws connector → STS, EC2, SSM)", () => {
  let moto: Moto;
  let fake: FakeSsm;
  let engine: Engine;
  let instanceId: string;
  let credentialId: number;

  beforeAll(async () => {
    moto = await startMoto();
    instanceId = await launchInstance(moto, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    fake = await startFakeSsm({
      accessKeys: [],
      acceptTemporaryKeys: true,
      instances: { [instanceId]: "Online" },
      exposeCallerSessionToken: true,
    });
  }, 60_000);
  afterAll(async () => {
    await fake?.close();
    await moto?.close();
  });

  beforeEach(async () => {
    engine = await createEngine({
      vault: { key: randomBytes(32) },
      connectors: [{ connector: aws, config: { pollIntervalMs: 50 } }],
    });
    await engine.start();
    const credential = await engine.credentials.create(
      {
        name: "aws-prod-role",
        credentialType: "aws_assume_role",
        environment: "prod",
        role_arn: "arn:aws:iam::123456789012:role/runwarden",
        external_id: "runwarden-e2e",
        access_key_id: ACCESS_KEY,
        secret_access_key: SECRET_KEY,
      },
      { actor: sreLead },
    );
    credentialId = credential.id;
    await engine.connections.create(
      {
        name: "aws-prod",
        connectionType: "aws",
        credentialId: credential.id,
        environment: "prod",
        options: {
          region: "eu-west-1",
          endpoints: { ec2: moto.endpoint, sts: moto.endpoint, ssm: fake.endpoint },
        },
      },
      { actor: sreLead },
    );
    fake.requests.length = 0;
  });

  afterEach(() => engine.close());

  it("reboots the instance the ticket names after approval and checks it is running again", async () => {
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: `StatusCheckFailed: EC2 instance ${instanceId} impaired`,
      severity: "critical",
      environment: "prod",
      service: "web",
      source: "cloudwatch",
      externalId: "aws-e2e-1",
      metaData: { instance_id: instanceId },
    });
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    expect((await engine.executions.settled(session.id)).status).toBe("awaiting_approval");
    const [approval] = (await engine.approvals.list({ status: "pending", sessionId: session.id })).items;
    expect(approval).toMatchObject({ stepName: "reboot", risk: "medium_risk" });
    expect(approval?.renderedCommand).toBe(`action: reboot\ninstance_id: "${instanceId}"`);

    await engine.approvals.approve(approval!.id, { actor: bob, comment: "reboot it" });
    const done = await engine.executions.settled(session.id);
    const detail = await engine.executions.get(session.id);
    expect(detail.steps.map((s) => [s.phase, s.name, s.status])).toEqual([
      ["prechecks", "instance-status", "succeeded"],
      ["prechecks", "os-view", expect.stringMatching(/succeeded|failed/)],
      ["main", "reboot", "succeeded"],
      ["postchecks", "running-again", "succeeded"],
    ]);
    expect(done.status).toBe("succeeded");
    expect(detail.steps[0]?.stdout).toContain(`${instanceId} state=running`);
    expect(detail.steps[2]?.stdout).toBe(`reboot requested for ${instanceId}\n`);
    // The OS view ran through SSM, signed with the assumed role's temporary key.
    const send = fake.requests.find((r) => r.operation === "SendCommand");
    expect(send?.body.Parameters).toMatchObject({
      commands: ["uptime", "systemctl --failed --no-legend || true", "dmesg -T | tail -n 30"],
    });
    expect(send?.accessKeyId).toMatch(/^ASIA/);
    expect(fake.violations).toEqual([]);
    expect(JSON.stringify(detail)).not.toContain(SECRET_KEY);
  });

  it("redacts the assumed role's session token from a step's output", async () => {
    const probe = `---
id: session-token-probe
version: 1
status: approved
match:
  sources: [cloudwatch]
connection: aws-probe
timeout: 5m
auto_execute: false
---

# Session token probe

## Main Steps

\`\`\`sh {name=leak severity=safe timeout=1m}
echo "caller token: $CALLER_SESSION_TOKEN"
\`\`\`
`;
    await engine.connections.create(
      {
        name: "aws-probe",
        connectionType: "aws",
        credentialId,
        environment: "prod",
        options: {
          region: "eu-west-1",
          endpoints: { ec2: moto.endpoint, sts: moto.endpoint, ssm: fake.endpoint },
          instance_ids: [instanceId],
        },
      },
      { actor: sreLead },
    );
    const { runbook } = await engine.runbooks.create(probe, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "probe",
      severity: "low",
      environment: "prod",
      service: "web",
      source: "cloudwatch",
      externalId: "aws-e2e-3",
    });
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    await engine.executions.settled(session.id);
    const detail = await engine.executions.get(session.id);
    const token = fake.requests.find((r) => r.operation === "SendCommand")?.sessionToken;
    expect(token).toMatch(/.{40,}/);
    // The command printed the token on the instance; what the engine kept has it redacted.
    expect(detail.steps[0]?.stdout).toBe("caller token: ***\n");
    expect(JSON.stringify(detail)).not.toContain(token!);
  });

  it("refuses a hostile instance id as an instance id: nothing reaches AWS", async () => {
    const { runbook } = await engine.runbooks.create(runbookMarkdown, { actor: sreLead, status: "approved" });
    const { ticket } = await engine.tickets.ingest({
      title: "StatusCheckFailed: EC2 instance impaired",
      severity: "critical",
      environment: "prod",
      service: "web",
      source: "cloudwatch",
      externalId: "aws-e2e-2",
      metaData: { instance_id: `${instanceId}"\ncommands: [reboot]` },
    });
    const { session } = await engine.executions.start(ticket.id, runbook.id, { actor: alice });
    const settled = await engine.executions.settled(session.id);
    expect(settled.status).not.toBe("succeeded");
    expect(fake.requests).toEqual([]);
    const detail = await engine.executions.get(session.id);
    expect(JSON.stringify(detail.steps)).toMatch(/instance id|control character/);
  });
});
