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
