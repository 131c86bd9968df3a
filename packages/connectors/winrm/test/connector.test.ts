import { createTestContext, testConnector } from "@runwarden/connector-testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import winrmConnector, { winrmConnectionOptionsSchema } from "../src/index.js";
import { startFakeWsman } from "./fake-wsman.js";
import { connection, USER } from "./helpers.js";

// NTLM over HTTP: every message sealed, as a default Windows listener requires.
const fake = await startFakeWsman({ auth: "ntlm", user: USER });
afterAll(() => fake.close());

testConnector(winrmConnector, {
  config: { operationTimeoutSec: 2, pool: { maxShellsPerTarget: 2 } },
  invalidConfigs: [{ pool: { maxShellsPerTarget: 0 } }, { operationTimeoutSec: 0 }, { unknownOption: true }],
  connection: connection(fake.port),
  request: { command: "echo contract-ok", language: "powershell" },
  slowRequest: { command: "sleep 5; echo late", language: "powershell" },
  rejectedConnection: connection(
    fake.port,
    { transport: "http" },
    { password: "not-the-password" },
    "win-bad",
  ),
});

const instances: { close?: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close?.();
});

async function create(config: Record<string, unknown> = {}) {
  const { ctx, logs } = createTestContext();
  const instance = await winrmConnector.create(winrmConnector.configSchema.parse(config), ctx);
  instances.push(instance);
  return { instance, logs };
}

const signal = () => new AbortController().signal;

