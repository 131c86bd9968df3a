/**
 * A step's process dies with its engine, or is accounted for. An engine running local steps is
 * SIGKILLed: the spawn helper kills the steps' process groups, so no side effect completes after
 * the crash. The next engine checks the process group each interrupted step's journal records and
 * says what it found, visible in GET /executions/{id}.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createEngine, type Engine } from "@runwarden/core";
import { createHttpAdapter } from "@runwarden/http-adapter";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";

let engine: Engine | undefined;
let dir: string;
let stray: ChildProcess | undefined;
afterEach(async () => {
  await engine?.close();
  if (stray?.pid && stray.exitCode === null && stray.signalCode === null) process.kill(-stray.pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the child engine until every step's process group is journaled, then SIGKILLs it. */
async function crashChild(path: string): Promise<Record<string, number>> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/reap-child.ts"),
      path,
      dir,
    ],
    { cwd: import.meta.dirname, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const ids = await new Promise<Record<string, number>>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`child never got ready: ${stderr}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return ids;
}

/** The journal record of a process this test started, read the way the engine reads its own. */
function recordOf(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    pgid: pid,
    host: hostname(),
    bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
    startTicks: Number(fields[19]),
  };
}

describe("process groups of local steps across an engine crash", () => {
  it("kills a running step's processes when the engine is SIGKILLed, and a restart says what it found", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-reap-"));
    const path = join(dir, "runwarden.db");
    const ids = await crashChild(path);

    // Each step was `sleep 3; touch <marker>`: had its shell outlived the engine, the markers appear.
    await sleep(4_500);
    for (const name of ["helperKilled", "stillAlive", "noRecord"])
      expect(existsSync(join(dir, name))).toBe(false);

    const storage = createSqliteStorage({ path });
    engine = await createEngine({ storage, vault: { key: Buffer.alloc(32, 1) } });
    const steps = async (id: number) => (await engine!.executions.get(id)).steps;
    const journaled = (await steps(ids.helperKilled!))[0]!;
    expect(journaled.status).toBe("running");
    expect(journaled.process).toMatchObject({ host: hostname(), pgid: expect.any(Number) });

    // A group still alive at restart: one this test started, recorded as the step's.
    stray = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
    const strayExit = new Promise((resolve) => stray!.on("exit", (_code, signal) => resolve(signal)));
    await sleep(50);
    const alive = (await steps(ids.stillAlive!))[0]!;
    await storage.steps.update(alive.id, alive.version, { process: recordOf(stray.pid!) });
    const none = (await steps(ids.noRecord!))[0]!;
    await storage.steps.update(none.id, none.version, { process: null });

    await engine.start();
    for (const id of Object.values(ids))
      expect((await engine.executions.settled(id)).status).toBe("interrupted");

    expect(await strayExit).toBe("SIGKILL");
    const adapter = createHttpAdapter({ engine });
    const token = (await adapter.tokens.create({ actor: "vera", roles: ["viewer"] })).token;
    const wire = async (id: number) => {
      const res = await adapter.fetch(
        new Request(`http://test${adapter.basePath}/executions/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      );
      expect(res.status).toBe(200);
      return (
        (await res.json()) as {
          steps: { status: string; process_check: { outcome: string; reason: string } }[];
        }
      ).steps[0]!;
    };
    expect(await wire(ids.helperKilled!)).toMatchObject({
      status: "interrupted",
      process_check: { outcome: "had exited", reason: `process group ${journaled.process!.pgid} had exited` },
    });
    expect(await wire(ids.stillAlive!)).toMatchObject({
      status: "interrupted",
      process_check: { outcome: "killed at restart", reason: expect.stringContaining(`${stray.pid}`) },
    });
    expect(await wire(ids.noRecord!)).toMatchObject({
      status: "interrupted",
      process_check: { outcome: "unknown" },
    });
    adapter.close();
    // Nothing ran twice behind the interrupted records.
    for (const name of ["helperKilled", "stillAlive", "noRecord"])
      expect(existsSync(join(dir, name))).toBe(false);
  }, 60_000);
});
