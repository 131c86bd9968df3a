/**
 * End to end against the real test sshd (scripts/services/sshd.sh) playing the VM: the connector
 * gets a token from the fake token endpoint, reads the instance from the fake Compute API,
 * imports a fresh key through the fake OS Login API (which writes it to the sshd's
 * authorized_keys with an expiry, as OS Login serves it on a VM) and runs the command over SSH.
 */
import { dirname, join } from "node:path";
import { createTestContext } from "@runwarden/connector-testkit";
import type { ExecRequest, InfrastructureConnector } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireSshd, type Sshd, skipSshd } from "../../ssh/test/sshd.js";
import gcpConnector from "../src/index.js";
import { type FakeGcp, startFakeGcp } from "./fake-gcp.js";
import { fakeConfig, gcpConnection } from "./helpers.js";

function req(command: string, extra: Partial<ExecRequest> = {}): ExecRequest {
  return { command, language: "sh", readOnly: false, signal: new AbortController().signal, ...extra };
}

describe.skipIf(skipSshd)("gcp connector: OS Login + SSH to a real sshd", () => {
  let server: Sshd;
  let fake: FakeGcp;
  let instance: InfrastructureConnector;
  let logs: unknown[];

  beforeAll(async () => {
    server = requireSshd();
    fake = await startFakeGcp({
      authorizedKeys: join(dirname(server.key), "authorized_keys"),
      sshUser: server.user,
    });
    fake.instances.set("web-1", {
      name: "web-1",
      status: "RUNNING",
      natIP: server.host,
      networkIP: "10.0.0.2",
    });
    const test = createTestContext();
    logs = test.logs as unknown[];
    instance = (await gcpConnector.create(
      gcpConnector.configSchema.parse(fakeConfig(fake)),
      test.ctx,
    )) as InfrastructureConnector;
  });
  afterAll(async () => {
    await instance?.close?.();
    fake?.cleanup();
    await fake?.close();
  });

  const connection = () =>
    gcpConnection(fake, { options: { ssh_port: server.port, host_key_fingerprint: server.fingerprint } });

  it("imports a short-lived key and runs the command as the OS Login user over SSH", async () => {
    const redacted: string[] = [];
    const handle = await instance.open(connection(), {
      signal: AbortSignal.timeout(10_000),
      redact: (v) => redacted.push(v),
    });
    try {
      const result = await handle.exec(
        req("whoami; echo out; echo err >&2; exit 4", { redact: (v) => redacted.push(v) }),
      );
      expect(result).toMatchObject({ exitCode: 4, stdout: `${server.user}\nout\n`, stderr: "err\n" });
    } finally {
      await handle.release();
    }
    expect(fake.imported).toHaveLength(1);
    expect(fake.imported[0]).toMatch(/^ssh-ed25519 /);
    const body = JSON.parse(
      fake.requests.find((r) => r.path.endsWith(":importSshPublicKey"))!.body,
    ) as Record<string, string>;
    const lifetimeUsec = Number(body.expirationTimeUsec) - Date.now() * 1000;
    expect(lifetimeUsec).toBeGreaterThan(0);
    expect(lifetimeUsec).toBeLessThanOrEqual(600 * 1e6);
    for (const token of fake.tokens) expect(redacted).toContain(token);
    expect(JSON.stringify(logs)).not.toMatch(/ya29\.|PRIVATE KEY/);
  });

  it("reuses the imported key for the next commands instead of importing one per command", async () => {
    const before = fake.imported.length;
    const handle = await instance.open(connection(), { signal: AbortSignal.timeout(10_000) });
    try {
      const results = await Promise.all([1, 2, 3].map((n) => handle.exec(req(`echo ${n}`))));
      expect(results.map((r) => r.stdout)).toEqual(["1\n", "2\n", "3\n"]);
    } finally {
      await handle.release();
    }
    expect(fake.imported.length - before).toBeLessThanOrEqual(1);
  });

  it("refuses the VM when its host key does not match the pinned one", async () => {
    const handle = await instance.open(
      gcpConnection(fake, {
        options: {
          ssh_port: server.port,
          host_key_fingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        },
      }),
      { signal: AbortSignal.timeout(10_000) },
    );
    try {
      await expect(handle.exec(req("true"))).rejects.toMatchObject({
        code: "RW_ERR_CONNECTOR_AUTH",
        details: { reason: "host key" },
      });
    } finally {
      await handle.release();
    }
  });
});
