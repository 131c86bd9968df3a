/**
 * `testMonitoringWebhooks(definition, options)`: contract checks for a monitoring connector's
 * webhook receiver (capability `webhook`). Every ticket it produces must pass core's TicketInput
 * schema; hostile bodies must be refused with an input error code (never a TypeError, never a
 * hang); an unauthenticated request must be refused when the connector verifies webhooks.
 */
import type { ConnectorDefinition, WebhookRequest } from "@runwarden/core";
import { afterAll, beforeAll, describe, it, type TestContext } from "vitest";
import type { z } from "zod";
import {
  checkWebhookHostile,
  checkWebhookRefusesAnonymous,
  checkWebhookSamples,
} from "./internal/checks/index.js";
import { type Harness, registerForContract } from "./internal/harness.js";

/**
 * Options of {@link testMonitoringWebhooks}: a working config, real sample requests and how to
 * authenticate hostile ones.
 */
export interface MonitoringWebhookContractOptions<S extends z.ZodType = z.ZodType> {
  /** A config that registers; webhook checks run on the instance it creates. */
  config: z.input<S>;
  /** Authenticated sample requests (real payloads): each must parse into valid tickets. */
  samples: readonly WebhookRequest[];
  /** Headers that authenticate a request (added to the hostile bodies so auth is not what refuses them). */
  authHeaders?: Readonly<Record<string, string>>;
  /** How long a parse may take on a hostile body, in ms. Default 2000. */
  promptMs?: number;
}

/** Registers the webhook contract for a monitoring connector that declares `webhook`. */
export function testMonitoringWebhooks<S extends z.ZodType>(
  definition: ConnectorDefinition<"monitoring", S>,
  options: MonitoringWebhookContractOptions<S>,
): void {
  const promptMs = options.promptMs ?? 2000;
  const declared = new Set<string>(definition.capabilities);
  let harness: Harness<"monitoring"> | undefined;
  let refused: unknown;
  const subject = (ctx: TestContext, capability: "webhook" | "verify-webhook" = "webhook") => {
    for (const needed of new Set(["webhook", capability]))
      if (!declared.has(needed)) ctx.skip(`${definition.name} does not declare capability "${needed}"`);
    if (!harness) throw refused ?? new Error("the connector was not registered");
    return harness;
  };

  describe(`monitoring webhook contract: ${definition.name}`, () => {
    beforeAll(async () => {
      try {
        harness = await registerForContract(definition as ConnectorDefinition<"monitoring">, options.config);
      } catch (error) {
        refused = error;
      }
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("webhook: turns every sample into tickets that pass TicketInput, with its own source", (ctx) =>
      checkWebhookSamples(subject(ctx), options.samples));

    it("verify-webhook: refuses a request without credentials", (ctx) =>
      checkWebhookRefusesAnonymous(subject(ctx, "verify-webhook"), options.samples[0]!));

    it("webhook: refuses hostile bodies with an input error code, promptly", (ctx) =>
      checkWebhookHostile(subject(ctx), options.authHeaders ?? {}, promptMs));
  });
}
