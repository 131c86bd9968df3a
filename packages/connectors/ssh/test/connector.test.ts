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
        credentialType: "ssh" as const,
        environment: "test",
        value: { password: "pw-123456" },
        secrets: { password: "pw-123456" },
      },
    };
    await expect(instance.open(connection, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_AUTH",
      message: expect.stringContaining("no username"),
    });
    await instance.close?.();
  });

  it("ignores the server's SSH_AUTH_SOCK: only an agent_socket the credential names is used", async () => {
    const { createServer } = await import("node:net");
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const socket = join(mkdtempSync(join(tmpdir(), "rw-agent-")), "agent.sock");
    let contacted = 0;
    const agent = createServer((c) => {
      contacted++;
      c.destroy();
    });
    await new Promise<void>((resolve) => agent.listen(socket, resolve));
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = socket;
    const { createTestContext } = await import("@runwarden/connector-testkit");
    const instance = await sshConnector.create(sshConnector.configSchema.parse({}), createTestContext().ctx);
    try {
      // The 0.1 ways of asking for the server's agent (`agent: true`, `auth: "agent"`) are not fields
      // of the `ssh` type any more; even handed over raw, they must not reach SSH_AUTH_SOCK.
      const legacy = { username: "ops", agent: true, auth: "agent" };
      const connection = {
        id: 2,
        name: "agent-from-env",
        connectionType: "ssh",
        targetHost: "127.0.0.1",
        targetPort: 1,
        targetService: null,
        environment: "test",
        options: { host_key_fingerprint: `SHA256:${"A".repeat(43)}` },
        credential: {
          id: 2,
          name: "c",
          credentialType: "ssh" as const,
          environment: "test",
          value: legacy,
          fields: legacy,
          secrets: {},
        },
      };
      await expect(instance.open(connection, { signal: new AbortController().signal })).rejects.toMatchObject(
        {
          code: "RW_ERR_CONNECTOR_AUTH",
          message: "the SSH credential has no private_key, password or agent_socket",
        },
      );
      expect(instance.describe?.({ command: "id", language: "sh", readOnly: true }, connection)).toContain(
        "(no credential auth)",
      );
      expect(contacted).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      await instance.close?.();
      agent.close();
    }
  });
});
