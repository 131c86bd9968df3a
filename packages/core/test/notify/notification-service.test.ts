import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createFakeClock } from "../../../connector-testkit/src/index.js";
import { createAuditLog } from "../../src/audit.js";
import { rwError } from "../../src/errors.js";
import { createNotificationService, type NotificationRule } from "../../src/notify/index.js";
import type { Notification, NotifierConnector } from "../../src/plugin.js";
import type { Storage } from "../../src/storage.js";
import { createMemoryStorage } from "../../src/storage-memory.js";
import { newApproval, newSession, newStep, newTicket } from "../storage/fixtures.js";
import { makeContext } from "../support/engine-context.js";

interface Sent {
  channel: string;
  key: string;
  n: Notification;
}

function recorder(
  channel: string,
  sent: Sent[],
  fail: { times: number; code?: "auth" | "rejected" } = { times: 0 },
) {
  const notifier: NotifierConnector = {
    async send(n, { idempotencyKey, signal }) {
      signal.throwIfAborted();
      if (fail.times > 0) {
        fail.times--;
        throw fail.code === "rejected"
          ? rwError("RW_ERR_CONNECTOR_REJECTED", "refused")
          : rwError("RW_ERR_CONNECTOR_UNREACHABLE", "down", { retryable: true });
      }
      sent.push({ channel, key: idempotencyKey, n });
      return { messageRef: `${channel}-${sent.length}` };
    },
  };
  return notifier;
}

async function setup(
  rules: NotificationRule[],
  opts: { storage?: Storage; fail?: Record<string, { times: number; code?: "auth" | "rejected" }> } = {},
) {
  const storage = opts.storage ?? createMemoryStorage();
  const { ctx } = makeContext({ storage });
  const clock = createFakeClock(Date.parse("2025-01-01T00:00:00.000Z"));
  const sent: Sent[] = [];
  const notifiers = new Map<string, NotifierConnector>();
  const service = createNotificationService(
    {
      storage,
      events: ctx.events,
      logger: pino({ enabled: false }),
      audit: createAuditLog(ctx),
      clock,
      random: () => 0.5,
      notifier(channel) {
        const known = notifiers.get(channel);
        if (known) return known;
        const made = recorder(channel, sent, opts.fail?.[channel]);
        notifiers.set(channel, made);
        return made;
      },
    },
    { rules, manual: true, baseDelayMs: 1_000, maxAttempts: 3, dashboardUrl: "https://rw.example" },
  );
  await service.start();
  const ticket = await storage.tickets.insert(newTicket({ environment: "prod", severity: "high" }));
  const session = await storage.sessions.insert(
    newSession({ ticketId: ticket.id, fingerprint: `fp-${ticket.id}` }),
  );
  return { storage, events: ctx.events, clock, sent, service, ticket, session };
}

const prodSlack: NotificationRule = { name: "prod", environments: ["prod"], channels: ["slack"] };