describe("winrm steps against the fake listener", () => {
  beforeAll(() => fake.dropShells());

  it("runs a PowerShell step through -EncodedCommand with its real output and exit code", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const script = "printf 'out \\342\\234\\223\\n'; printf 'err\\n' >&2; exit 3";
    const result = await handle.exec({
      command: script,
      language: "powershell",
      readOnly: false,
      signal: signal(),
    });
    expect(result).toMatchObject({ exitCode: 3, stdout: "out ✓\n", stderr: "err\n" });
    // The server received the script itself, decoded from UTF-16LE base64: no quoting involved.
    expect(fake.log.commands.at(-1)).toBe(script);
    await handle.release();
  });

  it("turns PowerShell's CLIXML error stream into its text in the result", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const clixml = '#< CLIXML\r\n<Objs Version="1.1.0.1"><S S="Error">boom_x000D__x000A_</S></Objs>';
    const result = await handle.exec({
      command: `printf '%s' '${clixml}' >&2; exit 1`,
      language: "powershell",
      readOnly: false,
      signal: signal(),
    });
    expect(result).toMatchObject({ exitCode: 1, stderr: "boom\r\n" });
  });

  it("runs a cmd step as the command line", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const result = await handle.exec({
      command: "echo cmd-step",
      language: "cmd",
      readOnly: false,
      signal: signal(),
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: "cmd-step\n" });
    await expect(
      handle.exec({ command: "echo a\necho b", language: "cmd", readOnly: false, signal: signal() }),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED" });
  });

  it("reuses one shell and one authenticated channel across steps, and signals each finished command", async () => {
    const { instance } = await create();
    const before = { ...fake.log, actions: fake.log.actions.length };
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    for (let i = 0; i < 3; i++) {
      const r = await handle.exec({
        command: `echo step-${i}`,
        language: "powershell",
        readOnly: false,
        signal: signal(),
      });
      expect(r.stdout).toBe(`step-${i}\n`);
    }
    expect(fake.log.shellsCreated - before.shellsCreated).toBe(1);
    expect(fake.log.handshakes - before.handshakes).toBe(1);
    expect(fake.log.signals - before.signals).toBe(3);
    await instance.close?.();
    expect(fake.log.shellsDeleted - before.shellsDeleted).toBe(1);
  });

  it("streams output as it arrives", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const seen: { at: number; chunk: string }[] = [];
    const start = Date.now();
    const result = await handle.exec({
      command: "echo first; sleep 1; echo second",
      language: "powershell",
      readOnly: false,
      signal: signal(),
      onOutput: (_stream, chunk) => seen.push({ at: Date.now() - start, chunk }),
    });
    expect(result.stdout).toBe("first\nsecond\n");
    expect(seen[0]).toMatchObject({ chunk: "first\n" });
    expect(seen[0]!.at).toBeLessThan(800);
  });

  it("replaces a pooled shell the server dropped, without running the step twice", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    fake.dropShells();
    const commands = fake.log.commands.length;
    const r = await handle.exec({
      command: "echo again",
      language: "powershell",
      readOnly: false,
      signal: signal(),
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: "again\n" });
    expect(fake.log.commands.length - commands).toBe(1);
  });

  it("authenticates again when the connection was dropped between steps", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const handshakes = fake.log.handshakes;
    fake.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the client sees the close first
    const r = await handle.exec({
      command: "echo after-drop",
      language: "powershell",
      readOnly: false,
      signal: signal(),
    });
    expect(r.stdout).toBe("after-drop\n");
    expect(fake.log.handshakes - handshakes).toBe(1);
  });

  it("gives a shell idle past healthCheckAfterMs a freshly authenticated connection before its step", async () => {
    const { instance } = await create({ pool: { healthCheckAfterMs: 0 } });
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const handshakes = fake.log.handshakes;
    const shells = fake.log.shellsCreated;
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 2; i++)
      await handle.exec({
        command: "echo checked",
        language: "powershell",
        readOnly: false,
        signal: signal(),
      });
    expect(fake.log.handshakes - handshakes).toBe(2);
    expect(fake.log.shellsCreated - shells).toBe(0);
  });

  it("terminates a step at its timeout with Signal terminate and keeps the output so far", async () => {
    const { instance } = await create({ operationTimeoutSec: 1 });
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    const signals = fake.log.signals;
    const start = Date.now();
    const r = await handle.exec({
      command: "echo started; sleep 30",
      language: "powershell",
      readOnly: false,
      signal: signal(),
      timeoutMs: 1500,
    });
    expect(Date.now() - start).toBeLessThan(4000);
    expect(r).toMatchObject({ timedOut: true, exitCode: null, stdout: "started\n" });
    expect(fake.log.signals - signals).toBe(1);
    // The shell stays usable for the next step.
    expect(
      (await handle.exec({ command: "echo next", language: "powershell", readOnly: false, signal: signal() }))
        .stdout,
    ).toBe("next\n");
  });

  it("refuses a PowerShell script too long for one command line", async () => {
    const { instance } = await create();
    const handle = await instance.open(connection(fake.port), { signal: signal() });
    await expect(
      handle.exec({ command: "x".repeat(4000), language: "powershell", readOnly: false, signal: signal() }),
    ).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED", details: { reason: "too-long" } });
  });

  it("refuses a wrong password with RW_ERR_CONNECTOR_AUTH and never shows it", async () => {
    const { instance, logs } = await create();
    const error = await instance
      .open(connection(fake.port, { transport: "http" }, { password: "Wr0ng-pass-123" }), {
        signal: signal(),
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "RW_ERR_CONNECTOR_AUTH" });
    expect(JSON.stringify(error) + String((error as Error).message) + logs.join("\n")).not.toContain(
      "Wr0ng-pass-123",
    );
  });

  it("answers the health check with a fresh shell, deleted afterwards", async () => {
    const { instance } = await create();
    const deleted = fake.log.shellsDeleted;
    const health = await instance.healthCheck(connection(fake.port), { signal: signal() });
    expect(health.ok).toBe(true);
    expect(fake.log.shellsDeleted - deleted).toBe(1);
  });

  it("describes a step without the password", () => {
    return create().then(({ instance }) => {
      const line = instance.describe?.(
        { command: "Restart-Service W3SVC", language: "powershell", readOnly: false },
        connection(5985),
      );
      expect(line).toBe(
        "winrm http://127.0.0.1:5985 as CORP\\rwadmin (ntlm, encrypted) PowerShell: Restart-Service W3SVC",
      );
      expect(line).not.toContain(USER.password);
    });
  });
});

describe("winrmConnectionOptionsSchema", () => {
  it("defaults to HTTPS with NTLM and certificate verification on", () => {
    expect(winrmConnectionOptionsSchema.parse({})).toMatchObject({
      transport: "https",
      auth: "ntlm",
      tls_verify: true,
      path: "/wsman",
    });
  });

  it("refuses Basic over plain HTTP", () => {
    const parsed = winrmConnectionOptionsSchema.safeParse({ transport: "http", auth: "basic" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/Basic authentication sends the password in clear/);
  });
});
