/**
 * `testNotifier(definition, options)`: contract checks for a notifier, against a live receiving
 * end the connector's tests start (a vendor fake, an SMTP server). The notification service
 * delivers through the outbox, at least once, with one idempotency key per notification: a send
 * must arrive, carry what identifies it, reject promptly when aborted, and fail with a connector
 * error code (never a secret) when the target refuses.
 */
import { type ConnectorDefinition, isRunwardenError, type Notification } from "@runwarden/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { type Harness, registerForContract } from "./internal/harness.js";
import { violation } from "./internal/violation.js";

/**
 * Options of {@link testNotifier}: a config for a live receiving end, optionally a failing one, and
 * what the end received.
 */
export interface NotifierContractOptions<S extends z.ZodType = z.ZodType> {
  /** A config pointing at a live receiving end; read when the suite starts. */
  config: () => z.input<S>;
  /** A config whose target refuses (bad credentials, or a closed port). */
  failingConfig?: () => z.input<S>;
  /** What the receiving end got so far, each as its raw text (body or message). */
  received: () => readonly string[] | Promise<readonly string[]>;
}

/** A sample approval notification, as the notification service builds one. */
export const sampleNotification: Notification = {
  event: "approval.requested",
  title: "Approval needed: restart nginx on web-01",
  text: "Ticket: nginx down on web-01\nCommand: systemctl restart nginx\nRisk: medium_risk",
  severity: "warning",
  at: "2026-01-05T10:00:00.000Z",
  ticketId: 7,
  sessionId: 12,
  runbookKey: "nginx-restart",
  environment: "prod",
  url: "https://runwarden.example/approvals/31",
  approval: {
    id: 31,
    stepName: "restart",
    target: "web-01",
    risk: "medium_risk",
    renderedCommand: "systemctl restart nginx",
    expiresAt: "2026-01-05T10:30:00.000Z",
    startedBy: "alice",
    bindingHash: "b".repeat(64),
  },
};

/** Registers the notifier contract. */
export function testNotifier<S extends z.ZodType>(
  definition: ConnectorDefinition<"notifier", S>,
  options: NotifierContractOptions<S>,
): void {
  let harness: Harness<"notifier"> | undefined;
  let failing: Harness<"notifier"> | undefined;
  const key = `contract-${Math.random().toString(36).slice(2, 10)}`;

  describe(`notifier contract: ${definition.name}`, () => {
    beforeAll(async () => {
      harness = await registerForContract(definition as ConnectorDefinition<"notifier">, options.config());
      if (options.failingConfig)
        failing = await registerForContract(
          definition as ConnectorDefinition<"notifier">,
          options.failingConfig(),
        );
    });
    afterAll(async () => {
      await harness?.close();
      await failing?.close();
    });

    it("notify: delivers a notification once, and it names the approval", async () => {
      const before = (await options.received()).length;
      await harness!.instance.send(sampleNotification, {
        idempotencyKey: `${key}-send`,
        signal: AbortSignal.timeout(10_000),
      });
      const got = await options.received();
      if (got.length !== before + 1)
        violation("contract/notify-once", `one send arrived ${got.length - before} times`);
      const text = got[got.length - 1]!;
      if (!text.includes("web-01") && !text.includes("restart"))
        violation("contract/notify-content", "the delivered notification does not name the step or target");
    });

    it("notify: rejects promptly when the signal is already aborted", async () => {
      const started = performance.now();
      const controller = new AbortController();
      controller.abort();
      const outcome = await harness!.instance
        .send(sampleNotification, { idempotencyKey: `${key}-abort`, signal: controller.signal })
        .then(
          () => "resolved",
          () => "rejected",
        );
      if (outcome !== "rejected") violation("contract/notify-abort", "an aborted send resolved");
      expect(performance.now() - started).toBeLessThan(2_000);
    });

    it("notify: a refusing target fails with a connector code and no secret", async (ctx) => {
      if (!failing) ctx.skip("no failingConfig given");
      const error = await failing!.instance
        .send(sampleNotification, { idempotencyKey: `${key}-fail`, signal: AbortSignal.timeout(10_000) })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      if (error === undefined) violation("contract/notify-failure", "a send to a refusing target resolved");
      if (!isRunwardenError(error) || !error.code.startsWith("RW_ERR_CONNECTOR_"))
        violation(
          "contract/notify-failure",
          `a refused send failed without a connector code: ${String(error)}`,
        );
      const text = `${error.message} ${JSON.stringify(error.details ?? {})} ${failing!.logs.join("\n")}`;
      for (const secret of failing!.secrets)
        if (secret.length >= 4 && text.includes(secret))
          violation("contract/notify-secret", "a secret appeared in the error or the logs");
    });

    it("describe: one line without secrets, when declared", (ctx) => {
      if (!(definition.capabilities as readonly string[]).includes("describe"))
        ctx.skip("describe not declared");
      const line = harness!.instance.describe?.(sampleNotification) ?? "";
      if (!line.trim() || /[\r\n]/.test(line))
        violation("contract/notify-describe", "describe gave no single line");
      for (const secret of harness!.secrets)
        if (secret.length >= 4 && line.includes(secret))
          violation("contract/notify-secret", "a secret appeared in describe");
    });
  });
}
