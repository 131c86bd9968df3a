import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MemoryQueue, type Message, startWorker, type Worker } from "../src/index.js";
import { freshDatabase } from "./pg.js";

const runbook = (key: string, step: string, approval: boolean) => `---
id: ${key}
status: approved
match:
  services: [orders]
  keywords: [stuck]
---
# Restart the stuck orders worker

## Main Steps
- \`${step}\`${approval ? " (severity: high_risk, requires_approval: true)" : ""}
`;

const alert = {
  title: "orders worker stuck on prod-3",
  severity: "high",
  environment: "prod",
  service: "orders",
};

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("embed-worker", () => {
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.shutdown();
    worker = undefined;
  });

  async function start(queue: MemoryQueue<Message>, requests: unknown[]) {
    worker = await startWorker({
      databaseUrl: db.url,
      logger: pino({ enabled: false }),
      queue,
      notify: (request) => {
        requests.push(request);
      },
      approvers: { lena: ["approver"] },
    });
    return worker;
  }

  async function until<T>(read: () => T | undefined, what: string): Promise<T> {
    for (let i = 0; i < 400; i++) {
      const value = read();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it("ingests an alert from the queue, asks for approval, and runs the step once approved through the SDK", async () => {
    const queue = new MemoryQueue<Message>();
    const requests: { approvalId: number; command: string; risk: string }[] = [];
    const { engine } = await start(queue, requests);
    await engine.runbooks.create(runbook("restart-orders", "echo restarted $SERVICE", true), {
      actor: { id: "otto", roles: ["operator", "approver"] },
      useFrontMatterStatus: true,
    });

    queue.publish({ type: "alert", body: alert });
    const request = await until(() => requests[0], "the approval request");
    expect(request).toMatchObject({ risk: "high_risk", command: "echo restarted $SERVICE" });

    queue.publish({
      type: "decision",
      approvalId: request.approvalId,
      approve: true,
      by: "lena",
      comment: "go",
    });
    await queue.idle();
    const approval = await engine.approvals.get(request.approvalId);
    expect(approval).toMatchObject({ status: "approved" });
    const settled = await engine.executions.settled(approval.sessionId, { timeoutMs: 10_000 });
    expect(settled.status).toBe("succeeded");
    const detail = await engine.executions.get(approval.sessionId);
    expect(detail.steps[0]?.stdout).toContain("restarted orders");
    expect(JSON.stringify(detail.timeline)).toContain("lena");

    // The same alert again is folded into the open ticket, not a second session.
    queue.publish({ type: "alert", body: alert });
    await queue.idle();
    const { items } = await engine.executions.list({ ticketId: detail.session.ticketId });
    expect(items).toHaveLength(1);
  });

  it("dead-letters a hostile alert and a decision from someone who may not decide, with clear errors", async () => {
    const queue = new MemoryQueue<Message>();
    await start(queue, []);
    queue.publish({ type: "alert", body: { title: 42, severity: "apocalyptic" } });
    queue.publish({ type: "decision", approvalId: 1, approve: true, by: "mallory" });
    queue.publish({ type: "decision", approvalId: 1, approve: true, by: "__proto__" });
    await queue.idle();
    expect(queue.deadLetters.map((d) => (d.error as { code?: string }).code)).toEqual([
      "RW_ERR_INPUT_INVALID",
      "RW_ERR_AUTH_FORBIDDEN",
      "RW_ERR_AUTH_FORBIDDEN",
    ]);
  });

  it("shutdown() stops consuming and lets the step in flight finish", async () => {
    const queue = new MemoryQueue<Message>();
    const { engine } = await start(queue, []);
    await engine.runbooks.create(
      runbook("slow-orders", "sleep 2 && echo drained-$SERVICE", false).replace("stuck]", "stuck, slow]"),
      { actor: { id: "otto", roles: ["operator", "approver"] }, useFrontMatterStatus: true },
    );
    let started: number | undefined;
    engine.events.on("step:started", (e) => {
      started = e.sessionId;
    });
    queue.publish({
      type: "alert",
      body: { ...alert, title: "orders worker stuck and slow", severity: "low" },
    });
    const sessionId = await until(() => started, "the step to start");
    await worker!.shutdown();
    expect(() => queue.publish({ type: "alert", body: alert })).toThrow(/closed/);
    worker = undefined;

    const again = await startWorker({
      databaseUrl: db.url,
      logger: pino({ enabled: false }),
      queue: new MemoryQueue<Message>(),
      notify: () => {},
      approvers: {},
    });
    try {
      const { steps } = await again.engine.executions.get(sessionId);
      expect(steps[0]).toMatchObject({ status: "succeeded" });
      expect(steps[0]?.stdout).toContain("drained-orders");
    } finally {
      await again.shutdown();
    }
  });
});

describe("embed-worker main.ts", () => {
  it("drains a running step on SIGTERM, then exits 0", async () => {
    const own = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), "rw-embed-worker-"));
    writeFileSync(
      join(dir, "slow-orders.md"),
      runbook("slow-orders", "sleep 2 && echo drained-$SERVICE", false),
    );
    const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      env: { ...process.env, DATABASE_URL: own.url, RUNBOOKS_DIR: dir, APPROVERS: "lena:approver" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += String(c);
    });
    const exited = once(child, "exit");
    const logged = (msg: string) =>
      out
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.msg === msg);
    const waitFor = async (msg: string) => {
      for (let i = 0; i < 600; i++) {
        const [entry] = logged(msg);
        if (entry) return entry;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no "${msg}" logged: ${out}`);
    };
    try {
      await waitFor("worker started: reading messages from stdin");
      expect(logged("runbook loaded")).toHaveLength(1);
      child.stdin.write(`${JSON.stringify({ type: "alert", body: alert })}\n`);
      const started = await waitFor("step started");
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(out).toContain("draining steps in flight");
      // The step finished before the process exited, and said so in its log.
      expect(logged("step finished")).toEqual([
        expect.objectContaining({ sessionId: started.sessionId, status: "succeeded" }),
      ]);

      const again = await startWorker({
        databaseUrl: own.url,
        logger: pino({ enabled: false }),
        queue: new MemoryQueue<Message>(),
        notify: () => {},
        approvers: {},
      });
      try {
        const id = started.sessionId as number;
        const { steps } = await again.engine.executions.get(id);
        expect(steps[0]).toMatchObject({ status: "succeeded" });
        expect(steps[0]?.stdout).toContain("drained-orders");
        // The closing engine stops between steps; the next one resumes the session and finishes it.
        expect((await again.engine.executions.settled(id, { timeoutMs: 10_000 })).status).toBe("succeeded");
        expect((await again.engine.executions.get(id)).steps.map((s) => s.attempts)).toEqual([1]);
      } finally {
        await again.shutdown();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      await own.drop();
    }
  }, 60_000);
});