describe("createNotificationService", () => {
  it("routes an approval request by environment and risk to the matching channels only", async () => {
    const h = await setup([
      prodSlack,
      { name: "staging", environments: ["staging"], channels: ["mail"] },
      { name: "risky", risks: ["high_risk"], channels: ["pager"] },
    ]);
    const approval = await h.storage.approvals.insert(
      newApproval({
        ticketId: h.ticket.id,
        sessionId: h.session.id,
        environment: "prod",
        risk: "medium_risk",
      }),
    );
    h.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: h.session.id,
      stepId: approval.stepId,
      ticketId: h.ticket.id,
      risk: approval.risk,
    });
    await h.service.settled();
    expect(await h.service.flush()).toBe(1);
    expect(h.sent.map((s) => s.channel)).toEqual(["slack"]);
    const n = h.sent[0]!.n;
    expect(n.event).toBe("approval.requested");
    expect(n.approval).toMatchObject({
      id: approval.id,
      renderedCommand: "systemctl restart nginx",
      target: "web-01",
    });
    expect(n.url).toBe(`https://rw.example/#/approval-link?approval=${approval.id}`);
  });

  it("records each delivery on the execution's timeline (an audit event of the session)", async () => {
    const h = await setup([prodSlack]);
    const approval = await h.storage.approvals.insert(
      newApproval({ ticketId: h.ticket.id, sessionId: h.session.id, environment: "prod" }),
    );
    h.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: h.session.id,
      stepId: 1,
      ticketId: h.ticket.id,
      risk: approval.risk,
    });
    await h.service.flush();
    const audit = await h.storage.audit.find({
      where: { objectType: "session", objectId: String(h.session.id) },
    });
    expect(audit.map((a) => a.action)).toEqual(["notification.sent"]);
    expect(audit[0]!.details).toMatchObject({
      channel: "slack",
      event: "approval.requested",
      messageRef: "slack-1",
    });
  });

  it("does not enqueue twice when an event is replayed", async () => {
    const h = await setup([prodSlack]);
    const approval = await h.storage.approvals.insert(
      newApproval({ ticketId: h.ticket.id, sessionId: h.session.id, environment: "prod" }),
    );
    const event = {
      approvalId: approval.id,
      sessionId: h.session.id,
      stepId: 1,
      ticketId: h.ticket.id,
      risk: "medium_risk",
    };
    h.events.emit("approval:requested", event);
    h.events.emit("approval:requested", event);
    await h.service.flush();
    h.events.emit("approval:requested", event);
    await h.service.flush();
    expect(h.sent).toHaveLength(1);
  });

  it("retries a failing channel with backoff, then dead-letters it onto the timeline", async () => {
    const h = await setup([prodSlack], { fail: { slack: { times: 10 } } });
    h.events.emit("session:finished", {
      sessionId: h.session.id,
      ticketId: h.ticket.id,
      status: "failed",
      error: "exit 1",
    });
    await h.service.flush();
    expect(h.sent).toHaveLength(0);
    await h.clock.advance(2_000);
    await h.service.flush();
    await h.clock.advance(10_000);
    await h.service.flush();
    const items = await h.storage.outbox.find({ where: { target: "notify:slack" } });
    expect(items[0]).toMatchObject({ status: "dead", attempts: 3 });
    await h.service.settled();
    const audit = await h.storage.audit.find({
      where: { objectType: "session", objectId: String(h.session.id) },
    });
    expect(audit.map((a) => a.action)).toEqual(["notification.failed"]);
  });

  it("delivers after transient failures, keeping a session's notifications in order", async () => {
    const h = await setup([prodSlack], { fail: { slack: { times: 1 } } });
    const a1 = await h.storage.approvals.insert(
      newApproval({ ticketId: h.ticket.id, sessionId: h.session.id, environment: "prod" }),
    );
    const a2 = await h.storage.approvals.insert(
      newApproval({ ticketId: h.ticket.id, sessionId: h.session.id, environment: "prod", stepId: 2 }),
    );
    for (const a of [a1, a2])
      h.events.emit("approval:requested", {
        approvalId: a.id,
        sessionId: h.session.id,
        stepId: a.stepId,
        ticketId: h.ticket.id,
        risk: a.risk,
      });
    h.events.emit("session:finished", {
      sessionId: h.session.id,
      ticketId: h.ticket.id,
      status: "failed",
      error: null,
    });
    await h.service.flush();
    expect(h.sent).toHaveLength(0); // the first failed: the later ones wait behind it
    await h.clock.advance(2_000);
    await h.service.flush();
    expect(h.sent.map((s) => `${s.n.event}:${s.n.approval?.id ?? ""}`)).toEqual([
      `approval.requested:${a1.id}`,
      `approval.requested:${a2.id}`,
      "session.failed:",
    ]);
  });

  it("notifies needs_human, an interrupted step and paused auto-execution; ignores other statuses", async () => {
    const h = await setup([{ name: "all", channels: ["hook"] }]);
    const step = await h.storage.steps.insert({
      ...newStep(0, { name: "restart", status: "interrupted", attempts: 1, error: "engine restarted" }),
      sessionId: h.session.id,
    });
    h.events.emit("ticket:updated", { ticketId: h.ticket.id, status: "needs_human", reason: "storm" });
    h.events.emit("ticket:updated", { ticketId: h.ticket.id, status: "executing", reason: null });
    h.events.emit("step:finished", {
      sessionId: h.session.id,
      stepId: step.id,
      name: "restart",
      status: "interrupted",
      exitCode: null,
      durationMs: 5,
    });
    h.events.emit("step:finished", {
      sessionId: h.session.id,
      stepId: step.id,
      name: "restart",
      status: "succeeded",
      exitCode: 0,
      durationMs: 5,
    });
    h.events.emit("session:finished", {
      sessionId: h.session.id,
      ticketId: h.ticket.id,
      status: "succeeded",
      error: null,
    });
    h.events.emit("runbook:auto-execution-paused", { key: "nginx-restart", failures: 3, until: null });
    await h.service.flush();
    expect(h.sent.map((s) => s.n.event).sort()).toEqual(
      ["runbook.auto_execution_paused", "step.interrupted", "ticket.needs_human"].sort(),
    );
  });

  it("reminds, escalates, warns before expiry and announces the expiry where it was announced", async () => {
    const h = await setup([
      {
        name: "prod",
        environments: ["prod"],
        channels: ["slack"],
        remindAfterMinutes: 10,
        escalateAfterMinutes: 20,
        escalateTo: ["pager"],
        escalateAudience: "db-oncall",
        expiringWithinMinutes: 15,
      },
    ]);
    const approval = await h.storage.approvals.insert(
      newApproval({
        ticketId: h.ticket.id,
        sessionId: h.session.id,
        environment: "prod",
        requestedAt: new Date(h.clock.now()).toISOString(),
        expiresAt: new Date(h.clock.now() + 60 * 60_000).toISOString(),
      }),
    );
    h.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: h.session.id,
      stepId: 1,
      ticketId: h.ticket.id,
      risk: approval.risk,
    });
    await h.service.flush();
    expect(await h.service.sweep()).toBe(0);
    await h.clock.advance(11 * 60_000);
    expect(await h.service.sweep()).toBe(1);
    expect(await h.service.sweep()).toBe(0); // once per rule
    await h.clock.advance(10 * 60_000);
    await h.service.sweep();
    await h.clock.advance(30 * 60_000); // 9 minutes left
    await h.service.sweep();
    await h.service.flush();
    await h.storage.approvals.update(approval.id, approval.version, {
      status: "expired",
      decidedAt: new Date(h.clock.now()).toISOString(),
    });
    h.events.emit("approval:decided", {
      approvalId: approval.id,
      sessionId: h.session.id,
      status: "expired",
      actor: "engine",
    });
    await h.service.flush();
    expect(h.sent.map((s) => `${s.channel}:${s.n.event}`)).toEqual([
      "slack:approval.requested",
      "slack:approval.reminder",
      "slack:approval.expiring",
      "pager:approval.escalated",
      "slack:approval.expired",
      "pager:approval.expired",
    ]);
    expect(h.sent.find((s) => s.n.event === "approval.escalated")!.n.audience).toBe("db-oncall");
  });

  it("loses and duplicates nothing when the process dies between the approval request and the notification", async () => {
    const storage = createMemoryStorage();
    // Process 1: the approval is stored, then the process dies before its event is handled.
    const first = await setup([prodSlack], { storage });
    await first.service.close();
    const approval = await storage.approvals.insert(
      newApproval({ ticketId: first.ticket.id, sessionId: first.session.id, environment: "prod" }),
    );
    // Process 2 starts on the same store: the sweep at start finds the pending approval.
    const second = await setup([prodSlack], { storage });
    expect(await second.service.sweep()).toBe(1);
    expect(await second.service.sweep()).toBe(0);
    // Its event arrives late (replayed): still one row.
    second.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: first.session.id,
      stepId: 1,
      ticketId: first.ticket.id,
      risk: "medium_risk",
    });
    await second.service.flush();
    expect(second.sent.map((s) => s.n.approval?.id)).toEqual([approval.id]);
  });

  it("redelivers with the same idempotency key when a delivery was cut off mid-way", async () => {
    const storage = createMemoryStorage();
    const first = await setup([prodSlack], { storage });
    const approval = await storage.approvals.insert(
      newApproval({ ticketId: first.ticket.id, sessionId: first.session.id, environment: "prod" }),
    );
    first.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: first.session.id,
      stepId: 1,
      ticketId: first.ticket.id,
      risk: "medium_risk",
    });
    await first.service.settled();
    // The process dies while the delivery is claimed (its claim outlives it).
    const [row] = await storage.outbox.find({ where: { target: "notify:slack" } });
    await storage.outbox.update(row!.id, row!.version, {
      attempts: 1,
      nextAttemptAt: new Date(Date.now() + 3_600_000 * 24 * 365 * 10).toISOString(),
    });
    await first.service.close();
    const second = await setup([prodSlack], { storage });
    await second.service.flush();
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]!.key).toBe(row!.idempotencyKey);
  });

  it("records a delivery once on the timeline when the process died after sending it, before marking it delivered", async () => {
    const storage = createMemoryStorage();
    const first = await setup([prodSlack], { storage });
    const approval = await storage.approvals.insert(
      newApproval({ ticketId: first.ticket.id, sessionId: first.session.id, environment: "prod" }),
    );
    first.events.emit("approval:requested", {
      approvalId: approval.id,
      sessionId: first.session.id,
      stepId: 1,
      ticketId: first.ticket.id,
      risk: "medium_risk",
    });
    await first.service.flush();
    expect(first.sent).toHaveLength(1);
    // What a kill between recording the send and marking the row delivered leaves: the row still
    // pending under the dead process's claim, the send already on the timeline.
    const [row] = await storage.outbox.find({ where: { target: "notify:slack" } });
    await storage.outbox.update(row!.id, row!.version, {
      status: "pending",
      nextAttemptAt: new Date(Date.now() + 3_600_000 * 24 * 365 * 10).toISOString(),
    });
    await first.service.close();
    const second = await setup([prodSlack], { storage });
    await second.service.flush();
    // Sent again under the same key (the receiving end drops the repeat), on the timeline once.
    expect(second.sent.map((s) => s.key)).toEqual([row!.idempotencyKey]);
    expect((await storage.outbox.get(row!.id))?.status).toBe("delivered");
    const sent = await storage.audit.find({ where: { action: "notification.sent" } });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.details).toMatchObject({ outboxItemId: row!.id, attempt: 1 });
  });
});
