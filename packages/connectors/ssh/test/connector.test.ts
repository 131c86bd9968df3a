import { testConnector } from "@runwarden/connector-testkit";
import { describe, expect, it } from "vitest";
import sshConnector, { sshConnectionOptionsSchema } from "../src/index.js";

// The contract suite against a closed loopback port: no server needed.
testConnector(sshConnector, {
  config: { pool: { maxConnectionsPerTarget: 2 } },
  invalidConfigs: [
    { pool: { maxChannelsPerConnection: 0 } },
    { connectTimeoutMs: -1 },
    { unknownOption: true },
  ],
  unreachableConnection: undefined,
});

describe("sshConnector.configSchema", () => {
  it("fills pool defaults when the config is empty", () => {
    expect(sshConnector.configSchema.parse({}).pool).toEqual({
      maxConnectionsPerTarget: 4,
      maxChannelsPerConnection: 8,
      idleTimeoutMs: 60_000,
    });
  });
});

describe("sshConnectionOptionsSchema", () => {
  it("refuses a fingerprint that is not SHA256 base64", () => {
    expect(sshConnectionOptionsSchema.safeParse({ host_key_fingerprint: "MD5:aa:bb" }).success).toBe(false);
  });

  it("defaults the bastion port to 22", () => {
    expect(sshConnectionOptionsSchema.parse({ jump_host: { host: "bastion" } }).jump_host?.port).toBe(22);
  });
});

describe("sshConnector.create", () => {
  it("refuses a connection before connecting when the credential has no username", async () => {
    const { createTestContext } = await import("@runwarden/connector-testkit");
    const instance = await sshConnector.create(sshConnector.configSchema.parse({}), createTestContext().ctx);
    const connection = {
      id: 1,
      name: "no-user",
      connectionType: "ssh",
      targetHost: "127.0.0.1",
      targetPort: 1,
      targetService: null,
      environment: "test",
      options: {},
      credential: {
        id: 1,
        name: "c",
        credentialType: "ssh",
        environment: "test",
        fields: {},
        secrets: { password: "pw-123456" },
      },
    };
    await expect(instance.open(connection, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
      message: expect.stringContaining("no username"),
    });
    await instance.close?.();
  });
});
