import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { localConnector, runLocal } from "../../src/executor/local.js";
import type { ExecRequest } from "../../src/plugin.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rw-local-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const config = (extra: Partial<Parameters<typeof runLocal>[0]> = {}) =>
  localConnector.configSchema.parse({ cwd: dir, killGraceMs: 200, ...extra });
const request = (command: string, extra: Partial<ExecRequest> = {}): ExecRequest => ({
  command,
  language: "sh",
  readOnly: false,
  signal: new AbortController().signal,
  ...extra,
});

describe("localConnector", () => {
  it("runs a shell step in the configured directory and captures both streams", async () => {
    const chunks: string[] = [];
    const result = await runLocal(
      config(),
      request("pwd; echo oops >&2; exit 3", { onOutput: (s, c) => chunks.push(`${s}:${c}`) }),
    );
    expect(result).toMatchObject({ exitCode: 3, stdout: `${dir}\n`, stderr: "oops\n", timedOut: false });
    expect(chunks).toEqual(expect.arrayContaining([`stdout:${dir}\n`, "stderr:oops\n"]));
  });

  it("gives the process a clean environment with extra PATH directories", async () => {
    process.env.RW_TEST_SECRET_ENV = "leaky";
    writeFileSync(join(dir, "my_script.sh"), "#!/bin/sh\necho from-script\n", { mode: 0o755 });
    try {
      const result = await runLocal(
        config({ path: [dir], env: { APP_MODE: "demo" } }),
        request('env; my_script.sh; echo "PATH=$PATH"'),
      );
      expect(result.stdout).toContain("from-script");
      expect(result.stdout).toContain("APP_MODE=demo");
      expect(result.stdout).toContain(`PATH=${dir}:/usr/local/sbin`);
      expect(result.stdout).not.toContain("leaky");
      expect(result.stdout).not.toContain("RUNWARDEN");
    } finally {
      delete process.env.RW_TEST_SECRET_ENV;
    }
  });

  it("kills the whole process tree when the step times out", async () => {
    const canary = join(dir, "grandchild-survived");
    const started = performance.now();
    const result = await runLocal(
      config(),
      request(`(sleep 1; touch ${canary}) & sh -c 'trap "" TERM; sleep 5'`, { timeoutMs: 200 }),
    );
    expect(result.timedOut).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
    await sleep(1_300);
    expect(existsSync(canary)).toBe(false);
  });

  it("stops the process tree when the signal aborts", async () => {
    const controller = new AbortController();
    const running = runLocal(config(), request("sleep 5", { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_EXEC_CANCELLED" });
  });

  it("reports the signal that killed the step's process as exitSignal", async () => {
    const result = await runLocal(config(), request("kill -USR1 $$"));
    expect(result.exitCode).toBeNull();
    expect(result.exitSignal).toBe("SIGUSR1");
  });

  it("runs python and javascript steps without a shell", async () => {
    const js = await runLocal(
      config(),
      request("console.log(process.argv.length)", { language: "javascript" }),
    );
    expect(js.stdout.trim()).toBe("1");
    await expect(runLocal(config(), request("x", { language: "yaml" }))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });

  it("forks steps from a helper process, or from the engine's own when told not to", async () => {
    const viaHelper = await runLocal(config(), request("echo $PPID"));
    expect(Number(viaHelper.stdout.trim())).not.toBe(process.pid);
    const direct = await runLocal(config({ spawnHelper: false }), request("echo $PPID"));
    expect(Number(direct.stdout.trim())).toBe(process.pid);
  });

  it("fails the steps of a helper that died, ends their processes, and starts a new helper", async () => {
    const canary = join(dir, "orphan-survived");
    const helperPid = Number((await runLocal(config(), request("echo $PPID"))).stdout.trim());
    const running = runLocal(config(), request(`sleep 1; touch ${canary}`));
    await sleep(200);
    process.kill(helperPid, "SIGKILL");
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_CONNECTOR_REJECTED" });
    const next = await runLocal(config(), request("echo $PPID"));
    expect(Number(next.stdout.trim())).not.toBe(helperPid);
    await sleep(1_200);
    expect(existsSync(canary)).toBe(false);
  });

  it("keeps the timeout, cancel and output guarantees when forking directly", async () => {
    const canary = join(dir, "grandchild-survived");
    const direct = config({ spawnHelper: false, maxOutputChars: 1_024 });
    const timedOut = await runLocal(
      direct,
      request(`(sleep 1; touch ${canary}) & sh -c 'trap "" TERM; sleep 5'`, { timeoutMs: 200 }),
    );
    expect(timedOut.timedOut).toBe(true);
    const capped = await runLocal(direct, request("head -c 5000 /dev/zero | tr '\\0' x"));
    expect(capped.stdout.length).toBeLessThan(5_000);
    const controller = new AbortController();
    const running = runLocal(direct, request("sleep 5", { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    await expect(running).rejects.toMatchObject({ code: "RW_ERR_EXEC_CANCELLED" });
    await sleep(1_300);
    expect(existsSync(canary)).toBe(false);
  });

  it("caps a chatty step's output and reports a process that cannot start", async () => {
    const capped = await runLocal(
      config({ maxOutputChars: 1_024 }),
      request("head -c 200000 /dev/zero | tr '\\0' x; echo done"),
    );
    expect(capped.stdout.length).toBeLessThan(200_000);
    expect(capped.stdout.endsWith("done\n")).toBe(true);
    await expect(runLocal(config({ cwd: join(dir, "missing") }), request("true"))).rejects.toMatchObject({
      code: "RW_ERR_CONNECTOR_REJECTED",
    });
  });

  it("answers its health check by running a process", async () => {
    const instance = await localConnector.create(config(), {} as never);
    const health = await instance.healthCheck({} as never, { signal: new AbortController().signal });
    expect(health.ok).toBe(true);
  });
});

describe("localConnector runAs", () => {
  // The test machine runs as root, as the example server's default set-up does.
  const nobody = { killGraceMs: 200, runAs: "nobody" };
  const asNobody = (command: string, extra: Record<string, unknown> = {}) =>
    runLocal(localConnector.configSchema.parse({ ...nobody, ...extra }), request(command));

  it("runs the step as the named user and its group", async () => {
    const result = await asNobody("id -u; id -g; id -G; pwd");
    const nobodyEntry = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("nobody:"))!;
    const [, , uid, gid] = nobodyEntry.split(":");
    expect(result.stdout).toBe(`${uid}\n${gid}\n${gid}\n/tmp\n`);
    expect((await runLocal(config({ runAs: `${uid}:${gid}`, cwd: "/" }), request("id -u"))).stdout).toBe(
      `${uid}\n`,
    );
  });

  it("cannot read a root file of mode 0600 nor the engine's /proc environ", async () => {
    chmodSync(dir, 0o755);
    const secret = join(dir, "master.key");
    writeFileSync(secret, "top-secret-key", { mode: 0o600 });
    const file = await asNobody(`cat ${secret}`);
    expect(file.exitCode).not.toBe(0);
    expect(file.stdout).not.toContain("top-secret-key");
    expect(file.stderr).toMatch(/Permission denied/);
    const environ = await asNobody(`cat /proc/${process.pid}/environ`);
    expect(environ.exitCode).not.toBe(0);
    expect(environ.stdout).toBe("");
  });

  it("gives the step that user's clean environment, none of the engine's variables", async () => {
    process.env.RW_TEST_SECRET_ENV = "leaky";
    try {
      const result = await asNobody("env", { env: { APP_MODE: "demo" } });
      const vars = Object.fromEntries(
        result.stdout
          .trim()
          .split("\n")
          .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
      expect(Object.keys(vars).sort()).toEqual(["APP_MODE", "HOME", "LOGNAME", "PATH", "PWD", "USER"]);
      expect(vars).toMatchObject({
        USER: "nobody",
        LOGNAME: "nobody",
        HOME: "/nonexistent",
        APP_MODE: "demo",
      });
      expect(result.stdout).not.toContain("leaky");
    } finally {
      delete process.env.RW_TEST_SECRET_ENV;
    }
  });

  it("runs as that user when forking directly too, and through the registered connector", async () => {
    expect((await asNobody("id -un", { spawnHelper: false })).stdout).toBe("nobody\n");
    const connector = await localConnector.create(localConnector.configSchema.parse(nobody), {} as never);
    const handle = await connector.open({} as never, { signal: new AbortController().signal });
    expect((await handle.exec(request("id -un"))).stdout).toBe("nobody\n");
  });

  it("refuses an unknown user when the connector is created", async () => {
    expect(() =>
      localConnector.create(localConnector.configSchema.parse({ runAs: "no-such-user-rw" }), {} as never),
    ).toThrow(
      expect.objectContaining({
        code: "RW_ERR_CONFIG_INVALID",
        message: expect.stringMatching(/no user named/),
      }),
    );
  });
});
