import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { createTestContext, fakePowerShell, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection, Ticket } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCommand } from "../../../core/src/executor/templates.js";
import awsConnector from "../src/index.js";
import { type FakeSsm, startFakeSsm } from "./fake-ssm.js";
import { type Moto, startMoto } from "./moto.js";

const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION = "eu-west-1";

const moto: Moto = await startMoto();
const ec2 = new EC2Client({
  region: REGION,
  endpoint: moto.endpoint,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
});

async function launch(tags: Record<string, string>): Promise<string> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: "ami-12c6146b",
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [
        { ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  return run.Instances![0]!.InstanceId!;
}

const web1 = await launch({ Role: "web", Env: "test" });
const web2 = await launch({ Role: "web", Env: "test" });
const db = await launch({ Role: "db" });
const lost = await launch({ Role: "lost" });
const win = await launch({ Role: "iis" });

const fake: FakeSsm = await startFakeSsm({
  accessKeys: [ACCESS_KEY],
  acceptTemporaryKeys: true,
  instances: {
    [web1]: "Online",
    [web2]: "Online",
    [db]: "Online",
    [lost]: "ConnectionLost",
    [win]: "Online",
  },
  windows: [win],
  powershell: fakePowerShell,
});
afterAll(async () => {
  await fake.close();
  await moto.close();
});

function connection(
  parts: {
    options?: Record<string, unknown>;
    credential?: ResolvedConnection["credential"];
    accessKey?: string;
  } = {},
): ResolvedConnection {
  const accessKey = parts.accessKey ?? ACCESS_KEY;
  return {
    id: 1,
    name: "prod-aws",
    connectionType: "aws",
    targetHost: null,
    targetPort: null,
    targetService: null,
    environment: "test",
    options: {
      region: REGION,
      endpoints: { ec2: moto.endpoint, sts: moto.endpoint, ssm: fake.endpoint },
      instance_ids: [web1],
      ...parts.options,
    },
    credential:
      parts.credential === undefined
        ? {
            id: 1,
            name: "aws-key",
            credentialType: "aws_access_key",
            environment: "test",
            value: { access_key_id: accessKey, secret_access_key: SECRET_KEY },
            secrets: { secret_access_key: SECRET_KEY },
          }
        : parts.credential,
  } as ResolvedConnection;
}

testConnector(awsConnector, {
  config: { pollIntervalMs: 50 },
  invalidConfigs: [{ pollIntervalMs: 0 }, { maxAttempts: 50 }, { unknownOption: true }],
  connection: connection(),
  request: { command: "echo hello from ssm", language: "sh" },
  slowRequest: { command: "sleep 5", language: "sh" },
  rejectedConnection: connection({ accessKey: "AKIAREFUSEDKEY000000" }),
  unreachableConnection: connection({
    options: { endpoint: "http://127.0.0.1:9", endpoints: undefined },
  }),
});

function req(command: string, language: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language, readOnly: false, signal: new AbortController().signal, ...extra };
}

