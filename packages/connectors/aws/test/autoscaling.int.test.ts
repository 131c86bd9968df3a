/**
 * The instance-refresh step against the Auto Scaling fake (botocore-model validated Query
 * protocol; moto 5.2.1 has no instance refresh), parsed by the real SDK
 * (@aws-sdk/client-auto-scaling 3.1178.0).
 */
import { createTestContext } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import awsConnector from "../src/index.js";
import { type FakeAutoScaling, startFakeAutoScaling } from "./fake-autoscaling.js";

const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

const fake: FakeAutoScaling = await startFakeAutoScaling({
  accessKeys: [ACCESS_KEY],
  groups: { "web-asg": "Successful", "broken-asg": "Failed", "slow-asg": "Successful" },
});
afterAll(() => fake.close());

const connection = (): ResolvedConnection =>
  ({
    id: 1,
    name: "aws-asg",
    connectionType: "aws",
    targetHost: null,
    targetPort: null,
    targetService: null,
    environment: "test",
    options: { region: "eu-west-1", endpoints: { autoscaling: fake.endpoint } },
    credential: {
      id: 1,
      name: "aws-key",
      credentialType: "aws_access_key",
      environment: "test",
      value: { access_key_id: ACCESS_KEY, secret_access_key: SECRET_KEY },
      secrets: { secret_access_key: SECRET_KEY },
    },
  }) as ResolvedConnection;

const req = (command: string, extra: Partial<ExecRequest> = {}): ExecRequest => ({
  command,
  language: "aws",
  readOnly: false,
  signal: new AbortController().signal,
  ...extra,
});

describe("aws instance-refresh step (Auto Scaling fake)", () => {
  let instance: InfrastructureConnector;
  beforeAll(async () => {
    instance = (await awsConnector.create(
      awsConnector.configSchema.parse({ pollIntervalMs: 20, maxAttempts: 1 }),
      createTestContext().ctx,
    )) as InfrastructureConnector;
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.describesBeforeDone = 2;
  });

  async function exec(request: ExecRequest) {
    const handle = await instance.open(connection(), { signal: AbortSignal.timeout(20_000) });
    try {
      return await handle.exec(request);
    } finally {
      await handle.release();
    }
  }

  it("starts a refresh with the step's preferences and waits until it is Successful", async () => {
    const result = await exec(
      req(
        "action: instance-refresh\nauto_scaling_group: web-asg\nmin_healthy_percentage: 90\ninstance_warmup: 60",
      ),
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^web-asg refresh [0-9a-f-]{36}: Successful 100%\n$/);
    expect(fake.requests[0]).toEqual({
      action: "StartInstanceRefresh",
      input: {
        AutoScalingGroupName: "web-asg",
        Preferences: { MinHealthyPercentage: 90, InstanceWarmup: 60 },
      },
    });
    const reads = fake.requests.filter((r) => r.action === "DescribeInstanceRefreshes");
    expect(reads.length).toBe(2);
    expect(reads[0]!.input).toEqual({
      AutoScalingGroupName: "web-asg",
      InstanceRefreshIds: [fake.refreshes.at(-1)!.InstanceRefreshId],
    });
    expect(fake.violations).toEqual([]);
  });

  it("fails the step (exit 1, the reason in stderr) when the refresh ends Failed", async () => {
    const result = await exec(req("action: instance-refresh\nauto_scaling_group: broken-asg"));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("Failed");
    expect(result.stdout).toContain("Instances failed to launch");
    expect(result.stderr).toBe("instance refresh ended Failed\n");
  });

  it("cancels the refresh (CancelInstanceRefresh) and answers timedOut at the step's timeout", async () => {
    fake.describesBeforeDone = Number.POSITIVE_INFINITY;
    const result = await exec(req("action: instance-refresh\nauto_scaling_group: slow-asg\ntimeout: 300ms"));
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    expect(result.stderr).toContain("cancelled (CancelInstanceRefresh)");
    expect(fake.requests.at(-1)).toEqual({
      action: "CancelInstanceRefresh",
      input: { AutoScalingGroupName: "slow-asg" },
    });
    expect(fake.refreshes.at(-1)!.Status).toBe("Cancelling");
    expect(fake.violations).toEqual([]);
  });

  it("maps a refresh already in progress to RW_ERR_CONNECTOR_CONFLICT and an unknown group to REJECTED", async () => {
    await exec(req("action: instance-refresh\nauto_scaling_group: web-asg\nwait: false"));
    await expect(exec(req("action: instance-refresh\nauto_scaling_group: web-asg"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_CONFLICT",
    });
    await expect(exec(req("action: instance-refresh\nauto_scaling_group: nope-asg"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
      details: { reason: "ValidationError" },
    });
  });

  it("refuses a group name a ticket could use for something else, and a refresh in a read-only phase, before any call", async () => {
    await expect(
      exec(req('action: instance-refresh\nauto_scaling_group: "web-asg\\nAction=DeleteAutoScalingGroup"')),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { field: "auto_scaling_group" } });
    await expect(
      exec(req("action: instance-refresh\nauto_scaling_group: web-asg", { readOnly: true })),
    ).rejects.toMatchObject({ details: { reason: "read-only" } });
    expect(fake.requests).toEqual([]);
  });

  it("describes the step in one line for an approver", () => {
    expect(
      instance.describe?.(
        req("action: instance-refresh\nauto_scaling_group: web-asg\nmin_healthy_percentage: 90"),
        connection(),
      ),
    ).toBe(
      "start an instance refresh of Auto Scaling group web-asg keeping 90% healthy and wait until it ends (eu-west-1, access key AKIAIOSFODNN7EXAMPLE)",
    );
  });
});
