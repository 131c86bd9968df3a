import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { describeProcessGroup, reapProcessGroup } from "../../src/executor/process-group.js";

const at = "2026-12-07T00:00:00.000Z";
let started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  started = [];
});

/** A process group of its own, as the local connector starts one. */
function group(command: string): { child: ChildProcess; ended: Promise<NodeJS.Signals | null> } {
  const child = spawn("/bin/sh", ["-c", command], { detached: true, stdio: "ignore" });
  started.push(child);
  return { child, ended: new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal))) };
}

describe("reapProcessGroup", () => {
  it("kills a recorded group that is still running and says so", async () => {
    const { child, ended } = group("sleep 30");
    const record = describeProcessGroup(child.pid!);
    expect(record).toMatchObject({ pgid: child.pid, host: hostname(), startTicks: expect.any(Number) });
    expect(reapProcessGroup(record, at)).toEqual({
      outcome: "killed at restart",
      reason: `process group ${child.pid} was still running; it was killed`,
      at,
    });
    expect(await ended).toBe("SIGKILL");
  });

  it("kills the rest of a group whose leader has exited", async () => {
    // The leader backgrounds a sleeper in its own group, prints its pid and exits at once.
    const child = spawn("/bin/sh", ["-c", "sleep 30 & echo $!"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    started.push(child);
    const record = describeProcessGroup(child.pid!);
    const sleeper = Number(
      await new Promise<string>((resolve) => child.stdout!.once("data", (d) => resolve(String(d)))),
    );
    await new Promise((resolve) => child.on("exit", resolve));
    const running = () => {
      try {
        return !/^\S+ \(sleep\) Z/.test(readFileSync(`/proc/${sleeper}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    expect(running()).toBe(true);
    expect(reapProcessGroup(record, at)).toMatchObject({
      outcome: "killed at restart",
      reason: `processes of group ${child.pid} were still running after its leader exited; they were killed`,
    });
    for (let waited = 0; running() && waited < 5_000; waited += 20) await sleep(20);
    expect(running()).toBe(false);
  });

  it("reports a group that had exited", async () => {
    const { child, ended } = group("true");
    const record = describeProcessGroup(child.pid!);
    await ended;
    expect(reapProcessGroup({ ...record, startTicks: 1 }, at)).toMatchObject({ outcome: "had exited" });
  });

  it("never kills a process that reuses the recorded id (another start time)", async () => {
    const { child, ended } = group("sleep 30");
    const record = { ...describeProcessGroup(child.pid!), startTicks: 1 };
    expect(reapProcessGroup(record, at)).toMatchObject({ outcome: "had exited" });
    expect(() => process.kill(-child.pid!, 0)).not.toThrow();
    child.kill("SIGKILL");
    await ended;
  });

  it("answers unknown with no record, or for another host", () => {
    expect(reapProcessGroup(undefined, at)).toMatchObject({ outcome: "unknown", reason: /no process group/ });
    const other = { pgid: 1, host: `not-${hostname()}`, bootId: "x", startTicks: 1 };
    expect(reapProcessGroup(other, at)).toMatchObject({ outcome: "unknown", reason: /ran on host not-/ });
  });

  it("answers had exited when the host has rebooted since", () => {
    const record = { ...describeProcessGroup(process.pid), bootId: "another-boot" };
    expect(reapProcessGroup(record, at)).toMatchObject({ outcome: "had exited", reason: /restarted since/ });
  });
});
