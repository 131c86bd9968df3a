/**
 * A process delivering the outbox is killed with SIGKILL right as ServiceNow applies a work note
 * (so the note exists remotely but the row is not marked delivered). A new process on the same
 * SQLite file delivers the rest, and every work note exists exactly once: the fake dedupes
 * nothing, the outbox's keys and the connector's idempotency do.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeRequest } from "../../../connector-testkit/src/index.js";
import type { FakeServiceNow } from "../../../connectors/servicenow/test/fake-servicenow.js";
import { createSqliteStorage } from "../../../storage-sqlite/src/index.js";
import { outboxKey } from "../../src/sync/index.js";
import { makeIntake } from "../support/engine-context.js";
import { PASSWORD, startFake } from "./support.js";

let dir: string;
let fake: FakeServiceNow;
afterEach(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

function child(path: string): { proc: ChildProcess; done: Promise<string> } {
  const proc = spawn(
    process.execPath,
    [
      "--conditions=@runwarden/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures/outbox-child.ts"),
      path,
      fake.url,
    ],
    {
      cwd: import.meta.dirname,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SN_PASSWORD: PASSWORD },
    },
  );
  let out = "";
  proc.stdout!.on("data", (d) => {
    out += d;
  });
  proc.stderr!.on("data", (d) => {
    out += d;
  });
  const done = new Promise<string>((resolve) =>
    proc.on("exit", (code, signal) => resolve(`${code ?? signal}\n${out}`)),
  );
  return { proc, done };
}

const isNote = (r: FakeRequest) => r.method === "PATCH" && r.body.includes("work_notes");

describe("createTicketSync outbox after a crash", () => {
  it("delivers every work note exactly once when the delivering process is SIGKILLed", async () => {
    dir = mkdtempSync(join(tmpdir(), "rw-outbox-crash-"));
    const path = join(dir, "runwarden.db");
    fake = await startFake();

    // Seed: 3 tickets, 4 notes each, in the outbox.
    const storage = createSqliteStorage({ path });
    const { tickets } = await makeIntake({ storage });
    const ids: number[] = [];
    for (const title of ["Disk full on db-01", "High CPU on web-02", "OOM on api-03"]) {
      const { ticket } = await tickets.ingest({ title, source: "prometheus" }, { autoExecute: false });
      ids.push(ticket.id);
      for (let n = 1; n <= 4; n++) {
        const now = new Date().toISOString();
        await storage.outbox.insert({
          target: "servicenow",
          ticketId: ticket.id,
          idempotencyKey: outboxKey("servicenow", ticket.id, "note", n, 0),
          kind: "comment",
          payload: { text: `ticket ${ticket.id} note ${n}` },
          status: "pending",
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          createdAt: now,
        });
      }
    }
    await storage.close();

    // Kill the first process the moment the 5th note reaches ServiceNow, before it is applied
    // and answered: the note lands, the process never learns it did.
    const first = child(path);
    const requests = fake.server.requests;
    const push = requests.push.bind(requests);
    let notes = 0;
    requests.push = (...items: FakeRequest[]) => {
      if (items.some(isNote) && ++notes === 5) first.proc.kill("SIGKILL");
      return push(...items);
    };
    const firstExit = await first.done;
    expect(firstExit.split("\n")[0]).toBe("SIGKILL");
    expect(fake.journal.length).toBeGreaterThanOrEqual(5);
    expect(fake.journal.length).toBeLessThan(12);

    const second = child(path);
    const secondExit = await second.done;
    expect(secondExit).toMatch(/^0\n[\s\S]*done/);

    expect(fake.incidents).toHaveLength(3);
    // 12 notes, 12 PATCHes: the one the first process never heard back about was found, not re-sent.
    expect(fake.server.requests.filter(isNote)).toHaveLength(12);
    const check = createSqliteStorage({ path });
    try {
      for (const id of ids) {
        const sysId = await check.getValue(`sync:servicenow:ref:${id}`);
        const values = fake.journal
          .filter((j) => j.element_id === sysId)
          .map((j) => j.value.replace(/\n\n\[runwarden-note:[0-9a-f]+\]$/, ""));
        expect(values).toEqual([1, 2, 3, 4].map((n) => `ticket ${id} note ${n}`));
      }
      expect(await check.outbox.count({ status: "delivered" })).toBe(12);
    } finally {
      await check.close();
    }
  }, 60_000);
});
