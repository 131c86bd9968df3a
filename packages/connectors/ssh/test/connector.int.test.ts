import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector, ResolvedConnection } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sshConnector from "../src/index.js";
import { connectionTo, requireSshd, type Sshd, skipSshd, sshd, startProxy } from "./sshd.js";

const OTHER_FINGERPRINT = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "sh", readOnly: false, signal: new AbortController().signal, ...extra };
}

async function create(config: Record<string, unknown> = {}) {
  const test = createTestContext();
  const instance = (await sshConnector.create(
    sshConnector.configSchema.parse(config),
    test.ctx,
  )) as InfrastructureConnector;
  return { instance, logs: test.logs };
}

async function run(
  instance: InfrastructureConnector,
  connection: ResolvedConnection,
  command: string,
  extra: Partial<ExecRequest> = {},
) {
  const handle = await instance.open(connection, { signal: new AbortController().signal });
  try {
    return await handle.exec(req(command, extra));
  } finally {
    await handle.release();
  }
}

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error("expected a rejection");
}

describe.skipIf(skipSshd)("ssh connector against OpenSSH", () => {
  let server: Sshd;
  let instance: InfrastructureConnector;
  let logs: string[];

  beforeAll(async () => {
    server = requireSshd();
    ({ instance, logs } = await create());
  });
  afterAll(async () => {
    await instance?.close?.();
  });

  describe("authentication", () => {
    it("runs a command with a key and reports stdout, stderr and the exit code when the key is accepted", async () => {
      const result = await run(instance, connectionTo(server), "echo hello; echo oops >&2; exit 3");
      expect(result).toMatchObject({ exitCode: 3, stdout: "hello\n", stderr: "oops\n", exitSignal: null });
    });

    it("authenticates with a passphrase-protected key when the passphrase is given", async () => {
      const connection = connectionTo(server, {
        secrets: {
          private_key: readFileSync(server.passphraseKeyFile, "utf8"),
          passphrase: server.passphrase,
        },
      });
      expect((await run(instance, connection, "whoami")).stdout).toBe(`${server.user}\n`);
    });

    it("fails with RW_ERR_CONNECTOR_AUTH when the passphrase is wrong", async () => {
      const connection = connectionTo(server, {
        secrets: {
          private_key: readFileSync(server.passphraseKeyFile, "utf8"),
          passphrase: "wrong-passphrase-123",
        },
      });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
      expect(error.message).not.toContain("wrong-passphrase-123");
    });

    it("authenticates with a password when the credential holds one", async () => {
      const connection = connectionTo(server, { secrets: { password: server.password } });
      expect((await run(instance, connection, "whoami")).stdout).toBe(`${server.user}\n`);
    });

    it("fails with RW_ERR_CONNECTOR_AUTH and no secret in the error when the password is wrong", async () => {
      const connection = connectionTo(server, { secrets: { password: "not-the-password-42" } });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
      expect(error.details?.reason).toBe("auth");
      expect(JSON.stringify([error.message, error.details, logs])).not.toContain("not-the-password-42");
    });

    it("authenticates through ssh-agent when the credential names an agent socket", async () => {
      const dir = mkdtempSync(join(tmpdir(), "rw-agent-"));
      const socket = join(dir, "agent.sock");
      const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
      try {
        for (let i = 0; i < 50 && spawnSync("test", ["-S", socket]).status !== 0; i++)
          await new Promise((r) => setTimeout(r, 50));
        const added = spawnSync("ssh-add", [server.key], {
          env: { ...process.env, SSH_AUTH_SOCK: socket },
          encoding: "utf8",
        });
        expect(added.status, added.stderr).toBe(0);
        const connection = connectionTo(server, { secrets: {}, fields: { agent_socket: socket } });
        expect((await run(instance, connection, "whoami")).stdout).toBe(`${server.user}\n`);
      } finally {
        agent.kill();
      }
    });
  });

  describe("host keys", () => {
    it("accepts the host when its key is in the known_hosts file", async () => {
      const connection = connectionTo(server, { options: { known_hosts: server.knownHosts } });
      expect((await run(instance, connection, "echo ok")).stdout).toBe("ok\n");
    });

    it("refuses a host whose key does not match the pinned fingerprint, showing the key it presented", async () => {
      const connection = connectionTo(server, { options: { host_key_fingerprint: OTHER_FINGERPRINT } });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
      expect(error.details).toMatchObject({
        reason: "host key",
        problem: "mismatch",
        fingerprint: server.fingerprint,
      });
    });

    it("refuses an unknown host by default, with the fingerprint to pin in the message", async () => {
      const connection = connectionTo(server, { options: {} });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.code).toBe("RW_ERR_CONNECTOR_AUTH");
      expect(error.details).toMatchObject({ reason: "host key", problem: "unknown" });
      expect(error.message).toContain(`host_key_fingerprint: "${server.fingerprint}"`);
    });

    it("refuses a host missing from the known_hosts file", async () => {
      const dir = mkdtempSync(join(tmpdir(), "rw-kh-"));
      const file = join(dir, "known_hosts");
      writeFileSync(file, readFileSync(server.knownHosts, "utf8").replace(`]:${server.port}`, "]:1"));
      const connection = connectionTo(server, { options: { known_hosts: file } });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.details).toMatchObject({ reason: "host key", problem: "unknown" });
    });
  });

  describe("jump host", () => {
    it("reaches the target through a bastion", async () => {
      const connection = connectionTo(server, {
        host: "127.0.0.1",
        options: {
          host_key_fingerprint: server.fingerprint,
          jump_host: { host: server.host, port: server.port, host_key_fingerprint: server.fingerprint },
        },
      });
      const result = await run(instance, connection, "echo $SSH_CONNECTION");
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    });

    it("refuses the bastion when its host key is not pinned", async () => {
      const connection = connectionTo(server, {
        options: {
          host_key_fingerprint: server.fingerprint,
          jump_host: { host: server.host, port: server.port },
        },
      });
      const error = await rejection(instance.open(connection, { signal: AbortSignal.timeout(5000) }));
      expect(error.details).toMatchObject({ reason: "host key", host: server.host });
    });
  });

  describe("exec", () => {
    it("streams output chunks to onOutput as they arrive", async () => {
      const chunks: string[] = [];
      const result = await run(
        instance,
        connectionTo(server),
        "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three",
        {
          onOutput: (stream, chunk) => chunks.push(`${stream}:${chunk}`),
        },
      );
      expect(chunks).toEqual(["stdout:one\n", "stderr:two\n", "stdout:three\n"]);
      expect(result.stdout).toBe("one\nthree\n");
    });

    it("reports the signal when the remote command is killed by one", async () => {
      const result = await run(instance, connectionTo(server), "kill -USR1 $$");
      expect(result.exitCode).toBeNull();
      expect(result.exitSignal).toBe("SIGUSR1");
    });

    it("returns large output whole when it fits under the cap", async () => {
      const { instance: big } = await create({ maxOutputBytes: 8 * 1024 * 1024 });
      try {
        const result = await run(big, connectionTo(server), "seq 1 500000");
        const lines = result.stdout.trimEnd().split("\n");
        expect(lines).toHaveLength(500_000);
        expect(lines.at(-1)).toBe("500000");
      } finally {
        await big.close?.();
      }
    });

    it("caps output and says how much was dropped when it exceeds maxOutputBytes", async () => {
      const { instance: small } = await create({ maxOutputBytes: 1000 });
      try {
        const result = await run(small, connectionTo(server), "head -c 50000 /dev/zero | tr '\\0' x");
        expect(result.exitCode).toBe(0);
        expect(result.stdout.startsWith("x".repeat(1000))).toBe(true);
        expect(result.stdout).toContain("49000 more bytes dropped");
      } finally {
        await small.close?.();
      }
    });

    it("kills a command that outlives its timeout and reports it as timed out", async () => {
      const connection = connectionTo(server);
      const start = performance.now();
      const result = await run(instance, connection, "echo started; sleep 31.25", { timeoutMs: 500 });
      expect(performance.now() - start).toBeLessThan(4000);
      expect(result.timedOut).toBe(true);
      expect(result.stdout).toBe("started\n");
      const left = await run(instance, connection, "pgrep -u $(id -u) -f 'sleep 31[.]25' || true");
      expect(left.stdout).toBe("");
    });

    it("rejects promptly with RW_ERR_CONNECTOR_TIMEOUT and kills the command when the step is aborted", async () => {
      const connection = connectionTo(server);
      const controller = new AbortController();
      const handle = await instance.open(connection, { signal: controller.signal });
      const running = handle.exec(req("sleep 32.5", { signal: controller.signal }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const start = performance.now();
      controller.abort();
      const error = await rejection(running);
      expect(performance.now() - start).toBeLessThan(200);
      expect(error.code).toBe("RW_ERR_CONNECTOR_TIMEOUT");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const left = await run(instance, connection, "pgrep -u $(id -u) -f 'sleep 32[.]5' || true");
      expect(left.stdout).toBe("");
    });
  });

  describe("pool", () => {
    it("runs 50 concurrent steps over at most maxConnectionsPerTarget connections", async () => {
      const proxy = await startProxy(server);
      const { instance: pooled } = await create({
        pool: { maxConnectionsPerTarget: 4, maxChannelsPerConnection: 8 },
      });
      try {
        const connection = connectionTo(server, { port: proxy.port });
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => run(pooled, connection, `sleep 0.1; echo ${i}`)),
        );
        expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 50 }, (_, i) => `${i}\n`));
        expect(results.every((r) => r.exitCode === 0)).toBe(true);
        expect(proxy.total()).toBeLessThanOrEqual(4);
      } finally {
        await pooled.close?.();
        await proxy.close();
      }
    });

    it("reuses one connection for sequential steps", async () => {
      const proxy = await startProxy(server);
      const { instance: pooled } = await create();
      try {
        const connection = connectionTo(server, { port: proxy.port });
        for (let i = 0; i < 5; i++) await run(pooled, connection, "true");
        expect(proxy.total()).toBe(1);
      } finally {
        await pooled.close?.();
        await proxy.close();
      }
    });

    it("caps the channels on one connection and queues the rest", async () => {
      const { instance: narrow } = await create({
        pool: { maxConnectionsPerTarget: 1, maxChannelsPerConnection: 2 },
      });
      try {
        const connection = connectionTo(server);
        await run(narrow, connection, "true");
        const start = performance.now();
        await Promise.all(Array.from({ length: 4 }, () => run(narrow, connection, "sleep 0.4")));
        expect(performance.now() - start).toBeGreaterThanOrEqual(780);
      } finally {
        await narrow.close?.();
      }
    });

    it("closes a connection left idle for idleTimeoutMs", async () => {
      const proxy = await startProxy(server);
      const { instance: pooled } = await create({ pool: { idleTimeoutMs: 200 } });
      try {
        await run(pooled, connectionTo(server, { port: proxy.port }), "true");
        expect(proxy.open()).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(proxy.open()).toBe(0);
      } finally {
        await pooled.close?.();
        await proxy.close();
      }
    });

    it("fails a command with RW_ERR_CONNECTOR_UNREACHABLE when the connection drops mid-command", async () => {
      const proxy = await startProxy(server);
      const { instance: pooled } = await create();
      try {
        const connection = connectionTo(server, { port: proxy.port });
        const handle = await pooled.open(connection, { signal: new AbortController().signal });
        const running = handle.exec(req("echo started; sleep 5"));
        await new Promise((resolve) => setTimeout(resolve, 300));
        proxy.dropAll();
        const error = await rejection(running);
        expect(error.code).toBe("RW_ERR_CONNECTOR_UNREACHABLE");
        expect(error.details).toMatchObject({ dropped: true });
        // The next step on the same handle reconnects transparently.
        expect((await handle.exec(req("echo again"))).stdout).toBe("again\n");
        expect(proxy.total()).toBe(2);
      } finally {
        await pooled.close?.();
        await proxy.close();
      }
    });

    it("reconnects transparently when a pooled connection dropped while idle", async () => {
      const proxy = await startProxy(server);
      const { instance: pooled } = await create();
      try {
        const connection = connectionTo(server, { port: proxy.port });
        await run(pooled, connection, "true");
        proxy.dropAll();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await run(pooled, connection, "echo back")).stdout).toBe("back\n");
      } finally {
        await pooled.close?.();
        await proxy.close();
      }
    });
  });

  describe("healthCheck", () => {
    let silent: Server;
    let silentPort: number;
    beforeAll(async () => {
      silent = createServer((socket) => socket.resume());
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      silentPort = (silent.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

    it("reports ok and the latency when the target answers", async () => {
      const health = await instance.healthCheck(connectionTo(server), { signal: AbortSignal.timeout(5000) });
      expect(health.ok).toBe(true);
      expect(health.latencyMs).toBeGreaterThan(0);
    });

    it.each([
      ["DNS", { host: "no-such-host.invalid" }],
      ["refused", { port: 1 }],
      ["auth", { secrets: { password: "wrong-password-7" } }],
      ["host key", { options: { host_key_fingerprint: OTHER_FINGERPRINT } }],
    ] as const)("reports the reason %s when the target fails that way", async (reason, parts) => {
      const health = await instance.healthCheck(connectionTo(server, parts), {
        signal: AbortSignal.timeout(5000),
      });
      expect(health).toMatchObject({ ok: false, reason });
      expect(health.message).not.toContain("wrong-password-7");
    });

    it("reports the reason timeout when the server never finishes the handshake", async () => {
      const { instance: quick } = await create({ connectTimeoutMs: 300 });
      try {
        const health = await quick.healthCheck(connectionTo(server, { port: silentPort }), {
          signal: AbortSignal.timeout(5000),
        });
        expect(health).toMatchObject({ ok: false, reason: "timeout" });
      } finally {
        await quick.close?.();
      }
    });
  });

  describe("describe", () => {
    it("describes a step in one line with the target and the auth kind, without secrets", () => {
      const connection = connectionTo(server);
      const line = instance.describe?.(
        { command: "systemctl restart nginx\nsystemctl status nginx", language: "sh", readOnly: false },
        connection,
      );
      expect(line).toBe(
        `ssh ${server.user}@${server.host}:${server.port} (key auth): systemctl restart nginx ⏎ systemctl status nginx`,
      );
    });
  });
});

if (!skipSshd && sshd) {
  const server = sshd;
  testConnector(sshConnector, {
    config: {},
    connection: connectionTo(server),
    request: { command: "echo ok" },
    slowRequest: { command: "sleep 30.75" },
    rejectedConnection: connectionTo(server, { secrets: { password: "contract-wrong-password" } }),
  });
}
