/**
 * The health check against moto 5.2.1 with IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT): moto
 * refuses unknown access keys and checks each call, dry runs included, against the caller's
 * policy; SSM is the service-model-validated fake.
 */
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { createTestContext } from "@runwarden/connector-testkit";
import type { InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import awsConnector from "../src/index.js";
import { type FakeSsm, startFakeSsm } from "./fake-ssm.js";
import { createIamUser, type Moto, startMoto } from "./moto.js";

const READ = ["sts:GetCallerIdentity", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus"];

// Two users: three unauthenticated calls each.
const moto: Moto = await startMoto({ initialNoAuthActions: 6 });
const operator = createIamUser(moto, "runwarden-operator", [
  ...READ,
  "ec2:RunInstances",
  "ec2:RebootInstances",
  "ec2:StopInstances",
  "ec2:StartInstances",
]);
const reader = createIamUser(moto, "runwarden-reader", READ);
const run = await new EC2Client({
  region: "eu-west-1",
  endpoint: moto.endpoint,
  credentials: operator,
}).send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1 }));
const id = run.Instances![0]!.InstanceId!;
const fake: FakeSsm = await startFakeSsm({
  accessKeys: [operator.accessKeyId, reader.accessKeyId],
  instances: { [id]: "Online" },
});
afterAll(async () => {
  await fake.close();
  await moto.close();
});

function connection(
  key: { accessKeyId: string; secretAccessKey: string },
  actions?: string[],
): ResolvedConnection {
  return {
    id: 1,
    name: "aws-prod",
    connectionType: "aws",
    targetHost: null,
    targetPort: null,
    targetService: null,
    environment: "test",
    options: {
      region: "eu-west-1",
      endpoints: { ec2: moto.endpoint, sts: moto.endpoint, ssm: fake.endpoint },
      instance_ids: [id],
      ...(actions ? { actions } : {}),
    },
    credential: {
      id: 1,
      name: "key",
      credentialType: "aws_access_key",
      environment: "test",
      value: { access_key_id: key.accessKeyId, secret_access_key: key.secretAccessKey },
      secrets: { secret_access_key: key.secretAccessKey },
    },
  };
}

describe("awsConnector health check (moto with IAM enforced)", () => {
  let instance: InfrastructureConnector;
  beforeAll(async () => {
    instance = (await awsConnector.create(
      awsConnector.configSchema.parse({ maxAttempts: 1 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
  });
  const check = (conn: ResolvedConnection) =>
    instance.healthCheck(conn, { signal: AbortSignal.timeout(20_000) });

  it("is healthy when the policy allows every action the steps need", async () => {
    const health = await check(connection(operator));
    expect(health).toMatchObject({ ok: true });
    expect(health.message).toContain("arn:aws:iam::123456789012:user/runwarden-operator");
  });

  it("names each EC2 action the policy denies, found by a dry run", async () => {
    const health = await check(connection(reader));
    expect(health).toMatchObject({ ok: false, reason: "permissions" });
    expect(health.message).toContain("ec2:RebootInstances; ec2:StopInstances; ec2:StartInstances");
    expect(health.message).not.toContain(reader.secretAccessKey);
  });

  it("checks only the actions the connection lists", async () => {
    expect(await check(connection(reader, ["describe-status", "run-command"]))).toMatchObject({ ok: true });
  });

  it("fails with reason auth when the access key is unknown (STS GetCallerIdentity refused)", async () => {
    const secretAccessKey = "UnknownSecretKey0123456789abcdefghijklmn";
    const health = await check(connection({ accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey }));
    expect(health).toMatchObject({ ok: false, reason: "auth" });
    expect(health.message).toContain("InvalidClientTokenId");
    expect(health.message).not.toContain(secretAccessKey);
  });
});
