/**
 * `testMonitoringWebhooks(definition, options)`: contract checks for a monitoring connector's
 * webhook receiver. Every ticket it produces must pass core's TicketInput schema; hostile bodies
 * must be refused with an input error code (never a TypeError, never a hang); an unauthenticated
 * request must be refused when the connector verifies webhooks.
 */
import {
  type ConnectorDefinition,
  isRunwardenError,
  type MonitoringConnector,
  TicketInput,
  type WebhookRequest,
} from "@runwarden/core";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { createTestContext } from "./context.js";

export interface MonitoringWebhookContractOptions<S extends z.ZodType = z.ZodType> {
  /** A config that parses; webhook checks run on the instance it creates. */
  config: z.input<S>;
  /** Authenticated sample requests (real payloads): each must parse into valid tickets. */
  samples: readonly WebhookRequest[];
  /** Headers that authenticate a request (added to the hostile bodies so auth is not what refuses them). */
  authHeaders?: Readonly<Record<string, string>>;
  /** How long a parse may take on a hostile body, in ms. Default 2000. */
  promptMs?: number;
}

const INPUT_CODES = ["RW_ERR_INPUT_INVALID", "RW_ERR_INPUT_TOO_LARGE", "RW_ERR_INPUT_MALFORMED"];

function request(body: unknown, headers: Readonly<Record<string, string>>, rawBody?: string): WebhookRequest {
  let raw = rawBody;
  if (raw === undefined) {
    try {
      raw = JSON.stringify(body) ?? "";
    } catch {
      raw = "";
    }
  }
  return { headers, body, rawBody: raw };
}

function deeplyNested(depth: number): unknown {
  let value: unknown = {};
  for (let i = 0; i < depth; i++) value = { alerts: [value], a: value === null ? 1 : undefined };
  return value;
}

/** Registers the webhook contract for a monitoring connector that has `parseWebhook`. */
export function testMonitoringWebhooks<S extends z.ZodType>(
  definition: ConnectorDefinition<"monitoring", S>,
  options: MonitoringWebhookContractOptions<S>,
): void {
  const promptMs = options.promptMs ?? 2000;
  const auth = options.authHeaders ?? {};
  let instance: MonitoringConnector;

  describe(`monitoring webhook contract: ${definition.name}`, () => {
    beforeAll(async () => {
      const { ctx } = createTestContext();
      instance = await definition.create(definition.configSchema.parse(options.config), ctx);
      expect(typeof instance.parseWebhook, "a webhook connector needs parseWebhook").toBe("function");
    });

    it("turns every sample into tickets that pass TicketInput, with its own source", async () => {
      expect(options.samples.length).toBeGreaterThan(0);
      for (const sample of options.samples) {
        if (instance.verifyWebhook) expect(await instance.verifyWebhook(sample)).toBe(true);
        const parsed = await instance.parseWebhook!(sample);
        expect(Array.isArray(parsed.warnings)).toBe(true);
        expect(parsed.tickets.length).toBeGreaterThan(0);
        for (const ticket of parsed.tickets) {
          const checked = TicketInput.safeParse(ticket);
          expect(checked.success, checked.success ? "" : JSON.stringify(checked.error.issues)).toBe(true);
          expect(ticket.source).toBe(definition.name);
          expect(
            ticket.fingerprint ?? ticket.externalId,
            "a ticket needs a fingerprint or externalId",
          ).toBeTruthy();
        }
      }
    });

    it("refuses a request without credentials when it verifies webhooks", async () => {
      if (!instance.verifyWebhook) return;
      const sample = options.samples[0]!;
      expect(await instance.verifyWebhook({ ...sample, headers: {} })).toBe(false);
    });

    it("refuses hostile bodies with an input error code, promptly", async () => {
      const hostile: WebhookRequest[] = [
        request(null, auth),
        request(42, auth),
        request("text", auth),
        request([], auth),
        request({}, auth),
        request({ alerts: "not a list", version: 4 }, auth),
        request({ ["__proto__"]: { polluted: true } }, auth),
        request(deeplyNested(2_000), auth),
        request(undefined, auth, "{ not json"),
        request(undefined, auth, `{"a":"${"x".repeat(20 * 1024 * 1024)}"}`),
      ];
      for (const body of hostile) {
        const started = performance.now();
        let caught: unknown;
        try {
          await instance.parseWebhook!(body);
        } catch (error) {
          caught = error;
        }
        const label = body.rawBody.slice(0, 60);
        expect(performance.now() - started, `slow on ${label}`).toBeLessThan(promptMs);
        expect(
          isRunwardenError(caught),
          `expected a RunwardenError for ${label}, got ${String(caught)}`,
        ).toBe(true);
        expect(INPUT_CODES).toContain((caught as { code: string }).code);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
}
