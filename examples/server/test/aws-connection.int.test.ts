/**
 * The AWS connector in the example server, configured the way the dashboard does it: its
 * credential types (secrets marked) are listed for the form, an `aws_access_key` credential and
 * an `aws` connection are created through the API, and the connection's "Test" runs the health
 * check against moto 5.2.1 (EC2 and STS, IAM enforced) and the SSM fake of the connector's tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSsm, startFakeSsm } from "../../../packages/connectors/aws/test/fake-ssm.js";
import { createIamUser, type Moto, startMoto } from "../../../packages/connectors/aws/test/moto.js";
import { readConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

let server: RunningServer;
let moto: Moto;
let fake: FakeSsm;
let dataDir: string;
let key: { accessKeyId: string; secretAccessKey: string };

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  moto = await startMoto({ initialNoAuthActions: 3 });
  key = createIamUser(moto, "runwarden", [
    "sts:GetCallerIdentity",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:RebootInstances",
    "ec2:StopInstances",
    "ec2:StartInstances",
  ]);
  fake = await startFakeSsm({ accessKeys: [key.accessKeyId], instances: {} });
  dataDir = mkdtempSync(join(tmpdir(), "rw-aws-server-"));
  server = await startServer(
    readConfig({ PORT: "0", RUNWARDEN_DATA_DIR: dataDir }),
    pino({ level: "silent" }),
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
  await fake?.close();
  await moto?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the AWS connector in the example server", () => {
  it("is registered with its connection type, and its credential types drive the form", async () => {
    const infra = await api("GET", "/connectors/infrastructure");
    const aws = (infra.body.items as { name: string; status: string; connection_types: string[] }[]).find(
      (c) => c.name === "aws",
    );
    expect(aws).toMatchObject({ status: "ready", connection_types: ["aws"] });
    const types = await api("GET", "/connectors/credential-types");
    const items = types.body.items as {
      name: string;
      fields: { name: string; secret: boolean; required: boolean }[];
    }[];
    expect(items.find((t) => t.name === "aws_access_key")?.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "access_key_id", secret: false, required: true }),
        expect.objectContaining({ name: "secret_access_key", secret: true, required: true }),
        expect.objectContaining({ name: "session_token", secret: true, required: false }),
      ]),
    );
    expect(items.find((t) => t.name === "aws_assume_role")?.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "role_arn", secret: false, required: true }),
        expect.objectContaining({ name: "external_id", secret: false, required: false }),
        expect.objectContaining({ name: "secret_access_key", secret: true, required: false }),
      ]),
    );
  });

  it("tests a connection through the API: healthy with a known key, auth failure with an unknown one", async () => {
    const credential = async (name: string, secret: string, id: string) =>
      api("POST", "/connectors/credentials", {
        name,
        credential_type: "aws_access_key",
        environment: "prod",
        access_key_id: id,
        secret_access_key: secret,
      });
    const good = await credential("aws-key", key.secretAccessKey, key.accessKeyId);
    expect(good.status).toBe(201);
    expect(JSON.stringify(good.body)).not.toContain(key.secretAccessKey);
    const bad = await credential(
      "aws-key-bad",
      "Not-the-secret-key-0123456789abcdef",
      "AKIAUNKNOWNKEY000000",
    );
    const connection = (name: string, credentialId: unknown) =>
      api("POST", "/connectors/infrastructure-connections", {
        name,
        connection_type: "aws",
        environment: "prod",
        credential_id: credentialId,
        options: {
          region: "eu-west-1",
          endpoints: { ec2: moto.endpoint, sts: moto.endpoint, ssm: fake.endpoint },
          actions: ["reboot", "describe-status"],
        },
      });
    const ok = await connection("aws-prod", good.body.id);
    expect(ok.status).toBe(201);
    const tested = await api("POST", `/connectors/infrastructure-connections/${ok.body.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ status: "healthy" });

    const refused = await connection("aws-prod-bad", bad.body.id);
    const failed = await api("POST", `/connectors/infrastructure-connections/${refused.body.id}/test`);
    expect(failed.body).toMatchObject({ status: "unhealthy" });
    expect(JSON.stringify(failed.body)).toMatch(/auth|InvalidClientTokenId/);
    expect(JSON.stringify(failed.body)).not.toContain("Not-the-secret-key-0123456789abcdef");
  });
});