async function stateOf(id: string): Promise<string | undefined> {
  const answer = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return answer.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

describe("awsConnector", () => {
  let instance: InfrastructureConnector;
  beforeAll(async () => {
    instance = (await awsConnector.create(
      awsConnector.configSchema.parse({ pollIntervalMs: 25, maxAttempts: 1 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
  });

  async function exec(request: ExecRequest, conn = connection()) {
    const handle = await instance.open(conn, { signal: AbortSignal.timeout(30_000) });
    try {
      return await handle.exec(request);
    } finally {
      await handle.release();
    }
  }

  it("runs a sh step through SSM SendCommand under sh on the instance, with its exit code", async () => {
    const before = fake.requests.length;
    const result = await exec(req('echo "out $((6 * 7))"; echo oops >&2; exit 3', "sh"));
    expect(result).toMatchObject({ exitCode: 3, stdout: "out 42\n", stderr: "oops\n" });
    const send = fake.requests.slice(before).find((r) => r.operation === "SendCommand")!;
    expect(send.body).toMatchObject({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: [web1],
      Parameters: { commands: ['echo "out $((6 * 7))"; echo oops >&2; exit 3'] },
    });
    // GetCommandInvocation was retried past InvocationDoesNotExist.
    expect(
      fake.requests.slice(before).filter((r) => r.operation === "GetCommandInvocation").length,
    ).toBeGreaterThan(1);
    expect(fake.violations).toEqual([]);
  });

  it("runs on every instance the connection's tags match, each output headed by its instance", async () => {
    const result = await exec(
      req("echo ran", "sh"),
      connection({ options: { instance_ids: undefined, tags: { Role: "web" } } }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`== ${web1}: Success, exit 0 ==\nran\n`);
    expect(result.stdout).toContain(`== ${web2}: Success, exit 0 ==\nran\n`);
    expect(result.stdout).not.toContain(db);
  });

  it("fails with NOT_FOUND when no running instance carries the tags", async () => {
    await expect(
      exec(
        req("true", "sh"),
        connection({ options: { instance_ids: undefined, tags: { Role: "nothing" } } }),
      ),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_NOT_FOUND" });
  });

  it("notes SSM's 24,000-character stdout limit and where the full output is when S3 output is set", async () => {
    const result = await exec(
      req("head -c 30000 /dev/zero | tr '\\0' x", "sh"),
      connection({ options: { output_s3_bucket: "runwarden-output" } }),
    );
    expect(result.stdout.length).toBe(24_000);
    expect(result.stderr).toContain("SSM keeps only the first 24000 characters of stdout");
    expect(result.stderr).toContain("https://s3.eu-west-1.amazonaws.com/runwarden-output/");
    const send = fake.requests.filter((r) => r.operation === "SendCommand").at(-1)!;
    expect(send.body.OutputS3BucketName).toBe("runwarden-output");
  });

  it("cancels the command (CancelCommand) and answers timedOut when the step times out", async () => {
    const started = Date.now();
    const result = await exec(req("sleep 20", "sh", { timeoutMs: 600 }));
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    const cancel = fake.requests.filter((r) => r.operation === "CancelCommand").at(-1)!;
    expect(fake.invocations.get(`${cancel.body.CommandId}/${web1}`)?.status).toBe("Cancelled");
  });

  it("cancels the command and rejects with RW_ERR_CONNECTOR_TIMEOUT when the signal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("cancelled by an operator")), 300);
    const before = fake.requests.length;
    await expect(exec(req("sleep 20", "sh", { signal: controller.signal }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_TIMEOUT",
    });
    expect(fake.requests.slice(before).some((r) => r.operation === "CancelCommand")).toBe(true);
  });

  it("reports an instance whose agent is offline as not run (Undeliverable), exit code null", async () => {
    const result = await exec(req("echo never", "sh"), connection({ options: { instance_ids: [lost] } }));
    expect(result.exitCode).toBeNull();
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${lost}: the command did not run (Undeliverable)`);
  });

  it("uses the default provider chain (here: environment variables) for an aws_default_chain credential", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET_KEY;
    try {
      const result = await exec(
        req("echo from the chain", "sh"),
        connection({
          credential: {
            id: 3,
            name: "server-role",
            credentialType: "aws_default_chain",
            environment: "test",
            value: {},
            secrets: {},
          } as ResolvedConnection["credential"],
        }),
      );
      expect(result).toMatchObject({ exitCode: 0, stdout: "from the chain\n" });
      expect(fake.requests.filter((r) => r.operation === "SendCommand").at(-1)?.accessKeyId).toBe(ACCESS_KEY);
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it("sends a powershell step as AWS-RunPowerShellScript (the fake, like a Linux instance, refuses it)", async () => {
    await expect(exec(req("Restart-Service W3SVC", "powershell"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "UnsupportedPlatformType", status: 400 },
    });
    const send = fake.requests.filter((r) => r.operation === "SendCommand").at(-1)!;
    expect(send.body).toMatchObject({
      DocumentName: "AWS-RunPowerShellScript",
      Parameters: { commands: ["Restart-Service W3SVC"] },
    });
  });

  it("runs a powershell step on a Windows instance with AWS-RunPowerShellScript; a ticket value reaches it only as one quoted literal", async () => {
    const hostile = "W3SVC'; Stop-Computer -Force; \u2018$env:AWS_SECRET_ACCESS_KEY";
    const ticket = { id: 7, title: "IIS down", metaData: { service: hostile } } as unknown as Ticket;
    const { command } = renderCommand("Write-Output {{ticket.metaData.service}}", "powershell", {
      ticket,
      vars: {},
    });
    expect(command).toBe(
      "Write-Output 'W3SVC''; Stop-Computer -Force; \u2018\u2018$env:AWS_SECRET_ACCESS_KEY'",
    );
    const result = await exec(req(command, "powershell"), connection({ options: { instance_ids: [win] } }));
    const send = fake.requests.filter((r) => r.operation === "SendCommand").at(-1)!;
    expect(send.body).toMatchObject({
      DocumentName: "AWS-RunPowerShellScript",
      InstanceIds: [win],
      Parameters: { commands: [command] },
    });
    // The Windows instance's stand-in ran the line: the value came back whole, as one literal.
    expect(result).toMatchObject({ exitCode: 0, stdout: `${hostile}\n` });
    expect(fake.violations).toEqual([]);
  });

  it("refuses a sh step on a Windows instance as SSM does (UnsupportedPlatformType)", async () => {
    await expect(
      exec(req("echo hi", "sh"), connection({ options: { instance_ids: [win] } })),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "UnsupportedPlatformType" },
    });
  });

  it("runs an aws run-command step on the instance it names, its commands a list", async () => {
    const result = await exec(
      req(`action: run-command\ninstance_id: "${db}"\ncommands:\n  - echo one\n  - echo two`, "aws"),
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: "one\ntwo\n" });
    const send = fake.requests.filter((r) => r.operation === "SendCommand").at(-1)!;
    expect(send.body.InstanceIds).toEqual([db]);
  });

  it("refuses a ticket value that is not an instance id before any call", async () => {
    const before = fake.requests.length;
    await expect(exec(req('action: reboot\ninstance_id: "i-123; rm -rf /"', "aws"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "step", field: "instance_id" },
    });
    await expect(
      exec(req('action: run-command\ninstance_id: "' + db + '"\ncommands: "reboot"', "aws")),
    ).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { field: "commands" },
    });
    expect(fake.requests.length).toBe(before);
  });

  it("stops an instance and waits until it is stopped, then starts it and waits until running (moto EC2)", async () => {
    const stopped = await exec(req(`action: stop\ninstance_id: ${db}`, "aws"));
    expect(stopped.exitCode).toBe(0);
    expect(stopped.stdout).toContain(`${db}: running -> stopping`);
    expect(stopped.stdout).toContain(`${db}: stopped`);
    expect(await stateOf(db)).toBe("stopped");

    const check = await exec(req(`action: describe-status\ninstance_id: ${db}`, "aws"));
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain(`${db} state=stopped`);
    expect(check.stderr).toContain(`${db} is stopped, expected running`);

    const started = await exec(req(`action: start\ninstance_id: ${db}`, "aws"));
    expect(started.exitCode).toBe(0);
    expect(started.stdout).toContain(`${db}: running`);
    expect(await stateOf(db)).toBe("running");
  });

  it("reboots instances and checks their status (moto EC2)", async () => {
    const reboot = await exec(req(`action: reboot\ninstance_ids: [${web1}, ${web2}]`, "aws"));
    expect(reboot).toMatchObject({ exitCode: 0, stdout: `reboot requested for ${web1}, ${web2}\n` });
    const status = await exec(req("action: describe-status", "aws"));
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^${web1} state=running`));
  });

  it("maps an unknown instance to RW_ERR_CONNECTOR_NOT_FOUND (moto EC2)", async () => {
    await expect(exec(req("action: reboot\ninstance_id: i-0123456789abcdef0", "aws"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_NOT_FOUND",
      details: { reason: "InvalidInstanceID.NotFound" },
    });
  });

  it("refuses a changing action in a read-only check", async () => {
    await expect(exec(req("action: reboot", "aws", { readOnly: true }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "read-only" },
    });
  });

  it("refuses a step language it does not run", async () => {
    await expect(exec(req("select 1", "sql"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "language" },
    });
  });

  it("assumes a role with STS (external id), registers its temporary secrets for redaction and uses them", async () => {
    const redacted: string[] = [];
    const conn = connection({
      credential: {
        id: 2,
        name: "aws-role",
        credentialType: "aws_assume_role",
        environment: "test",
        value: {
          role_arn: "arn:aws:iam::123456789012:role/runwarden",
          external_id: "runwarden-ext-1",
          session_name: "runwarden",
          duration_seconds: 900,
          access_key_id: ACCESS_KEY,
          secret_access_key: SECRET_KEY,
        },
        secrets: { secret_access_key: SECRET_KEY },
      } as ResolvedConnection["credential"],
    });
    const handle = await instance.open(conn, {
      signal: AbortSignal.timeout(30_000),
      redact: (v) => redacted.push(v),
    });
    const result = await handle.exec(req("echo as role", "sh"));
    await handle.release();
    expect(result).toMatchObject({ exitCode: 0, stdout: "as role\n" });
    const send = fake.requests.filter((r) => r.operation === "SendCommand").at(-1)!;
    expect(send.accessKeyId).toMatch(/^ASIA/);
    // The session's secret key and token were handed to redaction: the very token SSM saw.
    expect(redacted.length).toBeGreaterThanOrEqual(2);
    expect(send.sessionToken).toBeDefined();
    expect(redacted).toContain(send.sessionToken);
  });

  it("health: proves the credential with GetCallerIdentity, dry-runs the EC2 actions and checks the SSM agents", async () => {
    const health = await instance.healthCheck(connection({ options: { instance_ids: [web1, web2] } }), {
      signal: AbortSignal.timeout(30_000),
    });
    expect(health).toMatchObject({ ok: true });
    expect(health.message).toContain("arn:aws:");
    expect(health.message).toContain("ssm:SendCommand (SSM has no dry run)");
    expect(health.message).toContain("autoscaling:StartInstanceRefresh (Auto Scaling has no dry run)");
    expect(fake.requests.at(-1)).toMatchObject({
      operation: "DescribeInstanceInformation",
      body: { Filters: [{ Key: "InstanceIds", Values: [web1, web2] }] },
    });
  });

  it("health: not ok, naming the instance, when a target's SSM agent is offline", async () => {
    const health = await instance.healthCheck(connection({ options: { instance_ids: [web1, lost] } }), {
      signal: AbortSignal.timeout(30_000),
    });
    expect(health).toMatchObject({ ok: false, reason: "permissions" });
    expect(health.message).toContain(`run commands on ${lost} (its SSM agent is ConnectionLost)`);
  });

  it("describes steps in one line for an approver", () => {
    const conn = connection();
    expect(
      instance.describe!({ command: "systemctl restart nginx", language: "sh", readOnly: false }, conn),
    ).toBe(`run a shell script through SSM Run Command on ${web1} (eu-west-1, access key ${ACCESS_KEY})`);
    expect(
      instance.describe!(
        { command: `action: stop\ninstance_id: ${db}\nforce: true`, language: "aws", readOnly: false },
        conn,
      ),
    ).toBe(`force-stop EC2 instance(s) ${db} and wait until stopped (eu-west-1, access key ${ACCESS_KEY})`);
  });
});
