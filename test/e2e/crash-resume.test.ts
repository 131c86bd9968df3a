/**
 * A process running the engine is killed with SIGKILL mid-step; a new engine on the same SQLite
 * file resumes: steps not yet started run, a session waiting for approval keeps waiting, a step
 * that was running becomes `interrupted` (an idempotent one is retried).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, type Engine } from "@runwarden/core";
import { createSqliteStorage } from "@runwarden/storage-sqlite";
import { afterEach, describe, expect, it } from "vitest";

let engine: Engine | undefined;
let dir: string;
afterEach(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the child engine until it reports its sessions mid-flight, then SIGKILLs it. */
async function crashChild(path: string, marker: string): Promise<Record<string, number>> {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/crash-child.ts"),
      path,
      marker,
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

describe("crash recovery", () => {
  it("resumes every session of a SIGKILLed engine as the recovery rules say", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-crash-"));
    const path = join(dir, "runwarden.db");
    const ids = await crashChild(path, join(dir, "idempotent-ran-once"));

    engine = await createEngine({
      storage: createSqliteStorage({ path }),
      vault: { key: Buffer.alloc(32, 1) },
    });
    const before = await engine.executions.get(ids.long!);
    expect(before.steps[0]?.status).toBe("running");
    await engine.start();

    const long = await engine.executions.settled(ids.long!);
    expect(long.status).toBe("interrupted");
    const longDetail = await engine.executions.get(ids.long!);
    expect(longDetail.steps.map((s) => s.status)).toEqual(["interrupted", "pending"]);
    expect((await engine.tickets.get(long.ticketId)).status).toBe("needs_human");

    const idem = await engine.executions.settled(ids.idempotent!);
    expect(idem.status).toBe("succeeded");
    expect((await engine.executions.get(ids.idempotent!)).steps[0]).toMatchObject({
      stdout: "second run\n",
      attempts: 2,
    });

    expect((await engine.executions.settled(ids.queued!)).status).toBe("succeeded");
    expect((await engine.executions.get(ids.queued!)).steps[0]?.stdout).toBe("queued ran\n");

    expect((await engine.executions.settled(ids.approval!)).status).toBe("awaiting_approval");
    const pending = (await engine.approvals.list({ status: "pending", sessionId: ids.approval! })).items;
    expect(pending).toHaveLength(1);

    // A person decides the interrupted step; the session then finishes.
    await engine.executions.resolveInterrupted(ids.long!, longDetail.steps[0]!.id, "skip", {
      actor: { id: "bob", roles: ["operator"] },
    });
    expect((await engine.executions.settled(ids.long!)).status).toBe("succeeded");
    await engine.approvals.approve(pending[0]!.id, { actor: { id: "bob", roles: ["approver"] } });
    expect((await engine.executions.settled(ids.approval!)).status).toBe("succeeded");
  });
});
